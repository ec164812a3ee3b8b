"""Per-key usage statistics: accumulation, persistence, survival across an app restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.gateway.auth import key_id
from lama_serve.gateway.stats import UsageStore
from lama_serve.triton.process import TritonProcess

from .conftest import API_KEY, AUTH, SettingsFactory, box_mask, encode, files, gateway, noise

pytestmark = pytest.mark.anyio


async def test_store_persists_and_reads_pending(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "s.db", flush_interval_s=3600)
    store.record("a", ok=True, seconds=1.5)
    store.record("a", ok=False, seconds=9.0)
    store.record("b", ok=True, seconds=0.5)
    before = await store.usage("a")  # pending only
    await store.flush()
    store.record("a", ok=True, seconds=0.5)
    after = await store.usage("a")  # disk + pending
    assert (before.total, before.success, before.failed, before.total_processing_time) == (2, 1, 1, 1.5)
    assert (after.total, after.success, after.total_processing_time) == (3, 2, 2.0)
    assert after.avg_processing_time == 1.0
    await store.stop()
    reopened = UsageStore(tmp_path / "s.db", flush_interval_s=3600)
    assert (await reopened.usage("a")).total == 3 and (await reopened.usage("b")).total == 1
    assert (await reopened.usage("nobody")).avg_processing_time == 0.0


async def test_stats_survive_gateway_restart(make_settings: SettingsFactory, triton_server: TritonProcess) -> None:
    settings = make_settings(triton_url=triton_server.http_url)
    async with gateway(settings) as client:
        ok = await client.post(
            "/api/v1/remove-watermark", headers=AUTH, files=files(encode(noise(8, 8)), encode(box_mask(8, 8)))
        )
        bad = await client.post("/api/v1/remove-watermark", headers=AUTH, files=files(b"junk", encode(box_mask(8, 8))))
        assert (ok.status_code, bad.status_code) == (200, 400)
    async with gateway(settings) as client:
        stats = (await client.get("/api/v1/stats", headers=AUTH)).json()
    assert stats["total"] == 2 and stats["success"] == 1 and stats["failed"] == 1
    assert stats["total_processing_time"] > 0 and stats["avg_processing_time"] == stats["total_processing_time"]
    assert API_KEY not in settings.stats_db_path.read_bytes().decode("latin-1")
    assert key_id(API_KEY) in settings.stats_db_path.read_bytes().decode("latin-1")
