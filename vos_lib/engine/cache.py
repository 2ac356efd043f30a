"""Results cached by the fingerprint of the checkpoints that produced them.

An experiment (a table row, a point of a sweep) is a small JSON summary stored under
``data/results/<name>.json`` together with its ``key``: the fingerprints of the
checkpoints it used and its settings.  Retraining a checkpoint changes its fingerprint
and so invalidates every result computed from it.  Two processes asking for the same
result at once compute it once (file lock), and the JSON is written atomically.  The
cache knows nothing about any method: it stores what ``compute()`` returns.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from ..io import atomic_write_bytes
from ..paths import data_root, file_lock


def results_dir() -> Path:
    return data_root() / "results"


def fingerprint(path) -> str:
    """``name:size:mtime`` of a checkpoint file (cheap; changes when it is rewritten)."""
    st = os.stat(path)
    return f"{Path(path).name}:{st.st_size}:{int(st.st_mtime)}"


def cached_json(name: str, key: dict, compute: Callable[[], dict], directory=None) -> dict:
    """Return the stored result ``name`` if its key equals ``key``, else ``compute()`` it.

    The stored JSON is ``{"name", "key", **compute()}``.
    """
    out = Path(directory) if directory is not None else results_dir()
    path = out / f"{name}.json"

    def stored():
        if path.is_file():
            s = json.loads(path.read_text())
            if s.get("key") == key:
                return s
        return None

    s = stored()
    if s is not None:
        return s
    with file_lock(out / f".{name}.lock"):
        s = stored()
        if s is None:
            s = {"name": name, "key": key, **compute()}
            atomic_write_bytes(path, json.dumps(s).encode())
    return s
