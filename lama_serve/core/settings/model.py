"""Settings: which model Triton serves, and where released weights come from."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from lama_serve.core.contract import MODEL_NAME
from lama_serve.core.repository import MIN_VERSION, is_version_name
from lama_serve.core.settings.checks import OptionalPath, OptionalText


class ModelSettings(BaseModel):
    """The inpainting model: its Triton name and version, its repository, its weights."""

    model_name: str = Field(MODEL_NAME, description="Triton model name of the inpainting model.")
    model_version: str = Field("", description="Model version to call; empty = Triton's latest ready.")
    model_repository: Path = Field(Path("model_repository"), description="Triton model repository.")
    lama_checkpoint: OptionalPath = Field(
        None, description="Checkpoint exported by `lama-serve up` when no model exists yet."
    )

    lama_model_url: OptionalText = Field(
        None,
        description="Where to download big-lama.pt (IOPaint's variable): a mirror or an "
        "air-gapped copy (http(s):// or file://). Unset: the release URL of the model table.",
    )
    lama_model_md5: OptionalText = Field(
        None,
        description="Expected MD5 of the download (IOPaint's variable). Setting it or "
        "LAMA_MODEL_SHA256 replaces the table's digests and size: the file is another one.",
    )
    lama_model_sha256: OptionalText = Field(None, description="Expected SHA-256 of the download.")
    weights_cache_dir: Path = Field(
        Path("var/weights"), description="Where fetched weights are kept (verified on every reuse)."
    )
    require_real_weights: bool = Field(
        False,
        description="`up` refuses to start instead of exporting random weights when no "
        "LAMA_CHECKPOINT is set and the weights cannot be fetched.",
    )

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
