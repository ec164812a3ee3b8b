"""The inference deadline fits the request: too much work is refused up front (422 naming
hd_strategy=crop), and `crop` of the same image is served; against the real bundled Triton."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from lama_serve.gateway.errors import InferenceTimeout, TooMuchWork, status_for
from lama_serve.gateway.inpaint.regions import Box
from lama_serve.gateway.inpaint.tiling import Window
from lama_serve.gateway.processing import inference_deadline
from lama_serve.triton.process import TritonProcess

from .conftest import AUTH, SettingsFactory, assert_error, encode, files, gateway, noise

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark"


def _window(side: int) -> Window:
    box = Box(0, 0, side, side)
    return Window(box, box, (side, side), (side, side))


def test_deadline_scales_with_the_windows(make_settings: SettingsFactory) -> None:
    settings = make_settings(inference_timeout_s=30.0, inference_seconds_per_megapixel=4.0)
    assert inference_deadline(settings, []) == 30.0
    assert inference_deadline(settings, [_window(1000), _window(500)]) == pytest.approx(35.0)
    with pytest.raises(TooMuchWork) as info:
        inference_deadline(make_settings(inference_max_estimated_s=1.0), [_window(1024)])
    assert status_for(TooMuchWork) == 422 and "hd_strategy=crop" in info.value.detail
    assert status_for(InferenceTimeout) == 504


async def test_too_much_work_is_refused_and_crop_is_served(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    # 1024x1024 `original` = 1.05 Mpx = 105 s at 100 s/Mpx; a `crop` window (512 px) = 26 s
    settings = make_settings(
        triton_url=triton_server.http_url, inference_seconds_per_megapixel=100.0, inference_max_estimated_s=60.0
    )
    mask = np.zeros((1024, 1024), np.uint8)
    mask[100:140, 200:260] = 255
    upload = files(encode(noise(1024, 1024, seed=1)), encode(mask))
    async with gateway(settings) as client:
        refused = await client.post(URL + "?hd_strategy=original", headers=AUTH, files=upload)
        served: httpx.Response = await client.post(URL + "?hd_strategy=crop", headers=AUTH, files=upload)
    body = assert_error(refused, 422, "hd_strategy=crop")
    assert "1.0 megapixels" in body["detail"]
    assert served.status_code == 200, served.text
