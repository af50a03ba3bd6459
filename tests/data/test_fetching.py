"""Fetching upstream files: pinned URLs, the mirror first, retries, and nothing cached unverified."""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path

import pytest

from hwpred.data import fetch, load_table
from hwpred.data.manifests import MANIFEST_DIR, parse_manifest
from hwpred.errors import DataError

try:
    from tests.data.test_registry import ARCHS, add_manifest, env, nats_csv  # noqa: F401 - fixture
except ImportError:  # pytest run from another folder: tests/data itself is on sys.path
    from test_registry import ARCHS, add_manifest, env, nats_csv  # noqa: F401

REL = "nats-tss/nats_bench.csv"
PINNED = re.compile(r"^https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/")


def cache_files(env) -> list[str]:
    """Every file under the cache, hidden or temporary ones included."""
    root = env.home / "cache" / "files"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def test_shipped_manifests_pin_every_url_to_a_commit():
    paths = sorted(MANIFEST_DIR.glob("*.yaml"))
    assert len(paths) >= 7
    for path in paths:
        m = parse_manifest(path)
        for f in m.files:
            assert f.url is None or PINNED.match(f.url), f"{path.name}: {f.url} is not pinned to a commit"
            # no URL only where the manifest says why (a file behind a Google Drive link)
            assert f.url or "url stays null" in path.read_text(), f"{path.name}: {f.path} has no URL"


def test_force_keeps_the_good_copy_when_the_new_one_fails(env):
    good = nats_csv(ARCHS)
    add_manifest(env, "nats-tss", "nats-csv", {REL: good})
    fetch("nats:cifar10")
    (env.mirror / REL).write_bytes(good[:-10])  # the mirror's copy is damaged afterwards
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch("nats:cifar10", force=True)
    assert cache_files(env) == [REL]
    assert (env.home / "cache/files" / REL).read_bytes() == good


def test_mirror_is_the_first_source(env, tmp_path):
    nowhere = (tmp_path / "nowhere.csv").as_uri()
    add_manifest(env, "nats-tss", "nats-csv", {REL: nats_csv(ARCHS)}, url={REL: nowhere})
    fetch("nats:cifar10", upstream=True)  # the URL is never tried: the mirror has a good copy
    assert len(load_table("nats:cifar10")) == 4


def test_damaged_mirror_copy_falls_back_to_the_download(env, tmp_path, caplog):
    good = nats_csv(ARCHS)
    up = tmp_path / "upstream.csv"
    up.write_bytes(good)
    add_manifest(env, "nats-tss", "nats-csv", {REL: good}, url={REL: up.as_uri()})
    (env.mirror / REL).write_bytes(good[:-10])
    with pytest.raises(DataError, match="checksum mismatch for .*mirror copy"):
        fetch("nats:cifar10")  # no download allowed: the damaged copy is an error
    assert cache_files(env) == []
    fetch("nats:cifar10", upstream=True)
    assert "trying the next source" in caplog.text
    assert (env.home / "cache/files" / REL).read_bytes() == good


class _FlakyServer(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first ``fail`` requests, then the file."""

    body = b""
    fail = 0
    seen = 0

    def do_GET(self):  # noqa: N802 - the name http.server calls
        type(self).seen += 1
        if type(self).seen <= type(self).fail:
            self.send_error(503, "busy")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def flaky_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _FlakyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_download_retries_a_failing_server(env, flaky_server, monkeypatch):
    from hwpred.data import fetching

    good = nats_csv(ARCHS)
    _FlakyServer.body, _FlakyServer.fail, _FlakyServer.seen = good, 1, 0
    url = f"http://127.0.0.1:{flaky_server.server_port}/nats_bench.csv"
    add_manifest(env, "nats-tss", "nats-csv", {REL: good}, in_mirror=False, url={REL: url})
    fetch("nats:cifar10", upstream=True)
    assert _FlakyServer.seen == 2 and cache_files(env) == [REL]
    # a server that never answers well: one clear error after the retries, nothing cached
    monkeypatch.setattr(fetching, "DOWNLOAD_RETRIES", 1)
    _FlakyServer.fail, _FlakyServer.seen = 10, 0
    with pytest.raises(DataError, match="could not download .* after 2 attempts"):
        fetch("nats:cifar10", upstream=True, force=True)
    assert _FlakyServer.seen == 2 and cache_files(env) == [REL]


def test_download_with_the_wrong_bytes_caches_nothing(env, flaky_server, monkeypatch):
    from hwpred.data import fetching

    good = nats_csv(ARCHS)
    _FlakyServer.body, _FlakyServer.fail, _FlakyServer.seen = good[:-5], 0, 0
    url = f"http://127.0.0.1:{flaky_server.server_port}/nats_bench.csv"
    add_manifest(env, "nats-tss", "nats-csv", {REL: good}, in_mirror=False, url={REL: url})
    monkeypatch.setattr(fetching, "DOWNLOAD_RETRIES", 0)
    with pytest.raises(DataError, match="checksum mismatch .* downloaded from http"):
        fetch("nats:cifar10", upstream=True)
    assert cache_files(env) == []
    assert not any(Path(env.home / "cache").rglob("*.parquet"))
