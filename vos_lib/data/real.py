"""A small DAVIS-format test split of *real* footage, built from frames + per-frame masks.

Everything else in the library runs on generated videos; this module turns a few real
clips with exact ground truth into the layout :class:`vos_lib.data.DAVIS`,
:func:`vos_lib.eval.run.run_and_score` and ``python -m vos_lib.evaluate`` read::

    DEST/JPEGImages/480p/<seq>/00000.jpg ...   the frames, renumbered 0..T-1 (JPEG bytes
                                               copied unchanged; other formats as PNG)
    DEST/Annotations/480p/<seq>/00000.png ...  indexed PNGs in the DAVIS palette, every frame
    DEST/ImageSets/2017/val.txt                the sequences, one a line
    DEST/source.json                           where the clips came from (repository,
                                               commit, paths, licence), sizes, frame counts

``DEST`` defaults to ``data/real`` (:func:`real_root`), which git ignores: downloaded
frames never enter the repository.  The split is written to a temporary folder next to
``DEST`` and renamed into place only once every clip passed the checks and the result
reads back with :meth:`DAVIS.validate`, so a failed build never leaves half a split.

Input checks (each error names the file or folder and the problem):

* frames: a folder of ``.jpg``/``.jpeg``/``.png``/``.bmp`` images, in natural order
  (:func:`vos_lib.inputs.list_frames`), all of one size;
* masks: one ``.png`` per frame, matched by file stem (``00012.jpg`` <-> ``00012.png``);
  a frame without a mask (e.g. first-frame-only annotations, which cannot be scored),
  a mask without a frame, or a mask of another size is refused;
* mask format: an indexed (mode ``"P"``) PNG is read as object ids; a black-and-white
  ``0/255`` PNG (the DAVIS 2016 release) is object 1; anything else - RGB or RGBA
  colours, grey levels other than 0/255, a lossy JPEG "mask" - is refused, since its
  values are not ids (``gray="ids"`` reads a grey-level PNG's values as ids instead);
* the first mask must hold at least one object.

Sources: a folder of frames + a folder of masks per clip (:func:`build_split`), a
DAVIS-layout folder (:func:`build_from_davis`), or a git repository - a bare mirror or a
checkout - read at a fixed commit without a work tree (:func:`build_from_git`).
:data:`EOR_VOS` records the public copy the benchmark uses (``benchmarks/README.md``,
*Real footage*).  Command line::

    python -m vos_lib.data.real --git PATH/EOR-VOS[.git] [--sequences blackswan ...]
    python -m vos_lib.data.real --davis-root DIR --sequences SEQ ...
    python -m vos_lib.data.real --frames DIR --masks DIR --name SEQ
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np
from PIL import Image

from ..inputs import IMAGE_SUFFIXES, list_frames, natural_key
from ..io import DataFormatError, object_ids, read_frame, replace_dir, write_frame, write_mask
from ..paths import data_root
from .davis import DAVIS

__all__ = ["Clip", "ClipCheck", "GitSource", "EOR_VOS", "OSVOS_TF", "SOURCES",
           "DEFAULT_SEQUENCES", "real_root", "read_gt_mask", "check_clip", "build_split",
           "build_from_davis", "build_from_git", "main"]

PathLike = Union[str, os.PathLike]
MANIFEST = "source.json"


@dataclass(frozen=True)
class GitSource:
    """A public repository holding DAVIS-layout clips, and the commit they are read at."""
    repo: str                      # owner/name on GitHub
    commit: str                    # full hash the split is built from
    frames: str                    # path of a clip's frames, ``{seq}`` is the sequence
    masks: str                     # path of its masks
    licence: str                   # of the footage and masks (not of the repository's code)
    note: str = ""

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}"


# DAVIS 2016 val (all 20 sequences, 480p, a binary 0/255 mask for every frame) as shipped
# by the EOR-VOS code release; the files were added in 119d8d3 (2019-10-21) and are
# unchanged at the commit below.  The repository itself has no licence file; the data
# are DAVIS's.
EOR_VOS = GitSource(
    repo="MathLee/EOR-VOS",
    commit="1bde4d5f936304c5ad69e301956e9d65082dfbc8",
    frames="DAVIS/JPEGImages/480p/{seq}", masks="DAVIS/Annotations/480p/{seq}",
    licence="DAVIS 2016 (Perazzi et al., CVPR 2016): CC BY-NC 4.0 per the DAVIS 2016 "
            "README's Terms of Use; sequences are the DAVIS authors' own unless the README "
            "lists them as YouTube videos (breakdance, drift-*, motocross-*, parkour, "
            "dog-agility), whose own terms apply",
    note="frames 854x480 JPEG, masks 0/255 grayscale PNG (object 1), one per frame")

# the same car-shadow clip (40 frames; identical masks, JPEGs re-encoded) ships with the
# OSVOS demo; its repository's code is GPL-3.0, the clip is DAVIS's
OSVOS_TF = GitSource(
    repo="scaelles/OSVOS-TensorFlow",
    commit="6ef61d1f523296b95974a6dafac01e94bf2fde7d",
    frames="DAVIS/JPEGImages/480p/{seq}", masks="DAVIS/Annotations/480p/{seq}",
    licence=EOR_VOS.licence, note="car-shadow only; " + EOR_VOS.note)

SOURCES = {"eor-vos": EOR_VOS, "osvos-tf": OSVOS_TF}

# short clips shot by the DAVIS authors (none of the YouTube ones), one object each
DEFAULT_SEQUENCES = ("blackswan", "car-shadow", "libby")


def real_root() -> Path:
    """Default destination of the real-footage split: ``data/real`` (git-ignored)."""
    return data_root() / "real"


@dataclass
class Clip:
    """One clip to put into the split: its frames folder and its masks folder."""
    name: str
    frames: PathLike
    masks: PathLike
    source: dict = field(default_factory=dict)     # free-form provenance (stored in JSON)


# ------------------------------------------------------------------------------- checks
def read_gt_mask(path: PathLike, *, gray: str = "binary") -> tuple[np.ndarray, str]:
    """A ground-truth mask file as ``(H, W)`` uint8 ids, and how it was read.

    Indexed PNG: values are ids (255 void).  ``"L"``/``"1"`` PNG: with ``gray="binary"``
    (default) only 0 and 255 are allowed and 255 becomes object 1; with ``gray="ids"``
    the values are ids.  Anything else is refused with the file's name."""
    path = Path(path)
    if gray not in ("binary", "ids"):
        raise ValueError(f"gray must be 'binary' or 'ids', got {gray!r}")
    if not path.is_file():
        raise DataFormatError(f"{path}: mask file does not exist")
    try:
        with Image.open(path) as im:
            fmt, mode = (im.format or "").upper(), im.mode
            if fmt != "PNG":
                raise DataFormatError(
                    f"{path}: ground-truth mask must be a PNG (lossless), got "
                    f"{fmt or 'an unknown format'}; a lossy mask has no exact object ids")
            if mode == "P":
                return np.array(im, np.uint8), "indexed PNG: values are object ids"
            if mode not in ("L", "1"):
                raise DataFormatError(
                    f"{path}: mask is not indexed (PNG mode {mode!r}): ground truth must be "
                    f"an indexed (mode 'P') PNG of object ids or a black-and-white 0/255 "
                    f"PNG, not colours")
            a = np.array(im.convert("L"), np.uint8)
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read mask ({e})") from e
    if gray == "ids":
        return a, "grey-level PNG: values are object ids"
    values = np.unique(a)
    bad = [int(v) for v in values if v not in (0, 255)]
    if bad:
        raise DataFormatError(
            f"{path}: grey-level mask has values {bad[:5]} besides 0 and 255: it is neither "
            f"a black-and-white mask nor indexed; save it as an indexed (mode 'P') PNG of "
            f"object ids (or pass gray='ids' / --gray ids if its values are ids)")
    return (a == 255).astype(np.uint8), "black-and-white PNG: 255 is object 1"


