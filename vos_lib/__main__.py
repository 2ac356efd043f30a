"""Command line: ``python -m vos_lib {segment,train,demo,prepare}``.

``python -m vos_lib.evaluate`` (scoring) and ``python -m vos_lib.synthetic`` /
``python -m vos_lib.download`` (data) are their own modules.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _segment(a):
    from .segment import run_segment
    rep = run_segment(a.method, a.frames, a.mask, a.out, checkpoint=a.checkpoint, device=a.device)
    print(f"wrote {rep['n_frames']} masks of size {rep['frame_size'][0]}x{rep['frame_size'][1]} "
          f"for objects {rep['object_ids']} to {a.out} (+ overlay.gif, report.json)")
    if "br_fraction" in rep:
        print(f"frames routed to box re-identification: {rep['br_fraction']:.0%}")


def _train(a):
    if a.method == "dipnet":
        sys.exit("DIPNet training is not implemented yet (see the DIPNet issue); use --method dtn")
    from .train import VARIANTS, train_dtn
    variants = VARIANTS if a.variant == "all" else [a.variant]
    for v in variants:
        path = train_dtn(a.preset, data_root=a.data, variant=v, out_dir=a.out, device=a.device)
        print(f"{v}: {path}")


def _demo(a):
    """Synthetic data -> DTN (trained if missing) -> val results -> overlay GIF -> J&F."""
    from .baselines import RepeatFirstMask
    from .config import cpu
    from .dtn import DTNSegmenter
    from .inference import run_and_score
    from .paths import data_root
    from .segment import save_gif
    from .synthetic import ensure_dataset
    from .train import load_dtn, train_dtn
    from .data import DAVIS

    root = ensure_dataset(cfg=cpu().data)
    print(f"synthetic DAVIS-format data: {root}")
    out = Path(a.out) if a.out else data_root() / "demo"
    rows = []
    first = run_and_score(RepeatFirstMask(), root, out / "first", progress=True)
    rows.append(("repeat first mask", first))
    model = load_dtn(train_dtn("cpu"))
    dtn = run_and_score(DTNSegmenter(model), root, out / "dtn", progress=True)
    rows.append(("DTN (CPU scale)", dtn))
    davis = DAVIS(root, split="val")
    seq = davis.sequences[0]
    s = davis.load_sequence(seq)
    from .io import read_mask
    masks = [read_mask(out / "dtn" / seq / f"{t:05d}.png") for t in range(len(s.frames))]
    gif = save_gif(out / f"{seq}_dtn.gif", s.frames, masks)
    print(f"\n{'method':<22}{'J&F':>8}{'J':>8}{'F':>8}   (synthetic val, {len(davis.sequences)} videos)")
    for name, r in rows:
        g = r["scores"]["global"]
        print(f"{name:<22}{g['J&F-Mean']:8.3f}{g['J-Mean']:8.3f}{g['F-Mean']:8.3f}")
    print(f"DTN routed {dtn['br_fraction']:.0%} of frames to box re-identification")
    print(f"results: {out}   overlay: {gif}")


def _prepare(a):
    """Generate the data, train every checkpoint the notebooks share, run the cached
    experiments (Table 3, Fig. 6, baselines); see :func:`vos_lib.experiments.prepare`."""
    from . import experiments
    try:
        results = experiments.prepare(jobs=a.jobs, quiet=a.quiet)
    except RuntimeError as e:
        sys.exit(f"error: {e}")
    for name, r in results.items():
        print(f"{name:<24} J&F {r['global']['J&F-Mean']:.3f}  BR {r['br_fraction']:.0%}")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m vos_lib", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("segment", help="segment a video from its first-frame mask")
    s.add_argument("--method", default="dtn", choices=["dtn", "dipnet", "flow", "first"])
    s.add_argument("--frames", required=True, help="folder of frames (jpg/png), sorted by name")
    s.add_argument("--mask", required=True, help="first-frame indexed PNG mask")
    s.add_argument("--out", required=True)
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--device", default=None, choices=["cpu", "cuda"])
    s.set_defaults(fn=_segment)

    t = sub.add_parser("train", help="train a method")
    t.add_argument("--method", default="dtn", choices=["dtn", "dipnet"])
    t.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    t.add_argument("--data", default=None, help="DAVIS-format root (default: synthetic data)")
    t.add_argument("--variant", default="full",
                   choices=["full", "no_pretrain", "no_finetune", "no_guidance", "all"])
    t.add_argument("--out", default=None, help="checkpoint folder (default data/checkpoints)")
    t.add_argument("--device", default=None, choices=["cpu", "cuda"])
    t.set_defaults(fn=_train)

    d = sub.add_parser("demo", help="the README's `make demo`")
    d.add_argument("--out", default=None)
    d.set_defaults(fn=_demo)

    r = sub.add_parser("prepare", help="data + every shared checkpoint (used by make test)")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    r.set_defaults(fn=_prepare)

    a = p.parse_args(argv)
    try:
        a.fn(a)
    except (ValueError, FileNotFoundError, NotImplementedError, RuntimeError) as e:
        if type(e).__name__ in ("DataFormatError",) or isinstance(e, (FileNotFoundError, NotImplementedError)):
            sys.exit(f"error: {e}")
        raise


if __name__ == "__main__":
    main()
