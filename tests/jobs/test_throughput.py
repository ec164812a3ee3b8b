"""A bounded burst through each queue with a trivial processor: nothing lost; prints jobs/s."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lama_serve.jobs.model import Status
from lama_serve.jobs.service import open_jobs
from tests.jobs.conftest import echo, job_settings

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
BURST = 500


@pytest.mark.parametrize("backend", ["local", "redis"])
async def test_burst_without_loss(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    extra = {"redis_url": request.getfixturevalue("redis_url")} if backend == "redis" else {}
    settings = job_settings(tmp_path, jobs_backend=backend, jobs_concurrency=8, jobs_max_active_per_key=BURST, **extra)
    async with open_jobs(settings, echo) as jobs:
        started = time.perf_counter()
        submitted = [await jobs.submit("alice", "single", {"image": b"x"}, {}) for _ in range(BURST)]
        while True:
            page, _ = await jobs.store.list("alice", BURST, None)
            if sum(job.status is Status.SUCCEEDED for job in page) == BURST:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    assert {job.id for job in page} == {job.id for job in submitted}
    print(f"\n{backend}: {BURST} jobs submitted and completed in {elapsed:.2f} s = {BURST / elapsed:.0f} jobs/s")
