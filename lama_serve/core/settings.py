"""The one typed settings object of the service (env vars; documented defaults)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from lama_serve.core.contract import MODEL_NAME, SPATIAL_MULTIPLE
from lama_serve.core.errors import ConfigurationError
from lama_serve.core.repository import MIN_VERSION, is_version_name

# Fragments of the keys in the v1 docs and samples (`your_secret_key_change_me`,
# `your_api_key_here`, `sk_live_1234567890abcdef`, ...): such a key is public knowledge.
PLACEHOLDER_MARKERS = ("changeme", "change_me", "change-me", "your_api_key", "your_secret", "example", "1234567890")
MIN_API_KEY_LENGTH = 16
# Header that carries TRITON_ADMIN_KEY to Triton's restricted repository API.
REPOSITORY_API_HEADER = "lama-admin-key"
WEBHOOK_SECRET_HINT = "generate one with `lama-serve keys webhook-secret new`"
KEY_FIX_HINT = "generate one with `lama-serve keys new` and set API_KEY or add its hash to API_KEYS_FILE"


class Settings(BaseSettings):
    """Every knob of the gateway and of `lama-serve up`, read from the environment.

    Env names are the field names upper-cased (e.g. `TRITON_URL`, `GATEWAY_PORT`).
    """

    # hide_input_in_errors: a rejected API_KEY must not be echoed into logs.
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", hide_input_in_errors=True)

    # --- where the model lives -------------------------------------------------------
    triton_url: str | None = Field(
        None,
        description="host:port of an external Triton HTTP endpoint. Unset: `lama-serve up` "
        "starts the bundled tritonserver on 127.0.0.1:TRITON_HTTP_PORT.",
    )
    triton_grpc_url: str | None = Field(
        None,
        description="host:port of the same Triton's gRPC endpoint; set, the gateway infers over "
        "gRPC so that requests it gives up on (deadline, client gone, another window failed) are "
        "cancelled in Triton. Unset: HTTP, where only still-queued requests past their deadline "
        "are dropped (Triton's HTTP endpoint does not cancel).",
    )
    model_name: str = Field(MODEL_NAME, description="Triton model name of the inpainting model.")
    model_version: str = Field("", description="Model version to call; empty = Triton's latest ready.")
    model_repository: Path = Field(Path("model_repository"), description="Triton model repository.")
    lama_checkpoint: Path | None = Field(
        None, description="Checkpoint exported by `lama-serve up` when no model exists yet."
    )

    # --- released weights (`lama-serve weights fetch`; `up` when no checkpoint is set) ---
    lama_model_url: str | None = Field(
        None,
        description="Where to download big-lama.pt (IOPaint's variable): a mirror or an "
        "air-gapped copy (http(s):// or file://). Unset: the release URL of the model table.",
    )
    lama_model_md5: str | None = Field(
        None,
        description="Expected MD5 of the download (IOPaint's variable). Setting it or "
        "LAMA_MODEL_SHA256 replaces the table's digests and size: the file is another one.",
    )
    lama_model_sha256: str | None = Field(None, description="Expected SHA-256 of the download.")
    weights_cache_dir: Path = Field(
        Path("var/weights"), description="Where fetched weights are kept (verified on every reuse)."
    )
    require_real_weights: bool = Field(
        False,
        description="`up` refuses to start instead of exporting random weights when no "
        "LAMA_CHECKPOINT is set and the weights cannot be fetched.",
    )

    # --- ports of the embedded stack --------------------------------------------------
    gateway_host: str = Field("0.0.0.0", description="Gateway bind address.")
    gateway_port: int = Field(8080, ge=1, le=65535, description="Gateway port (the seed's 8080).")
    triton_http_port: int = Field(8000, ge=1, le=65535, description="Bundled Triton HTTP port.")
    triton_metrics_port: int = Field(8002, ge=1, le=65535, description="Bundled Triton metrics port.")
    triton_grpc_port: int = Field(
        8001,
        ge=0,
        le=65535,
        description="Bundled Triton gRPC port, on 127.0.0.1: the gateway infers "
        "over it, so calls it gives up on are cancelled in Triton. 0 = no gRPC (inference over HTTP).",
    )

    # --- gateway: authentication and rate limits ------------------------------------
    api_key: SecretStr | None = Field(
        None, description="One plaintext API key (the seed's `API_KEY`); hashed in memory at start."
    )
    api_keys_file: Path | None = Field(
        None,
        description="File of salted key hashes, one per line (`lama-serve keys new` makes them); "
        "re-read when its mtime changes, so keys are added or revoked without a restart.",
    )
    rollout_state_path: Path = Field(
        Path("var/rollout.json"),
        description="Traffic split between model versions, written by `lama-serve rollout`/"
        "`promote`/`rollback` and read by every gateway process (share it between replicas).",
    )
    triton_admin_key: SecretStr | None = Field(
        None,
        description="Secret for Triton's repository API (model load/unload), shared by "
        "`lama-serve up` and `lama-serve rollout`. Unset: `up` generates one per start, so "
        "only the process that started Triton can roll out.",
    )
    triton_admin_header: str = Field(REPOSITORY_API_HEADER, description="Header carrying TRITON_ADMIN_KEY.")
    up_info_path: Path = Field(
        Path("var/up.json"),
        description="Where `lama-serve up` publishes its Triton's URL and "
        "admin key and the rollout state path (mode 0600, removed on exit); `lama-serve rollout` "
        "reads it when TRITON_URL and TRITON_ADMIN_KEY are unset.",
    )
    triton_admin_key_file: Path | None = Field(
        None,
        description="File holding TRITON_ADMIN_KEY (a Docker or Kubernetes secret), read "
        "at start when TRITON_ADMIN_KEY is unset; surrounding whitespace is ignored.",
    )

    # --- rollouts (`lama-serve rollout/promote/rollback`) -------------------------------
    rollout_ready_timeout_s: float = Field(600.0, gt=0, description="Longest wait for a version to load and warm up.")
    rollout_smoke_max_latency_s: float = Field(
        10.0, gt=0, description="Slowest golden-input call a new version may take."
    )
    rollout_publish_command: str | None = Field(
        None,
        description="Shell command run after every state change to publish the file to "
        "the gateways (e.g. `kubectl apply` of a ConfigMap); gets $ROLLOUT_STATE_PATH.",
    )
    rollout_drain_min_s: float = Field(
        0.0,
        ge=0,
        description="Wait before draining starts: how long gateways take to see a "
        "new state file (0 for a local file; ~90 s for a Kubernetes ConfigMap).",
    )
    rollout_drain_quiet_s: float = Field(
        2.0, gt=0, description="An old version is drained once its request count stays still this long."
    )
    rollout_drain_timeout_s: float = Field(
        120.0, gt=0, description="Unload the old version after this long even if it still gets requests."
    )

    generated_keys_file: Path = Field(
        Path("var/api_keys"),
        description="Where `lama-serve up` keeps the hash of the key it generates when neither "
        "API_KEY nor API_KEYS_FILE is set (delete the file to get a new key).",
    )
    rate_limit_per_minute: float = Field(
        30.0, ge=0, description="Sustained requests per minute per key (token refill rate); 0 disables."
    )
    rate_limit_burst: int = Field(10, ge=1, description="Token bucket size: requests allowed at once.")
    auth_failures_per_minute: float = Field(
        60.0,
        ge=0,
        description="Requests without a valid key allowed per client address and minute (then 429); 0 disables.",
    )
    auth_failures_burst: int = Field(20, ge=1, description="Bucket size of AUTH_FAILURES_PER_MINUTE.")

    # --- gateway: connections (uvicorn, set by `up` and `python -m lama_serve.gateway.serve`) ---
    body_read_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Longest wait for the next piece of a request body (408 after): "
        "a lying Content-Length or a stalled upload frees its connection.",
    )
    keep_alive_timeout_s: float = Field(5.0, gt=0, description="Idle keep-alive connections close after this.")
    header_read_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Longest time from a connection's start (or its last response) to a complete request line "
        "and headers (408 and close after): headers sent a byte at a time cannot hold connections.",
    )
    max_connections: int = Field(
        256,
        ge=1,
        description="Open connections and requests the gateway serves at once; beyond, uvicorn answers 503 at once.",
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="Largest request line plus headers (uvicorn's h11_max_incomplete_event_size)."
    )

    # --- gateway: request limits --------------------------------------------------------
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

    # --- watermark detection (lama_serve.detect) -----------------------------------------
    detectors: Annotated[tuple[str, ...], NoDecode] = Field(
        ("watermark_text", "watermark_seg", "templates"),
        description="Comma-separated detectors run, in order, on images sent without a mask. "
        "`templates` and `tiled` (opt-in: on held-out tiled text it cost IoU, docs/detection.md) "
        "run in the gateway; any other name is a Triton model that returns a [N,H,W,1] "
        "watermark probability map or scored boxes for a uint8 image (core.contract; "
        "`lama-serve detector add` puts your own into the repository, `up` loads it).",
    )
    watermark_templates_dir: Path | None = Field(
        None,
        description="Folder of known watermarks (RGBA PNG, file stem = name) for the "
        "`templates` detector; unset: that detector is off.",
    )
    detection_max_side: int = Field(
        1024,
        ge=32,
        description="Longest side sent to the served detector models: larger images "
        "are downscaled for them and their maps scaled back (bounds detection time and memory).",
    )
    detection_work_side: int = Field(
        2048,
        ge=256,
        description="Longest side the detectors' maps are turned into a mask at: larger photos are "
        "downscaled for it and the mask scaled back (a 12 MP photo: 8 s of post-processing on two "
        "cores at full size); raise it for masks that follow the marks' edges more closely.",
    )
    detector_keep_scores: dict[str, float] = Field(
        default_factory=dict,
        description="JSON object: per served detector, the region score "
        "(mean probability x watermark likeness) needed to enter the mask, overriding the "
        "model's tuned profile (detect.regions.MAP_PROFILES; an operator's own model: 0.55), "
        'e.g. {"my_model": 0.7}.',
    )
    template_min_score: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Edge correlation (NCC) a place must reach for un-blending to check it for "
        "a template; faint marks on busy photos reach 0.14, and the check rejects false peaks.",
    )
    template_scales: Annotated[tuple[Annotated[float, Field(gt=0)], ...], NoDecode] = Field(
        (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
        min_length=1,
        description="Comma-separated sizes, relative to its file, a template is looked for at. "
        "Exact un-blending needs the mark within about 1 % of one of them: list the sizes "
        "your marks are stamped at.",
    )
    template_size_search: bool = Field(
        False,
        description="Where a template has no copy at TEMPLATE_SCALES, also search the sizes "
        "between them (+-14 % around the strongest correlation peaks): finds most marks "
        "stamped in proportion to the photo, for ~0.6 s more per template on a 512 px image.",
    )

    # --- gateway: high-resolution strategy and batches ----------------------------------
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
    tile_buckets: Annotated[tuple[int, ...], NoDecode] = Field(
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

    # --- gateway: Triton calls ----------------------------------------------------------
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

    # --- health and self-healing (gateway probe, `up` supervisor) -------------------------
    health_cache_s: float = Field(
        2.0,
        ge=0,
        description="How long one health probe (a tiny real inference) answers every "
        "/api/v1/health hit: a health flood costs Triton one call per period.",
    )
    recovery_backoff_s: float = Field(
        2.0,
        gt=0,
        description="First wait before retrying a failed model reload or Triton "
        "restart; doubles per failure up to RECOVERY_BACKOFF_MAX_S.",
    )
    recovery_backoff_max_s: float = Field(60.0, gt=0, description="Longest wait between recovery attempts.")
    triton_restart_attempts: int = Field(
        5,
        ge=0,
        description="Consecutive restarts `up` tries when tritonserver exits; then it "
        "stops the gateway and exits non-zero. 0: never restart.",
    )

    # --- gateway: output, stats, logging, CORS -------------------------------------------
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
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed by CORS; empty (default) turns CORS off.",
    )

    # --- asynchronous jobs (`Prefer: respond-async`) and webhooks ------------------------
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
    webhook_retry_schedule_s: Annotated[tuple[float, ...], NoDecode] = Field(
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
        """A published or malformed signing secret lets anyone forge deliveries."""
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(plain, str):
            return value
        plain = plain.strip()
        if any(marker in plain.lower() for marker in PLACEHOLDER_MARKERS):
            raise ValueError(f"WEBHOOK_SECRET is a published placeholder; {WEBHOOK_SECRET_HINT}")
        if not plain.startswith("whsec_") or len(plain) < len("whsec_") + MIN_API_KEY_LENGTH:
            raise ValueError(f"WEBHOOK_SECRET must be `whsec_` + base64; {WEBHOOK_SECRET_HINT}")
        return plain

    @field_validator(
        "webhook_retry_schedule_s", "tile_buckets", "detectors", "template_scales", "cors_origins", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Accept `a,b` from the environment as well as a sequence (pydantic converts the parts)."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _reject_placeholder_key(cls, value: object) -> object:
        """A guessable key is worse than none: refuse to start with one."""
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        if plain is None:
            return None
        if not isinstance(plain, str):
            return value
        plain = plain.strip()
        if any(marker in plain.lower() for marker in PLACEHOLDER_MARKERS):
            raise ValueError(f"API_KEY is a published placeholder; {KEY_FIX_HINT}")
        if len(plain) < MIN_API_KEY_LENGTH:
            raise ValueError(f"API_KEY is shorter than {MIN_API_KEY_LENGTH} characters (or empty); {KEY_FIX_HINT}")
        return plain

    @field_validator(
        "lama_model_url",
        "lama_model_md5",
        "lama_model_sha256",
        "lama_checkpoint",
        "api_keys_file",
        "triton_admin_key_file",
        "watermark_templates_dir",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """Compose passes `LAMA_MODEL_URL:` through as an empty string when the shell lacks it;
        an empty path would be the working directory (`API_KEYS_FILE=` read "." as a key file)."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("lama_model_md5", "lama_model_sha256")
    @classmethod
    def _check_digest(cls, value: str | None, info: ValidationInfo) -> str | None:
        length = {"lama_model_md5": 32, "lama_model_sha256": 64}[info.field_name]
        if value is not None and not re.fullmatch(rf"[0-9a-fA-F]{{{length}}}", value.strip()):
            raise ValueError(f"{info.field_name.upper()} must be {length} hex digits, got {value!r}")
        return None if value is None else value.strip().lower()

    @field_validator("model_version")
    @classmethod
    def _check_model_version(cls, value: str) -> str:
        """A pinned version Triton can serve: it loads no version folder whose name starts with 0."""
        value = value.strip()
        if value and not is_version_name(value):
            raise ValueError(
                f"MODEL_VERSION must be empty (Triton's latest ready version) or a version number "
                f"from {MIN_VERSION}, got {value!r}"
            )
        return value

    @field_validator("tile_buckets")
    @classmethod
    def _check_buckets(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        """Fail at start, not on the first large request, on a side the model cannot take."""
        if not value or any(side <= 0 or side % SPATIAL_MULTIPLE for side in value):
            raise ValueError(f"TILE_BUCKETS must be positive multiples of {SPATIAL_MULTIPLE}, got {value}")
        return tuple(sorted(set(value)))

    @field_validator("cors_origins")
    @classmethod
    def _reject_wildcard_origin(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("CORS_ORIGINS may not be `*` (API keys travel in headers); list the origins")
        return value

    @model_validator(mode="after")
    def _allow_missing_mask_alias(self) -> Settings:
        """ALLOW_MISSING_MASK=true is the v1 spelling of MISSING_MASK=full."""
        if self.allow_missing_mask and "missing_mask" not in self.model_fields_set:
            self.missing_mask = "full"
        return self

    @model_validator(mode="after")
    def _distinct_ports(self) -> Settings:
        """The embedded stack binds the gateway's and the bundled Triton's ports on one host."""
        if self.triton_url:
            return self
        ports = {
            "GATEWAY_PORT": self.gateway_port,
            "TRITON_HTTP_PORT": self.triton_http_port,
            "TRITON_METRICS_PORT": self.triton_metrics_port,
            "TRITON_GRPC_PORT": self.triton_grpc_port,
        }
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port and port in seen:
                raise ValueError(
                    f"{seen[port]} and {name} are both {port}: the gateway and the bundled Triton "
                    "bind each port on this host; give each its own"
                )
            seen[port] = name
        return self

    @model_validator(mode="after")
    def _read_admin_key_file(self) -> Settings:
        """TRITON_ADMIN_KEY_FILE fills TRITON_ADMIN_KEY (compose and Kubernetes share one
        stored secret between Triton and the gateway this way)."""
        if self.triton_admin_key is not None or self.triton_admin_key_file is None:
            return self
        try:
            key = self.triton_admin_key_file.read_text().strip()
        except OSError as error:
            raise ValueError(
                f"TRITON_ADMIN_KEY_FILE {self.triton_admin_key_file}: {error.strerror}; "
                "mount the Triton admin key secret there (docs/deploy.md)"
            ) from None
        if not key:
            raise ValueError(
                f"TRITON_ADMIN_KEY_FILE {self.triton_admin_key_file} is empty; write "
                "the key into it (e.g. `openssl rand -hex 32`)"
            )
        self.triton_admin_key = SecretStr(key)
        return self

    @property
    def effective_triton_url(self) -> str:
        return self.triton_url or f"127.0.0.1:{self.triton_http_port}"

    @property
    def effective_triton_grpc_url(self) -> str | None:
        """Where inference goes over gRPC: TRITON_GRPC_URL beside an external TRITON_URL, else
        the bundled Triton's gRPC port; None = over HTTP."""
        if self.triton_url:
            return self.triton_grpc_url
        return f"127.0.0.1:{self.triton_grpc_port}" if self.triton_grpc_port else None

    @property
    def admin_headers(self) -> dict[str, str]:
        """Headers for Triton's repository API; empty when no TRITON_ADMIN_KEY is set."""
        if self.triton_admin_key is None:
            return {}
        return {self.triton_admin_header: self.triton_admin_key.get_secret_value()}


def load_settings(overrides: Mapping[str, object] | None = None, labels: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment with `overrides` on top. A value that cannot work is a
    ConfigurationError with one line per variable to fix, named as the operator sets it
    (RATE_LIMIT_PER_MINUTE; `labels` may name an overridden field by its flag), without
    pydantic's type codes and links; inputs are never echoed (hide_input_in_errors)."""
    try:
        return Settings(**(overrides or {}))
    except ValidationError as error:
        lines = [
            f"  {_variable(e['loc'], labels or {})}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
        ]
        raise ConfigurationError("invalid settings; fix these:\n" + "\n".join(lines)) from None


def _variable(location: tuple[int | str, ...], labels: Mapping[str, str]) -> str:
    """The environment variable (or label) of a validation error's field; a check across
    fields has none."""
    field = str(location[0]) if location else ""
    return labels.get(field) or field.upper() or "settings"


@lru_cache
def get_settings() -> Settings:
    return load_settings()
