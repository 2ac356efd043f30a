"""Evaluate a folder of DAVIS results: a drop-in for the official ``evaluation_method.py``.

    python -m vos_lib.evaluate --davis-root ROOT --results DIR --set val
                               [--year 2017|2016] [--resolution 480p]

computes the DAVIS semi-supervised measures (:mod:`vos_lib.eval.metrics`: J and F with their
mean, recall and decay) of ``DIR/<seq>/%05d.png`` against ``ROOT/Annotations/<res>/<seq>``
for the sequences of ``ROOT/ImageSets/<year>/<set>.txt`` and writes into ``DIR``:

* ``global_results-<set>.csv`` -- columns ``J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,
  F-Recall,F-Decay``, one row, 3 decimals (as the official toolkit writes it);
* ``per-sequence_results-<set>.csv`` -- ``Sequence,J-Mean,F-Mean``, one row per object
  named ``<seq>_<k>``, 3 decimals;
* ``results-<set>.json`` -- the same numbers at full precision, with every per-object
  statistic.

Unlike the official script, it always recomputes (that one silently reuses CSVs it finds).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from ..io import atomic_write_bytes, DataFormatError
from ..eval.metrics import GLOBAL_COLUMNS, evaluate_folder

PER_SEQUENCE_COLUMNS = ("Sequence", "J-Mean", "F-Mean")


def _fmt(x: float) -> str:
    """3-decimal number as pandas' ``to_csv(float_format="%.3f")`` writes it (NaN empty)."""
    return "" if x is None or math.isnan(x) else "%.3f" % x


def _csv_text(header: Sequence[str], rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def global_csv(results: dict) -> str:
    """Text of ``global_results-<set>.csv``."""
    return _csv_text(GLOBAL_COLUMNS, [[_fmt(results[c]) for c in GLOBAL_COLUMNS]])


def per_sequence_csv(results: dict) -> str:
    """Text of ``per-sequence_results-<set>.csv``."""
    rows = [[name, _fmt(s["J-Mean"]), _fmt(s["F-Mean"])]
            for name, s in results["per_object"].items()]
    return _csv_text(PER_SEQUENCE_COLUMNS, rows)


def _json_value(x):
    return None if isinstance(x, float) and math.isnan(x) else x


def results_json(results: dict) -> str:
    """Text of ``results-<set>.json``: full-precision global and per-object numbers."""
    doc = {
        "split": results.get("split"), "year": results.get("year"),
        "resolution": results.get("resolution"), "protocol": "semi-supervised",
        "global": {c: _json_value(results[c]) for c in GLOBAL_COLUMNS},
        "per_object": {name: {k: _json_value(v) for k, v in s.items()}
                       for name, s in results["per_object"].items()},
    }
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def _write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_results(results: dict, results_dir, split: str = "val") -> dict:
    """Write the two CSVs and the JSON into ``results_dir``; returns their paths."""
    d = Path(results_dir)
    files = {"global": d / f"global_results-{split}.csv",
             "per_sequence": d / f"per-sequence_results-{split}.csv",
             "json": d / f"results-{split}.json"}
    _write_text(files["global"], global_csv(results))
    _write_text(files["per_sequence"], per_sequence_csv(results))
    _write_text(files["json"], results_json(results))
    return files


def format_table(results: dict, split: str = "val") -> str:
    """The global and per-object tables, as the official script prints them (3 decimals)."""
    def table(header, rows):
        cells = [list(header)] + [list(r) for r in rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
        return "\n".join(" ".join(str(c).rjust(w) for c, w in zip(r, widths)) for r in cells)

    g = table(GLOBAL_COLUMNS, [[_fmt(results[c]) for c in GLOBAL_COLUMNS]])
    s = table(PER_SEQUENCE_COLUMNS, [[n, _fmt(v["J-Mean"]), _fmt(v["F-Mean"])]
                                     for n, v in results["per_object"].items()])
    return (f"--------------------------- Global results for {split} "
            f"---------------------------\n{g}\n\n"
            f"---------- Per sequence results for {split} ----------\n{s}\n")


def evaluate(davis_root, results_dir, split: str = "val", year: str = "2017",
             write: bool = True, *, resolution: str = "480p",
             sequences: Optional[Sequence[str]] = None, exclude_void: bool = False,
             workers: Optional[int] = None) -> dict:
    """Evaluate ``results_dir`` against DAVIS (semi-supervised) and, if ``write``, save the
    CSVs and JSON into it.  Returns the dict of :func:`vos_lib.eval.metrics.evaluate_folder`
    (global numbers at the top level, ``per_object``, ``per_frame``) plus ``files`` when
    written.  A results folder that cannot be written is refused before any scoring."""
    if write and Path(results_dir).is_dir() and not os.access(results_dir, os.W_OK):
        raise DataFormatError(f"{results_dir}: results folder is not writable, so the CSV and "
                              "JSON files cannot be saved there; add --no-write to only print")
    results = evaluate_folder(davis_root, results_dir, split=split, year=str(year),
                              resolution=resolution, sequences=sequences,
                              exclude_void=exclude_void, workers=workers)
    if write:
        try:
            files = write_results(results, results_dir, split)
        except OSError as e:        # read-only folder or file system, full disk, ...
            raise DataFormatError(f"{results_dir}: cannot write the result files ({e}); "
                                  "add --no-write to only print the scores") from e
        results["files"] = {k: str(v) for k, v in files.items()}
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m vos_lib.evaluate",
        description="DAVIS semi-supervised evaluation (J, F) of a results folder; writes "
                    "global_results-<set>.csv, per-sequence_results-<set>.csv and "
                    "results-<set>.json into it.")
    ap.add_argument("--davis-root", required=True,
                    help="DAVIS folder with Annotations/<resolution>/ and ImageSets/<year>/")
    ap.add_argument("--results", required=True,
                    help="folder of <sequence>/<frame>.png indexed PNG results")
    ap.add_argument("--set", default="val", help="subset: ImageSets/<year>/<set>.txt (val)")
    ap.add_argument("--year", default="2017", choices=["2017", "2016"],
                    help="2017 (multi-object) or 2016 (single-object: all ids merged)")
    ap.add_argument("--resolution", default="480p", help="Annotations sub-folder (480p)")
    ap.add_argument("--sequences", nargs="+", help="evaluate only these sequences")
    ap.add_argument("--exclude-void", action="store_true",
                    help="leave void (255) pixels out of J and F (the official "
                         "semi-supervised evaluation counts them as background)")
    ap.add_argument("--workers", type=int, default=None, help="threads (default: cores, <= 4)")
    ap.add_argument("--no-write", action="store_true", help="print only, write no files")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    try:
        res = evaluate(args.davis_root, args.results, split=args.set, year=args.year,
                       write=not args.no_write, resolution=args.resolution,
                       sequences=args.sequences, exclude_void=args.exclude_void,
                       workers=args.workers)
    except DataFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"Evaluated {len(res['sequences'])} sequences, {len(res['per_object'])} objects "
          f"(DAVIS {args.year} {args.set}, semi-supervised)")
    for path in res.get("files", {}).values():
        print(f"Saved {path}")
    print(format_table(res, args.set), end="")
    print(f"\nTotal time: {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
