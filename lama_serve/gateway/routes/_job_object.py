"""The job object's schema, for the OpenAPI document (responses are `Job.public()`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from lama_serve.gateway.errors import ErrorBody


class JobUrls(BaseModel):
    get: str = Field(description="This job", examples=["/api/v1/jobs/3f2a..."])
    result: str = Field(description="The result once `succeeded`: the image, or the zip of a batch")
    cancel: str = Field(description="POST to cancel")


class JobMetrics(BaseModel):
    processing_seconds: float | None = Field(description="Seconds the job took once done")


class JobObject(BaseModel):
    id: str
    kind: Literal["single", "batch", "detect"] = Field(description="The route that made it")
    status: Literal["queued", "processing", "succeeded", "failed", "canceled"]
    created_at: str = Field(description="ISO 8601 UTC")
    started_at: str | None
    completed_at: str | None
    error: ErrorBody | None = Field(description="Set when `failed`: what the sync route would have answered")
    metrics: JobMetrics
    urls: JobUrls
    webhook: str | None
    webhook_events: list[Literal["start", "completed"]]
    result_media_type: str | None
    expires_at: str | None = Field(description="When the result and inputs are deleted (JOB_RESULT_TTL_S)")


class JobPage(BaseModel):
    jobs: list[JobObject]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")
