"""Reliability fixtures: the gateway on a real loopback socket, and the figures the suite
measures (printed in the terminal summary and kept in `reliability_figures.json` under
pytest's base temp dir).

Settings, encoders and the error-shape check come from tests/gateway/conftest.py, the
real bundled Triton from tests/conftest.py.

    live_gateway(settings)  context manager: uvicorn serving create_app(settings) on a free
                            127.0.0.1 port in a thread; yields the base URL
    figures                 session: dict of measured figures, one entry per test topic
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from PIL import Image

from lama_serve.core.settings import Settings
from lama_serve.gateway.app import create_app
from lama_serve.gateway.headers import SECURITY_HEADERS
from lama_serve.triton.process import free_port
from tests.gateway.conftest import (  # noqa: F401  (fixtures, registered by import)
    _restore_pillow_limit,
    anyio_backend,
    box_mask,
    encode,
    files,
    make_settings,
    noise,
)

URL = "/api/v1/remove-watermark"
_STARTUP_TIMEOUT_S = 10.0
_FIGURES_PATH = pytest.StashKey[Path]()
Figures = dict[str, dict[str, float | int | str]]


def good_parts() -> dict[str, tuple[str, bytes, str]]:
    """A small valid image and mask: the request that must succeed after every fault."""
    return files(encode(noise(32, 32)), encode(box_mask(32, 32)))


def assert_security_headers(headers: httpx.Headers) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{name} missing or wrong"


@contextmanager
def live_gateway(settings: Settings) -> Iterator[str]:
    """`create_app(settings)` behind uvicorn on loopback, lifespan included.

    A real socket, because slow uploads, concurrent clients and schemathesis must see what
    a deployment sees; a thread, so the test keeps the process's RSS and logs in view.
    """
    pillow_limit = Image.MAX_IMAGE_PIXELS  # create_app sets it process-wide
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, lifespan="on", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"gateway-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"gateway on port {port} did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_STARTUP_TIMEOUT_S)
        Image.MAX_IMAGE_PIXELS = pillow_limit


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Figures]:
    measured: Figures = {}
    yield measured
    path = tmp_path_factory.getbasetemp() / "reliability_figures.json"
    path.write_text(json.dumps(measured, indent=2, sort_keys=True))
    request.config.stash[_FIGURES_PATH] = path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    path = config.stash.get(_FIGURES_PATH, None)
    if path is None:
        return
    terminalreporter.section("reliability figures")
    for topic, values in json.loads(path.read_text()).items():
        terminalreporter.line(f"{topic}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    terminalreporter.line(f"(written to {path})")
