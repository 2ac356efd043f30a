"""``make demo``: generated data -> DTN (trained once if missing, and it says so) ->
the val set segmented -> overlay GIF -> J&F beside the repeat-first-mask baseline."""
from __future__ import annotations

from pathlib import Path

from .baselines import RepeatFirstMask
from .data import DAVIS
from .data.synthetic import SyntheticConfig, ensure_dataset
from .dtn import DTNSegmenter, load_dtn, train_dtn
from .eval.run import run_and_score
from .io import read_mask
from .paths import data_root
from .segment import check_model_available, save_gif


def run_demo(out=None):
    root = ensure_dataset(cfg=SyntheticConfig())
    print("synthetic DAVIS-format data ready (data/synthetic)")
    out = Path(out) if out else data_root() / "demo"
    first = run_and_score(RepeatFirstMask(), root, out / "first", progress=True)
    check_model_available("dtn", train_if_missing=True)     # says so when it must train
    dtn = run_and_score(DTNSegmenter(load_dtn(train_dtn("cpu"))), root, out / "dtn", progress=True)
    davis = DAVIS(root, split="val")
    seq = davis.sequences[0]
    s = davis.load_sequence(seq)
    masks = [read_mask(out / "dtn" / seq / f"{t:05d}.png") for t in range(len(s.frames))]
    gif = save_gif(out / f"{seq}_dtn.gif", s.frames, masks)
    rows = [("repeat first mask", first["scores"]["global"]),
            ("DTN (CPU scale)", dtn["scores"]["global"])]
    return rows, dtn["br_fraction"], out, gif, len(davis.sequences)
