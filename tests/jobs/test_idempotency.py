"""Idempotency keys on both backends: replay, 422 on another payload, 409 while running."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.jobs.errors import IdempotencyInFlight, IdempotencyMismatch
from lama_serve.jobs.idempotency import StoredResponse, fingerprint
from lama_serve.jobs.service import open_jobs
from tests.jobs.conftest import job_settings

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("backend", ["local", "redis"])
async def test_replay_mismatch_in_flight(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    extra = {"redis_url": request.getfixturevalue("redis_url")} if backend == "redis" else {}
    async with open_jobs(job_settings(tmp_path, jobs_backend=backend, **extra), None) as jobs:
        store = jobs.idempotency
        first = fingerprint("POST", "/api/v1/remove-watermark", b"payload")
        assert await store.begin("alice", "k1", first) is None
        with pytest.raises(IdempotencyInFlight):
            await store.begin("alice", "k1", first)
        with pytest.raises(IdempotencyMismatch):
            await store.begin("alice", "k1", fingerprint("POST", "/api/v1/remove-watermark", b"other"))
        response = StoredResponse(202, [("location", "/api/v1/jobs/x")], b'{"id": "x"}')
        await store.complete("alice", "k1", response)
        assert await store.begin("alice", "k1", first) == response
        assert await store.begin("bob", "k1", first) is None  # keys are per API key
        await store.abandon("bob", "k1")
        assert await store.begin("bob", "k1", first) is None
