"""Per-key webhook signing secrets (`whsec_...`), kept where the jobs are.

With the sqlite backend they are 0600 files under JOBS_DIR; with the redis backend they live
in Redis beside the jobs, so that every replica signs a key's deliveries with the same
secret (a replica of its own would make one per pod, and a receiver could verify only the
deliveries of the pod whose secret it was given). A key's first secret is created once,
whoever asks first: concurrent first uses all get the one that was stored.

Rotation keeps the previous secret for a grace period, and deliveries are signed with
both meanwhile, so receivers can switch secrets without dropping an event."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from pathlib import Path
from typing import Protocol

import redis

PREFIX = "whsec_"
REDIS_KEY = "lama:jobs:webhook_secret:"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked(owner: str) -> str:
    if not owner.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"key id {owner!r} must be letters, digits, - or _")
    return owner


class SecretEntries(Protocol):
    """Where the entries ({"current", "previous", "previous_until"}) of each key id live."""

    def read(self, owner: str) -> dict | None: ...

    def write(self, owner: str, entry: dict) -> None: ...

    def create(self, owner: str, entry: dict) -> dict:
        """Store `entry` unless the owner has one; the stored entry either way."""


class FileEntries:
    """One 0600 JSON file per key id in `directory`."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _path(self, owner: str) -> Path:
        return self._dir / f"{_checked(owner)}.json"

    def read(self, owner: str) -> dict | None:
        try:
            return json.loads(self._path(owner).read_text())
        except FileNotFoundError:
            return None

    def _staged(self, entry: dict) -> Path:
        """`entry` in a new 0600 file of its own beside the entries (complete before it is named)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        temp = self._dir / f".{secrets.token_hex(8)}.tmp"
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(entry, f)
        return temp

    def write(self, owner: str, entry: dict) -> None:
        os.replace(self._staged(entry), self._path(owner))

    def create(self, owner: str, entry: dict) -> dict:
        temp = self._staged(entry)
        try:
            os.link(temp, self._path(owner))  # fails when the entry exists: the first one stays
        except FileExistsError:
            return self.read(owner) or entry
        finally:
            temp.unlink()
        return entry


class RedisEntries:
    """One string per key id under REDIS_KEY, shared by every replica on that Redis. A key
    with none there but a file entry in `legacy` (where this replica kept them before) gets
    that one: receivers set up with it keep verifying after the upgrade."""

    def __init__(self, url: str, legacy: FileEntries | None = None) -> None:
        self._redis = redis.Redis.from_url(url)
        self._legacy = legacy

    def read(self, owner: str) -> dict | None:
        raw = self._redis.get(REDIS_KEY + _checked(owner))
        if raw is not None:
            return json.loads(raw)
        entry = self._legacy.read(owner) if self._legacy is not None else None
        return None if entry is None else self.create(owner, entry)

    def write(self, owner: str, entry: dict) -> None:
        self._redis.set(REDIS_KEY + _checked(owner), json.dumps(entry))

    def create(self, owner: str, entry: dict) -> dict:
        if self._redis.set(REDIS_KEY + _checked(owner), json.dumps(entry), nx=True):
            return entry
        return self.read(owner) or entry


class WebhookSecrets:
    def __init__(self, entries: SecretEntries, server_secret: str | None, grace_s: float) -> None:
        self._entries = entries
        self._server = server_secret
        self._grace_s = grace_s

    def signing(self, owner: str) -> list[str]:
        """Secrets to sign the owner's deliveries with: its own (current, then the previous one
        during the grace period), else the server-wide one, else a new secret of its own."""
        entry = self._entries.read(owner)
        if entry is None:
            if self._server:
                return [self._server]
            return [self.show(owner)]
        keep_previous = entry.get("previous") and entry.get("previous_until", 0) > time.time()
        return [entry["current"]] + ([entry["previous"]] if keep_previous else [])

    def show(self, owner: str) -> str:
        """The key's current secret, made on first use."""
        entry = self._entries.read(owner)
        if entry is None:
            entry = self._entries.create(owner, {"current": new_secret()})
        return entry["current"]

    def rotate(self, owner: str) -> str:
        """A new current secret; the old one still signs for the grace period."""
        entry = self._entries.read(owner) or {}
        previous = entry.get("current") or self._server
        entry = {"current": new_secret(), "previous": previous, "previous_until": time.time() + self._grace_s}
        self._entries.write(owner, entry)
        return entry["current"]
