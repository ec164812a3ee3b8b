"""The local jobs backend's shared SQLite connection: one call at a time, closed under the lock."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from lama_serve.jobs.sqlite_db import LockedDb

pytestmark = pytest.mark.anyio


async def test_statements_and_close_wait_for_a_running_call(tmp_path: Path) -> None:
    db = LockedDb(tmp_path / "jobs.sqlite3", "CREATE TABLE t (v INTEGER);")
    await db.sql("INSERT INTO t VALUES (?)", (1,))
    started, release = threading.Event(), threading.Event()

    def slow() -> list[tuple]:
        started.set()
        release.wait(5)
        return db.connection.execute("SELECT v FROM t").fetchall()

    running = asyncio.ensure_future(db.run(slow))
    await asyncio.to_thread(started.wait, 5)
    closing = asyncio.ensure_future(db.close())
    await asyncio.sleep(0.1)
    assert not closing.done()  # the close waits for the call still running in its thread
    release.set()
    assert await running == [(1,)]
    await closing
