"""The one typed settings object of the service (env vars; documented defaults).

`Settings` joins one section per part of the service (its module names the part): a
component that needs one part takes that section's type, and the whole object is one.

    settings = load_settings()          # the environment, checked; ConfigurationError if not
    settings.gateway_port               # GATEWAY_PORT, 8080 unless set
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from lama_serve.core.errors import ConfigurationError
from lama_serve.core.settings.access import AccessSettings
from lama_serve.core.settings.detection import DetectionSettings
from lama_serve.core.settings.jobs import JobsSettings
from lama_serve.core.settings.model import ModelSettings
from lama_serve.core.settings.requests import RequestSettings
from lama_serve.core.settings.rollout import RolloutSettings
from lama_serve.core.settings.stack import REPOSITORY_API_HEADER, StackSettings

__all__ = ["REPOSITORY_API_HEADER", "Settings", "get_settings", "load_settings"]


class Settings(
    BaseSettings,
    ModelSettings,
    StackSettings,
    RolloutSettings,
    AccessSettings,
    RequestSettings,
    DetectionSettings,
    JobsSettings,
):
    """Every knob of the gateway and of `lama-serve up`, read from the environment.

    Env names are the field names upper-cased (e.g. `TRITON_URL`, `GATEWAY_PORT`).
    """

    # hide_input_in_errors: a rejected API_KEY must not be echoed into logs.
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", hide_input_in_errors=True)


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
