"""Per-key usage statistics that survive restarts (SQLite).

Requests only add to an in-memory accumulator; a background task moves the deltas to
SQLite in a worker thread every few seconds and once more on shutdown, so disk writes
never sit on the request path.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import anyio

log = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS usage (
    key_id TEXT PRIMARY KEY,
    total INTEGER NOT NULL,
    success INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    total_processing_time REAL NOT NULL
)"""
_UPSERT = """INSERT INTO usage VALUES (?, ?, ?, ?, ?) ON CONFLICT(key_id) DO UPDATE SET
    total = total + excluded.total, success = success + excluded.success,
    failed = failed + excluded.failed,
    total_processing_time = total_processing_time + excluded.total_processing_time"""


@dataclass
class Usage:
    total: int = 0
    success: int = 0
    failed: int = 0
    total_processing_time: float = 0.0  # seconds, successful requests only (as in v1)

    def add(self, other: Usage) -> None:
        self.total += other.total
        self.success += other.success
        self.failed += other.failed
        self.total_processing_time += other.total_processing_time

    @property
    def avg_processing_time(self) -> float:
        return self.total_processing_time / self.success if self.success else 0.0


class UsageStore:
    """Accumulate in memory, persist in the background, read back as DB + pending."""

    def __init__(self, path: Path, flush_interval_s: float) -> None:
        self._path = path
        self._interval = flush_interval_s
        self._pending: defaultdict[str, Usage] = defaultdict(Usage)
        self._task: asyncio.Task[None] | None = None
        # Held while a batch is between memory and disk, so a read never misses or doubles it.
        self._lock = asyncio.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10)

    def record(self, key_id: str, ok: bool, seconds: float) -> None:
        usage = self._pending[key_id]
        usage.add(Usage(1, int(ok), int(not ok), seconds if ok else 0.0))

    async def usage(self, key_id: str) -> Usage:
        async with self._lock:
            stored = await anyio.to_thread.run_sync(self._read, key_id)
        stored.add(self._pending.get(key_id, Usage()))
        return stored

    def _read(self, key_id: str) -> Usage:
        with self._connect() as db:
            row = db.execute(
                "SELECT total, success, failed, total_processing_time FROM usage WHERE key_id = ?", (key_id,)
            ).fetchone()
        return Usage(*row) if row else Usage()

    def _write(self, batch: dict[str, Usage]) -> None:
        rows = [(k, u.total, u.success, u.failed, u.total_processing_time) for k, u in batch.items()]
        with self._connect() as db:
            db.executemany(_UPSERT, rows)

    async def flush(self) -> None:
        """Move pending deltas to disk; on failure they go back to pending for the next try."""
        if not self._pending:
            return
        async with self._lock:
            batch, self._pending = dict(self._pending), defaultdict(Usage)
            try:
                await anyio.to_thread.run_sync(self._write, batch)
            except (sqlite3.Error, OSError):
                log.exception("writing usage stats to %s failed; will retry", self._path)
                for key, usage in batch.items():
                    self._pending[key].add(usage)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_forever(), name="usage-stats-flush")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
