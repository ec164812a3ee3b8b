"""One SQLite file shared by the local jobs backend's stores (jobs, outbox, idempotency).

Each store holds one connection that worker threads use one call at a time, so the event
loop never blocks on SQLite or file I/O. `close` takes the same lock: a task cancelled at
shutdown leaves its worker thread running a statement, and closing the connection under it
crashes the interpreter.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def connect(path: Path) -> sqlite3.Connection:
    """WAL so readers never block the writer; NORMAL sync is durable across process crashes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class LockedDb:
    """A connection to `path` with `schema` applied, used from worker threads one call at a time."""

    def __init__(self, path: Path, schema: str) -> None:
        self.connection = connect(path)
        self.connection.executescript(schema)
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in a worker thread, holding the lock (SQLite and file I/O together)."""

        def locked() -> T:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    async def sql(self, query: str, args: tuple = ()) -> list[tuple]:
        """One statement's rows."""
        return await self.run(lambda: self.connection.execute(query, args).fetchall())

    async def close(self) -> None:
        await self.run(self.connection.close)
