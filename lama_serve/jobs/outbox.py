"""Durable webhook outbox: a delivery is persisted before it is sent, so every event reaches
its receiver at least once across restarts. Claims are leases: a delivery whose sender died
becomes due again when its lease ends."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from redis.asyncio import Redis

from lama_serve.jobs.sqlite_db import LockedDb

LEASE_S = 60.0


@dataclass
class Delivery:
    """`id` is the webhook-id: the same on every attempt, so receivers can dedupe."""

    id: str
    owner: str
    url: str
    body: str
    attempt: int = 0
    due: float = 0.0


class Outbox(Protocol):
    async def add(self, delivery: Delivery) -> None:
        """Insert, or replace the pending delivery with the same id (a reprocessed job)."""

    async def claim_due(self, limit: int) -> list[Delivery]: ...

    async def reschedule(self, delivery: Delivery) -> None: ...

    async def remove(self, delivery_id: str) -> None: ...

    async def disable_url(self, url: str) -> None: ...

    async def url_disabled(self, url: str) -> bool: ...

    async def close(self) -> None: ...


class SqliteOutbox:
    def __init__(self, directory: Path) -> None:
        self._db = LockedDb(
            directory / "jobs.sqlite3",
            "CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, due REAL NOT NULL, record TEXT NOT NULL);"
            "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due);"
            "CREATE TABLE IF NOT EXISTS disabled_urls (url TEXT PRIMARY KEY);",
        )
        self._sql = self._db.sql

    async def add(self, delivery: Delivery) -> None:
        await self._sql(
            "INSERT OR REPLACE INTO outbox VALUES (?,?,?)", (delivery.id, delivery.due, json.dumps(asdict(delivery)))
        )

    async def claim_due(self, limit: int) -> list[Delivery]:
        now = time.time()
        rows = await self._sql(
            "UPDATE outbox SET due=? WHERE id IN (SELECT id FROM outbox WHERE due<=? ORDER BY due LIMIT ?)"
            " RETURNING record",
            (now + LEASE_S, now, limit),
        )
        return [Delivery(**json.loads(record)) for (record,) in rows]

    async def reschedule(self, delivery: Delivery) -> None:
        await self._sql(
            "UPDATE outbox SET due=?, record=? WHERE id=?", (delivery.due, json.dumps(asdict(delivery)), delivery.id)
        )

    async def remove(self, delivery_id: str) -> None:
        await self._sql("DELETE FROM outbox WHERE id=?", (delivery_id,))

    async def disable_url(self, url: str) -> None:
        await self._sql("INSERT OR IGNORE INTO disabled_urls VALUES (?)", (url,))
        await self._sql("DELETE FROM outbox WHERE json_extract(record, '$.url')=?", (url,))

    async def url_disabled(self, url: str) -> bool:
        return bool(await self._sql("SELECT 1 FROM disabled_urls WHERE url=?", (url,)))

    async def close(self) -> None:
        await self._db.close()


_DUE, _DATA, _DISABLED = "lama:outbox:due", "lama:outbox:data", "lama:outbox:disabled"
# Claim up to ARGV[2] deliveries due by ARGV[1]: push their score to the lease end, atomically.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
"""


class RedisOutbox:
    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url)
        self._claim = self._redis.register_script(_CLAIM)

    async def add(self, delivery: Delivery) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_DATA, delivery.id, json.dumps(asdict(delivery)))
            pipe.zadd(_DUE, {delivery.id: delivery.due})
            await pipe.execute()

    async def claim_due(self, limit: int) -> list[Delivery]:
        now = time.time()
        records = await self._claim(keys=[_DUE, _DATA], args=[now, limit, now + LEASE_S])
        return [Delivery(**json.loads(record)) for record in records if record]

    reschedule = add

    async def remove(self, delivery_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(_DUE, delivery_id)
            pipe.hdel(_DATA, delivery_id)
            await pipe.execute()

    async def disable_url(self, url: str) -> None:
        await self._redis.sadd(_DISABLED, url)

    async def url_disabled(self, url: str) -> bool:
        return bool(await self._redis.sismember(_DISABLED, url))

    async def close(self) -> None:
        await self._redis.aclose()
