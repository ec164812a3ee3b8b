"""A bounded soak: concurrent clients on a real socket; nothing lost, stats exact, memory flat.

RSS is this process's (the gateway runs in a thread of it), read after a warm-up so that
one-time allocations (thread pools, Pillow plugins, the aiohttp pool) are not counted.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import AUTH, isolated_settings

from .conftest import URL, Figures, good_parts, live_gateway

pytestmark = pytest.mark.anyio
# 4 x 12: on a shared 2-core runner one tiny-model call takes ~0.1-0.4 s; bounded, not a benchmark.
CLIENTS, REQUESTS, WARMUP = 4, 12, 6
MAX_RSS_GROWTH_MIB = 40.0


def rss_mib() -> float:
    gc.collect()
    status = Path("/proc/self/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, "no VmRSS in /proc/self/status"
    return int(match.group(1)) / 1024


@pytest.fixture
def base_url(triton_server: TritonProcess, tmp_path: Path) -> Iterator[str]:
    with live_gateway(isolated_settings(tmp_path, triton_url=triton_server.http_url)) as url:
        yield url


async def stats_total(client: httpx.AsyncClient) -> dict[str, float]:
    response = await client.get("/api/v1/stats", headers=AUTH)
    assert response.status_code == 200
    return response.json()


async def test_soak_loses_nothing_and_memory_stays_flat(base_url: str, figures: Figures) -> None:
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for _ in range(WARMUP):
            assert (await client.post(URL, headers=AUTH, files=good_parts())).status_code == 200
        before_stats, before_rss = await stats_total(client), rss_mib()

        async def client_loop() -> None:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as own:
                for _ in range(REQUESTS):
                    statuses.append((await own.post(URL, headers=AUTH, files=good_parts())).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(CLIENTS):
                group.start_soon(client_loop)
        after_rss, after_stats = rss_mib(), await stats_total(client)

    sent = CLIENTS * REQUESTS
    growth = after_rss - before_rss
    figures["soak"] = {
        "requests": sent,
        "answered": len(statuses),
        "ok": statuses.count(200),
        "rss_before_mib": round(before_rss, 1),
        "rss_growth_mib": round(growth, 1),
        "stats_total_delta": after_stats["total"] - before_stats["total"],
    }
    assert statuses == [200] * sent
    assert after_stats["total"] - before_stats["total"] == sent
    assert after_stats["success"] - before_stats["success"] == sent
    assert after_stats["failed"] == before_stats["failed"]
    assert growth < MAX_RSS_GROWTH_MIB, f"RSS grew {growth:.1f} MiB over {sent} requests"
