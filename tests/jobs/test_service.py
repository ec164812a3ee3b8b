"""Jobs through the service on both backends: process, fail, cancel, list, cap, expiry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from lama_serve.jobs.errors import JobNotDone, JobNotFound, ProcessingFailed, ResultExpired, TooManyJobs
from lama_serve.jobs.model import Job, JobResult, Status
from lama_serve.jobs.service import open_jobs
from tests.jobs.conftest import echo, job_settings

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["local", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict:
    if request.param == "redis":
        return {"jobs_backend": "redis", "redis_url": request.getfixturevalue("redis_url")}
    return {"jobs_backend": "local"}


async def test_job_succeeds_fails_and_is_private(tmp_path: Path, backend: dict) -> None:
    async with open_jobs(job_settings(tmp_path, **backend), echo) as jobs:
        ok = await jobs.submit("alice", "single", {"image": b"pixels"}, {"sleep": 0.1})
        bad = await jobs.submit("alice", "single", {}, {"fail": "mask is empty"})
        with pytest.raises(JobNotDone):
            await jobs.result("alice", ok.id)
        done = await jobs.wait("alice", ok.id, 10)
        assert done.status is Status.SUCCEEDED and done.processing_seconds >= 0.1
        job, body = await jobs.result("alice", ok.id)
        assert body == b"pixels" and job.result_headers == {"X-Echo": ok.id}
        failed = await jobs.wait("alice", bad.id, 10)
        assert failed.error == {"error": "Bad Request", "detail": "mask is empty", "status_code": 400}
        with pytest.raises(JobNotFound):
            await jobs.get("bob", ok.id)


async def test_transient_failures_run_again_until_the_model_is_back(tmp_path: Path) -> None:
    calls: list[str] = []

    async def flaky(job: Job, inputs: dict[str, bytes], params: dict[str, Any]) -> JobResult:
        """503 twice (the model reloading), then the answer; a 503 job that never recovers fails."""
        calls.append(job.id)
        if params.get("always") or calls.count(job.id) <= 2:
            raise ProcessingFailed("Model unavailable: reloading", 503, retry_after_s=0.05)
        return JobResult(b"done", "application/octet-stream", {})

    async with open_jobs(job_settings(tmp_path, jobs_transient_retries=3), flaky) as jobs:
        recovered = await jobs.submit("alice", "single", {}, {})
        lost = await jobs.submit("alice", "single", {}, {"always": True})
        done = await jobs.wait("alice", recovered.id, 10)
        assert done.status is Status.SUCCEEDED and calls.count(recovered.id) == 3
        failed = await jobs.wait("alice", lost.id, 10)
        assert failed.status is Status.FAILED and failed.error["status_code"] == 503
        assert calls.count(lost.id) == 1 + 3


async def test_cancel_queued_and_running(tmp_path: Path, backend: dict) -> None:
    async with open_jobs(job_settings(tmp_path, jobs_concurrency=1, **backend), echo) as jobs:
        running = await jobs.submit("alice", "single", {}, {"sleep": 30})
        queued = await jobs.submit("alice", "single", {}, {})
        while (await jobs.get("alice", running.id)).status is not Status.PROCESSING:
            await asyncio.sleep(0.05)
        assert (await jobs.cancel("alice", queued.id)).status is Status.CANCELED
        assert (await jobs.cancel("alice", running.id)).status is Status.CANCELED
        after = await jobs.submit("alice", "single", {"image": b"x"}, {})
        assert (await jobs.wait("alice", after.id, 10)).status is Status.SUCCEEDED
        assert (await jobs.get("alice", running.id)).status is Status.CANCELED


async def test_a_cancel_the_worker_did_not_see_stops_it_at_the_next_renewal(tmp_path: Path, backend: dict) -> None:
    """Canceled through another replica (or before this worker registered the job): the
    processor is stopped when the worker next renews its claim, not left to run to the end."""
    stopped = asyncio.Event()

    async def slow(job: Job, inputs: dict[str, bytes], params: dict[str, Any]) -> JobResult:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.set()
            raise
        return JobResult(b"", "application/octet-stream", {})

    async def cancel_elsewhere_then_close() -> None:
        settings = job_settings(tmp_path, jobs_concurrency=1, jobs_claim_idle_s=1.5, **backend)
        async with open_jobs(settings, slow) as worker, open_jobs(settings, None) as elsewhere:
            job = await worker.submit("alice", "single", {}, {})
            while (await worker.get("alice", job.id)).status is not Status.PROCESSING:
                await asyncio.sleep(0.05)
            assert (await elsewhere.cancel("alice", job.id)).status is Status.CANCELED
            await asyncio.wait_for(stopped.wait(), 10)  # one renewal is 0.5 s
            assert (await worker.get("alice", job.id)).status is Status.CANCELED
        # Closing at once used to hang for ever on Redis: the pool's cancel was swallowed by
        # an `asyncio.wait_for` inside redis-py (Python < 3.12) and the worker kept claiming.

    await asyncio.wait_for(cancel_elsewhere_then_close(), 30)


async def test_pagination_and_cap(tmp_path: Path, backend: dict) -> None:
    async with open_jobs(job_settings(tmp_path, jobs_max_active_per_key=5, **backend), None) as jobs:
        ids = [(await jobs.submit("alice", "batch", {}, {})).id for _ in range(5)]
        with pytest.raises(TooManyJobs):
            await jobs.submit("alice", "single", {}, {})
        await jobs.submit("bob", "single", {}, {})  # the cap is per key
        seen, cursor = [], None
        while True:
            page, cursor = await jobs.store.list("alice", 2, cursor)
            seen += [job.id for job in page]
            if cursor is None:
                break
        assert seen == ids[::-1]


async def test_results_and_inputs_expire(tmp_path: Path) -> None:
    settings = job_settings(tmp_path, job_result_ttl_s=0.3)
    async with open_jobs(settings, echo) as jobs:
        job = await jobs.submit("alice", "single", {"image": b"pixels"}, {})
        await jobs.wait("alice", job.id, 10)
        assert (settings.jobs_dir / "blobs" / job.id / "in" / "image").exists()
        await asyncio.sleep(0.4)
        assert await jobs.store.expire() == 1
        assert not (settings.jobs_dir / "blobs" / job.id).exists()
        with pytest.raises(ResultExpired):
            await jobs.result("alice", job.id)
