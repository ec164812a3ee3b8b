"""The Redis store's renewal: a worker learns when its job is no longer its own to run."""

from __future__ import annotations

import asyncio

import pytest

from lama_serve.jobs.model import Job, JobResult, Status
from lama_serve.jobs.redis_store import RedisJobStore

pytestmark = pytest.mark.anyio


async def test_a_worker_whose_job_was_taken_over_lets_it_go(redis_url: str) -> None:
    slow, other = RedisJobStore(redis_url, 60, claim_idle_s=0.2), RedisJobStore(redis_url, 60, claim_idle_s=0.2)
    try:
        job = Job(owner="alice", kind="single", params={})
        await slow.submit(job, {}, 5)
        mine = await slow.claim(0.1)
        assert mine is not None and await slow.renew(mine)
        await asyncio.sleep(0.4)  # no renewal for longer than claim_idle_s: the worker looks dead
        theirs = await other.claim(0.1)
        assert theirs is not None and theirs.id == job.id and theirs.attempt == mine.attempt + 1
        assert not await slow.renew(mine)  # and it must not take the message back
        assert await other.renew(theirs)
        theirs.status = Status.SUCCEEDED
        assert await other.finish(theirs, JobResult(b"done", "application/octet-stream", {}))
        assert not await slow.finish(mine, JobResult(b"late", "application/octet-stream", {}))
        assert await other.result(job.id) == b"done"
    finally:
        await slow.close()
        await other.close()
