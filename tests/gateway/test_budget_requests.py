"""Issue 17: requests over the memory budget are refused before Triton sees them."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest

from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import AUTH, SettingsFactory, assert_error, box_mask, encode, files, gateway, noise

pytestmark = pytest.mark.anyio


async def test_4096_original_refused_up_front_small_request_served(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    big = files(encode(np.zeros((4096, 4096, 3), np.uint8)), encode(np.full((4096, 4096), 255, np.uint8)))
    async with gateway(make_settings(triton_url=triton_server.http_url)) as client:
        started = time.monotonic()
        refused = await client.post(
            "/api/v1/remove-watermark", files=big, headers=AUTH, data={"hd_strategy": "original"}
        )
        body = assert_error(refused, 413, "hd_strategy=crop")
        assert "GiB" in body["detail"] and time.monotonic() - started < 10
        small = await client.post(
            "/api/v1/remove-watermark", headers=AUTH, files=files(encode(noise(64, 64)), encode(box_mask(64, 64)))
        )
        assert small.status_code == 200, small.text


async def test_batch_items_share_one_budget(make_settings: SettingsFactory, triton_server: TritonProcess) -> None:
    # 1 Mpx budget: one 768x768 `original` item (0.59 Mpx) fits, two do not.
    settings = make_settings(
        triton_url=triton_server.http_url, inference_memory_budget_mb=64, inference_bytes_per_pixel=64.0
    )
    item = (encode(noise(768, 768)), encode(box_mask(768, 768)))
    multipart = [("image", ("a.png", item[0])), ("mask", ("a.png", item[1]))] * 2
    async with gateway(settings) as client:
        response = await client.post(
            "/api/v1/remove-watermark/batch", files=multipart, headers=AUTH, data={"hd_strategy": "original"}
        )
    assert response.status_code == 200, response.text
    entries = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("results.json"))["items"]
    assert sorted(entry["status_code"] for entry in entries) == [200, 413]
    assert response.headers["X-Batch-Failed"] == "1"


async def test_openapi_states_the_limits(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        description = (await client.get("/openapi.json")).json()["info"]["description"]
    assert "6.0 GiB" in description and "1728x1728" in description and "10 MiB" in description
