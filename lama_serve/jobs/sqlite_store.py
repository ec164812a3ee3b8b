"""Embedded backend: job records in SQLite (WAL), inputs and results as files.

One process owns the queue: workers wait on an in-process event, and jobs left
`processing` by a dead process are requeued at the next start (`resume`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lama_serve.jobs.blobs import BlobDir
from lama_serve.jobs.errors import TooManyJobs
from lama_serve.jobs.model import Job, JobResult, Status, now_iso
from lama_serve.jobs.sqlite_db import LockedDb
from lama_serve.jobs.store import expiry_iso, still_running

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, owner TEXT NOT NULL,
  status TEXT NOT NULL, expires_at TEXT, cleaned INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
"""
_ACTIVE = (Status.QUEUED.value, Status.PROCESSING.value)


class SqliteJobStore:
    def __init__(self, directory: Path, result_ttl_s: float) -> None:
        self._sqlite = LockedDb(directory / "jobs.sqlite3", _SCHEMA)
        self._db = self._sqlite.connection
        self._run = self._sqlite.run  # SQLite and blob file I/O off the event loop, one at a time
        self._blobs = BlobDir(directory / "blobs")
        self._ttl_s = result_ttl_s
        self._wakeup = asyncio.Event()

    def _save(self, job: Job, expected: tuple[str, ...]) -> bool:
        marks = ",".join("?" * len(expected))
        cursor = self._db.execute(
            f"UPDATE jobs SET status=?, expires_at=?, record=? WHERE id=? AND status IN ({marks})",
            (job.status.value, job.expires_at, job.dumps(), job.id, *expected),
        )
        return cursor.rowcount == 1

    async def submit(self, job: Job, inputs: dict[str, bytes], max_active: int) -> None:
        def insert() -> None:
            (active,) = self._db.execute(
                "SELECT COUNT(*) FROM jobs WHERE owner=? AND status IN (?,?)", (job.owner, *_ACTIVE)
            ).fetchone()
            if active >= max_active:
                raise TooManyJobs(
                    f"this key already has {active} queued or running jobs (the limit); "
                    "wait for some to finish or cancel them"
                )
            self._blobs.write_inputs(job.id, inputs)
            self._db.execute(
                "INSERT INTO jobs (id, owner, status, record) VALUES (?,?,?,?)",
                (job.id, job.owner, job.status.value, job.dumps()),
            )

        await self._run(insert)
        self._wakeup.set()

    async def get(self, job_id: str) -> Job | None:
        row = await self._run(lambda: self._db.execute("SELECT record FROM jobs WHERE id=?", (job_id,)).fetchone())
        return Job.loads(row[0]) if row else None

    async def list(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Job], str | None]:
        before = int(cursor) if cursor and cursor.isdigit() else 2**62
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT seq, record FROM jobs WHERE owner=? AND seq<? ORDER BY seq DESC LIMIT ?",
                (owner, before, limit + 1),
            ).fetchall()
        )
        following = str(rows[limit - 1][0]) if len(rows) > limit else None
        return [Job.loads(record) for _, record in rows[:limit]], following

    def _claim_one(self) -> Job | None:
        row = self._db.execute(
            "SELECT record FROM jobs WHERE status=? ORDER BY seq LIMIT 1", (Status.QUEUED.value,)
        ).fetchone()
        if row is None:
            return None
        job = Job.loads(row[0])
        job.status, job.started_at, job.attempt = Status.PROCESSING, now_iso(), job.attempt + 1
        return job if self._save(job, (Status.QUEUED.value,)) else None

    async def claim(self, wait_s: float) -> Job | None:
        job = await self._run(self._claim_one)
        if job is None:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), wait_s)
            except asyncio.TimeoutError:
                return None
            job = await self._run(self._claim_one)
        return job

    async def renew(self, job: Job) -> bool:
        """One process owns the local queue, so there is nothing to renew; only the check."""
        return still_running(await self.get(job.id), job)

    async def inputs(self, job_id: str) -> dict[str, bytes]:
        return await self._run(self._blobs.read_inputs, job_id)

    async def finish(self, job: Job, result: JobResult | None) -> bool:
        job.expires_at = expiry_iso(self._ttl_s)

        def store() -> bool:
            if result is not None:
                self._blobs.write_result(job.id, result.body)
            saved = self._save(job, (Status.PROCESSING.value,))
            if not saved and result is not None:  # canceled meanwhile: its result must not linger
                self._blobs.delete_result(job.id)
            return saved

        return await self._run(store)

    async def cancel(self, job_id: str) -> Job | None:
        def cancel() -> Job | None:
            row = self._db.execute("SELECT record FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                return None
            job = Job.loads(row[0])
            if job.status.done:
                return job
            job.status, job.completed_at = Status.CANCELED, now_iso()
            job.expires_at = expiry_iso(self._ttl_s)
            self._save(job, _ACTIVE)
            return job

        return await self._run(cancel)

    async def result(self, job_id: str) -> bytes | None:
        return await self._run(self._blobs.read_result, job_id)

    async def expire(self) -> int:
        def clean() -> int:
            rows = self._db.execute("SELECT id FROM jobs WHERE cleaned=0 AND expires_at<=?", (now_iso(),)).fetchall()
            for (job_id,) in rows:
                self._blobs.delete(job_id)
                self._db.execute("UPDATE jobs SET cleaned=1 WHERE id=?", (job_id,))
            return len(rows)

        return await self._run(clean)

    async def resume(self) -> int:
        count = await self._run(
            lambda: (
                self._db.execute(
                    "UPDATE jobs SET status=?, record=json_set(record, '$.status', ?) WHERE status=?",
                    (Status.QUEUED.value, Status.QUEUED.value, Status.PROCESSING.value),
                ).rowcount
            )
        )
        self._wakeup.set()
        return count

    async def close(self) -> None:
        await self._sqlite.close()
