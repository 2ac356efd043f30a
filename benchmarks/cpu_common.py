"""What the CPU-scale timing scripts (``bench_dtn.py``, ``bench_dipnet.py``) share: their
command line, the val videos they time, and the machine line of their JSON."""
from __future__ import annotations

import argparse
import platform

import torch

from vos_lib.data import DAVIS
from vos_lib.paths import synthetic_root


def parse_args(doc: str, out) -> argparse.Namespace:
    """``--sequences``, ``--threads`` (set for torch here), ``--note``, ``--out``."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--sequences", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--note", default="",
                    help="free text stored with the results (e.g. machine load)")
    ap.add_argument("--out", default=str(out))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    return a


def val_videos(n: int) -> list:
    """The first ``n`` synthetic val videos as ``(frames, first_mask)``."""
    davis = DAVIS(synthetic_root(), split="val")
    videos = []
    for s in davis.sequences[:n]:
        seq = davis.load_sequence(s, load_flows=False)
        videos.append((list(seq.frames), seq.masks[0]))
    return videos


def machine(threads: int) -> str:
    return (f"{platform.machine()} CPU, {threads} thread{'s' * (threads > 1)}, "
            f"torch {torch.__version__}")
