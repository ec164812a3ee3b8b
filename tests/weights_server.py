"""A loopback HTTP server standing in for the release host of the weights (no internet in
tests): serves given bytes at /big-lama.pt, counts requests, and can cut a download short."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lama_serve.core.settings import Settings


class WeightsServer:
    def __init__(self) -> None:
        self.body = b""
        self.send_bytes: int | None = None  # announce len(body) but send only this many
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body[: server.send_bytes])
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/big-lama.pt"

    def serve(self, body: bytes) -> Settings:
        """Serve `body`; settings whose model table points at it with its true digests."""
        self.body = body
        return Settings(
            lama_model_url=self.url,
            lama_model_md5=hashlib.md5(body).hexdigest(),
            lama_model_sha256=hashlib.sha256(body).hexdigest(),
        )


@pytest.fixture
def weights_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[WeightsServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)  # a proxy must not answer for 127.0.0.1
    server = WeightsServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def cache_listing(cache: Path) -> list[str]:
    """Files in the cache except the lock files."""
    return sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) if cache.is_dir() else []
