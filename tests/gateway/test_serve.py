"""The gateway image's entry point: settings that cannot work end it with the lines to fix
and status 2, not a traceback."""

from __future__ import annotations

import pytest

from lama_serve.core.settings import get_settings
from lama_serve.gateway import serve


def test_invalid_settings_end_the_gateway_with_what_to_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "many")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_:
            serve.main()
    finally:
        get_settings.cache_clear()
    assert exit_.value.code == 2
    assert "gateway: invalid settings; fix these:\n  RATE_LIMIT_PER_MINUTE: Input should be a valid number" in (
        capsys.readouterr().err
    )
