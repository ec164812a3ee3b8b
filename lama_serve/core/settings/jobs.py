"""Settings: asynchronous jobs (`Prefer: respond-async`) and their webhooks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from lama_serve.core.settings.checks import WEBHOOK_SECRET_HINT, CommaFloats, checked_secret


class JobsSettings(BaseModel):
    """The job store and queue, retries and limits, webhook signing and delivery."""

    jobs_dir: Path = Field(
        Path("var/jobs"),
        description="State directory of jobs: SQLite store, inputs, results and per-key webhook "
        "secrets (share it between replicas when JOBS_BACKEND=redis, for the secrets).",
    )
    jobs_backend: Literal["local", "redis"] = Field(
        "local",
        description="`local`: SQLite + files in JOBS_DIR, one process. `redis`: one queue "
        "and result store at REDIS_URL shared by every gateway replica.",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for JOBS_BACKEND=redis.")
    jobs_concurrency: int = Field(
        4, ge=1, description="Jobs processed at once per process; Triton's batcher groups their calls."
    )
    jobs_transient_retries: int = Field(
        10,
        ge=0,
        description="Times a job that met a transient 503 (model reloading, Triton "
        "restarting) runs again, after its Retry-After, before it fails with that 503.",
    )
    jobs_max_active_per_key: int = Field(
        100, ge=1, description="Queued + processing jobs one key may have (429 beyond)."
    )
    job_result_ttl_s: float = Field(
        3600.0, gt=0, description="Seconds a finished job's result (and its inputs) is kept."
    )
    jobs_claim_idle_s: float = Field(
        60.0,
        gt=0,
        description="Redis: a job whose worker has not renewed its claim for this "
        "long (the replica died) is taken over by another replica.",
    )
    prefer_wait_max_s: float = Field(
        60.0,
        ge=0,
        description="Longest `Prefer: wait=N` honoured; a longer wait is cut to this "
        "(keep it under the timeouts of proxies in front of the gateway).",
    )
    idempotency_ttl_s: float = Field(
        86400.0, gt=0, description="How long the first response to an Idempotency-Key is replayed."
    )

    webhook_secret: SecretStr | None = Field(
        None,
        description="Server-wide `whsec_...` signing secret for keys without their own "
        "(`lama-serve keys webhook-secret rotate` makes one per key).",
    )
    webhook_allow_private: bool = Field(
        False,
        description="Allow webhook URLs resolving to loopback, private, link-local or "
        "multicast addresses (tests and closed networks only).",
    )
    webhook_retry_schedule_s: CommaFloats = Field(
        (5.0, 30.0, 120.0, 600.0, 1800.0, 7200.0),
        description="Comma-separated delays before each retry of a failed delivery (with +-25% "
        "jitter); the delivery is dropped after the last one.",
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description="Deadline of one webhook delivery.")
    webhook_max_response_bytes: int = Field(
        64 * 1024, ge=0, description="Most bytes read from a webhook receiver's answer."
    )
    webhook_secret_grace_s: float = Field(
        86400.0,
        ge=0,
        description="After a rotation, deliveries are also signed with the previous secret for this long.",
    )

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _reject_placeholder_webhook_secret(cls, value: object) -> object:
        return checked_secret(value, "WEBHOOK_SECRET", WEBHOOK_SECRET_HINT, prefix="whsec_")
