"""DAVIS-format data: the reader (``davis``), paired augmentation (``augment``), torch
datasets (``datasets``), the synthetic generator (``synthetic``) and the DAVIS download
(``download``).

Layout (DAVIS 2016/2017, and the synthetic generator, which adds the optional extras)::

    ROOT/JPEGImages/480p/<seq>/00000.jpg ...   RGB frames
    ROOT/Annotations/480p/<seq>/00000.png ...  indexed PNGs of object ids (255 void)
    ROOT/ImageSets/2017/{train,val}.txt        one sequence name per line
    ROOT/Flow/480p/<seq>/00001.npz ...         optional backward flow + valid mask
    ROOT/Meta/<seq>.json                       optional per-sequence/per-frame metadata
"""
from ..io import VOID, DataFormatError
from .augment import (AugmentResult, PairedAugment, affine_flow, affine_matrix, backward_warp,
                      compose_affine, invert_affine, photometric_jitter, remap_ids,
                      resize_affine, sample_affine, warp_flow, warp_image, warp_mask)
from .datasets import (StaticPairDataset, VideoClipDataset, pad_to_multiple, resize,
                       to_tensor_image, unpad)
from .davis import DAVIS, Sequence, load_flow

__all__ = [
    "DAVIS", "Sequence", "DataFormatError", "VOID", "load_flow",
    "affine_matrix", "resize_affine", "sample_affine", "compose_affine", "invert_affine",
    "warp_image", "warp_mask", "warp_flow", "affine_flow", "backward_warp",
    "PairedAugment", "AugmentResult", "photometric_jitter",
    "remap_ids", "resize", "pad_to_multiple", "unpad",
    "VideoClipDataset", "StaticPairDataset", "to_tensor_image",
]
