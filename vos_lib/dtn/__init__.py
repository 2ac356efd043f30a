"""Part II of the book: DTN (Zhang et al., ICCV 2019), one module per paper component.

``config`` (its knobs), ``decision`` (Sec. 3.2, Eq. 1), ``crpn`` (Sec. 3.2, Eq. 2),
``mrn`` (Sec. 3.3, Eq. 3-4), ``model`` (the assembled network, Eq. 5), ``inference``
(the per-frame loop), ``train`` (the stages of Sec. 3.4), ``experiments`` (Table 3,
Fig. 6), ``paper`` (the paper's own numbers), ``method`` (the registry entry).
"""
from .config import DTNConfig
from .inference import DTNSegmenter
from .model import DTN, split_objects
from .train import VARIANTS, load_dtn, run_stage, train_dtn

__all__ = ["DTN", "DTNConfig", "DTNSegmenter", "VARIANTS", "load_dtn", "run_stage",
           "split_objects", "train_dtn"]
