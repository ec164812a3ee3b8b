"""Webhook deliveries to a real local receiver, verified as a receiver would verify them."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from lama_serve.jobs.errors import WebhookRefused
from lama_serve.jobs.service import open_jobs, webhook_secrets
from lama_serve.jobs.ssrf import check_url, refused_reason
from lama_serve.jobs.webhooks import next_delay, retry_after
from tests.jobs.conftest import WEBHOOK_SECRET, Receiver, echo, job_settings

pytestmark = pytest.mark.anyio


async def test_start_and_completed_events_signed(tmp_path: Path, receiver: Receiver) -> None:
    async with open_jobs(job_settings(tmp_path), echo) as jobs:
        job = await jobs.submit("alice", "single", {}, {}, receiver.url, ("start", "completed"))
        await receiver.wait_for(2)
    events = [Webhook(WEBHOOK_SECRET).verify(body, headers) for headers, body in receiver.received]
    assert sorted(event["type"] for event in events) == ["job.started", "job.succeeded"]
    assert all(event["data"]["id"] == job.id for event in events)
    assert {h["webhook-id"] for h, _ in receiver.received} == {f"msg_{job.id}_started", f"msg_{job.id}_succeeded"}


async def test_failing_receiver_retried_with_same_id(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    async with open_jobs(job_settings(tmp_path), echo) as jobs:
        await jobs.submit("alice", "single", {}, {}, receiver.url)
        await receiver.wait_for(3)
        await asyncio.sleep(0.5)  # a delivered event is not sent again
    assert len(receiver.received) == 3
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(ids) == 1
    headers, body = receiver.received[-1]
    Webhook(WEBHOOK_SECRET).verify(body, headers)


async def test_410_disables_the_url(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [410]
    async with open_jobs(job_settings(tmp_path), echo) as jobs:
        await jobs.submit("alice", "single", {}, {}, receiver.url)
        await receiver.wait_for(1)
        second = await jobs.submit("alice", "single", {}, {}, receiver.url)
        await jobs.wait("alice", second.id, 10)
        await asyncio.sleep(1.0)
    assert len(receiver.received) == 1


async def test_rotation_signs_with_both_secrets(tmp_path: Path, receiver: Receiver) -> None:
    settings = job_settings(tmp_path)
    secrets = webhook_secrets(settings)
    old = secrets.show("alice")
    new = secrets.rotate("alice")
    assert (settings.jobs_dir / "webhook_secrets" / "alice.json").stat().st_mode & 0o777 == 0o600
    async with open_jobs(settings, echo) as jobs:
        await jobs.submit("alice", "single", {}, {}, receiver.url)
        await receiver.wait_for(1)
    headers, body = receiver.received[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/x",
        "http://[::1]/x",
        "http://localhost/x",
        "ftp://example.com/x",
    ],
)
async def test_ssrf_guard_refuses_internal_targets(url: str) -> None:
    with pytest.raises(WebhookRefused):
        await check_url(url, allow_private=False)


async def test_submit_refuses_private_webhook_by_default(tmp_path: Path) -> None:
    async with open_jobs(job_settings(tmp_path, webhook_allow_private=False), None) as jobs:
        with pytest.raises(WebhookRefused) as refused:
            await jobs.submit("alice", "single", {}, {}, "http://10.0.0.7/hook")
    assert "private" in refused.value.detail


def test_address_classes() -> None:
    assert refused_reason("8.8.8.8") is None
    assert refused_reason("::ffff:127.0.0.1") == "loopback"
    assert refused_reason("224.0.0.1") == "multicast"
    assert refused_reason("0.0.0.0") == "unspecified"


def test_retry_schedule_is_bounded_jittered_and_honours_retry_after() -> None:
    rng = random.Random(0)
    delays = [next_delay((10.0, 100.0), attempt, None, rng) for attempt in (1, 2, 3)]
    assert 7.5 <= delays[0] <= 12.5 and 75 <= delays[1] <= 125 and delays[2] is None
    assert next_delay((1.0,), 1, 60.0, rng) == 60.0
    assert retry_after("120") == 120.0 and retry_after("soon") is None
