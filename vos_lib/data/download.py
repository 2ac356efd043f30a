"""Download DAVIS 2017 (trainval, 480p) for paper-scale runs (Colab and the like).

``download_davis()`` streams the official zip (about 800 MB) with ``urllib``, resumes an
interrupted download from its ``.part`` file with an HTTP ``Range`` request, verifies the
archive (size, SHA-256, zip CRCs), extracts it into a temporary folder next to the
destination, checks the layout with :class:`vos_lib.data.DAVIS` and only then renames it
into place, so a half-extracted dataset is never left where the library looks for it.

Command line::

    python -m vos_lib.data.download [--dest DIR]

Offline?  Download the zip by hand from ``DAVIS_2017_TRAINVAL_480P_URL``, then either
put it next to the destination (``<dest>/../DAVIS-2017-trainval-480p.zip``) and rerun
(it is verified and extracted without network), or unzip it yourself and pass the
resulting ``DAVIS`` folder with ``--davis-root``.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Optional, Union

from ..io import DataFormatError
from ..paths import data_root, file_lock

__all__ = ["download_davis", "default_davis_root", "DownloadError", "OfflineError",
           "DAVIS_2017_TRAINVAL_480P_URL", "DAVIS_2017_TRAINVAL_480P_SHA256",
           "DAVIS_2017_TRAINVAL_480P_SIZE", "KNOWN_SHA256", "main"]

DAVIS_2017_TRAINVAL_480P_URL = \
    "https://data.vision.ee.ethz.ch/csergi/share/davis/DAVIS-2017-trainval-480p.zip"
# Size and SHA-256 as recorded by TensorFlow Datasets (video/davis/checksums.tsv).
DAVIS_2017_TRAINVAL_480P_SIZE = 832_766_765
DAVIS_2017_TRAINVAL_480P_SHA256 = \
    "e3d0b5b77c3d031b000a19e0e25e3e2cac65d183755601bc2cf066df1a2aa492"
KNOWN_SHA256 = {DAVIS_2017_TRAINVAL_480P_URL: DAVIS_2017_TRAINVAL_480P_SHA256}

_CHUNK = 1 << 20
_MARKER = ".vos_lib_validated"  # written into the root once the full validation passed


class DownloadError(RuntimeError):
    """The download, the verification or the extraction failed."""


class OfflineError(DownloadError):
    """The server could not be reached (no network, DNS failure, connection refused)."""


def default_davis_root() -> Path:
    """Where the dataset goes by default: ``<data_root()>/DAVIS``."""
    return data_root() / "DAVIS"


def _manual_instructions(url: str, dest: Path, zip_path: Path) -> str:
    return (
        f"To get the data by hand: on a machine with internet access download\n"
        f"    {url}\n"
        f"then either copy the zip to {zip_path} and run this again (it is verified and\n"
        f"extracted without network), or unzip it yourself (it holds a top-level 'DAVIS'\n"
        f"folder) so that {dest}/JPEGImages/480p exists, e.g.\n"
        f"    unzip {zip_path.name} && mv DAVIS {dest}\n"
        f"and point the library at it with `--davis-root {dest}` "
        f"(or DAVIS(root='{dest}') in Python).")


def _offline_error(url: str, reason, dest: Path, zip_path: Path) -> OfflineError:
    host = urllib.parse.urlsplit(url).netloc or url
    return OfflineError(
        f"Could not reach {host} ({reason}): this machine seems to be offline, or the "
        f"server is unreachable from it.\n" + _manual_instructions(url, dest, zip_path))


def _is_connection_problem(reason) -> bool:
    if isinstance(reason, ssl.SSLError):  # reachable, but TLS failed: not "offline"
        return False
    return isinstance(reason, (OSError, socket.timeout, TimeoutError)) or \
        "timed out" in str(reason).lower()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _progress(total: Optional[int], initial: int, desc: str, enabled: bool):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        enabled = False
    if not enabled:
        class _Null:
            def update(self, n):
                pass

            def close(self):
                pass
        return _Null()
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=desc, miniters=1)


def _content_range_total(value: Optional[str]) -> Optional[int]:
    # "bytes 100-199/200" or "bytes */200"
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _fetch(url: str, zip_path: Path, *, resume: bool, timeout: float, progress: bool,
           dest: Path, expected_size: Optional[int]) -> None:
    """Stream ``url`` into ``zip_path`` via ``zip_path.part`` (resuming if asked)."""
    part = zip_path.with_name(zip_path.name + ".part")
    offset = part.stat().st_size if (resume and part.is_file()) else 0
    if offset == 0 and part.exists():
        part.unlink()
    headers = {"User-Agent": "vos_lib-download/1.0"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            total = _content_range_total(e.headers.get("Content-Range"))
            e.close()
            if total is not None and total == offset:  # the .part is already complete
                os.replace(part, zip_path)
                return
            part.unlink()  # the .part does not match the remote file: start over
            return _fetch(url, zip_path, resume=False, timeout=timeout, progress=progress,
                          dest=dest, expected_size=expected_size)
        raise DownloadError(f"Downloading {url} failed: HTTP {e.code} {e.reason}.\n"
                            + _manual_instructions(url, dest, zip_path)) from e
    except urllib.error.URLError as e:
        if _is_connection_problem(e.reason):
            raise _offline_error(url, e.reason, dest, zip_path) from e
        raise DownloadError(f"Downloading {url} failed: {e.reason}.\n"
                            + _manual_instructions(url, dest, zip_path)) from e
    except (socket.timeout, TimeoutError, ConnectionError) as e:
        raise _offline_error(url, e, dest, zip_path) from e

    with resp:
        status = getattr(resp, "status", 200)
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if offset and status == 206:
            total = _content_range_total(resp.headers.get("Content-Range"))
            if total is None and length is not None:
                total = offset + length
            mode = "ab"
        else:  # no Range asked, or the server ignored it: start from scratch
            offset, total, mode = 0, length, "wb"
        if total is None:
            total = expected_size
        bar = _progress(total, offset, zip_path.name, progress)
        written = offset
        try:
            with open(part, mode) as f:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except (OSError, http.client.HTTPException) as e:
                        raise DownloadError(
                            f"The connection to {url} broke after {written} bytes ({e}); run "
                            f"again to resume from {part}.") from e
                    if not chunk:
                        break
                    f.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
    if total is not None and written != total:
        raise DownloadError(f"Download of {url} is incomplete ({written} of {total} bytes); "
                            f"run again to resume from {part}.")
    os.replace(part, zip_path)


def _verify(zip_path: Path, sha256: Optional[str], expected_size: Optional[int]) -> None:
    def bad(msg):
        zip_path.unlink(missing_ok=True)
        return DownloadError(f"{zip_path}: {msg}; the file was deleted, run again to "
                             f"download it afresh.")
    if expected_size is not None and zip_path.stat().st_size != expected_size:
        raise bad(f"size {zip_path.stat().st_size} differs from the expected {expected_size}")
    if sha256:
        got = _sha256(zip_path)
        if got.lower() != sha256.lower():
            raise bad(f"SHA-256 mismatch (expected {sha256}, got {got})")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            first_bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise bad(f"not a valid zip archive ({e})") from e
    if first_bad is not None:
        raise bad(f"corrupt zip archive (CRC error in {first_bad!r})")


def _find_root(folder: Path) -> Path:
    if (folder / "JPEGImages").is_dir():
        return folder
    subs = [p for p in folder.iterdir() if p.is_dir() and (p / "JPEGImages").is_dir()]
    if len(subs) != 1:
        raise DownloadError(f"the archive holds no DAVIS folder (JPEGImages/ not found in "
                            f"{folder} or one level below)")
    return subs[0]


def _validate(root: Path, *, deep: bool = True) -> None:
    from .davis import DAVIS
    for split in ("train", "val"):
        DAVIS(root, year="2017", split=split).validate(deep=deep)


def _extract(zip_path: Path, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-extract-"))
    try:
        with zipfile.ZipFile(zip_path) as zf:
            base = tmp.resolve()
            for name in zf.namelist():
                target = (tmp / name).resolve()
                if base != target and base not in target.parents:
                    raise DownloadError(f"{zip_path}: unsafe path in archive: {name!r}")
            zf.extractall(tmp)
        root = _find_root(tmp)
        try:
            _validate(root)
        except DataFormatError as e:
            raise DownloadError(f"{zip_path}: the extracted data is not a valid DAVIS 2017 "
                                f"layout: {e}") from e
        (root / _MARKER).write_text("validated by vos_lib.download\n")
        os.rename(root, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download_davis(dest: Union[str, os.PathLike, None] = None, *,
                   url: str = DAVIS_2017_TRAINVAL_480P_URL,
                   sha256: Union[str, None, bool] = None, resume: bool = True,
                   timeout: float = 60.0, progress: bool = True, keep_zip: bool = False,
                   force: bool = False) -> Path:
    """Download and extract DAVIS 2017 trainval 480p; returns the dataset root ``dest``.

    ``dest``: the folder that becomes the DAVIS root (holding ``JPEGImages/`` ...);
    default :func:`default_davis_root`.  If it already holds a valid dataset nothing is
    downloaded (``force=True`` replaces it).  The zip is kept next to it
    (``dest.parent / <zip name>``, partial downloads as ``<zip name>.part``) until the
    extraction succeeds (``keep_zip`` keeps it afterwards); a zip already there is used
    without network.  ``sha256``: expected hex digest; ``None`` uses the known digest of
    the official URL (see :data:`KNOWN_SHA256`), ``False`` or ``""`` skips the check.
    ``timeout``: seconds per network operation.

    Raises :class:`OfflineError` (a ``RuntimeError``) with instructions for getting the
    data by hand when the server cannot be reached, :class:`DownloadError` when the
    download or the archive is bad.
    """
    dest = Path(dest) if dest is not None else default_davis_root()
    dest = dest.expanduser().absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if sha256 is None:
        sha256 = KNOWN_SHA256.get(url)
    expected_size = DAVIS_2017_TRAINVAL_480P_SIZE if url == DAVIS_2017_TRAINVAL_480P_URL else None
    zip_name = Path(urllib.parse.urlsplit(url).path).name or "DAVIS.zip"
    zip_path = dest.parent / zip_name

    with file_lock(dest.parent / f".{dest.name}.lock"):
        if dest.exists():
            if not force:
                try:  # full check once; later calls only check the file names
                    _validate(dest, deep=not (dest / _MARKER).is_file())
                    return dest
                except DataFormatError as e:
                    raise DownloadError(
                        f"{dest} exists but is not a valid DAVIS 2017 dataset ({e}); delete "
                        f"it or pass force=True (--force) to replace it.") from e
        if not zip_path.is_file():
            _fetch(url, zip_path, resume=resume, timeout=timeout, progress=progress,
                   dest=dest, expected_size=expected_size)
        _verify(zip_path, sha256 or None, expected_size)
        if dest.exists():  # force
            shutil.rmtree(dest)
        _extract(zip_path, dest)
        if not keep_zip:
            zip_path.unlink(missing_ok=True)
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m vos_lib.data.download",
                                description="Download DAVIS 2017 trainval 480p.")
    p.add_argument("--dest", type=Path, default=None,
                   help=f"folder that becomes the DAVIS root (default: {default_davis_root()})")
    p.add_argument("--url", default=DAVIS_2017_TRAINVAL_480P_URL)
    p.add_argument("--sha256", default=None,
                   help="expected SHA-256 (default: the known one for the official URL; "
                        "'none' skips the check)")
    p.add_argument("--no-resume", action="store_true", help="ignore a partial .part file")
    p.add_argument("--keep-zip", action="store_true", help="keep the zip after extraction")
    p.add_argument("--force", action="store_true", help="replace an existing dataset")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    sha = False if (a.sha256 or "").lower() == "none" else a.sha256
    try:
        root = download_davis(a.dest, url=a.url, sha256=sha, resume=not a.no_resume,
                              timeout=a.timeout, progress=not a.quiet, keep_zip=a.keep_zip,
                              force=a.force)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
