"""App factory: `create_app()` wires settings, services, middleware and routes.

`lama-serve up` calls it with its Settings; `uvicorn --factory gateway.app:create_app`
serves it with settings from the environment.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from PIL import Image

from lama_serve.core.errors import ConfigurationError
from lama_serve.core.settings import Settings, get_settings
from lama_serve.detect.detectors import Detector, local_detectors
from lama_serve.detect.types import DetectionConfigError
from lama_serve.gateway.auth import KeyStore
from lama_serve.gateway.deps import Services, authenticate
from lama_serve.gateway.detection.service import DetectionService
from lama_serve.gateway.disconnect import CancelOnDisconnect
from lama_serve.gateway.errors import install_error_handlers
from lama_serve.gateway.guard import AuthGate, BodyReadTimeout
from lama_serve.gateway.health_probe import build_health_probe
from lama_serve.gateway.idempotency import IdempotencyMiddleware
from lama_serve.gateway.inpaint.cost import InferenceTime, longest_deadline_s
from lama_serve.gateway.job_handlers import job_processor
from lama_serve.gateway.limits import describe_limits
from lama_serve.gateway.metrics import MetricsMiddleware
from lama_serve.gateway.middleware import BodySizeLimit, ResponseHeaders
from lama_serve.gateway.ratelimit import TokenBucketLimiter
from lama_serve.gateway.routes import batch, detect, health, inpaint, jobs
from lama_serve.gateway.stats import UsageStore
from lama_serve.gateway.triton import TritonModel
from lama_serve.jobs.service import open_jobs
from lama_serve.traffic.router import VersionRouter

# Room for multipart boundaries and part headers around the two files.
_MULTIPART_OVERHEAD = 64 * 1024
_EXPOSED_HEADERS = [
    "X-Processing-Time",
    "X-Image-Size",
    "X-Model-Version",
    "X-HD-Strategy",
    "X-Inpaint-Windows",
    "X-Batch-Failed",
    "X-Mask-Source",
    "X-Watermark-Regions",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Location",
    "Preference-Applied",
    "Idempotent-Replayed",
]
DESCRIPTION = """Remove watermarks or objects from images with LaMa served by NVIDIA Triton.

Send the image as multipart form data with your key in `X-API-Key`. Without a mask the
watermark is detected automatically (`/api/v1/detect` shows what would be removed); or send
a mask (white = remove, black = keep, gray = blend), `rectangles`, or an RGBA image whose
transparent area is to be filled. Errors are JSON `{error, detail, status_code}`.
"""


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


def _build_services(settings: Settings) -> Services:
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    keys = KeyStore(api_key, settings.api_keys_file)
    if not keys.configured:
        raise ConfigurationError(
            "No API key configured: set API_KEY, or API_KEYS_FILE to a file of key hashes. "
            "`lama-serve keys new` generates a key and its hash."
        )
    return Services(
        settings=settings,
        keys=keys,
        limiter=TokenBucketLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        usage=UsageStore(settings.stats_db_path, settings.stats_flush_interval_s),
        router=VersionRouter(settings.rollout_state_path),
    )


def _local_detectors(settings: Settings) -> tuple[Detector, ...]:
    """Built at start, so a bad WATERMARK_TEMPLATES_DIR fails before serving."""
    try:
        return local_detectors(settings)
    except DetectionConfigError as error:
        raise ConfigurationError(f"watermark detection: {error}") from error


def _openapi_without_422(app: FastAPI) -> None:
    """FastAPI documents its 422; this API answers validation errors with the v1 400."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            for operation in (op for path in schema["paths"].values() for op in path.values()):
                responses = operation.get("responses", {})
                # Only FastAPI's own; an Idempotency-Key reused with another request is a real 422.
                if responses.get("422", {}).get("description") == "Validation Error":
                    del responses["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _key_routes(routers: tuple[APIRouter, ...]) -> frozenset[tuple[str, str]]:
    """(method, path) of the routes that depend on `deps.authenticate` (AuthGate checks them)."""

    def needs_key(dependant: Dependant) -> bool:
        return any(dep.call is authenticate or needs_key(dep) for dep in dependant.dependencies)

    return frozenset(
        (method, route.path)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and needs_key(route.dependant)
        for method in route.methods
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.getLogger("lama_serve.gateway").setLevel(settings.log_level.upper())
    # Pillow's own bomb guard, in line with ours (checked from the header before decoding).
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    services = _build_services(settings)
    local = _local_detectors(settings)
    services.job_processor = job_processor(services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.triton = TritonModel(
            settings.effective_triton_url,
            settings.model_name,
            settings.model_version,
            timeout_s=settings.inference_timeout_s,
            probe_timeout_s=settings.health_timeout_s,
            retry_after_s=settings.retry_after_s,
            longest_timeout_s=longest_deadline_s(InferenceTime.from_settings(settings)),
            headers=settings.admin_headers,
            high_priority_max_pixels=settings.high_priority_max_pixels,
            grpc_url=settings.effective_triton_grpc_url,
        )
        services.detection = DetectionService(settings, services.triton, local)
        services.health = build_health_probe(settings, services.triton)
        services.usage.start()
        try:
            async with open_jobs(settings, services.job_processor) as services.jobs:
                yield
        finally:
            services.jobs = None
            await services.health.close()
            await services.usage.stop()
            await services.triton.close()
            services.triton = services.detection = None

    app = FastAPI(
        title="LaMa watermark removal API",
        version="1.0.0",
        description=DESCRIPTION + describe_limits(settings),
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    _openapi_without_422(app)
    routers = (inpaint.router, batch.router, detect.router, health.router, jobs.router)
    for router in routers:
        app.include_router(router)
    # Added innermost first: CORS -> headers -> metrics -> auth -> disconnect -> read timeout
    # -> body limit -> idempotency -> routes.
    app.add_middleware(IdempotencyMiddleware)
    max_body_bytes = 2 * settings.max_upload_bytes + _MULTIPART_OVERHEAD
    app.add_middleware(
        BodySizeLimit,
        max_bytes=max_body_bytes,
        hint=f"send an image and a mask of at most {_megabytes(settings.max_upload_bytes)} each, "
        "or split a batch into smaller requests",
    )
    app.add_middleware(BodyReadTimeout, timeout_s=settings.body_read_timeout_s)
    # outside idempotency and the body limits (they replay or raise from `receive`), inside auth
    # (a request without a valid key is refused before its body is read)
    app.add_middleware(CancelOnDisconnect)
    app.add_middleware(
        AuthGate,
        routes=_key_routes(routers),
        keys=services.keys,
        limiter=services.limiter,
        anonymous=TokenBucketLimiter(settings.auth_failures_per_minute, settings.auth_failures_burst),
        max_body_bytes=max_body_bytes,
    )
    app.add_middleware(MetricsMiddleware, metrics=services.metrics)
    app.add_middleware(ResponseHeaders)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type", "Accept", "Prefer", "Idempotency-Key"],
            expose_headers=_EXPOSED_HEADERS,
        )
    return app
