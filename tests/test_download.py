"""Tests for vos_lib.data.download against a local fake server (network only to 127.0.0.1)."""
from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vos_lib.data import download as dl
from vos_lib.data import DAVIS
from vos_lib.io import VOID, write_frame, write_mask

ZIP_NAME = "DAVIS-2017-trainval-480p.zip"


# ------------------------------------------------------------------------------------------
# a fake DAVIS zip and a small HTTP server with Range support
# ------------------------------------------------------------------------------------------

def _build_davis(root: Path, *, imagesets: bool = True) -> None:
    rng = np.random.default_rng(0)
    seqs = {"bear": "train", "boat": "train", "camel": "val"}
    for name in seqs:
        for t in range(3):
            write_frame(root / "JPEGImages/480p" / name / f"{t:05d}.jpg",
                        rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
            m = np.zeros((12, 16), np.uint8)
            m[2:6, 3 + t:9 + t] = 1
            m[7:10, 2:6] = 2
            m[-1] = VOID
            write_mask(root / "Annotations/480p" / name / f"{t:05d}.png", m)
    if imagesets:
        for year in ("2016", "2017"):
            for split in ("train", "val"):
                p = root / "ImageSets" / year / f"{split}.txt"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text("".join(n + "\n" for n, s in seqs.items() if s == split))


def _zip_folder(folder: Path, arc_prefix: str = "DAVIS",
                compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, f"{arc_prefix}/{p.relative_to(folder).as_posix()}")
    return buf.getvalue()


@pytest.fixture(scope="module")
def fake_zip(tmp_path_factory) -> bytes:
    src = tmp_path_factory.mktemp("src") / "DAVIS"
    _build_davis(src)
    return _zip_folder(src)


class FakeServer:
    """Serves ``payload`` at ``/<ZIP_NAME>``; records the Range header of each request."""

    def __init__(self, payload: bytes, *, honour_range: bool = True, cut_first_at=None):
        self.payload = payload
        self.honour_range = honour_range
        self.cut_first_at = cut_first_at  # first response: send only this many bytes
        self.ranges = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                if self.path != f"/{ZIP_NAME}":
                    self.send_error(404, "Not Found")
                    return
                data, n = server.payload, len(server.payload)
                start = 0
                if rng and server.honour_range:
                    start = int(rng.split("=", 1)[1].split("-", 1)[0])
                    if start >= n:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{n}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{n - 1}/{n}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_first_at is not None:
                    cut, server.cut_first_at = server.cut_first_at, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{ZIP_NAME}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(payload, **kw):
        s = FakeServer(payload, **kw)
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _leftovers(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".DAVIS-extract"))


# ------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------

def test_full_download_extract_validate(tmp_path, serve, fake_zip):
    srv = serve(fake_zip)
    dest = tmp_path / "data" / "DAVIS"
    root = dl.download_davis(dest, url=srv.url, sha256=_sha(fake_zip), progress=False)
    assert root == dest.absolute()
    d = DAVIS(root, split="train")
    assert d.sequences == ["bear", "boat"]
    assert d.load_sequence("bear").object_ids == (1, 2)
    assert DAVIS(root, split="val").sequences == ["camel"]
    assert srv.ranges == [None]
    parent = dest.parent
    assert not (parent / ZIP_NAME).exists() and not (parent / (ZIP_NAME + ".part")).exists()
    assert _leftovers(parent) == []
    # a second call finds the dataset and does not touch the network
    assert dl.download_davis(dest, url=srv.url, progress=False) == root
    assert srv.ranges == [None]


def test_resume_from_partial_part_file(tmp_path, serve, fake_zip):
    srv = serve(fake_zip)
    dest = tmp_path / "DAVIS"
    half = len(fake_zip) // 2
    (tmp_path / (ZIP_NAME + ".part")).write_bytes(fake_zip[:half])
    dl.download_davis(dest, url=srv.url, sha256=_sha(fake_zip), progress=False, keep_zip=True)
    assert srv.ranges == [f"bytes={half}-"]
    assert (tmp_path / ZIP_NAME).read_bytes() == fake_zip
    assert DAVIS(dest, split="train").validate()


def test_interrupted_download_then_resume(tmp_path, serve, fake_zip):
    cut = len(fake_zip) // 3
    srv = serve(fake_zip, cut_first_at=cut)
    dest = tmp_path / "DAVIS"
    with pytest.raises(dl.DownloadError, match="resume"):
        dl.download_davis(dest, url=srv.url, progress=False)
    part = tmp_path / (ZIP_NAME + ".part")
    assert part.stat().st_size == cut and not dest.exists()
    dl.download_davis(dest, url=srv.url, sha256=_sha(fake_zip), progress=False)
    assert srv.ranges == [None, f"bytes={cut}-"]
    assert DAVIS(dest, split="val").sequences == ["camel"]


def test_server_ignoring_range_restarts(tmp_path, serve, fake_zip):
    srv = serve(fake_zip, honour_range=False)
    (tmp_path / (ZIP_NAME + ".part")).write_bytes(b"garbage that must be discarded")
    dest = tmp_path / "DAVIS"
    dl.download_davis(dest, url=srv.url, sha256=_sha(fake_zip), progress=False)
    assert srv.ranges[0] is not None  # it asked for a range, got a full 200 response
    assert DAVIS(dest, split="train").sequences == ["bear", "boat"]


