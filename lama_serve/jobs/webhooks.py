"""Standard Webhooks deliveries: thin event bodies, signed headers, one HTTP attempt."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import aiohttp
from standardwebhooks import Webhook

from lama_serve.jobs.model import Job, Status, WebhookEvent, now_iso
from lama_serve.jobs.outbox import Delivery

EVENT_TYPES = {
    Status.PROCESSING: "job.started",
    Status.SUCCEEDED: "job.succeeded",
    Status.FAILED: "job.failed",
    Status.CANCELED: "job.canceled",
}
JITTER = 0.25


def wanted(job: Job, event: WebhookEvent) -> bool:
    return job.webhook is not None and event in job.webhook_events


def delivery_for(job: Job) -> Delivery:
    """The event for the job's current status; its id is stable across retries and restarts."""
    event_type = EVENT_TYPES[job.status]
    body = json.dumps({"type": event_type, "timestamp": now_iso(), "data": job.public()})
    assert job.webhook is not None
    return Delivery(id=f"msg_{job.id}_{event_type.split('.')[1]}", owner=job.owner, url=job.webhook, body=body)


def signed_headers(delivery: Delivery, secrets: list[str], now: datetime | None = None) -> dict[str, str]:
    """webhook-id/-timestamp/-signature; one `v1,` signature per secret, space-separated."""
    now = now or datetime.now(timezone.utc)
    signatures = " ".join(Webhook(secret).sign(delivery.id, now, delivery.body) for secret in secrets)
    return {
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    gone: bool = False
    retry_after_s: float | None = None


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


def next_delay(
    schedule: tuple[float, ...], attempt: int, hinted_s: float | None, rng: random.Random | None = None
) -> float | None:
    """Delay before retry number `attempt` (1-based), jittered, never below Retry-After;
    None when the schedule is exhausted."""
    if attempt > len(schedule):
        return None
    delay = schedule[attempt - 1] * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return max(delay, hinted_s or 0.0)


async def send(
    session: aiohttp.ClientSession, delivery: Delivery, secrets: list[str], timeout_s: float, max_response_bytes: int
) -> Outcome:
    """One POST; reads at most `max_response_bytes` of the answer, never follows redirects."""
    try:
        async with session.post(
            delivery.url,
            data=delivery.body.encode(),
            allow_redirects=False,
            headers=signed_headers(delivery, secrets),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            await response.content.read(max_response_bytes)
            if 200 <= response.status < 300:
                return Outcome(True)
            return Outcome(
                False, gone=response.status == 410, retry_after_s=retry_after(response.headers.get("Retry-After"))
            )
    except (aiohttp.ClientError, TimeoutError):
        return Outcome(False)
