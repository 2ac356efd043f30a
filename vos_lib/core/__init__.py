"""Parts no single paper owns: the ResNet backbone, optical flow and warping, box helpers,
the segmenter interface with its registry and frame/mask adapter, and a component timer."""
from .segmenter import (Method, SegmentResult, Segmenter, first_masks, frame_tensor,
                        get_method, object_masks, paste_ids, pick_device, registered)
from .timer import NullTimer, Timer

__all__ = ["Method", "NullTimer", "SegmentResult", "Segmenter", "Timer", "first_masks",
           "frame_tensor", "get_method", "object_masks", "paste_ids", "pick_device",
           "registered"]
