"""The one small interface both job backends (SQLite + files, Redis) implement."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

from lama_serve.jobs.model import Job, JobResult, Status


def expiry_iso(ttl_s: float) -> str:
    stamp = datetime.now(timezone.utc) + timedelta(seconds=ttl_s)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def still_running(current: Job | None, job: Job) -> bool:
    """Whether the stored `current` record is still the attempt a worker runs as `job`."""
    return current is not None and current.status is Status.PROCESSING and current.attempt == job.attempt


class JobStore(Protocol):
    """Job records, their bytes and the queue. Status changes are compare-and-set, so a job
    canceled meanwhile is never overwritten by a worker that finishes it."""

    async def submit(self, job: Job, inputs: dict[str, bytes], max_active: int) -> None:
        """Persist and enqueue; TooManyJobs when the owner has `max_active` active jobs."""

    async def get(self, job_id: str) -> Job | None: ...

    async def list(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Job], str | None]:
        """The owner's jobs, newest first, and the cursor of the next page (None: last page)."""

    async def claim(self, wait_s: float) -> Job | None:
        """The next queued job, now `processing` with its attempt counted; None after `wait_s`."""

    async def renew(self, job: Job) -> bool:
        """Tell other replicas this worker is still alive on `job`; False when the job is no
        longer this worker's to run (canceled, on any replica, or taken over)."""

    async def inputs(self, job_id: str) -> dict[str, bytes]: ...

    async def finish(self, job: Job, result: JobResult | None) -> bool:
        """Store the final `job` (and result) if it is still processing; False if it was not."""

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or processing job; the job as it is afterwards (None: unknown)."""

    async def result(self, job_id: str) -> bytes | None: ...

    async def expire(self) -> int:
        """Delete results and inputs past their expiry; how many jobs were cleaned."""

    async def resume(self) -> int:
        """Requeue jobs left `processing` by a dead process; how many."""

    async def close(self) -> None: ...
