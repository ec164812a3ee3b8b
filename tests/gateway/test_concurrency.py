"""CPU-heavy work runs off the event loop: a large image does not stall other requests."""

from __future__ import annotations

import asyncio

import pytest

from lama_serve.triton.process import TritonProcess

from .conftest import AUTH, SettingsFactory, box_mask, encode, files, gateway, noise

pytestmark = pytest.mark.anyio


async def test_health_answers_while_a_large_image_is_processed(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    side = 1536
    parts = files(encode(noise(side, side)), encode(box_mask(side, side)))
    async with gateway(make_settings(triton_url=triton_server.http_url)) as client:
        large = asyncio.create_task(client.post("/api/v1/remove-watermark", headers=AUTH, files=parts))
        await asyncio.sleep(0.05)
        health = await client.get("/api/v1/health")
        assert health.status_code == 200
        assert not large.done(), "health had to wait for the large request"
        assert (await large).status_code == 200