@dataclass
class ClipCheck:
    """What :func:`check_clip` found: the ordered frame and mask files and the facts."""
    name: str
    frame_files: list
    mask_files: list
    size: tuple                    # (H, W)
    object_ids: list               # of the first mask
    later_ids: list                # ids seen after frame 0 but not in it
    mask_rule: str
    notes: list

    def summary(self) -> dict:
        return {"frames": len(self.frame_files), "height": self.size[0],
                "width": self.size[1], "object_ids": self.object_ids,
                "ids_absent_from_first_mask": self.later_ids, "masks": self.mask_rule,
                "notes": self.notes}


def _check_name(name: str) -> None:
    if not name or name != name.strip() or any(c in name for c in "/\\") or \
            name.startswith("."):
        raise DataFormatError(f"{name!r}: not a usable sequence name (no slashes, no leading "
                              f"dot or spaces)")


def check_clip(clip: Clip, *, gray: str = "binary", max_frames: Optional[int] = None
               ) -> tuple[ClipCheck, list]:
    """Check one clip completely (every frame and mask is decoded) and return the facts
    and its id masks; raises :class:`DataFormatError` naming the file on any problem."""
    _check_name(clip.name)
    fdir, mdir = Path(clip.frames), Path(clip.masks)
    frames, notes = list_frames(fdir)
    if not mdir.is_dir():
        raise DataFormatError(f"{mdir}: masks folder of sequence {clip.name!r} does not exist")
    masks_all = [p for p in mdir.iterdir() if p.is_file() and not p.name.startswith(".")
                 and p.suffix.lower() in IMAGE_SUFFIXES]
    by_stem: dict = {}
    for p in masks_all:
        if p.stem in by_stem:
            raise DataFormatError(f"{p}: two masks for frame {p.stem!r} ({by_stem[p.stem].name})")
        by_stem[p.stem] = p
    stems = [p.stem for p in frames]
    extra = sorted(set(by_stem) - set(stems), key=natural_key)
    if extra:
        raise DataFormatError(
            f"{by_stem[extra[0]]}: mask has no frame {extra[0]}.* in {fdir} "
            f"({len(by_stem)} masks for {len(frames)} frames)")
    missing = [s for s in stems if s not in by_stem]
    if missing:
        what = ("only the first frame is annotated; scoring needs a mask for every frame"
                if len(by_stem) == 1 and stems[0] in by_stem else
                "every frame needs its mask to be scored")
        raise DataFormatError(
            f"{mdir}: {len(by_stem)} masks for {len(frames)} frames in {fdir}: {what} "
            f"(missing {', '.join(s + '.png' for s in missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''})")
    if max_frames is not None:
        if max_frames < 2:
            raise ValueError("max_frames must be at least 2")
        frames = frames[:max_frames]
    mask_files = [by_stem[p.stem] for p in frames]
    size, ids_masks, rules = None, [], set()
    for f, m in zip(frames, mask_files):
        img = read_frame(f)
        if size is None:
            size = img.shape[:2]
        elif img.shape[:2] != size:
            raise DataFormatError(f"{f}: frame size {img.shape[1]}x{img.shape[0]} differs "
                                  f"from the first frame's {size[1]}x{size[0]} "
                                  f"({frames[0].name})")
        ids, rule = read_gt_mask(m, gray=gray)
        if ids.shape != size:
            raise DataFormatError(f"{m}: mask size {ids.shape[1]}x{ids.shape[0]} does not "
                                  f"match its frame {f.name} ({size[1]}x{size[0]})")
        rules.add(rule)
        ids_masks.append(ids)
    first = object_ids(ids_masks[0])
    if not first:
        raise DataFormatError(f"{mask_files[0]}: first-frame mask of sequence {clip.name!r} "
                              f"holds no object (only background/void)")
    seen = sorted({i for m in ids_masks[1:] for i in object_ids(m)} - set(first))
    if seen:
        notes.append(f"ids {seen} appear after frame 0 only; they are not scored")
    chk = ClipCheck(clip.name, frames, mask_files, tuple(int(s) for s in size), first, seen,
                    " + ".join(sorted(rules)), notes)
    return chk, ids_masks


