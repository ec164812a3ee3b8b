"""Shared backend: every gateway replica uses one Redis for records, bytes and the queue.

The queue is a Redis Stream read by one consumer group: each replica reads with XREADGROUP,
acknowledges with XACK when the job is final, and takes over jobs whose worker stopped
renewing its claim (a dead replica) with XAUTOCLAIM. Status changes are Lua compare-and-set.
Results and inputs expire with Redis TTLs; job records live twice as long (410, then 404).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from lama_serve.jobs.errors import TooManyJobs
from lama_serve.jobs.model import Job, JobResult, Status, now_iso
from lama_serve.jobs.store import expiry_iso, still_running

PREFIX = "lama:jobs:"
STREAM, GROUP = PREFIX + "queue", "workers"
# KEYS: job hash, [result key]; ARGV: expected statuses (space-separated), new status, record,
# ttl ms (0: keep), [result bytes, its ttl ms]. The result is written only with the status,
# so a worker that lost its job (canceled, taken over) never overwrites the winner's result.
_CAS = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current or not string.find(' ' .. ARGV[1] .. ' ', ' ' .. current .. ' ', 1, true) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'record', ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6]) end
return 1
"""
# KEYS: active set; ARGV: limit, job id.
_RESERVE = """
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
return 1
"""
_ACTIVE = f"{Status.QUEUED.value} {Status.PROCESSING.value}"


def _key(kind: str, ident: str) -> str:
    return f"{PREFIX}{kind}:{ident}"


class RedisJobStore:
    def __init__(self, url: str, result_ttl_s: float, claim_idle_s: float) -> None:
        self._redis = Redis.from_url(url)
        self._ttl_ms = int(result_ttl_s * 1000)
        self._idle_ms = int(claim_idle_s * 1000)
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._messages: dict[str, bytes] = {}  # job id -> stream message id, while processing
        self._cas = self._redis.register_script(_CAS)
        self._reserve = self._redis.register_script(_RESERVE)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _save(self, job: Job, expected: str, ttl_ms: int = 0, result: bytes | None = None) -> bool:
        """Compare-and-set the record; `result` is stored in the same step or not at all."""
        keys = [_key("job", job.id)] + ([_key("out", job.id)] if result is not None else [])
        args: list[Any] = [expected, job.status.value, job.dumps(), ttl_ms]
        if result is not None:
            args += [result, self._ttl_ms]
        return bool(await self._cas(keys=keys, args=args))

    async def submit(self, job: Job, inputs: dict[str, bytes], max_active: int) -> None:
        active = _key("active", job.owner)
        if not await self._reserve(keys=[active], args=[max_active, job.id]):
            raise TooManyJobs(
                f"this key already has {max_active} queued or running jobs (the limit); "
                "wait for some to finish or cancel them"
            )
        order = await self._redis.incr(PREFIX + "seq")  # list order; timestamps can tie
        async with self._redis.pipeline(transaction=True) as pipe:
            if inputs:
                pipe.hset(_key("in", job.id), mapping=inputs)
            pipe.hset(_key("job", job.id), mapping={"status": job.status.value, "record": job.dumps()})
            pipe.zadd(_key("owner", job.owner), {job.id: order})
            pipe.xadd(STREAM, {"id": job.id})
            await pipe.execute()

    async def get(self, job_id: str) -> Job | None:
        record = await self._redis.hget(_key("job", job_id), "record")
        return Job.loads(record) if record else None

    async def list(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Job], str | None]:
        start = int(cursor) if cursor and cursor.isdigit() else 0
        ids = await self._redis.zrevrange(_key("owner", owner), start, start + limit - 1)
        jobs, gone = [], []
        for job_id in ids:
            job = await self.get(job_id.decode())
            (jobs if job else gone).append(job or job_id)
        if gone:  # records expired: drop them from the index
            await self._redis.zrem(_key("owner", owner), *gone)
        return jobs, str(start + limit) if len(ids) == limit else None

    async def claim(self, wait_s: float) -> Job | None:
        await self._ensure_group()
        _, taken, _ = await self._redis.xautoclaim(
            STREAM, GROUP, self._consumer, self._idle_ms, start_id="0-0", count=1
        )
        if not taken:
            answer = await self._redis.xreadgroup(
                GROUP, self._consumer, {STREAM: ">"}, count=1, block=max(1, int(wait_s * 1000))
            )
            taken = answer[0][1] if answer else []
        for message_id, fields in taken:
            job = await self.get(fields[b"id"].decode())
            if job is None or job.status.done:  # canceled or expired while queued
                await self._ack(message_id)
                continue
            job.status, job.started_at, job.attempt = Status.PROCESSING, now_iso(), job.attempt + 1
            if await self._save(job, _ACTIVE):
                self._messages[job.id] = message_id
                return job
        return None

    async def renew(self, job: Job) -> bool:
        message_id = self._messages.get(job.id)
        current = await self.get(job.id)
        if not still_running(current, job):
            self._messages.pop(job.id, None)
            if message_id is not None and (current is None or current.status.done):
                await self._ack(message_id)  # canceled on another replica, which could not ack it
            return False
        if message_id is not None:  # resets the idle time XAUTOCLAIM looks at
            await self._redis.xclaim(STREAM, GROUP, self._consumer, 0, [message_id], justid=True)
        return True

    async def _ack(self, message_id: bytes) -> None:
        await self._redis.xack(STREAM, GROUP, message_id)
        await self._redis.xdel(STREAM, message_id)

    async def inputs(self, job_id: str) -> dict[str, bytes]:
        raw = await self._redis.hgetall(_key("in", job_id))
        return {name.decode(): data for name, data in raw.items()}

    async def finish(self, job: Job, result: JobResult | None) -> bool:
        job.expires_at = expiry_iso(self._ttl_ms / 1000)
        body = None if result is None else result.body
        stored = await self._save(job, Status.PROCESSING.value, 2 * self._ttl_ms, body)
        if stored:
            await self._release(job)
        else:  # canceled or taken over: not this worker's to release; a claim that finds it done acks it
            self._messages.pop(job.id, None)
        return stored

    async def _release(self, job: Job) -> None:
        await self._redis.pexpire(_key("in", job.id), self._ttl_ms)
        await self._redis.srem(_key("active", job.owner), job.id)
        message_id = self._messages.pop(job.id, None)
        if message_id is not None:
            await self._ack(message_id)

    async def cancel(self, job_id: str) -> Job | None:
        job = await self.get(job_id)
        if job is None or job.status.done:
            return job
        job.status, job.completed_at = Status.CANCELED, now_iso()
        job.expires_at = expiry_iso(self._ttl_ms / 1000)
        if await self._save(job, _ACTIVE, 2 * self._ttl_ms):
            await self._release(job)
            return job
        return await self.get(job_id)

    async def result(self, job_id: str) -> bytes | None:
        return await self._redis.get(_key("out", job_id))

    async def expire(self) -> int:
        """Redis TTLs delete results and inputs by themselves."""
        return 0

    async def resume(self) -> int:
        """Jobs of a dead replica come back through XAUTOCLAIM once their claim is idle."""
        await self._ensure_group()
        return 0

    async def close(self) -> None:
        await self._redis.aclose()
