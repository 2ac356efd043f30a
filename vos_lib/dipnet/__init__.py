"""DIPNet (Hu et al., WACV 2020): dynamic identity propagation + spatial segmentation.

``config`` (knobs), ``identity`` (identity encoder, Eq. 1; identity update, Eq. 2),
``propagation`` (instance propagation, joint softmax), ``ssn`` (spatial segmentation
network), ``model`` (the network and its training steps), ``finetune`` (one-shot
fine-tuning), ``inference`` (the per-frame loop), ``train`` (stages and variants),
``method`` (registry entry), ``paper`` (the paper's numbers).
"""
from .config import DIPNetConfig
from .inference import DIPNetSegmenter
from .model import DIPNet
from .train import load_dipnet, train_dipnet

__all__ = ["DIPNet", "DIPNetConfig", "DIPNetSegmenter", "load_dipnet", "train_dipnet"]
