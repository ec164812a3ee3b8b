"""The embedded jobs backend's own bookkeeping: what stays on disk after a lost race."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.jobs.model import Job, JobResult, Status
from lama_serve.jobs.sqlite_store import SqliteJobStore

pytestmark = pytest.mark.anyio


async def test_a_result_finished_after_a_cancel_is_not_kept(tmp_path: Path) -> None:
    """The worker finishes a job that was canceled while it ran: the store refuses the
    result (the job stays canceled) and leaves no result file behind until expiry."""
    store = SqliteJobStore(tmp_path, result_ttl_s=3600)
    try:
        await store.submit(Job(owner="alice", kind="single"), {"image": b"pixels"}, max_active=4)
        job = await store.claim(wait_s=1)
        assert job is not None and job.status is Status.PROCESSING
        assert (await store.cancel(job.id)).status is Status.CANCELED  # type: ignore[union-attr]
        job.status = Status.SUCCEEDED
        assert not await store.finish(job, JobResult(b"late", "image/png", {}))
        assert (await store.get(job.id)).status is Status.CANCELED  # type: ignore[union-attr]
        assert await store.result(job.id) is None
    finally:
        await store.close()