def test_complete_part_file_416(tmp_path, serve, fake_zip):
    srv = serve(fake_zip)
    (tmp_path / (ZIP_NAME + ".part")).write_bytes(fake_zip)
    dl.download_davis(tmp_path / "DAVIS", url=srv.url, sha256=_sha(fake_zip), progress=False)
    assert srv.ranges == [f"bytes={len(fake_zip)}-"]


def test_checksum_mismatch_raises(tmp_path, serve, fake_zip):
    srv = serve(fake_zip)
    dest = tmp_path / "DAVIS"
    with pytest.raises(RuntimeError, match="SHA-256 mismatch"):
        dl.download_davis(dest, url=srv.url, sha256="0" * 64, progress=False)
    assert not dest.exists() and not (tmp_path / ZIP_NAME).exists()
    assert _leftovers(tmp_path) == []


def test_not_a_zip_raises(tmp_path, serve):
    srv = serve(b"this is not a zip archive at all" * 10)
    with pytest.raises(RuntimeError, match="not a valid zip"):
        dl.download_davis(tmp_path / "DAVIS", url=srv.url, progress=False)
    assert not (tmp_path / "DAVIS").exists()


def test_crc_corrupt_zip_raises(tmp_path, serve):
    src = tmp_path / "src" / "DAVIS"
    _build_davis(src)
    data = bytearray(_zip_folder(src, compression=zipfile.ZIP_STORED))
    # flip a byte inside the stored data of the first member (after its local header)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = next(i for i in zf.infolist() if i.file_size > 100)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 50] ^= 0xFF
    srv = serve(bytes(data))
    with pytest.raises(RuntimeError, match="corrupt zip.*CRC"):
        dl.download_davis(tmp_path / "DAVIS", url=srv.url, progress=False)
    assert not (tmp_path / "DAVIS").exists()


def test_bad_layout_in_zip_raises(tmp_path, serve):
    src = tmp_path / "src" / "DAVIS"
    _build_davis(src, imagesets=False)
    srv = serve(_zip_folder(src))
    with pytest.raises(RuntimeError, match="not a valid DAVIS 2017 layout.*ImageSets"):
        dl.download_davis(tmp_path / "DAVIS", url=srv.url, progress=False)
    assert not (tmp_path / "DAVIS").exists() and _leftovers(tmp_path) == []


def test_http_error_raises(tmp_path, serve, fake_zip):
    srv = serve(fake_zip)
    with pytest.raises(dl.DownloadError, match="HTTP 404"):
        dl.download_davis(tmp_path / "DAVIS", url=srv.url.replace(ZIP_NAME, "missing.zip"),
                          progress=False)


def test_unreachable_url_gives_offline_message(tmp_path):
    dest = tmp_path / "DAVIS"
    url = f"http://127.0.0.1:1/{ZIP_NAME}"  # nothing listens on port 1
    with pytest.raises(RuntimeError) as ei:
        dl.download_davis(dest, url=url, progress=False, timeout=5)
    assert isinstance(ei.value, dl.OfflineError)
    msg = str(ei.value)
    assert "seems to be offline" in msg and url in msg
    assert "--davis-root" in msg and str(dest) in msg and "unzip" in msg
    assert not dest.exists()


def test_dns_failure_gives_offline_message(tmp_path, monkeypatch):
    def fail(*a, **k):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))
    monkeypatch.setattr(dl.urllib.request, "urlopen", fail)
    with pytest.raises(dl.OfflineError, match="seems to be offline"):
        dl.download_davis(tmp_path / "DAVIS", progress=False)


def test_zip_already_present_needs_no_network(tmp_path, fake_zip):
    (tmp_path / ZIP_NAME).write_bytes(fake_zip)
    root = dl.download_davis(tmp_path / "DAVIS", url=f"http://127.0.0.1:1/{ZIP_NAME}",
                             sha256=_sha(fake_zip), progress=False)
    assert DAVIS(root, split="train").sequences == ["bear", "boat"]


def test_existing_invalid_dest_and_force(tmp_path, serve, fake_zip):
    dest = tmp_path / "DAVIS"
    dest.mkdir()
    (dest / "junk.txt").write_text("x")
    srv = serve(fake_zip)
    with pytest.raises(dl.DownloadError, match="force"):
        dl.download_davis(dest, url=srv.url, progress=False)
    dl.download_davis(dest, url=srv.url, progress=False, force=True)
    assert not (dest / "junk.txt").exists() and DAVIS(dest, split="train").validate()


def test_known_checksum_is_default_for_official_url():
    assert dl.KNOWN_SHA256[dl.DAVIS_2017_TRAINVAL_480P_URL] == dl.DAVIS_2017_TRAINVAL_480P_SHA256
    assert len(dl.DAVIS_2017_TRAINVAL_480P_SHA256) == 64


def test_cli(tmp_path, serve, fake_zip, capsys):
    srv = serve(fake_zip)
    dest = tmp_path / "DAVIS"
    assert dl.main(["--dest", str(dest), "--url", srv.url, "--sha256", "none", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(dest)
    assert dl.main(["--dest", str(tmp_path / "other"), "--url",
                    f"http://127.0.0.1:1/{ZIP_NAME}", "--quiet"]) == 1
    assert "seems to be offline" in capsys.readouterr().err
