"""Key hashing, constant-time checks and the hot-reloaded keys file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from lama_serve.gateway import auth
from lama_serve.gateway.errors import Unauthorized

KEY = "k3y-for-tests-0123456789"


def test_hash_is_salted_and_verifies() -> None:
    first, second = auth.hash_key(KEY), auth.hash_key(KEY)
    assert first != second and KEY not in first
    assert auth.KeyHash.parse(first).matches(KEY)
    assert not auth.KeyHash.parse(first).matches(KEY + "x")


def test_generate_key_is_random_and_matches_its_hash() -> None:
    (key_a, hash_a), (key_b, _) = auth.generate_key(), auth.generate_key()
    assert key_a != key_b and len(key_a) >= 40
    assert auth.KeyHash.parse(hash_a).matches(key_a)


def test_key_id_is_stable_and_not_the_key() -> None:
    assert auth.key_id(KEY) == auth.key_id(KEY) != auth.key_id(KEY + "x")
    assert KEY[:6] not in auth.key_id(KEY) and len(auth.key_id(KEY)) == 16


def test_env_key_accepted_others_rejected() -> None:
    store = auth.KeyStore(KEY, None)
    assert store.authenticate(KEY) == auth.key_id(KEY)
    with pytest.raises(Unauthorized, match="Missing API Key"):
        store.authenticate(None)
    with pytest.raises(Unauthorized, match="Invalid API Key"):
        store.authenticate("wrong-key-0123456789")


def test_keys_file_reloads_on_change(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    other, other_hash = auth.generate_key()
    keys_file.write_text(f"# operators' keys\n{auth.hash_key(KEY)}  # alice\n\nnot-a-hash\n")
    store = auth.KeyStore(None, keys_file)
    assert store.authenticate(KEY)
    with pytest.raises(Unauthorized):
        store.authenticate(other)

    keys_file.write_text(other_hash + "\n")  # add one key, revoke the other
    os.utime(keys_file, ns=(1, 10**18))
    assert store.authenticate(other)
    with pytest.raises(Unauthorized):
        store.authenticate(KEY)

    keys_file.unlink()
    with pytest.raises(Unauthorized):
        store.authenticate(other)


def test_keys_are_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keys_file = tmp_path / "keys"
    keys_file.write_text("garbage line\n")
    store = auth.KeyStore(KEY, keys_file)
    with pytest.raises(Unauthorized):
        store.authenticate("presented-secret-9876543210")
    store.authenticate(KEY)
    assert "presented-secret" not in caplog.text and KEY not in caplog.text and KEY[:8] not in caplog.text
