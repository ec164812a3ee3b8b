"""Settings: what one request may send, how it is inpainted (high-resolution strategy,
tiles, memory, Triton calls' priority and deadlines) and answered."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from lama_serve.core.contract import SPATIAL_MULTIPLE
from lama_serve.core.settings.checks import CommaInts


class RequestSettings(BaseModel):
    """Upload limits, the missing-mask rule, inpainting strategy and budget, output."""

    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1, description="Largest uploaded file (image or mask) in bytes.")
    max_image_side: int = Field(4096, ge=8, description="Largest width or height in pixels.")
    max_image_pixels: int = Field(
        4096 * 4096,
        ge=64,
        description="Largest width*height, checked from the header before decoding "
        "(decompression bombs); also set as PIL.Image.MAX_IMAGE_PIXELS.",
    )
    missing_mask: Literal["detect", "reject", "full"] = Field(
        "detect",
        description="A request without `mask` (nor `rectangles`, nor transparency): `detect` finds "
        "the watermark (DETECTORS) and inpaints it; `reject` answers 400; `full` inpaints the "
        "whole image (the seed's behaviour).",
    )
    allow_missing_mask: bool = Field(
        False,
        description="Alias kept from v1: `true` means MISSING_MASK=full (an explicit MISSING_MASK wins).",
    )
    mask_threshold: int = Field(
        0,
        ge=0,
        le=254,
        description="Mask values above this are holes for the model; gray values are then blended "
        "by mask/255. 0: soft masks feather smoothly; 127: IOPaint's hard threshold.",
    )

    hd_strategy_crop_trigger: int = Field(
        1024,
        ge=1,
        description="Longest side above which `crop` is the default `hd_strategy` (else `original`).",
    )
    hd_strategy_crop_margin: int = Field(
        128, ge=0, description="Context pixels around each mask region in a `crop` window."
    )
    hd_strategy_resize_limit: int = Field(
        2048, ge=SPATIAL_MULTIPLE, description="Longest side the `resize` strategy sends to the model."
    )
    tile_buckets: CommaInts = Field(
        (512, 768, 1024),
        description="Comma-separated tile sides (multiples of 8): windows and small whole images "
        "are padded to these so Triton's dynamic batcher can group equal shapes.",
    )
    max_windows_per_request: int = Field(
        8,
        ge=1,
        description="Most `crop` windows per image; a mask with more regions is inpainted as the "
        "whole image in one call.",
    )
    inference_memory_budget_mb: int = Field(
        6144,
        ge=64,
        description="Model memory one request (a batch: all its items) may take: "
        "its tiles' pixels times INFERENCE_BYTES_PER_PIXEL. Over it, `original` gets 413 naming "
        "`crop`/`resize`; `crop` falls back to a resized whole image that fits; `resize` is "
        "capped to fit. Default: 2048x2048 at most on CPU f32 (~9 GB) is refused.",
    )
    inference_bytes_per_pixel: float = Field(
        9e9 / (2048 * 2048),
        gt=0,
        description="Peak model memory per tile pixel (calibrated: "
        "big-lama, ONNX Runtime f32 on CPU, ~9 GB at 2048x2048); lower it for a GPU fp16 model.",
    )
    batch_max_items: int = Field(8, ge=1, description="Most image/mask pairs in one `/remove-watermark/batch` request.")

    high_priority_max_pixels: int = Field(
        1024 * 1024,
        ge=0,
        description="Triton calls of at most this many pixels (all images of "
        "the call) are queued at Triton priority 1, ahead of larger ones; the lama configs have "
        "two priority levels and two CPU instances, so a small request does not wait behind a "
        "heavy one. 0: every call at the default level.",
    )
    inference_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Base of a request's inference deadline (504 after); it grows by "
        "INFERENCE_SECONDS_PER_MEGAPIXEL for every megapixel the request sends to the model.",
    )
    inference_seconds_per_megapixel: float = Field(
        10.0,
        ge=0,
        description="Expected model seconds per megapixel sent (tiles, padding included); "
        "10 fits big-lama on a 2-core CPU with OpenVINO bf16 (~7 s/Mpx); ONNX Runtime f32 needs ~40, "
        "a GPU ~0.1.",
    )
    inference_max_estimated_s: float = Field(
        240.0,
        gt=0,
        description="Requests whose estimated model time exceeds this are refused up "
        "front (422, pointing to hd_strategy=crop) instead of timing out.",
    )
    health_timeout_s: float = Field(2.0, gt=0, description="Deadline of the Triton readiness probe.")
    retry_after_s: int = Field(5, ge=1, description="`Retry-After` sent with 503 responses.")

    output_format: Literal["png", "jpeg", "webp"] = Field(
        "png", description="Format when neither `?format=` nor Accept asks for another."
    )
    png_compress_level: int = Field(
        1,
        ge=0,
        le=9,
        description="Deflate level of PNG output: 0-3 ISA-L (1 = fast, the default), "
        "4-9 zlib (a few % smaller, several times slower on large images).",
    )
    lossy_quality: int = Field(95, ge=1, le=100, description="JPEG/WebP output quality.")
    stats_db_path: Path = Field(Path("var/gateway_stats.sqlite3"), description="SQLite usage stats.")
    stats_flush_interval_s: float = Field(2.0, gt=0, description="How often usage stats are written.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info", description="Gateway log level."
    )

    @field_validator("tile_buckets")
    @classmethod
    def _check_buckets(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        """Fail at start, not on the first large request, on a side the model cannot take."""
        if not value or any(side <= 0 or side % SPATIAL_MULTIPLE for side in value):
            raise ValueError(f"TILE_BUCKETS must be positive multiples of {SPATIAL_MULTIPLE}, got {value}")
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _allow_missing_mask_alias(self) -> RequestSettings:
        """ALLOW_MISSING_MASK=true is the v1 spelling of MISSING_MASK=full."""
        if self.allow_missing_mask and "missing_mask" not in self.model_fields_set:
            self.missing_mask = "full"
        return self
