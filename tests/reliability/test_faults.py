"""Triton failing under the gateway: killed mid-load, hung, and with a full queue.

Each test runs a private Triton (the shared one stays intact). The promises checked are
those of docs/gateway.md: 503 with `Retry-After` while Triton is gone or its queue is full,
504 at INFERENCE_TIMEOUT_S when it does not answer, never a hang past that deadline, and
recovery without restarting the gateway.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import pytest

from lama_serve.triton.process import TritonProcess
from tests.conftest import READY_TIMEOUT_S, child_pids, exited
from tests.gateway.conftest import AUTH, SettingsFactory, assert_error, gateway

from .conftest import URL, Figures, good_parts

pytestmark = pytest.mark.anyio
TIMEOUT_S = 4.0  # INFERENCE_TIMEOUT_S where a hang is provoked
# Where none is: generous, so a slow shared runner never turns a 200 or 503 into a 504.
LOAD_TIMEOUT_S = 10.0
CLIENTS, REQUESTS = 4, 6


def same_address(process: TritonProcess) -> TritonProcess:
    """A new (unstarted) Triton on the ports and repository of `process`, as after a crash."""
    return TritonProcess(
        process.repository,
        http_port=int(process.http_url.rsplit(":", 1)[1]),
        metrics_port=int(urlsplit(process.metrics_url).port or 0),
        exit_timeout=2,
    )


@contextmanager
def frozen(pids: list[int]) -> Iterator[None]:
    """SIGSTOP the processes for the block: alive and connected, but answering nothing."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def timed_post(client: httpx.AsyncClient, timeout_s: float = TIMEOUT_S) -> tuple[httpx.Response, float]:
    """One inpainting request; fails the test if it is not answered within `timeout_s` + 2 s."""
    started = time.monotonic()
    with anyio.fail_after(timeout_s + 2):
        response = await client.post(URL, headers=AUTH, files=good_parts())
    return response, time.monotonic() - started


def assert_retryable(response: httpx.Response) -> None:
    assert_error(response, 503, "Model unavailable")
    assert int(response.headers["Retry-After"]) >= 1


async def test_triton_killed_under_load_gives_503_then_recovers_on_restart(
    make_settings: SettingsFactory, start_triton: Callable[..., TritonProcess], figures: Figures
) -> None:
    triton = start_triton()
    answered: list[tuple[httpx.Response, float]] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        for _ in range(REQUESTS):
            answered.append(await timed_post(client, LOAD_TIMEOUT_S))

    async def kill_after_successes(count: int) -> None:
        while sum(r.status_code == 200 for r, _ in answered) < count:
            await anyio.sleep(0.01)
        os.killpg(triton.pid, signal.SIGKILL)  # the server and its backend stubs, no goodbye

    settings = make_settings(
        triton_url=triton.http_url, inference_timeout_s=LOAD_TIMEOUT_S, inference_seconds_per_megapixel=0.0
    )
    async with gateway(settings) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(kill_after_successes, CLIENTS)
            for _ in range(CLIENTS):
                group.start_soon(client_loop, client)
        assert exited(triton.pid)

        statuses = [response.status_code for response, _ in answered]
        assert len(answered) == CLIENTS * REQUESTS  # every request answered, none lost
        assert set(statuses) <= {200, 503} and statuses.count(503) >= 1, statuses
        for response, _ in answered:
            if response.status_code == 503:
                assert_retryable(response)
        assert max(seconds for _, seconds in answered) < LOAD_TIMEOUT_S

        restarted = same_address(triton).start()
        try:
            restarted.wait_ready(READY_TIMEOUT_S)
            assert (await client.get("/api/v1/health")).status_code == 200
            after, _ = await timed_post(client, LOAD_TIMEOUT_S)
            assert after.status_code == 200, after.text
        finally:
            restarted.stop()
    figures["triton_killed"] = {
        "requests": len(answered),
        "ok": statuses.count(200),
        "503": statuses.count(503),
        "other": len(statuses) - statuses.count(200) - statuses.count(503),
        "lost": CLIENTS * REQUESTS - len(answered),
        "max_latency_s": round(max(seconds for _, seconds in answered), 3),
    }


