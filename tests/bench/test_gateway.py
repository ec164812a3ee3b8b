"""`lama-serve bench gateway` smoke run: a real gateway (uvicorn, loopback) in front of the
session's tiny-model Triton, compared with Triton alone."""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from lama_serve.bench.gateway import overheads
from lama_serve.cli import main
from lama_serve.core.settings import Settings
from lama_serve.gateway.app import create_app
from lama_serve.triton.process import TritonProcess, free_port

API_KEY = "bench-test-key-0123456789"


@pytest.fixture
def gateway_url(triton_server: TritonProcess, tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        api_key=API_KEY,
        api_keys_file=None,
        triton_url=triton_server.http_url,
        rate_limit_per_minute=0,
        stats_db_path=tmp_path / "stats.sqlite3",
        log_level="warning",
        cors_origins=[],
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_bench_gateway_with_triton_comparison(gateway_url: str, triton_server: TritonProcess, tmp_path: Path) -> None:
    assert (
        main(
            [
                "bench",
                "gateway",
                "--url",
                gateway_url,
                "--api-key",
                API_KEY,
                "--triton-url",
                triton_server.http_url,
                "--sizes",
                "64",
                "--concurrency",
                "1",
                "2",
                "--requests",
                "6",
                "--duration",
                "5",
                "--samples",
                "2",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    with (tmp_path / "gateway.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["target"], r["concurrency"]) for r in rows] == [
        ("gateway", "1"),
        ("gateway", "2"),
        ("triton", "1"),
        ("triton", "2"),
    ]
    assert all(r["ok"] == "6" and r["errors"] == "0" for r in rows)
    summary = json.loads((tmp_path / "gateway.json").read_text())
    assert [o["concurrency"] for o in summary["p50_overheads"]] == [1, 2]
    assert (tmp_path / "gateway.png").read_bytes()[:4] == b"\x89PNG"


def test_a_rejected_warm_up_stops_the_bench_with_a_hint(gateway_url: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="API key"):
        main(
            [
                "bench",
                "gateway",
                "--url",
                gateway_url,
                "--api-key",
                "wrong-key-0123456789",
                "--sizes",
                "16",
                "--concurrency",
                "1",
                "--requests",
                "1",
                "--out",
                str(tmp_path),
            ]
        )


def test_overheads_pair_gateway_and_triton_rows() -> None:
    rows = [
        {"target": "gateway", "size": 64, "concurrency": 1, "p50_ms": 30.0},
        {"target": "triton", "size": 64, "concurrency": 1, "p50_ms": 12.5},
        {"target": "gateway", "size": 64, "concurrency": 4, "p50_ms": 50.0},
    ]
    assert overheads(rows) == [{"size": 64, "concurrency": 1, "p50_overhead_ms": 17.5}]


def test_direct_triton_calls_send_the_admin_key_to_a_locked_triton(
    start_triton, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse
    import asyncio
    from contextlib import AsyncExitStack

    from lama_serve.bench.gateway import _triton_sender
    from lama_serve.bench.inputs import samples
    from lama_serve.triton.process import LOCKED_APIS

    key = "bench-admin-key-0123456789"
    locked = start_triton(repository_api_key=key, restricted_apis=LOCKED_APIS)
    monkeypatch.setenv("TRITON_ADMIN_KEY", key)
    args = argparse.Namespace(triton_url=locked.http_url, timeout=60.0)

    async def one_call() -> None:
        async with AsyncExitStack() as stack:
            await _triton_sender(args, samples(64, 1), stack)(0)

    asyncio.run(one_call())  # a 403 (inference locked) would raise
