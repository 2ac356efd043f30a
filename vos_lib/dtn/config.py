"""DTN's own knobs (DTN paper, Sec. 3 and 3.4): the model and its training stages.

One dataclass per method, as nanoGPT keeps its presets: plain values with the reason for
each.  :func:`cpu` is what CI and the rendered book train; :func:`paper` follows the
paper where it gives a value (M = 112, 256 channels, theta_c = 0.83, SGD) and says where
it does not.  The shared settings (data, batch, optimizer, seed, AMP) live in
:class:`vos_lib.config.Preset`; a checkpoint records this config whole, so
:func:`vos_lib.engine.checkpoint.load_model` rebuilds the network from it alone.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DTNConfig:
    """Every knob of DTN + MRN and of its training stages."""
    # backbone (Sec. 3.1): torchvision ResNet, Res2..Res5 features
    backbone: str = "resnet18"          # "resnet50" at paper scale
    backbone_blocks: tuple = (1, 1, 1, 1)  # blocks per stage; None = torchvision default
    pretrained: bool = False            # ImageNet weights (downloaded when online)
    input_size: tuple = (96, 160)       # (H, W) frames are resized to inside the model
    # optical flow (FlowNet2-S in the paper)
    flow: str = "flownets"              # or "raft" (torchvision, paper scale)
    flow_width: int = 16                # channels of FlowNet-S's first conv (64 in FlowNet-S)
    # decision module (Sec. 3.2, Eq. 1)
    dm_hidden: int = 256
    dm_features: str = "conv6+warp"     # "conv6" = the paper; "+warp" adds warp statistics
    theta_c: float = 0.83
    # conditional RPN (Sec. 3.2, Fig. 5)
    crpn_grid: int = 3
    crpn_scales: tuple = (0.5, 1.0, 1.5)
    crpn_ratios: tuple = (0.5, 1.0, 1.5)
    rpn_sizes: tuple = (16, 32, 64)     # original-RPN anchor sizes (pixels of the model input)
    rpn_top_n: int = 100                # "top-100" for the original-RPN ablation
    roi_match: int = 7                  # RoIAlign size for matching features (Eq. 2)
    # mask refinement network (Sec. 3.3, Eq. 3-4)
    mrn_M: int = 32                     # 112 in the paper; m_j = M / 2^(j-2)
    mrn_channels: int = 32              # 256 in the paper
    mask_guidance: bool = True
    box_context: float = 0.3            # RoI width/height grow by this fraction before RoIAlign
    # training stages (Sec. 3.4): flow, static pre-training, video fine-tuning
    flow_iters: int = 2000              # FlowNet-S from scratch needs ~2k steps at lr 1e-4
    pretrain_iters: int = 300
    finetune_iters: int = 400
    flow_lr: float = 1e-4               # 1e-3 diverges to "predict zero flow" at CPU scale
    pretrain_lr: float = 1e-3
    finetune_lr: float = 5e-4
    dm_lr_mult: float = 10.0            # the small DM head learns faster than the rest (CPU)


def cpu() -> DTNConfig:
    return DTNConfig()


def paper() -> DTNConfig:
    return DTNConfig(
        backbone="resnet50", backbone_blocks=None, pretrained=True, input_size=(480, 864),
        flow="raft_small", flow_width=64, rpn_sizes=(64, 128, 256), mrn_M=112,
        mrn_channels=256, dm_features="conv6",
        # flow_iters=0: RAFT arrives pre-trained (the paper uses a pre-trained FlowNet2-S)
        flow_iters=0, pretrain_iters=150_000, finetune_iters=50_000, pretrain_lr=0.0025,
        finetune_lr=0.0001, dm_lr_mult=1.0)


PRESETS = {"cpu": cpu, "paper": paper}


def from_dict(d: dict) -> DTNConfig:
    """A :class:`DTNConfig` from its ``asdict`` form (lists back to tuples); keys this
    version does not know are refused, missing ones take their defaults."""
    known = DTNConfig.__dataclass_fields__
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ValueError(f"unknown DTN config keys {unknown}")
    return DTNConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
