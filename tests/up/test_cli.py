"""`lama-serve up` flags: defaults from the environment, flags win over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.cli import build_parser, main
from lama_serve.core.cli_args import settings_from_args
from lama_serve.core.settings import Settings


def settings_for(argv: list[str]) -> Settings:
    return settings_from_args(build_parser().parse_args(["up", *argv]))


def test_defaults_without_flags_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GATEWAY_HOST", "GATEWAY_PORT", "TRITON_HTTP_PORT", "TRITON_METRICS_PORT", "MODEL_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    settings = settings_for([])
    assert (settings.gateway_host, settings.gateway_port) == ("0.0.0.0", 8080)
    assert (settings.triton_http_port, settings.triton_metrics_port) == (8000, 8002)
    assert settings.model_repository == Path("model_repository")


def test_environment_sets_defaults_and_flags_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "9090")
    monkeypatch.setenv("TRITON_HTTP_PORT", "9000")
    monkeypatch.setenv("MODEL_REPOSITORY", "/srv/models")
    settings = settings_for(["--triton-http-port", "7000", "--host", "127.0.0.1"])
    assert settings.gateway_port == 9090
    assert settings.model_repository == Path("/srv/models")
    assert settings.triton_http_port == 7000
    assert settings.gateway_host == "127.0.0.1"


def test_invalid_value_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--port", "70000"]) == 2
    assert "--port: Input should be less than or equal to 65535" in capsys.readouterr().err
