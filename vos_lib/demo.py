"""``make demo [METHOD=dtn|dipnet|...]``: generated data -> the method (its CPU-scale
model trained once if missing, and it says so) -> the val set segmented -> overlay GIF
-> J&F beside the repeat-first-mask baseline and beside the other trainable methods'
results of an earlier demo run (``make demo METHOD=...``), so both papers' numbers can be
read side by side."""
from __future__ import annotations

from pathlib import Path

from .baselines import RepeatFirstMask
from .core.segmenter import REGISTRY, get_method
from .data import DAVIS
from .data.synthetic import SyntheticConfig, ensure_dataset
from .eval.run import run_and_score
from .io import read_mask
from .paths import data_root
from .segment import check_model_available, save_gif


def run_demo(out=None, method: str = "dtn"):
    spec = get_method(method)
    root = ensure_dataset(cfg=SyntheticConfig())
    print("synthetic DAVIS-format data ready (data/synthetic)")
    out = Path(out) if out else data_root() / "demo"
    first = run_and_score(RepeatFirstMask(), root, out / "first", progress=True)
    check_model_available(method, train_if_missing=True)      # says so when it must train
    res = run_and_score(spec.segmenter(), root, out / method, progress=True)
    davis = DAVIS(root, split="val")
    seq = davis.sequences[0]
    s = davis.load_sequence(seq)
    masks = [read_mask(out / method / seq / f"{t:05d}.png") for t in range(len(s.frames))]
    gif = save_gif(out / f"{seq}_{method}.gif", s.frames, masks)
    rows = [("repeat first mask", first["scores"]["global"]),
            (f"{method} (CPU scale)", res["scores"]["global"])]
    rows += earlier_runs(root, out, davis, exclude=method)
    return rows, res, out, gif, len(davis.sequences)


def earlier_runs(root, out: Path, davis: DAVIS, exclude: str) -> list:
    """``(name, global scores)`` of every other trainable method whose demo results are
    complete in ``out/<method>``, or ``(name, None)`` when it has not been run yet."""
    from .eval.evaluate import evaluate
    rows = []
    for name in REGISTRY:
        if name == exclude or get_method(name).train is None:
            continue
        done = all(len(list((out / name / seq).glob("*.png"))) == davis.num_frames(seq)
                   for seq in davis.sequences)
        scores = evaluate(root, out / name, split="val", write=False)["global"] if done \
            else None
        rows.append((f"{name} (CPU scale)", scores))
    return rows