@pytest.fixture
def one_slot_repository(copy_repository: Callable[[], Path]) -> Path:
    """tiny_repository with max_queue_size 1: the second waiting request is rejected."""
    repository = copy_repository()
    config = repository / "lama" / "configs" / "cpu.pbtxt"
    text = config.read_text()
    assert "max_queue_size: 8" in text
    config.write_text(text.replace("max_queue_size: 8", "max_queue_size: 1"))
    return repository


async def burst(
    client: httpx.AsyncClient, size: int, frozen_pids: list[int], frozen_s: float | None = None
) -> list[tuple[httpx.Response, float]]:
    """`size` concurrent requests sent while `frozen_pids` are stopped; they are resumed
    after `frozen_s` seconds, or once every request is answered when None."""
    answered: list[tuple[httpx.Response, float]] = []

    async def one() -> None:
        answered.append(await timed_post(client))

    async with anyio.create_task_group() as group:
        with frozen(frozen_pids):
            for _ in range(size):
                group.start_soon(one)
            if frozen_s is None:
                while len(answered) < size:
                    await anyio.sleep(0.05)
            else:
                await anyio.sleep(frozen_s)
    return answered


async def until_served(client: httpx.AsyncClient, within_s: float = 10.0) -> httpx.Response:
    """Retry a good request, as a client honouring Retry-After would (only faster), until 200."""
    deadline = time.monotonic() + within_s
    while (response := (await timed_post(client))[0]).status_code != 200 and time.monotonic() < deadline:
        assert_retryable(response)
        await anyio.sleep(0.2)
    return response


async def test_hung_triton_gives_504_and_full_queue_503(
    make_settings: SettingsFactory,
    start_triton: Callable[..., TritonProcess],
    one_slot_repository: Path,
    figures: Figures,
) -> None:
    """Hung: tritonserver stopped (SIGSTOP) keeps its connections open and answers nothing.
    Queue full: only the backend stub stopped, so the model instance is busy, one request
    waits in the queue and the others are rejected by Triton at once."""
    triton = start_triton(one_slot_repository)
    stubs = child_pids(triton.pid)
    settings = make_settings(
        triton_url=triton.http_url,
        inference_timeout_s=TIMEOUT_S,
        health_timeout_s=0.5,
        inference_seconds_per_megapixel=0.0,
    )  # the deadline is exactly TIMEOUT_S
    async with gateway(settings) as client:
        assert (await timed_post(client))[0].status_code == 200

        with frozen([triton.pid, *stubs]):
            health = await client.get("/api/v1/health")
        assert health.status_code == 503
        hung = await burst(client, CLIENTS, [triton.pid, *stubs])
        for response, _ in hung:
            assert_error(response, 504, f"longer than {TIMEOUT_S:g} s")
        hung_latencies = [seconds for _, seconds in hung]
        assert min(hung_latencies) >= TIMEOUT_S * 0.95 and max(hung_latencies) < TIMEOUT_S + 1.5
        # Thawed, Triton first finishes the abandoned calls (meanwhile: 503, queue full).
        assert (await until_served(client)).status_code == 200

        # Under a second: Triton declares a stub silent for longer unhealthy and stops serving.
        busy = await burst(client, CLIENTS + 2, stubs, frozen_s=0.5)
        rejected = [seconds for response, seconds in busy if response.status_code == 503]
        for response, _ in busy:
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert_retryable(response)
        # A full queue answers at once. Of the 6, one runs and one waits; the others are rejected
        # when they reach Triton within the 0.5 s freeze, which a loaded host's gateway does not
        # always manage for all of them (seen once: 2 rejected, 4 served after the thaw).
        assert rejected and max(rejected) < 0.5
        assert (await timed_post(client))[0].status_code == 200
    figures["triton_hung"] = {
        "requests": len(hung),
        "504": len(hung),
        "latency_min_s": round(min(hung_latencies), 3),
        "latency_max_s": round(max(hung_latencies), 3),
        "timeout_s": TIMEOUT_S,
    }
    figures["triton_queue_full"] = {
        "requests": len(busy),
        "503": len(rejected),
        "200_after_thaw": len(busy) - len(rejected),
        "slowest_503_s": round(max(rejected), 3),
    }
