"""DIPNet's own knobs (DIPNet paper, Sec. 3 and 3.4): the model and its training stages.

One dataclass, plain values with the reason for each (nanoGPT-style).  :func:`cpu` is
what CI and the rendered book train; :func:`paper` follows the paper where it gives a
value (256x256 propagation input, 2048-d identity vectors, 32x32 coarse masks, 512x512
segmentation, omega = 0.95, SGD lr 1e-4 / 1e-3, batch 4) and says where it does not.
A checkpoint records this config whole, so the network is rebuilt from the file alone.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DIPNetConfig:
    """Every knob of DIPNet and of its training stages."""
    # Feature and identity encoding networks (Sec. 3.1): torchvision ResNets, Conv5 output
    backbone: str = "resnet18"           # ResNet-50 in the paper (2048-channel Conv5)
    backbone_blocks: tuple = (1, 1, 1, 1)  # blocks per stage; None = torchvision depth
    pretrained: bool = False             # ImageNet weights (downloaded when online)
    prop_size: tuple = (128, 128)        # propagation input; 256x256 in the paper
    feature_level: str = "res4"          # "res5" (Conv5, stride 32) in the paper; at CPU
                                         # scale Conv4 (stride 16) gives the paper's 8x8
                                         # grid and 32x32 coarse mask from 128x128 frames
    identity_encoder: str = "masked"     # Eq. 1 after Conv1..Conv4; "concat" = Sec. 4.2.2
    # Identity updating module (Eq. 2)
    omega: float = 0.95                  # Fig. 6's choice
    # Instance propagation module (Sec. 3.1): 2 deconv + 2 conv (3x3) + 1x1 conv
    ipn_channels: int = 64               # not given in the paper (256 in `paper`)
    # Spatial segmentation network (Sec. 3.2): CRN-style cascade on the image
    ssn_size: tuple = (96, 160)          # full working resolution; 512x512 in the paper
    ssn_backbone: str = "resnet18"       # the paper's CRN encoder is not named
    ssn_channels: int = 32               # decoder width (not given)
    # Multi-instance (Sec. 3.3)
    crop: bool = True                    # foreground crop first (False = DIPNet*)
    crop_margin: float = 0.15            # the tight box grows by this fraction per side
    # Training (Sec. 3.4): pre-training on static pairs, then video ("off-line") training
    union_p: float = 0.25                # share of samples whose target is all objects
    crop_p: float = 0.5                  # share of samples cropped around the foreground
                                         # as inference crops (not in the paper)
    max_gap: int = 9                     # video pairs within 10 consecutive frames
    morph_max: int = 5                   # max dilation/erosion kernel (px); 16 at 512 px
    # iterations (batch 4) per phase and stage; the paper: 40 epochs of 11,355 VOC images
    # (pre-training), 20 epochs of DAVIS train (off-line), for both networks.  At CPU
    # scale the propagation phase learns slowly (its val IoU from the ground-truth
    # previous mask: 0.17 after 600 iterations, 0.32 after 1000, 0.37 after 1500), the
    # SSN fast (0.94 IoU from a good coarse mask after 1500)
    batch_size: int = 4                  # SGD with batch-size 4 (Sec. 3.4), both scales; the
                                         # paper preset's shared batch (2) is DTN's
    ipn_pretrain_iters: int = 1500
    ipn_offline_iters: int = 600
    ssn_pretrain_iters: int = 600
    ssn_offline_iters: int = 600
    lr: float = 1e-3                     # pre-training: Adam at CPU scale; SGD 1e-4 in the paper
    cosine: bool = True                  # lr decays to 0 over each stage (cosine); the paper
                                         # keeps it constant.  At CPU scale the last weights
                                         # of a constant-lr run were noisy: IPN val IoU 0.37
                                         # after 1500 iterations, 0.23 after 2000
    offline_lr: float = 1e-4             # video training (the paper's 1e-4); at CPU scale a
                                         # restart at 1e-3 undid pre-training (IPN val IoU
                                         # 0.37 -> 0.20 after 600 iterations)
    # One-shot fine-tuning of the SSN on the first frame (Sec. 3.4)
    finetune: bool = True
    ft_iters_full: int = 30              # 200 in the paper (full frame)
    ft_iters_crop: int = 20              # 100 (single) / 200 per instance in the paper
    ft_lr: float = 1e-3                  # the paper's value (SGD, momentum 0.9)
    ft_batch: int = 4


def cpu() -> DIPNetConfig:
    return DIPNetConfig()


def paper() -> DIPNetConfig:
    return DIPNetConfig(
        backbone="resnet50", backbone_blocks=None, pretrained=True, prop_size=(256, 256),
        feature_level="res5",
        ipn_channels=256, ssn_size=(512, 512), ssn_backbone="resnet50", ssn_channels=64,
        morph_max=16, ipn_pretrain_iters=113_550, ipn_offline_iters=10_400,
        ssn_pretrain_iters=113_550, ssn_offline_iters=10_400, lr=1e-4, cosine=False,
        ft_iters_full=200, ft_iters_crop=100)


PRESETS = {"cpu": cpu, "paper": paper}


def from_dict(d: dict) -> DIPNetConfig:
    """A :class:`DIPNetConfig` from its ``asdict`` form (lists back to tuples)."""
    known = DIPNetConfig.__dataclass_fields__
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ValueError(f"unknown DIPNet config keys {unknown}")
    return DIPNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
