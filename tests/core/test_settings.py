"""Settings validators refuse placeholders and say how to fix them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lama_serve.core.errors import ConfigurationError
from lama_serve.core.settings import Settings, load_settings


@pytest.mark.parametrize(
    "key",
    [
        "your_secret_key_change_me",
        "sk_live_1234567890abcdef",
        "CHANGEME-CHANGEME-1",
        "changeme",
        "",
        "short-key",
    ],
)
def test_placeholder_and_short_keys_rejected(key: str) -> None:
    with pytest.raises(ValidationError, match=r"lama-serve keys new"):
        Settings(api_key=key)


def test_rejected_key_not_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(api_key="short-secret")
    assert "short-secret" not in str(caught.value)


def test_errors_name_each_variable_to_set_and_echo_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "many")
    monkeypatch.setenv("API_KEY", "tiny-key-1")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(labels={"gateway_port": "--port"})
    message = str(caught.value)
    assert "  RATE_LIMIT_PER_MINUTE: Input should be a valid number" in message
    assert "  API_KEY: API_KEY must be at least 16 characters long" in message
    assert "tiny-key-1" not in message and "many" not in message and "errors.pydantic.dev" not in message
    with pytest.raises(ConfigurationError, match="  --port: Input should be less than or equal to 65535"):
        load_settings({"gateway_port": 70000, "rate_limit_per_minute": 5}, labels={"gateway_port": "--port"})


def test_blank_optional_paths_are_unset() -> None:
    """Compose hands an unset variable over as an empty string; "" is not the working directory."""
    blank = Settings(api_keys_file="", lama_checkpoint="", triton_admin_key_file=" ", watermark_templates_dir="")
    assert (blank.api_keys_file, blank.lama_checkpoint, blank.triton_admin_key_file) == (None, None, None)
    assert blank.watermark_templates_dir is None


def test_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "a-real-key-0123456789")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("ALLOW_MISSING_MASK", "true")
    settings = Settings()
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "a-real-key-0123456789"
    assert "a-real-key" not in repr(settings)
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.allow_missing_mask


def test_comma_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPLATE_SCALES", "1, 1.5")
    monkeypatch.setenv("TILE_BUCKETS", "768,512")
    monkeypatch.setenv("DETECTORS", "watermark_text, tiled")
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE_S", "5,30")
    settings = Settings()
    assert settings.template_scales == (1.0, 1.5) and settings.tile_buckets == (512, 768)
    assert settings.detectors == ("watermark_text", "tiled") and settings.webhook_retry_schedule_s == (5.0, 30.0)


@pytest.mark.parametrize("scales", ["0,1", "", "big"])
def test_template_scales_must_be_positive_numbers(scales: str) -> None:
    with pytest.raises(ValidationError, match="template_scales"):
        Settings(template_scales=scales)


def test_defaults_are_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("API_KEY", "CORS_ORIGINS", "ALLOW_MISSING_MASK"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.cors_origins == [] and settings.api_key is None
    assert settings.max_upload_bytes == 10 * 1024 * 1024 and settings.max_image_side == 4096
    assert settings.output_format == "png" and not settings.allow_missing_mask


def test_wildcard_cors_rejected() -> None:
    with pytest.raises(ValidationError, match="list the origins"):
        Settings(cors_origins="*")


@pytest.mark.parametrize("version", ["0", "01", "latest", "-1"])
def test_a_pinned_model_version_must_be_one_triton_loads(version: str) -> None:
    with pytest.raises(ValidationError, match="MODEL_VERSION must be empty"):
        Settings(model_version=version)
    assert Settings(model_version=" 3 ").model_version == "3" and Settings().model_version == ""


def test_missing_mask_defaults_to_detect_and_allow_missing_mask_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MISSING_MASK", "ALLOW_MISSING_MASK"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().missing_mask == "detect"
    monkeypatch.setenv("ALLOW_MISSING_MASK", "true")
    assert Settings().missing_mask == "full"
    monkeypatch.setenv("MISSING_MASK", "reject")  # the explicit setting wins over the alias
    assert Settings().missing_mask == "reject"
    with pytest.raises(ValidationError, match="missing_mask"):
        Settings(missing_mask="guess")


def test_detector_keep_scores_read_json(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().detector_keep_scores == {}
    monkeypatch.setenv("DETECTOR_KEEP_SCORES", '{"watermark_text": 0.6, "my_model": 0.8}')
    assert Settings().detector_keep_scores == {"watermark_text": 0.6, "my_model": 0.8}


def test_admin_key_file_fills_the_admin_key(tmp_path: Path) -> None:
    secret = tmp_path / "triton-admin-key"
    secret.write_text("0123456789abcdef0123456789abcdef\n")
    settings = Settings(triton_admin_key_file=secret)
    assert settings.admin_headers == {"lama-admin-key": "0123456789abcdef0123456789abcdef"}
    # TRITON_ADMIN_KEY itself wins over the file.
    assert (
        Settings(triton_admin_key="direct-key-0123456789", triton_admin_key_file=secret).admin_headers["lama-admin-key"]
        == "direct-key-0123456789"
    )


@pytest.mark.parametrize("content", [None, " \n"])
def test_missing_or_empty_admin_key_file_says_what_to_mount(tmp_path: Path, content: str | None) -> None:
    secret = tmp_path / "triton-admin-key"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(ValidationError, match="TRITON_ADMIN_KEY_FILE"):
        Settings(triton_admin_key_file=secret)


def test_inference_goes_over_grpc_where_there_is_one() -> None:
    assert Settings(api_key="k" * 24).effective_triton_grpc_url == "127.0.0.1:8001"  # bundled
    assert Settings(api_key="k" * 24, triton_grpc_port=0).effective_triton_grpc_url is None
    external = Settings(api_key="k" * 24, triton_url="triton:8000")
    assert external.effective_triton_grpc_url is None  # HTTP unless its gRPC endpoint is named
    assert external.model_copy(update={"triton_grpc_url": "triton:8001"}).effective_triton_grpc_url == "triton:8001"


def test_the_embedded_stacks_ports_must_differ() -> None:
    with pytest.raises(ValidationError, match="TRITON_HTTP_PORT and TRITON_METRICS_PORT are both 8100"):
        Settings(triton_http_port=8100, triton_metrics_port=8100)
    with pytest.raises(ValidationError, match="GATEWAY_PORT and TRITON_GRPC_PORT are both 8080"):
        Settings(triton_grpc_port=8080)
    assert Settings(triton_grpc_port=0, triton_metrics_port=8001).triton_grpc_port == 0  # 0: no gRPC
    assert Settings(triton_url="triton:8000", triton_http_port=8080).gateway_port == 8080  # not bundled


def test_settings_joins_the_sections_and_each_field_lives_in_one():
    """A component that needs one part of the settings takes that section's type; the whole
    object is an instance of every section, so it is passed as it is."""
    from lama_serve.core.settings import access, detection, jobs, model, requests, rollout, stack

    sections = (
        access.AccessSettings,
        detection.DetectionSettings,
        jobs.JobsSettings,
        model.ModelSettings,
        requests.RequestSettings,
        rollout.RolloutSettings,
        stack.StackSettings,
    )
    assert all(issubclass(Settings, section) for section in sections)
    names = [name for section in sections for name in section.model_fields]
    assert len(names) == len(set(names)) == len(Settings.model_fields)
