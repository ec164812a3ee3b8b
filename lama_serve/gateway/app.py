"""App factory: `create_app()` wires settings, services, middleware and routes.

`lama-serve up` calls it with its Settings; `uvicorn --factory gateway.app:create_app`
serves it with settings from the environment.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from PIL import Image

from lama_serve.core.errors import ConfigurationError
from lama_serve.core.settings import Settings, get_settings
from lama_serve.gateway.auth import KeyStore
from lama_serve.gateway.deps import Services
from lama_serve.gateway.disconnect import CancelOnDisconnect
from lama_serve.gateway.errors import install_error_handlers
from lama_serve.gateway.idempotency import IdempotencyMiddleware
from lama_serve.gateway.inpaint.cost import InferenceTime, longest_deadline_s
from lama_serve.gateway.job_handlers import job_processor
from lama_serve.gateway.metrics import MetricsMiddleware
from lama_serve.gateway.middleware import BodySizeLimit, ResponseHeaders
from lama_serve.gateway.ratelimit import TokenBucketLimiter
from lama_serve.gateway.routes import batch, health, inpaint, jobs
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
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Location",
    "Preference-Applied",
    "Idempotent-Replayed",
]
DESCRIPTION = """Remove watermarks or objects from images with LaMa served by NVIDIA Triton.

Send the image and a mask (white = remove, black = keep, gray = blend) as multipart form
data with your key in `X-API-Key`. Errors are JSON `{error, detail, status_code}`.
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.getLogger("lama_serve.gateway").setLevel(settings.log_level.upper())
    # Pillow's own bomb guard, in line with ours (checked from the header before decoding).
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    services = _build_services(settings)
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
            grpc_url=settings.effective_triton_grpc_url,
        )
        services.usage.start()
        try:
            async with open_jobs(settings, services.job_processor) as services.jobs:
                yield
        finally:
            services.jobs = None
            await services.usage.stop()
            await services.triton.close()
            services.triton = None

    app = FastAPI(
        title="LaMa watermark removal API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.services = services
    install_error_handlers(app)
    _openapi_without_422(app)
    app.include_router(inpaint.router)
    app.include_router(batch.router)
    app.include_router(health.router)
    app.include_router(jobs.router)
    # Added innermost first: CORS -> disconnect -> headers -> metrics -> body limit -> idempotency
    # -> routes.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=2 * settings.max_upload_bytes + _MULTIPART_OVERHEAD,
        hint=f"send an image and a mask of at most {_megabytes(settings.max_upload_bytes)} each, "
        "or split a batch into smaller requests",
    )
    app.add_middleware(MetricsMiddleware, metrics=services.metrics)
    app.add_middleware(ResponseHeaders)
    app.add_middleware(CancelOnDisconnect)  # outside idempotency: it must see the real channel
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type", "Accept", "Prefer", "Idempotency-Key"],
            expose_headers=_EXPOSED_HEADERS,
        )
    return app
