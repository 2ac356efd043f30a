"""Where generated data and cached checkpoints live, and a cross-process file lock.

Default: ``<repo>/data`` when running from a checkout, else ``~/.cache/vos_lib``;
override with the ``VOS_DATA`` environment variable.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_root() -> Path:
    env = os.environ.get("VOS_DATA")
    if env:
        return Path(env)
    repo = _PKG.parent
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.home() / ".cache" / "vos_lib"


def rel(path) -> str:
    """``path`` as the book prints it: relative to the folder that holds ``data/`` (never
    an absolute machine path); a path elsewhere is shown by its name alone."""
    path = Path(path)
    try:
        return path.resolve().relative_to(data_root().resolve().parent).as_posix()
    except ValueError:
        return path.name


def synthetic_root() -> Path:
    """Default root of the generated synthetic DAVIS-format dataset."""
    return data_root() / "synthetic"


def checkpoint_dir() -> Path:
    return data_root() / "checkpoints"


@contextlib.contextmanager
def file_lock(path: str | os.PathLike):
    """Exclusive lock on ``path`` (created if missing) held for the ``with`` block.

    Two processes (two notebooks run by nbval in parallel, say) that both need the same
    generated dataset or checkpoint take this lock; the second waits, then finds the
    work done.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
