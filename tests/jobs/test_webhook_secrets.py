"""Per-key webhook secrets: one per key for every replica, created once, rotated with grace."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from lama_serve.jobs.service import open_jobs, webhook_secrets
from lama_serve.jobs.webhook_secrets import FileEntries, WebhookSecrets
from tests.jobs.conftest import Receiver, echo, job_settings

pytestmark = pytest.mark.anyio


def _replica(tmp_path: Path, name: str, redis_url: str):
    """Settings of one gateway replica: its own disk, the shared Redis, no server-wide secret."""
    return job_settings(tmp_path / name, jobs_backend="redis", redis_url=redis_url, webhook_secret=None)


def test_replicas_on_one_redis_share_each_keys_secret(tmp_path: Path, redis_url: str) -> None:
    first, second = (webhook_secrets(_replica(tmp_path, name, redis_url)) for name in ("a", "b"))
    shown = first.show("alice")
    assert shown.startswith("whsec_") and second.signing("alice") == [shown] == [second.show("alice")]
    rotated = second.rotate("alice")
    assert first.signing("alice") == [rotated, shown]
    assert not (tmp_path / "a" / "jobs" / "webhook_secrets").exists()  # nothing on a pod's own disk


def test_concurrent_first_uses_get_the_one_stored_secret(tmp_path: Path, redis_url: str) -> None:
    on_redis = [webhook_secrets(_replica(tmp_path, str(i), redis_url)) for i in range(8)]
    on_disk = [WebhookSecrets(FileEntries(tmp_path / "shared"), None, 60) for _ in range(8)]
    for replicas in (on_redis, on_disk):
        with ThreadPoolExecutor(8) as pool:
            assert len(set(pool.map(lambda secrets: secrets.show("bob"), replicas))) == 1


def test_a_secret_kept_on_disk_before_the_upgrade_moves_to_redis(tmp_path: Path, redis_url: str) -> None:
    """A replica that kept alice's secret under JOBS_DIR (before secrets moved to Redis): its
    receivers keep verifying, and the other replicas now sign with it too."""
    before = WebhookSecrets(FileEntries(tmp_path / "a" / "jobs" / "webhook_secrets"), None, 60).show("alice")
    upgraded, other = (webhook_secrets(_replica(tmp_path, name, redis_url)) for name in ("a", "b"))
    assert upgraded.signing("alice") == [before] == other.signing("alice")
    assert other.show("carol") != before  # a key with no secret anywhere gets a new one


def test_bad_key_id_is_refused(tmp_path: Path, redis_url: str) -> None:
    for secrets in (webhook_secrets(_replica(tmp_path, "a", redis_url)), webhook_secrets(job_settings(tmp_path))):
        with pytest.raises(ValueError, match="letters, digits"):
            secrets.show("../etc")


async def test_a_delivery_from_another_replica_verifies_with_the_secret_shown_on_one(
    tmp_path: Path, redis_url: str, receiver: Receiver
) -> None:
    """The operator runs `lama-serve keys webhook-secret show` on one pod; another pod's worker
    processes the job and signs its webhook: the receiver verifies it with that secret."""
    secret = webhook_secrets(_replica(tmp_path, "a", redis_url)).show("alice")
    async with open_jobs(_replica(tmp_path, "b", redis_url), echo) as jobs:
        await jobs.submit("alice", "single", {}, {}, receiver.url)
        await receiver.wait_for(1)
    headers, body = receiver.received[0]
    assert Webhook(secret).verify(body, headers)["type"] == "job.succeeded"
