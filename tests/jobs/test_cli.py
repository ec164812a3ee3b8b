"""`lama-serve keys webhook-secret` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.cli import main
from lama_serve.jobs.webhook_secrets import FileEntries, WebhookSecrets


def test_show_is_stable_and_rotate_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOBS_DIR", str(tmp_path))
    main(["keys", "webhook-secret", "show", "--key-id", "abc123"])
    main(["keys", "webhook-secret", "show", "--key-id", "abc123"])
    first, second = capsys.readouterr().out.split()
    assert first == second and first.startswith("whsec_")
    main(["keys", "webhook-secret", "rotate", "--key-id", "abc123"])
    rotated = capsys.readouterr().out.strip()
    assert rotated != first
    assert WebhookSecrets(FileEntries(tmp_path / "webhook_secrets"), None, 60).signing("abc123") == [rotated, first]
    assert main(["keys", "webhook-secret", "rotate"]) == 2
