"""Settings: the embedded stack's Triton (bundled or external), its ports, its admin key,
and how the stack heals (the gateway's health probe, `up`'s supervisor)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator

from lama_serve.core.settings.checks import OptionalPath

# Header that carries TRITON_ADMIN_KEY to Triton's restricted repository API.
REPOSITORY_API_HEADER = "lama-admin-key"


class StackSettings(BaseModel):
    """Where Triton is, the ports `lama-serve up` binds, and recovery."""

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
    triton_admin_key_file: OptionalPath = Field(
        None,
        description="File holding TRITON_ADMIN_KEY (a Docker or Kubernetes secret), read "
        "at start when TRITON_ADMIN_KEY is unset; surrounding whitespace is ignored.",
    )

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

    @model_validator(mode="after")
    def _distinct_ports(self) -> StackSettings:
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
    def _read_admin_key_file(self) -> StackSettings:
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
