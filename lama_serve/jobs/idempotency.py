"""Idempotency keys (Stripe-style): the first response to (owner, key) is kept and replayed.

`begin` reserves the key atomically (SQLite INSERT OR IGNORE / Redis SET NX), so two
concurrent requests with one key cannot both run: the second gets IdempotencyInFlight.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from redis.asyncio import Redis

from lama_serve.jobs.errors import IdempotencyInFlight, IdempotencyMismatch
from lama_serve.jobs.sqlite_db import LockedDb

_RUNNING = "running"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests 'the same payload'."""
    digest = hashlib.sha256(body).hexdigest()
    return hashlib.sha256(f"{method.upper()} {path} {digest}".encode()).hexdigest()


@dataclass
class StoredResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def dumps(self) -> str:
        return json.dumps(asdict(self) | {"body": base64.b64encode(self.body).decode()})

    @classmethod
    def loads(cls, text: str | bytes) -> StoredResponse:
        record = json.loads(text)
        return cls(record["status"], [tuple(h) for h in record["headers"]], base64.b64decode(record["body"]))


def _check(fingerprint_now: str, stored_fingerprint: str, state: str) -> StoredResponse:
    if stored_fingerprint != fingerprint_now:
        raise IdempotencyMismatch(
            "this Idempotency-Key was used with a different request; use a new key for a new request"
        )
    if state == _RUNNING:
        raise IdempotencyInFlight("a request with this Idempotency-Key is still running; retry when it has finished")
    return StoredResponse.loads(state)


class IdempotencyStore(Protocol):
    async def begin(self, owner: str, key: str, fingerprint: str) -> StoredResponse | None:
        """None: the caller runs the request. Else the response to replay; raises on a
        different payload (422) or a request still running (409)."""

    async def complete(self, owner: str, key: str, response: StoredResponse) -> None: ...

    async def abandon(self, owner: str, key: str) -> None:
        """Forget a reservation whose request failed before answering, so a retry can run."""

    async def close(self) -> None: ...


class SqliteIdempotency:
    def __init__(self, directory: Path, ttl_s: float) -> None:
        self._db = LockedDb(
            directory / "jobs.sqlite3",
            "CREATE TABLE IF NOT EXISTS idempotency (owner TEXT, key TEXT, fingerprint TEXT,"
            " state TEXT, expires REAL, PRIMARY KEY (owner, key))",
        )
        self._sql = self._db.sql
        self._ttl_s = ttl_s

    async def begin(self, owner: str, key: str, fingerprint: str) -> StoredResponse | None:
        now = time.time()
        await self._sql("DELETE FROM idempotency WHERE expires<=?", (now,))
        inserted = await self._sql(
            "INSERT OR IGNORE INTO idempotency VALUES (?,?,?,?,?) RETURNING 1",
            (owner, key, fingerprint, _RUNNING, now + self._ttl_s),
        )
        if inserted:
            return None
        ((stored, state),) = await self._sql(
            "SELECT fingerprint, state FROM idempotency WHERE owner=? AND key=?", (owner, key)
        )
        return _check(fingerprint, stored, state)

    async def complete(self, owner: str, key: str, response: StoredResponse) -> None:
        await self._sql("UPDATE idempotency SET state=? WHERE owner=? AND key=?", (response.dumps(), owner, key))

    async def abandon(self, owner: str, key: str) -> None:
        await self._sql("DELETE FROM idempotency WHERE owner=? AND key=? AND state=?", (owner, key, _RUNNING))

    async def close(self) -> None:
        await self._db.close()


class RedisIdempotency:
    def __init__(self, url: str, ttl_s: float) -> None:
        self._redis = Redis.from_url(url)
        self._ttl_ms = int(ttl_s * 1000)

    @staticmethod
    def _key(owner: str, key: str) -> str:
        return f"lama:idem:{owner}:{hashlib.sha256(key.encode()).hexdigest()}"

    async def begin(self, owner: str, key: str, fingerprint: str) -> StoredResponse | None:
        name = self._key(owner, key)
        record = json.dumps({"fingerprint": fingerprint, "state": _RUNNING})
        if await self._redis.set(name, record, nx=True, px=self._ttl_ms):
            return None
        stored = await self._redis.get(name)
        if stored is None:  # expired between the two calls
            return await self.begin(owner, key, fingerprint)
        entry = json.loads(stored)
        return _check(fingerprint, entry["fingerprint"], entry["state"])

    async def complete(self, owner: str, key: str, response: StoredResponse) -> None:
        name = self._key(owner, key)
        entry = json.loads(await self._redis.get(name) or "{}")
        entry["state"] = response.dumps()
        await self._redis.set(name, json.dumps(entry), keepttl=True)

    async def abandon(self, owner: str, key: str) -> None:
        await self._redis.delete(self._key(owner, key))

    async def close(self) -> None:
        await self._redis.aclose()
