"""The jobs facade the gateway talks to: submit, look up, cancel, wait; plus its lifecycle.

`open_jobs(settings, processor)` builds the backend chosen by JOBS_BACKEND and, when a
processor is given, runs the worker pool and the webhook dispatcher until closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from lama_serve.core.settings.jobs import JobsSettings
from lama_serve.jobs.dispatcher import Dispatcher
from lama_serve.jobs.errors import JobNotDone, JobNotFound, ResultExpired, WebhookRefused
from lama_serve.jobs.idempotency import IdempotencyStore, RedisIdempotency, SqliteIdempotency
from lama_serve.jobs.model import DEFAULT_EVENTS, Job, Kind, Processor, Status, WebhookEvent
from lama_serve.jobs.outbox import Outbox, RedisOutbox, SqliteOutbox
from lama_serve.jobs.redis_store import RedisJobStore
from lama_serve.jobs.sqlite_store import SqliteJobStore
from lama_serve.jobs.ssrf import check_url
from lama_serve.jobs.store import JobStore
from lama_serve.jobs.webhook_secrets import FileEntries, RedisEntries, SecretEntries, WebhookSecrets
from lama_serve.jobs.webhooks import delivery_for, wanted
from lama_serve.jobs.worker import WorkerPool, expire_loop

WAIT_POLL_S = 0.1
EVENTS: tuple[WebhookEvent, ...] = ("start", "completed")


def webhook_secrets(settings: JobsSettings) -> WebhookSecrets:
    """Per-key secrets kept with the jobs: shared by every replica on the redis backend."""
    server = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    files = FileEntries(settings.jobs_dir / "webhook_secrets")
    redis_backend = settings.jobs_backend == "redis"
    entries: SecretEntries = RedisEntries(settings.redis_url, legacy=files) if redis_backend else files
    return WebhookSecrets(entries, server, settings.webhook_secret_grace_s)


def _backend(settings: JobsSettings) -> tuple[JobStore, Outbox, IdempotencyStore]:
    if settings.jobs_backend == "redis":
        return (
            RedisJobStore(settings.redis_url, settings.job_result_ttl_s, settings.jobs_claim_idle_s),
            RedisOutbox(settings.redis_url),
            RedisIdempotency(settings.redis_url, settings.idempotency_ttl_s),
        )
    return (
        SqliteJobStore(settings.jobs_dir, settings.job_result_ttl_s),
        SqliteOutbox(settings.jobs_dir),
        SqliteIdempotency(settings.jobs_dir, settings.idempotency_ttl_s),
    )


class JobService:
    def __init__(
        self,
        settings: JobsSettings,
        store: JobStore,
        dispatcher: Dispatcher,
        idempotency: IdempotencyStore,
        pool: WorkerPool | None,
    ) -> None:
        self.settings, self.store, self.idempotency = settings, store, idempotency
        self._dispatcher, self._pool = dispatcher, pool

    async def submit(
        self,
        owner: str,
        kind: Kind,
        inputs: dict[str, bytes],
        params: dict[str, Any],
        webhook: str | None = None,
        webhook_events: tuple[WebhookEvent, ...] = DEFAULT_EVENTS,
    ) -> Job:
        """Persist and enqueue a job; WebhookRefused (422) or TooManyJobs (429) first."""
        unknown = set(webhook_events) - set(EVENTS)
        if unknown or not webhook_events:
            raise WebhookRefused(f"webhook_events must be among {', '.join(EVENTS)}, got {sorted(unknown)}")
        if webhook:
            await check_url(webhook, self.settings.webhook_allow_private)
        job = Job(owner=owner, kind=kind, params=params, webhook=webhook, webhook_events=webhook_events)
        await self.store.submit(job, inputs, self.settings.jobs_max_active_per_key)
        return job

    async def get(self, owner: str, job_id: str) -> Job:
        """The caller's job; someone else's is reported exactly like a missing one."""
        job = await self.store.get(job_id)
        if job is None or job.owner != owner:
            raise JobNotFound(f"no job {job_id!r} for this key; list yours with GET /api/v1/jobs")
        return job

    async def result(self, owner: str, job_id: str) -> tuple[Job, bytes]:
        job = await self.get(owner, job_id)
        if not job.status.done:
            raise JobNotDone(f"job {job_id} is {job.status.value}; poll GET {job.public()['urls']['get']}")
        if job.status is not Status.SUCCEEDED:
            raise JobNotDone(f"job {job_id} {job.status.value} and has no result; see its `error`")
        body = None if job.expired() else await self.store.result(job_id)
        if body is None:
            raise ResultExpired(f"the result of job {job_id} expired and was deleted; submit it again")
        return job, body

    async def cancel(self, owner: str, job_id: str) -> Job:
        job = await self.get(owner, job_id)
        if job.status.done:
            return job
        canceled = await self.store.cancel(job_id)
        assert canceled is not None
        if canceled.status is Status.CANCELED:
            if self._pool is not None:
                self._pool.cancel_running(job_id)
            if wanted(canceled, "completed"):
                await self._dispatcher.enqueue(delivery_for(canceled))
        return canceled

    async def wait(self, owner: str, job_id: str, timeout_s: float) -> Job:
        """The job once done, or as it is after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        job = await self.get(owner, job_id)
        while not job.status.done and time.monotonic() < deadline:
            await asyncio.sleep(min(WAIT_POLL_S, max(0.0, deadline - time.monotonic())))
            job = await self.get(owner, job_id)
        return job


@asynccontextmanager
async def open_jobs(settings: JobsSettings, processor: Processor | None) -> AsyncIterator[JobService]:
    """The service; with a processor, also workers, the webhook dispatcher and expiry."""
    store, outbox, idempotency = _backend(settings)
    dispatcher = Dispatcher(outbox, webhook_secrets(settings), settings)
    pool = None
    tasks: list[asyncio.Task] = []
    if processor is not None:
        await store.resume()
        pool = WorkerPool(
            store,
            processor,
            dispatcher,
            settings.jobs_concurrency,
            renew_s=settings.jobs_claim_idle_s / 3,
            transient_retries=settings.jobs_transient_retries,
        )
        pool.start()
        tasks = [asyncio.create_task(dispatcher.run()), asyncio.create_task(expire_loop(store))]
    try:
        yield JobService(settings, store, dispatcher, idempotency, pool)
    finally:
        if pool is not None:
            await pool.stop()
        dispatcher.stop()
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        for closable in (store, outbox, idempotency):
            await closable.close()
