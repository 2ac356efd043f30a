"""Command line: ``python -m vos_lib {segment,train,demo,prepare}`` (parse, call, print).

``python -m vos_lib.evaluate`` (scoring) and ``python -m vos_lib.data.synthetic`` /
``python -m vos_lib.data.download`` (data) are their own modules.  The ``--method`` and
``--variant`` choices come from the registry (:mod:`vos_lib.core.segmenter`).
"""
from __future__ import annotations

import argparse
import sys

from .core.segmenter import REGISTRY, get_method
from .io import DataFormatError, UsageError


def _segment(a):
    from .segment import run_segment
    options = {"finetune": False} if a.no_finetune else {}
    rep = run_segment(a.method, a.frames, a.mask, a.out, checkpoint=a.checkpoint, device=a.device,
                      train_if_missing=a.train_if_missing, options=options)
    fm = rep["first_mask"]
    print(f"first-frame mask: {fm['rule']}; objects "
          + ", ".join(f"{i} ({n} px)" for i, n in fm["objects"].items()))
    if fm["dropped"]:
        print("ignored ids " + ", ".join(f"{i} ({n} px)" for i, n in fm["dropped"].items())
              + ": too small or edge pixels only (antialiasing or compression), not objects")
    for note in rep["input_notes"]:
        print(f"frames: {note}")
    print(f"wrote {rep['n_frames']} masks of size {rep['frame_size'][0]}x{rep['frame_size'][1]} "
          f"for objects {rep['object_ids']} to {a.out} (+ overlay.gif, report.json)")
    if "finetune_seconds" in rep:
        print(f"one-shot fine-tuning: {rep['finetune_seconds']:.1f} s (not in the per-frame "
              f"times); inference {sum(rep['frame_seconds']):.1f} s for "
              f"{len(rep['frame_seconds'])} frames")
    if "br_fraction" in rep:
        print(f"frames routed to box re-identification: {rep['br_fraction']:.0%}")


def _train(a):
    spec = get_method(a.method)
    if spec.train is None:
        raise UsageError(f"--method {a.method} has nothing to train")
    variants = spec.variants if a.variant == "all" else [a.variant]
    for v in variants:
        if v not in spec.variants:
            raise UsageError(f"--method {a.method} has no variant {v!r}; choose one of "
                             f"{list(spec.variants)}")
        path = spec.train(a.preset, data_root=a.data, variant=v, out_dir=a.out, device=a.device)
        print(f"{v}: {path}")


def _demo(a):
    """Synthetic data -> a method (trained if missing) -> val results -> GIF -> J&F."""
    from .demo import run_demo
    rows, res, out, gif, n_videos = run_demo(a.out, a.method)
    print(f"\n{'method':<22}{'J&F':>8}{'J':>8}{'F':>8}   (synthetic val, {n_videos} videos)")
    for name, g in rows:
        if g is None:
            other = name.split()[0]
            print(f"{name:<22}{'-':>8}   (not run yet: make demo METHOD={other})")
        else:
            print(f"{name:<22}{g['J&F-Mean']:8.3f}{g['J-Mean']:8.3f}{g['F-Mean']:8.3f}")
    routes = [r for i in res["infos"].values() for r in i.get("routes", [])]
    if routes:
        print(f"{a.method} routed {res['br_fraction']:.0%} of frames to box re-identification")
    ft = [i["finetune_seconds"] for i in res["infos"].values() if "finetune_seconds" in i]
    if ft:
        print(f"{a.method}: one-shot fine-tuning took {sum(ft) / len(ft):.1f} s per video")
    print(f"results: {out}   overlay: {gif}")


def _prepare(a):
    """Generate the data, train every checkpoint the notebooks share, run the cached
    experiments of both methods; see :func:`vos_lib.prepare.prepare`."""
    from .prepare import prepare
    results = prepare(jobs=a.jobs, quiet=a.quiet)
    for name, r in results.items():
        print(f"{name:<24} J&F {r['global']['J&F-Mean']:.3f}  BR {r['br_fraction']:.0%}")


def _parser() -> argparse.ArgumentParser:
    methods = list(REGISTRY)
    trainable = [m for m in methods if get_method(m).train is not None]
    variants = sorted({v for m in trainable for v in get_method(m).variants}) + ["all"]
    p = argparse.ArgumentParser(prog="python -m vos_lib", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("segment", help="segment a video from its first-frame mask")
    s.add_argument("--method", default="dtn", choices=methods)
    s.add_argument("--frames", required=True,
                   help="folder of frames (jpg/png, in natural order) or a video file")
    s.add_argument("--mask", required=True,
                   help="first-frame mask: indexed PNG of ids, or black-and-white (object 1)")
    s.add_argument("--out", required=True)
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--device", default=None, choices=["cpu", "cuda"])
    s.add_argument("--train-if-missing", action="store_true",
                   help="train the CPU-scale model first when no checkpoint is given or cached")
    s.add_argument("--no-finetune", action="store_true",
                   help="skip the one-shot fine-tuning on the first frame (dipnet)")
    s.set_defaults(fn=_segment)

    t = sub.add_parser("train", help="train a method")
    t.add_argument("--method", default="dtn", choices=trainable)
    t.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    t.add_argument("--data", default=None, help="DAVIS-format root (default: synthetic data)")
    t.add_argument("--variant", default="full", choices=variants)
    t.add_argument("--out", default=None, help="checkpoint folder (default data/checkpoints)")
    t.add_argument("--device", default=None, choices=["cpu", "cuda"])
    t.set_defaults(fn=_train)

    d = sub.add_parser("demo", help="the README's `make demo`")
    d.add_argument("--out", default=None)
    d.add_argument("--method", default="dtn", choices=methods)
    d.set_defaults(fn=_demo)

    r = sub.add_parser("prepare", help="data + every shared checkpoint (used by make test)")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    r.set_defaults(fn=_prepare)
    return p


def main(argv=None):
    a = _parser().parse_args(argv)
    try:
        a.fn(a)
    except (DataFormatError, UsageError, FileNotFoundError, NotImplementedError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
