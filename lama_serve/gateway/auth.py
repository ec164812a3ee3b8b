"""API keys: generation, salted hashing, constant-time checks, a hot-reloaded keys file.

Keys are 256-bit random tokens, so a salted HMAC-SHA256 is enough to make a leaked keys
file useless; a slow password KDF would only add CPU to every request. Plaintext keys
are never stored, logged or echoed: requests are identified by `key_id`, a truncated
keyed hash that cannot be turned back into the key.

`lama-serve keys new` prints a new key and the line to add to API_KEYS_FILE;
`lama-serve keys hash` reads an existing key from stdin and prints its line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from lama_serve.gateway.errors import Unauthorized

log = logging.getLogger(__name__)

SCHEME = "hmac-sha256"
KEY_PREFIX = "lama_"
_KEY_ID_CONTEXT = b"lama-gateway/key-id/v1"


def _digest(salt: bytes, key: str) -> bytes:
    return hmac.new(salt, key.encode(), hashlib.sha256).digest()


def hash_key(key: str) -> str:
    """Salted hash record `hmac-sha256$<salt hex>$<digest hex>` for the keys file."""
    salt = secrets.token_bytes(16)
    return f"{SCHEME}${salt.hex()}${_digest(salt, key).hex()}"


def generate_key() -> tuple[str, str]:
    """A fresh random key and its hash record (for `lama-serve up` with no key configured)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_key(key)


def key_id(key: str) -> str:
    """Stable, non-reversible id of a key for stats and rate limits."""
    return hmac.new(_KEY_ID_CONTEXT, key.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class KeyHash:
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, record: str) -> KeyHash:
        scheme, salt_hex, digest_hex = record.split("$")
        if scheme != SCHEME:
            raise ValueError(f"unknown scheme {scheme!r}")
        return cls(bytes.fromhex(salt_hex), bytes.fromhex(digest_hex))

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(_digest(self.salt, key), self.digest)


def read_keys_file(path: Path) -> list[KeyHash]:
    """One record per line; blank lines and `#` comments are skipped, bad lines logged by number."""
    hashes = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        record = line.split("#", 1)[0].strip()
        if not record:
            continue
        try:
            hashes.append(KeyHash.parse(record))
        except ValueError:
            log.warning("%s line %d is not a key hash; make one with `python -m gateway.auth`", path, number)
    return hashes


class KeyStore:
    """The accepted keys: an optional env key plus the keys file, re-read when it changes."""

    def __init__(self, env_key: str | None, keys_file: Path | None) -> None:
        self._env_hashes = [KeyHash.parse(hash_key(env_key))] if env_key else []
        self._keys_file = keys_file
        self._file_hashes: list[KeyHash] = []
        self._file_stamp: tuple[int, int, int] | None = None
        self._refresh()

    @property
    def configured(self) -> bool:
        return bool(self._env_hashes) or self._keys_file is not None

    def _refresh(self) -> None:
        """Reload the keys file if its mtime, size or inode changed; a missing file means no keys."""
        if self._keys_file is None:
            return
        try:
            stat = os.stat(self._keys_file)
        except FileNotFoundError:
            if self._file_stamp != (0, 0, 0):
                log.warning("API_KEYS_FILE %s does not exist; only API_KEY is accepted", self._keys_file)
            self._file_hashes, self._file_stamp = [], (0, 0, 0)
            return
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._file_stamp:
            self._file_hashes, self._file_stamp = read_keys_file(self._keys_file), stamp
            log.info("loaded %d key hashes from %s", len(self._file_hashes), self._keys_file)

    def authenticate(self, key: str | None) -> str:
        """The key's id, or `Unauthorized` saying what to send."""
        if not key:
            raise Unauthorized("Missing API Key. Please provide X-API-Key header.")
        self._refresh()
        # Check every hash so timing does not reveal which entry matched.
        matched = False
        for candidate in self._env_hashes + self._file_hashes:
            matched |= candidate.matches(key)
        if not matched:
            raise Unauthorized("Invalid API Key. Check the X-API-Key header; ask the operator for a key.")
        return key_id(key)
