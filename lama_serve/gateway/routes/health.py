"""Monitoring and account routes: health (no auth), usage stats (auth), Prometheus metrics."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from lama_serve.core.repository import ModelRepository
from lama_serve.gateway.deps import ApiKeyDep, ServicesDep, SettingsDep
from lama_serve.gateway.errors import error_responses
from lama_serve.gateway.health_probe import Health
from lama_serve.gateway.triton import ModelStatus, random_weights_warning

router = APIRouter()


class HealthResponse(BaseModel):
    status: str = Field(description="`healthy` or `unhealthy`", examples=["healthy"])
    model: str = Field(examples=["lama"])
    device: str = Field(description="`cuda`, `cpu`, or `unknown` while Triton is not ready")
    gpu_available: bool
    triton_ready: bool = Field(description="Triton reports the model ready")
    model_version: str | None = Field(None, description="Version Triton serves")
    warning: str | None = Field(None, description="Present when the model was exported from random weights")
    weights: dict[str, str] | None = Field(
        None,
        description="Weights of the served version (export.json): `name`, `sha256` "
        "(`random` for random weights), and `md5`, `source` when recorded",
        examples=[{"name": "big-lama", "sha256": "344c77bb...", "source": "fetched"}],
    )
    detectors: list[str] | None = Field(
        None,
        description="Watermark detectors active now, in DETECTORS order: local ones "
        "(`templates`, `tiled`) and the detector models Triton has loaded",
        examples=[["watermark_text", "watermark_seg"]],
    )
    # The v1 error fields, present only when unhealthy.
    error: str | None = None
    detail: str | None = None
    status_code: int | None = None


class StatsResponse(BaseModel):
    total: int = Field(ge=0)
    success: int = Field(ge=0)
    failed: int = Field(ge=0)
    total_processing_time: float = Field(ge=0, description="Seconds, successful requests")
    avg_processing_time: float = Field(ge=0, description="Seconds per successful request")


@router.get("/", tags=["Monitoring"])
async def root(settings: SettingsDep) -> dict[str, str]:
    """Service identification, as v1 answered at `/`."""
    return {
        "service": "LaMa watermark removal API",
        "model": settings.model_name,
        "docs": "/docs",
        "health": "/api/v1/health",
    }


@router.get(
    "/api/v1/health",
    tags=["Monitoring"],
    operation_id="healthCheck",
    response_model=HealthResponse,
    response_model_exclude_none=True,
    responses={503: {"model": HealthResponse, "description": "Triton or the model is not ready"}},
)
async def health(services: ServicesDep, settings: SettingsDep, response: Response) -> HealthResponse:
    """Service and model status from a cached tiny inference; 503 while the model cannot
    infer. No API key needed."""
    health = await services.health.check() if services.health else Health(ModelStatus(ready=False))
    status = health.status
    body = HealthResponse(
        status="healthy",
        model=settings.model_name,
        device=status.device,
        gpu_available=status.device == "cuda",
        triton_ready=status.ready,
        model_version=status.version,
    )
    if not status.ready:
        response.status_code = HTTPStatus.SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = str(settings.retry_after_s)
        return body.model_copy(
            update={
                "status": "unhealthy",
                "error": HTTPStatus.SERVICE_UNAVAILABLE.phrase,
                "detail": f"Triton at {settings.effective_triton_url} cannot serve "
                f"`{settings.model_name}`: {health.problem or 'not ready'}. It recovers by itself "
                "when it can; else check that tritonserver runs and loaded it.",
                "status_code": HTTPStatus.SERVICE_UNAVAILABLE,
            }
        )
    body.warning = random_weights_warning(settings.model_repository, settings.model_name, status.version)
    manifest = ModelRepository(settings.model_repository, settings.model_name).manifest(status.version)
    body.weights = manifest.weights if manifest else None
    body.detectors = await services.detection.active() if services.detection else None
    return body


@router.get(
    "/api/v1/stats",
    tags=["Account"],
    response_model=StatsResponse,
    responses=error_responses(401, 429),
    operation_id="getStats",
)
async def stats(key_id: ApiKeyDep, services: ServicesDep) -> StatsResponse:
    """Usage of the calling key, kept across restarts."""
    usage = await services.usage.usage(key_id)
    return StatsResponse(
        total=usage.total,
        success=usage.success,
        failed=usage.failed,
        total_processing_time=usage.total_processing_time,
        avg_processing_time=usage.avg_processing_time,
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
