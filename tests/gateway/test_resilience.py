"""Triton going away and coming back while the gateway keeps running."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from lama_serve.triton.process import TritonProcess

from .conftest import AUTH, SettingsFactory, assert_error, box_mask, encode, files, gateway, noise

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark"
PARTS = files(encode(noise(16, 16)), encode(box_mask(16, 16)))


async def test_triton_stopped_mid_test_then_recovers(
    make_settings: SettingsFactory, start_triton: Callable[..., TritonProcess]
) -> None:
    first = start_triton()
    async with gateway(make_settings(triton_url=first.http_url)) as client:
        assert (await client.post(URL, headers=AUTH, files=PARTS)).status_code == 200

        first.stop()
        down = await client.post(URL, headers=AUTH, files=PARTS)
        assert_error(down, 503, "Model unavailable")
        assert down.headers["Retry-After"] == "3"
        assert (await client.get("/api/v1/health")).status_code == 503

        # A new server on the same address; the gateway is not restarted.
        metrics_port = urlsplit(first.metrics_url).port
        second = TritonProcess(
            first.repository,
            http_port=int(first.http_url.rsplit(":", 1)[1]),
            metrics_port=metrics_port,
            exit_timeout=2,
        )
        try:
            second.start().wait_ready(60)
            assert (await client.get("/api/v1/health")).status_code == 200
            assert (await client.post(URL, headers=AUTH, files=PARTS)).status_code == 200
        finally:
            second.stop()
