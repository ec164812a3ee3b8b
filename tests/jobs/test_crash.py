"""Durability: worker processes killed with SIGKILL mid-job; after a restart every job
completes and every completion webhook arrives, signed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from lama_serve.jobs.model import Status
from lama_serve.jobs.service import open_jobs
from tests.jobs.conftest import WEBHOOK_SECRET, Receiver, job_settings

pytestmark = pytest.mark.anyio


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.jobs.worker_main"], env=os.environ | env)


@pytest.mark.parametrize("backend", ["local", "redis"])
async def test_sigkill_then_restart_completes_everything(
    tmp_path: Path, receiver: Receiver, backend: str, request: pytest.FixtureRequest
) -> None:
    overrides = {"jobs_backend": backend, "jobs_concurrency": 1}
    if backend == "redis":
        overrides["redis_url"] = request.getfixturevalue("redis_url")
    settings = job_settings(tmp_path, **overrides)
    env = {
        "JOBS_DIR": str(settings.jobs_dir),
        "JOBS_BACKEND": backend,
        "JOBS_CONCURRENCY": "1",
        "REDIS_URL": settings.redis_url,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_RETRY_SCHEDULE_S": "0.2,0.5,1",
        "JOBS_CLAIM_IDLE_S": "2",
    }
    # Redis: two replicas share the queue; one is killed, the other takes its job over.
    workers = [start_worker(env) for _ in range(2 if backend == "redis" else 1)]
    try:
        async with open_jobs(settings, None) as jobs:
            slow = await jobs.submit("alice", "single", {"image": b"slow"}, {"sleep": 2}, receiver.url)
            queued = [
                await jobs.submit("alice", "single", {"image": b"q"}, {}, receiver.url)
                for _ in range(1 if backend == "local" else 3)
            ]
            while (await jobs.get("alice", slow.id)).status is not Status.PROCESSING:
                await asyncio.sleep(0.02)
            victim = next(w for w in workers if backend == "local" or _holds(w, slow.id, settings))
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            workers.remove(victim)
            workers.append(start_worker(env))
            every = [slow, *queued]
            await receiver.wait_for(len(every), timeout_s=60)
            finished = [await jobs.wait("alice", job.id, 30) for job in every]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
    assert [job.status for job in finished] == [Status.SUCCEEDED] * len(every)
    assert finished[0].attempt == 2  # the killed attempt, then the resumed one
    events = {}
    for headers, body in receiver.received:
        event = Webhook(WEBHOOK_SECRET).verify(body, headers)
        events[headers["webhook-id"]] = event
        assert event["type"] == "job.succeeded"
    assert {event["data"]["id"] for event in events.values()} == {job.id for job in every}


def _holds(worker: subprocess.Popen, job_id: str, settings) -> bool:  # type: ignore[no-untyped-def]
    """Whether `worker` is the Redis consumer with `job_id` pending."""
    import redis

    from lama_serve.jobs.redis_store import GROUP, STREAM

    client = redis.Redis.from_url(settings.redis_url)
    try:
        for entry in client.xpending_range(STREAM, GROUP, "-", "+", 100):
            fields = client.xrange(STREAM, entry["message_id"], entry["message_id"])
            if fields and fields[0][1][b"id"].decode() == job_id:
                return entry["consumer"].decode().endswith(f"-{worker.pid}")
        return False
    finally:
        client.close()
