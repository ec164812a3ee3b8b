"""The asyncio worker pool: N workers take queued jobs and run the injected processor.

Concurrency is bounded by the pool size, so Triton's dynamic batcher sees at most that many
calls from this process and does the scheduling. Events are put in the outbox before the
job's final state is stored, so a crash in between repeats the event, never loses it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from lama_serve.jobs.dispatcher import Dispatcher
from lama_serve.jobs.errors import ProcessingFailed
from lama_serve.jobs.model import Job, JobResult, Processor, Status, now_iso
from lama_serve.jobs.store import JobStore
from lama_serve.jobs.webhooks import delivery_for, wanted

log = logging.getLogger(__name__)
CLAIM_WAIT_S = 1.0
EXPIRE_EVERY_S = 30.0


class WorkerPool:
    def __init__(
        self,
        store: JobStore,
        processor: Processor,
        dispatcher: Dispatcher,
        concurrency: int,
        renew_s: float,
        transient_retries: int = 0,
    ) -> None:
        """`transient_retries`: how often a job whose processor failed transiently (see
        ProcessingFailed.retry_after_s) runs again before it fails: accepted work is not
        lost to a model reload or a Triton restart."""
        self._store, self._processor, self._dispatcher = store, processor, dispatcher
        self._concurrency, self._renew_s = concurrency, renew_s
        self._transient_retries = transient_retries
        self._tasks: list[asyncio.Task] = []
        self._running: dict[str, asyncio.Task] = {}
        self._stopping = False

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]

    async def stop(self) -> None:
        """Running jobs stay `processing` in the store and are resumed by the next start.
        The flag as well as the cancel: before Python 3.12, `asyncio.wait_for` (used inside
        redis-py) can swallow a cancel that lands as its awaitable completes."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def cancel_running(self, job_id: str) -> None:
        """Stop the processor of a job canceled while it runs here at once; a cancel this
        misses (just claimed, or made on another replica) is seen at the next renewal."""
        task = self._running.get(job_id)
        if task is not None:
            task.cancel()

    async def _work(self) -> None:
        while not self._stopping:
            job = await self._store.claim(CLAIM_WAIT_S)
            if job is not None and not self._stopping:  # else left `processing`, to be resumed
                await self._run(job)

    async def _run(self, job: Job) -> None:
        if wanted(job, "start") and job.attempt == 1:
            await self._dispatcher.enqueue(delivery_for(job))
        inputs = await self._store.inputs(job.id)
        started = time.perf_counter()
        task = asyncio.create_task(self._process(job, inputs))
        self._running[job.id] = task
        try:
            await self._watch(job, task)
        finally:
            self._running.pop(job.id, None)
        if task.cancelled():
            return  # canceled through the API (here or on another replica); the store already says so
        result: JobResult | None = None
        try:
            result = task.result()
            job.status, job.media_type, job.result_headers = Status.SUCCEEDED, result.media_type, result.headers
        except ProcessingFailed as exc:
            job.fail(exc.detail, exc.status_code)
        except Exception:
            log.exception("job %s: processor failed", job.id)
            job.fail("Internal error while processing the job; the operator can find it in the log.", 500)
        job.completed_at, job.processing_seconds = now_iso(), round(time.perf_counter() - started, 4)
        await self._finish(job, result)

    async def _watch(self, job: Job, task: asyncio.Task) -> None:
        """Renew the claim until `task` ends; stop it when the store says the job is no longer
        ours (a cancel made before the task was registered, or on another replica). Only the
        pool stopping raises CancelledError here: the job stays `processing`, to be resumed."""
        try:
            while not task.done():
                if not await self._store.renew(job):
                    task.cancel()
                await asyncio.wait({task}, timeout=self._renew_s)
                if self._stopping and not task.done():
                    raise asyncio.CancelledError
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def _process(self, job: Job, inputs: dict[str, bytes]) -> JobResult:
        """The processor, run again after each transient failure, up to `transient_retries` times."""
        retries = 0
        while True:
            try:
                return await self._processor(job, inputs, job.params)
            except ProcessingFailed as exc:
                if exc.retry_after_s is None or retries == self._transient_retries:
                    raise
                retries += 1
                log.warning(
                    "job %s: %s; running it again in %g s (retry %d of %d)",
                    job.id,
                    exc.detail,
                    exc.retry_after_s,
                    retries,
                    self._transient_retries,
                )
                await asyncio.sleep(exc.retry_after_s)

    async def _finish(self, job: Job, result: JobResult | None) -> None:
        delivery = delivery_for(job) if wanted(job, "completed") else None
        if delivery is not None:
            await self._dispatcher.enqueue(delivery)
        if not await self._store.finish(job, result) and delivery is not None:
            log.info("job %s was canceled while processing; its result is dropped", job.id)
            await self._dispatcher.forget(delivery)


async def expire_loop(store: JobStore) -> None:
    """Delete expired results and inputs now and then."""
    while True:
        await store.expire()
        await asyncio.sleep(EXPIRE_EVERY_S)
