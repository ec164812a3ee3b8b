"""Settings: who may call the gateway (API keys, rate limits, CORS) and how long a
connection may hold it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

from lama_serve.core.settings.checks import KEY_FIX_HINT, CommaList, OptionalPath, checked_secret


class AccessSettings(BaseModel):
    """API keys, per-key and per-address limits, connection timeouts, CORS."""

    api_key: SecretStr | None = Field(
        None, description="One plaintext API key (the seed's `API_KEY`); hashed in memory at start."
    )
    api_keys_file: OptionalPath = Field(
        None,
        description="File of salted key hashes, one per line (`lama-serve keys new` makes them); "
        "re-read when its mtime changes, so keys are added or revoked without a restart.",
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

    cors_origins: CommaList = Field(
        default_factory=list,
        description="Comma-separated origins allowed by CORS; empty (default) turns CORS off.",
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _reject_placeholder_key(cls, value: object) -> object:
        return checked_secret(value, "API_KEY", KEY_FIX_HINT)

    @field_validator("cors_origins")
    @classmethod
    def _reject_wildcard_origin(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("CORS_ORIGINS may not be `*` (API keys travel in headers); list the origins")
        return value
