"""Evaluation: the DAVIS J and F measures (``metrics``), the toolkit-compatible scoring of
a results folder (``evaluate``; ``python -m vos_lib.evaluate``), and running a segmenter
over a split and scoring it (``run``)."""
from .run import run_and_score, run_cached, segment_split

# ``vos_lib.eval.evaluate`` stays the module (its function: ``vos_lib.evaluate.evaluate``)
__all__ = ["run_and_score", "run_cached", "segment_split"]