# -------------------------------------------------------------------------------- build
def build_split(clips: Sequence[Clip], dest: Optional[PathLike] = None, *,
                split: str = "val", overwrite: bool = False, gray: str = "binary",
                max_frames: Optional[int] = None, source: Optional[dict] = None) -> Path:
    """Write ``clips`` as a DAVIS 2017-format split at ``dest`` (default
    :func:`real_root`) and return ``dest``.

    Every clip is checked in full before anything is written.  An existing ``dest`` is
    kept when its ``source.json`` already describes the same build (same clips, files and
    source), refused otherwise unless ``overwrite``."""
    dest = Path(dest) if dest is not None else real_root()
    if not clips:
        raise ValueError("no clips to build")
    names = [c.name for c in clips]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataFormatError(f"sequence name {dup[0]!r} is given twice")
    checks = [check_clip(c, gray=gray, max_frames=max_frames) for c in clips]
    manifest = {
        "format": "DAVIS 2017 layout (JPEGImages/480p, Annotations/480p indexed PNG in the "
                  "DAVIS palette, ImageSets/2017)",
        "split": split, "sequences": names, "source": source or {},
        "clips": {c.name: {**chk.summary(), "source": c.source,
                           "frame_files": [p.name for p in chk.frame_files],
                           "mask_files": [p.name for p in chk.mask_files]}
                  for c, (chk, _) in zip(clips, checks)},
        "max_frames": max_frames,
    }
    if dest.exists():
        old = _read_manifest(dest)
        if old is not None and _same_build(old, manifest) and _complete(dest, split):
            return dest
        if not overwrite:
            raise DataFormatError(
                f"{dest}: exists and holds another split (or none); pass overwrite=True "
                f"(--force) to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.partial-"))
    try:
        for c, (chk, ids_masks) in zip(clips, checks):
            fdir = tmp / "JPEGImages" / "480p" / c.name
            mdir = tmp / "Annotations" / "480p" / c.name
            fdir.mkdir(parents=True)
            for t, (f, ids) in enumerate(zip(chk.frame_files, ids_masks)):
                if f.suffix.lower() in (".jpg", ".jpeg"):
                    shutil.copyfile(f, fdir / f"{t:05d}.jpg")       # bytes unchanged
                elif f.suffix.lower() == ".png":
                    shutil.copyfile(f, fdir / f"{t:05d}.png")
                else:
                    write_frame(fdir / f"{t:05d}.png", read_frame(f))
                write_mask(mdir / f"{t:05d}.png", ids)
        sets = tmp / "ImageSets" / "2017"
        sets.mkdir(parents=True)
        (sets / f"{split}.txt").write_text("".join(n + "\n" for n in names))
        DAVIS(tmp, year="2017", split=split).validate()
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))   # last: the marker
        replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _read_manifest(dest: Path) -> Optional[dict]:
    try:
        return json.loads((dest / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _same_build(a: dict, b: dict) -> bool:
    keys = ("split", "sequences", "source", "max_frames")
    if any(a.get(k) != b.get(k) for k in keys):
        return False
    strip = ("source",)
    ca, cb = a.get("clips", {}), b.get("clips", {})
    return {k: {x: y for x, y in v.items() if x not in strip} for k, v in ca.items()} == \
        {k: {x: y for x, y in v.items() if x not in strip} for k, v in cb.items()}


def _complete(dest: Path, split: str) -> bool:
    try:
        DAVIS(dest, year="2017", split=split).validate(deep=False)
        return True
    except DataFormatError:
        return False


def build_from_davis(davis_root: PathLike, sequences: Iterable[str],
                     dest: Optional[PathLike] = None, *, resolution: str = "480p",
                     **kw) -> Path:
    """Build from a DAVIS-layout folder (``JPEGImages/<res>/<seq>``,
    ``Annotations/<res>/<seq>``), e.g. a checkout of a repository that ships some."""
    root = Path(davis_root)
    clips = [Clip(s, root / "JPEGImages" / resolution / s, root / "Annotations" / resolution / s,
                  {"davis_root": str(root)}) for s in sequences]
    kw.setdefault("source", {"davis_root": str(root)})
    return build_split(clips, dest, **kw)


# ---------------------------------------------------------------------------------- git
def _git(git_dir: Path, *args: str, binary: bool = False):
    try:
        r = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True,
                           check=False)
    except FileNotFoundError as e:
        raise DataFormatError("git is not installed; check out the repository and use "
                              "--davis-root instead") from e
    if r.returncode != 0:
        raise DataFormatError(f"{git_dir}: git {' '.join(args)} failed: "
                              f"{r.stderr.decode(errors='replace').strip()}")
    return r.stdout if binary else r.stdout.decode()


def _git_dir(path: PathLike) -> Path:
    """The git directory of a bare mirror (``.../repo``, ``X.git``) or of a checkout."""
    p = Path(path)
    if (p / ".git").exists():
        p = p / ".git"
    if not ((p / "HEAD").is_file() and (p / "objects").is_dir()):
        raise DataFormatError(f"{path}: not a git repository (no HEAD and objects/ in it or "
                              f"in its .git/)")
    return p


def build_from_git(git_path: PathLike, sequences: Iterable[str] = DEFAULT_SEQUENCES,
                   dest: Optional[PathLike] = None, *, source: GitSource = EOR_VOS,
                   rev: Optional[str] = None, **kw) -> Path:
    """Build from a git repository (bare mirror or checkout) at ``rev`` (default: the
    source's pinned commit), without a work tree: each clip's files are read with
    ``git ls-tree``/``git cat-file`` into a temporary folder, then checked and written
    by :func:`build_split`.  ``source.json`` records the repository, commit and paths."""
    gd = _git_dir(git_path)
    rev = rev or source.commit
    try:
        commit = _git(gd, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except DataFormatError:
        pinned = "" if rev != source.commit else f" (the commit pinned for {source.repo}; " \
            "is it that repository, or is another --source meant?)"
        raise DataFormatError(f"{git_path}: has no commit {rev}{pinned}") from None
    sequences = list(sequences)
    with tempfile.TemporaryDirectory(prefix="vos_real_") as work:
        clips = []
        for s in sequences:
            _check_name(s)
            parts = {}
            for kind, pattern in (("frames", source.frames), ("masks", source.masks)):
                path = pattern.format(seq=s)
                listing = _git(gd, "ls-tree", "-z", commit, f"{path}/").split("\0")
                blobs = [ln.split("\t", 1) for ln in listing if ln]
                blobs = [(meta.split()[2], name) for meta, name in blobs
                         if meta.split()[1] == "blob"]
                if not blobs:
                    raise DataFormatError(f"{source.repo}@{commit[:7]}:{path}: no such folder "
                                          f"(or empty) for sequence {s!r}")
                out = Path(work) / kind / s
                out.mkdir(parents=True)
                for sha, name in blobs:
                    (out / Path(name).name).write_bytes(_git(gd, "cat-file", "blob", sha,
                                                             binary=True))
                parts[kind] = (out, path)
            clips.append(Clip(s, parts["frames"][0], parts["masks"][0],
                              {"frames": parts["frames"][1], "masks": parts["masks"][1]}))
        src = {**asdict(source), "commit": commit, "url": source.url}
        kw.setdefault("source", src)
        return build_split(clips, dest, **kw)


# ------------------------------------------------------------------------------ command
def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vos_lib.data.real", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--git", help="git repository (bare mirror or checkout) holding the "
                                 f"clips; default source {EOR_VOS.repo}@{EOR_VOS.commit[:7]}")
    g.add_argument("--davis-root", help="a DAVIS-layout folder holding the clips")
    g.add_argument("--frames", help="one clip's frames folder (with --masks and --name)")
    ap.add_argument("--masks", help="that clip's masks folder, one PNG per frame")
    ap.add_argument("--name", help="that clip's sequence name")
    ap.add_argument("--sequences", nargs="+", default=None,
                    help=f"clips to take (default {' '.join(DEFAULT_SEQUENCES)})")
    ap.add_argument("--source", choices=sorted(SOURCES), default="eor-vos",
                    help="which known repository --git points at (its pinned commit, paths "
                         "and licence are recorded); default eor-vos")
    ap.add_argument("--rev", default=None, help="commit to read with --git (default: pinned)")
    ap.add_argument("--dest", default=None, help=f"output root (default {real_root()})")
    ap.add_argument("--max-frames", type=int, default=None, help="keep the first N frames")
    ap.add_argument("--gray", choices=["binary", "ids"], default="binary",
                    help="how to read grey-level masks (default: 0/255 = object 1)")
    ap.add_argument("--force", action="store_true", help="replace another split at --dest")
    a = ap.parse_args(argv)
    kw = dict(overwrite=a.force, gray=a.gray, max_frames=a.max_frames)
    try:
        if a.frames:
            if not (a.masks and a.name):
                ap.error("--frames needs --masks and --name")
            dest = build_split([Clip(a.name, a.frames, a.masks,
                                     {"frames": str(a.frames), "masks": str(a.masks)})],
                               a.dest, **kw)
        elif a.davis_root:
            dest = build_from_davis(a.davis_root, a.sequences or DEFAULT_SEQUENCES, a.dest, **kw)
        else:
            dest = build_from_git(a.git, a.sequences or DEFAULT_SEQUENCES, a.dest,
                                  source=SOURCES[a.source], rev=a.rev, **kw)
    except DataFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = _read_manifest(dest)
    for name, c in m["clips"].items():
        print(f"{name:<16} {c['frames']:>4} frames {c['width']}x{c['height']}  objects "
              f"{c['object_ids']}  ({c['masks']})")
    print(f"wrote {dest} (split {m['split']!r}, {len(m['sequences'])} sequences; "
          f"provenance in {MANIFEST})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
