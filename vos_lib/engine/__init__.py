"""The training engine every method shares: the loop (``trainer``), atomic and resumable
checkpoints with a cross-process cache of trained models (``checkpoint``), and results
cached by checkpoint fingerprint (``cache``)."""
from . import cache, checkpoint, trainer
from .checkpoint import load_model
from .trainer import fit, seed_everything

__all__ = ["cache", "checkpoint", "fit", "load_model", "seed_everything", "trainer"]
