"""Measured, on the tiny model behind the real Triton: jobs/s of a bounded burst through the
whole async path (submit, worker, Triton, store) with no loss, and the latency the async
path (submit + poll until done + fetch) adds over the sync route. Prints the figures."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import pytest

from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import AUTH, SettingsFactory, box_mask, encode, files, gateway, noise

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
URL = "/api/v1/remove-watermark"
BURST = 100
ROUNDS = 20
POLL_S = 0.01


async def async_roundtrip(client: httpx.AsyncClient, parts: dict) -> bytes:
    job = (await client.post(URL, headers={**AUTH, "Prefer": "respond-async"}, files=parts)).json()
    while job["status"] in ("queued", "processing"):
        await asyncio.sleep(POLL_S)
        job = (await client.get(job["urls"]["get"], headers=AUTH)).json()
    return (await client.get(job["urls"]["result"], headers=AUTH)).content


async def test_burst_rate_and_added_latency(make_settings: SettingsFactory, triton_server: TritonProcess) -> None:
    parts = files(encode(noise(64, 64)), encode(box_mask(64, 64)))
    settings = make_settings(triton_url=triton_server.http_url, jobs_max_active_per_key=BURST)
    async with gateway(settings) as client:
        sync_s, async_s = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            expected = (await client.post(URL, headers=AUTH, files=parts)).content
            sync_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert await async_roundtrip(client, parts) == expected
            async_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        ids = [
            (await client.post(URL, headers={**AUTH, "Prefer": "respond-async"}, files=parts)).json()["id"]
            for _ in range(BURST)
        ]
        while True:
            page = (await client.get("/api/v1/jobs?limit=100", headers=AUTH)).json()["jobs"]
            done = {job["id"] for job in page if job["status"] == "succeeded"} & set(ids)
            if len(done) == BURST:
                break
            assert not [job for job in page if job["status"] in ("failed", "canceled")]
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    sync_ms, async_ms = statistics.median(sync_s) * 1000, statistics.median(async_s) * 1000
    print(
        f"\nburst of {BURST} jobs (64x64, tiny, JOBS_CONCURRENCY={settings.jobs_concurrency}): "
        f"{elapsed:.2f} s = {BURST / elapsed:.1f} jobs/s, none lost; median sync {sync_ms:.1f} ms, "
        f"async (submit+poll {POLL_S * 1000:g} ms+fetch) {async_ms:.1f} ms, added {async_ms - sync_ms:.1f} ms"
    )
