"""Shared per-app objects and the FastAPI dependencies that hand them to routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from lama_serve.core.settings import Settings
from lama_serve.gateway.auth import KeyStore
from lama_serve.gateway.detection.service import DetectionService
from lama_serve.gateway.errors import unavailable
from lama_serve.gateway.guard import AUTH_STATE
from lama_serve.gateway.health_probe import HealthProbe
from lama_serve.gateway.inpaint.imaging import ImageLimits
from lama_serve.gateway.metrics import GatewayMetrics
from lama_serve.gateway.middleware import RATE_LIMIT_STATE
from lama_serve.gateway.ratelimit import TokenBucketLimiter, raise_if_limited
from lama_serve.gateway.stats import UsageStore
from lama_serve.gateway.triton import TritonModel
from lama_serve.jobs.model import Processor
from lama_serve.jobs.service import JobService
from lama_serve.traffic.router import VersionRouter


@dataclass
class Services:
    """Everything a request needs, built once per app; `triton` and `detection` exist while
    the app runs."""

    settings: Settings
    keys: KeyStore
    limiter: TokenBucketLimiter
    usage: UsageStore
    router: VersionRouter
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    triton: TritonModel | None = None
    detection: DetectionService | None = None  # built with `triton`
    health: HealthProbe | None = None  # exists while the app runs
    # Set before start-up to run async jobs in this process; `jobs` exists while the app runs.
    job_processor: Processor | None = None
    jobs: JobService | None = None

    @property
    def limits(self) -> ImageLimits:
        return ImageLimits(self.settings.max_image_side, self.settings.max_image_pixels)


def _services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]


def _settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(_settings)]


def require_triton(services: ServicesDep) -> TritonModel:
    """The Triton adapter, or 503 while the app starts or stops."""
    if services.triton is None:
        raise unavailable("the gateway is starting or stopping", services.settings.retry_after_s)
    if services.health is not None and services.health.recovering:
        raise unavailable("the model is being reloaded after its backend failed", services.settings.retry_after_s)
    return services.triton


TritonDep = Annotated[TritonModel, Depends(require_triton)]


def require_detection(services: ServicesDep) -> DetectionService:
    """The detection service, or 503 while the app starts or stops."""
    if services.detection is None:
        raise unavailable("the gateway is starting or stopping", services.settings.retry_after_s)
    return services.detection


DetectionDep = Annotated[DetectionService, Depends(require_detection)]


def choose_model_version(services: ServicesDep) -> str | None:
    """The one model version all Triton calls of a request use, so the windows of one image,
    or the items of one batch, never mix versions: the rollout split when one is active,
    else the configured version (None: Triton's latest)."""
    return services.router.choose() or services.settings.model_version or None


ModelVersionDep = Annotated[str | None, Depends(choose_model_version)]

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKeyAuth",
    description="API key issued by the operator (`python -m gateway.auth` makes one).",
    auto_error=False,
)


def authenticate(request: Request, services: ServicesDep, key: Annotated[str | None, Security(_api_key_header)]) -> str:
    """The caller's key id after the key check and one token of its rate limit (both done
    by guard.AuthGate before the body was read, when the app has it in front)."""
    checked = getattr(request.state, AUTH_STATE, None)
    if checked is not None:
        return checked
    caller = services.keys.authenticate(key)
    if services.limiter.enabled:
        state = services.limiter.acquire(caller)
        setattr(request.state, RATE_LIMIT_STATE, state.headers())
        raise_if_limited(state)
    return caller


ApiKeyDep = Annotated[str, Depends(authenticate)]
