"""The job record, its JSON object (Replicate-style) and the processor contract."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from http import HTTPStatus
from typing import Any, Literal

JOBS_PATH = "/api/v1/jobs"
Kind = Literal["single", "batch", "detect"]
WebhookEvent = Literal["start", "completed"]
DEFAULT_EVENTS: tuple[WebhookEvent, ...] = ("completed",)


class Status(str, Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def done(self) -> bool:
        return self in (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)


ACTIVE = (Status.QUEUED, Status.PROCESSING)


def now_iso() -> str:
    """ISO 8601 UTC with milliseconds and a `Z`, sortable as text."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass
class Job:
    """One unit of asynchronous work; `params` are the form fields the processor needs."""

    owner: str
    kind: Kind
    params: dict[str, Any] = field(default_factory=dict)
    webhook: str | None = None
    webhook_events: tuple[WebhookEvent, ...] = DEFAULT_EVENTS
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: Status = Status.QUEUED
    created_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    completed_at: str | None = None
    error: dict[str, Any] | None = None
    processing_seconds: float | None = None
    media_type: str | None = None
    result_headers: dict[str, str] = field(default_factory=dict)
    expires_at: str | None = None
    attempt: int = 0

    def fail(self, detail: str, status_code: int) -> None:
        self.status = Status.FAILED
        self.error = {"error": HTTPStatus(status_code).phrase, "detail": detail, "status_code": status_code}

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= now_iso()

    def public(self) -> dict[str, Any]:
        """The job object of the API (no owner, no params)."""
        base = f"{JOBS_PATH}/{self.id}"
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status.value,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "error": self.error,
            "metrics": {"processing_seconds": self.processing_seconds},
            "urls": {"get": base, "result": f"{base}/result", "cancel": f"{base}/cancel"},
            "webhook": self.webhook,
            "webhook_events": list(self.webhook_events),
            "result_media_type": self.media_type,
            "expires_at": self.expires_at,
        }

    def dumps(self) -> str:
        """Full record for a store."""
        return json.dumps(dataclasses.asdict(self) | {"status": self.status.value})

    @classmethod
    def loads(cls, text: str | bytes) -> Job:
        record = json.loads(text)
        record["status"] = Status(record["status"])
        record["webhook_events"] = tuple(record["webhook_events"])
        return cls(**record)


@dataclass(frozen=True)
class JobResult:
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


Processor = Callable[[Job, dict[str, bytes], dict[str, Any]], Awaitable[JobResult]]
"""`async def process(job, inputs, params) -> JobResult`; raises ProcessingFailed on failure."""
