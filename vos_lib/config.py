"""Configuration presets: plain dataclasses, one preset per scale (nanoGPT-style).

``cpu``   - what CI and the rendered book run: synthetic DAVIS-format videos, a small
            ResNet, small inputs, training from scratch in minutes on 2 cores.
``paper`` - the papers' settings: real DAVIS, ResNet-50 with ImageNet weights,
            DTN Sec. 3.4 hyper-parameters (M = 112, 256 channels, theta_c = 0.83, SGD).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace


@dataclass
class SyntheticConfig:
    """Size of the generated synthetic DAVIS-format dataset."""
    height: int = 96
    width: int = 160
    n_train: int = 60
    n_val: int = 20
    n_frames: int = 40
    difficulty: str = "medium"
    seed: int = 0


@dataclass
class DTNConfig:
    """Every knob of DTN + MRN (DTN paper, Sec. 3 and 3.4)."""
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


@dataclass
class TrainConfig:
    """Two-stage training (DTN Sec. 3.4): static pre-training, then video fine-tuning."""
    flow_iters: int = 2000              # FlowNet-S from scratch needs ~2k steps at lr 1e-4
    pretrain_iters: int = 300
    finetune_iters: int = 400
    batch_size: int = 4
    lr: float = 1e-3                    # generic learning rate (models without stages)
    flow_lr: float = 1e-4               # 1e-3 diverges to "predict zero flow" at CPU scale
    optimizer: str = "adam"             # "sgd" at paper scale
    momentum: float = 0.9
    pretrain_lr: float = 1e-3
    finetune_lr: float = 5e-4
    dm_lr_mult: float = 10.0            # the small DM head learns faster than the rest (CPU)
    lr_step: int = 50_000
    num_workers: int = 0
    seed: int = 0
    amp: bool = True                    # mixed precision when CUDA is present


@dataclass
class Preset:
    name: str
    data: SyntheticConfig = field(default_factory=SyntheticConfig)
    dtn: DTNConfig = field(default_factory=DTNConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return asdict(self)


def cpu() -> Preset:
    return Preset(name="cpu")


def paper() -> Preset:
    return Preset(
        name="paper",
        data=SyntheticConfig(height=480, width=854),
        dtn=DTNConfig(backbone="resnet50", backbone_blocks=None, pretrained=True,
                      input_size=(480, 864), flow="raft_small", flow_width=64,
                      rpn_sizes=(64, 128, 256), mrn_M=112, mrn_channels=256,
                      dm_features="conv6"),
        # flow_iters=0: RAFT arrives pre-trained (the paper uses a pre-trained FlowNet2-S)
        train=TrainConfig(flow_iters=0, pretrain_iters=150_000, finetune_iters=50_000,
                          batch_size=2, optimizer="sgd", pretrain_lr=0.0025,
                          finetune_lr=0.0001, dm_lr_mult=1.0, lr_step=50_000, num_workers=4),
    )


PRESETS = {"cpu": cpu, "paper": paper}


def get_preset(name: str, **overrides) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    p = PRESETS[name]()
    return replace(p, **overrides) if overrides else p
