"""Rollout knobs, read from the environment like the gateway's settings (same names where shared)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.process import REPOSITORY_API_HEADER

DEFAULT_STATE_PATH = Path("var/rollout.json")


class RolloutSettings(BaseSettings):
    """Env names are the field names upper-cased (e.g. `ROLLOUT_STATE_PATH`, `TRITON_URL`)."""

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", hide_input_in_errors=True)

    rollout_state_path: Path = Field(
        DEFAULT_STATE_PATH, description="Traffic split + history; every gateway reads this file.")
    model_repository: Path = Field(Path("model_repository"), description="Triton model repository.")
    triton_url: str | None = Field(None, description="host:port of Triton's HTTP endpoint.")
    triton_http_port: int = Field(8000, ge=1, le=65535, description="Bundled Triton HTTP port.")
    triton_admin_key: SecretStr | None = Field(
        None, description="Secret of Triton's restricted model-repository API.")
    triton_admin_header: str = Field(
        REPOSITORY_API_HEADER, description="Header carrying TRITON_ADMIN_KEY.")
    rollout_ready_timeout_s: float = Field(
        600.0, gt=0, description="Longest wait for a version to load and warm up.")
    rollout_smoke_max_latency_s: float = Field(
        10.0, gt=0, description="Slowest golden-input call a new version may take.")
    rollout_publish_command: str | None = Field(
        None, description="Shell command run after every state change to publish the file to "
        "the gateways (e.g. `kubectl apply` of a ConfigMap); gets $ROLLOUT_STATE_PATH.")
    rollout_drain_min_s: float = Field(
        0.0, ge=0, description="Wait before draining starts: how long gateways take to see a "
        "new state file (0 for a local file; ~90 s for a Kubernetes ConfigMap).")
    rollout_drain_quiet_s: float = Field(
        2.0, gt=0, description="An old version is drained once its request count stays still this long.")
    rollout_drain_timeout_s: float = Field(
        120.0, gt=0, description="Unload the old version after this long even if it still gets requests.")

    @property
    def effective_triton_url(self) -> str:
        return self.triton_url or f"127.0.0.1:{self.triton_http_port}"

    @property
    def admin_headers(self) -> dict[str, str]:
        """Headers for the repository API; empty when Triton does not restrict it."""
        if self.triton_admin_key is None:
            return {}
        return {self.triton_admin_header: self.triton_admin_key.get_secret_value()}
