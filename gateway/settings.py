"""The one typed settings object of the service (env vars; documented defaults)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the gateway and of `lama-serve up`, read from the environment.

    Env names are the field names upper-cased (e.g. `TRITON_URL`, `GATEWAY_PORT`).
    """

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # --- where the model lives -------------------------------------------------------
    triton_url: str | None = Field(
        None,
        description="host:port of an external Triton HTTP endpoint. Unset: `lama-serve up` "
        "starts the bundled tritonserver on 127.0.0.1:TRITON_HTTP_PORT.",
    )
    model_name: str = Field("lama", description="Triton model name.")
    model_version: str = Field("", description="Model version to call; empty = Triton's latest ready.")
    model_repository: Path = Field(Path("model_repository"), description="Triton model repository.")
    lama_checkpoint: Path | None = Field(
        None, description="Checkpoint exported by `lama-serve up` when no model exists yet."
    )

    # --- ports of the embedded stack --------------------------------------------------
    gateway_host: str = Field("0.0.0.0", description="Gateway bind address.")
    gateway_port: int = Field(8080, ge=1, le=65535, description="Gateway port (the seed's 8080).")
    triton_http_port: int = Field(8000, ge=1, le=65535, description="Bundled Triton HTTP port.")
    triton_metrics_port: int = Field(8002, ge=1, le=65535, description="Bundled Triton metrics port.")

    @property
    def effective_triton_url(self) -> str:
        return self.triton_url or f"127.0.0.1:{self.triton_http_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
