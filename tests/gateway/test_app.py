"""App factory wiring: key configuration, keys file hot reload, Pillow's bomb limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from lama_serve.core.errors import ConfigurationError
from lama_serve.gateway.app import create_app
from lama_serve.gateway.auth import generate_key

from .conftest import SettingsFactory, assert_error, gateway

pytestmark = pytest.mark.anyio


def test_refuses_to_start_without_keys(make_settings: SettingsFactory) -> None:
    with pytest.raises(ConfigurationError, match=r"lama-serve keys new"):
        create_app(make_settings(api_key=None))


def test_sets_pillow_pixel_limit(make_settings: SettingsFactory) -> None:
    create_app(make_settings(max_image_pixels=1234))
    assert Image.MAX_IMAGE_PIXELS == 1234


async def test_keys_file_add_and_revoke_without_restart(make_settings: SettingsFactory, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    (alice, alice_hash), (bob, bob_hash) = generate_key(), generate_key()
    keys_file.write_text(alice_hash + "\n")
    async with gateway(make_settings(api_key=None, api_keys_file=keys_file)) as client:
        assert (await client.get("/api/v1/stats", headers={"X-API-Key": alice})).status_code == 200
        assert_error(await client.get("/api/v1/stats", headers={"X-API-Key": bob}), 401)
        keys_file.write_text(bob_hash + "\n")
        os.utime(keys_file, ns=(1, 10**18))  # a distinct mtime even on coarse clocks
        assert (await client.get("/api/v1/stats", headers={"X-API-Key": bob})).status_code == 200
        assert_error(await client.get("/api/v1/stats", headers={"X-API-Key": alice}), 401)
