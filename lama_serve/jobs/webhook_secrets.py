"""Per-key webhook signing secrets (`whsec_...`), kept as 0600 files under JOBS_DIR.

Rotation keeps the previous secret for a grace period, and deliveries are signed with
both meanwhile, so receivers can switch secrets without dropping an event."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from pathlib import Path

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSecrets:
    def __init__(self, directory: Path, server_secret: str | None, grace_s: float) -> None:
        self._dir = directory
        self._server = server_secret
        self._grace_s = grace_s

    def _path(self, owner: str) -> Path:
        if not owner.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"key id {owner!r} must be letters, digits, - or _")
        return self._dir / f"{owner}.json"

    def _read(self, owner: str) -> dict | None:
        try:
            return json.loads(self._path(owner).read_text())
        except FileNotFoundError:
            return None

    def _write(self, owner: str, entry: dict) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        temp = self._path(owner).with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(entry, f)
        os.replace(temp, self._path(owner))

    def signing(self, owner: str) -> list[str]:
        """Secrets to sign the owner's deliveries with: its own (current, then the previous one
        during the grace period), else the server-wide one, else a new secret of its own."""
        entry = self._read(owner)
        if entry is None:
            if self._server:
                return [self._server]
            return [self.show(owner)]
        keep_previous = entry.get("previous") and entry.get("previous_until", 0) > time.time()
        return [entry["current"]] + ([entry["previous"]] if keep_previous else [])

    def show(self, owner: str) -> str:
        """The key's current secret, made on first use."""
        entry = self._read(owner)
        if entry is None:
            entry = {"current": new_secret()}
            self._write(owner, entry)
        return entry["current"]

    def rotate(self, owner: str) -> str:
        """A new current secret; the old one still signs for the grace period."""
        entry = self._read(owner) or {}
        previous = entry.get("current") or self._server
        entry = {"current": new_secret(), "previous": previous, "previous_until": time.time() + self._grace_s}
        self._write(owner, entry)
        return entry["current"]
