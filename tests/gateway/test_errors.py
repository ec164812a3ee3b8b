"""Every error status with the v1 JSON shape and its headers (real Triton where one is needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lama_serve.triton.process import TritonProcess

from .conftest import AUTH, SettingsFactory, assert_error, box_mask, encode, files, gateway, noise

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark"
PARTS = files(encode(noise(8, 8)), encode(box_mask(8, 8)))


async def test_401_missing_and_invalid_key(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        assert_error(await client.post(URL, files=PARTS), 401, "Missing API Key")
        assert_error(await client.get("/api/v1/stats", headers={"X-API-Key": "x" * 20}), 401, "Invalid API Key")


async def test_413_from_content_length_before_reading(make_settings: SettingsFactory) -> None:
    pulled = 0

    async def body():  # would be 1 GiB; must not be consumed
        nonlocal pulled
        for _ in range(1024):
            pulled += 1
            yield b"\0" * (1024 * 1024)

    async with gateway(make_settings(max_upload_bytes=1000)) as client:
        headers = {**AUTH, "Content-Length": str(1 << 30), "Content-Type": "multipart/form-data; boundary=x"}
        assert_error(await client.post(URL, headers=headers, content=body()), 413, "Request body over")
    assert pulled <= 1


async def test_413_while_streaming_chunked_body(make_settings: SettingsFactory) -> None:
    pulled = 0

    async def body():  # a valid multipart start, then an endless file; no Content-Length: chunked
        nonlocal pulled
        yield b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        for _ in range(1024):
            pulled += 1
            yield b"\0" * 16384

    async with gateway(make_settings(max_upload_bytes=16384)) as client:
        headers = {**AUTH, "Content-Type": "multipart/form-data; boundary=x"}
        assert_error(await client.post(URL, headers=headers, content=body()), 413, "Request body over")
    # limit 2 files + 64 KiB = 96 KiB, crossed at chunk 7; then up to twice the limit
    # (drain.BUDGET_FACTOR) is read and dropped so that the client gets the 413: ~13 chunks more
    assert pulled < 24


async def test_413_for_one_oversized_file(make_settings: SettingsFactory) -> None:
    big = encode(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    async with gateway(make_settings(max_upload_bytes=4096)) as client:
        assert_error(
            await client.post(URL, headers=AUTH, files=files(big, encode(box_mask(8, 8)))),
            413,
            "Image too large. Max size",
        )


async def test_429_with_retry_after_and_rate_headers_on_every_response(
    make_settings: SettingsFactory,
) -> None:
    async with gateway(make_settings(rate_limit_per_minute=1, rate_limit_burst=2)) as client:
        first = await client.get("/api/v1/stats", headers=AUTH)
        assert first.status_code == 200
        assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
        assert int(first.headers["X-RateLimit-Reset"]) > 0
        # an error after authentication (bad image) still reports the limit
        failed = await client.post(URL, headers=AUTH, files=files(b"junk", encode(box_mask(8, 8))))
        assert_error(failed, 400)
        assert failed.headers["X-RateLimit-Remaining"] == "0"
        limited = await client.get("/api/v1/stats", headers=AUTH)
        assert_error(limited, 429, "Rate limit exceeded")
        assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["X-RateLimit-Remaining"] == "0"
        assert limited.headers.get_list("X-RateLimit-Limit") == ["2"]  # set once, not duplicated
        # unauthenticated responses carry no per-key headers
        assert "X-RateLimit-Limit" not in (await client.get("/api/v1/health")).headers


async def test_503_with_retry_after_when_triton_is_down(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        response = await client.post(URL, headers=AUTH, files=PARTS)
    assert_error(response, 503, "Retry after 3 s")
    assert response.headers["Retry-After"] == "3"


async def test_504_on_inference_timeout(make_settings: SettingsFactory, triton_server: TritonProcess) -> None:
    settings = make_settings(
        triton_url=triton_server.http_url, inference_timeout_s=0.001, inference_seconds_per_megapixel=0.0
    )
    async with gateway(settings) as client:
        assert_error(await client.post(URL, headers=AUTH, files=PARTS), 504, "longer than 0.001 s")


async def test_unknown_route_and_method_use_error_shape(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        assert_error(await client.get("/api/v1/nope"), 404)
        assert_error(await client.get(URL), 405)


async def test_security_headers(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        for response in (await client.get("/api/v1/health"), await client.post(URL, files=PARTS)):
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"


async def test_cors_off_by_default_and_on_when_configured(make_settings: SettingsFactory) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    async with gateway(make_settings()) as client:
        assert "access-control-allow-origin" not in (await client.options(URL, headers=preflight)).headers
    async with gateway(make_settings(cors_origins=["https://app.example"])) as client:
        allowed = await client.options(URL, headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize("url", [URL, "/api/v1/detect", "/api/v1/remove-watermark/batch"])
async def test_a_file_sent_as_a_text_field_gets_400_saying_how_to_send_it(
    make_settings: SettingsFactory, url: str
) -> None:
    """curl -F "image=<photo.jpg" or requests' data= send the bytes as a text field: small,
    FastAPI finds no file; over 1 MiB, Starlette's parser refuses the part. Both say how."""
    async with gateway(make_settings()) as client:
        for size, said in ((10, "a text field where a file part was expected"), (1100 * 1024, "exceeded maximum size")):
            response = await client.post(url, headers=AUTH, data={"image": "x" * size}, files={"other": ("a", b"1")})
            assert_error(response, 400, said)
            assert "curl -F image=@photo.jpg" in response.json()["detail"]
        rectangles = {"rectangles": json.dumps([[1, 1, 2, 2]] * 100_000)}  # 1.4 MB of JSON: the same limit
        response = await client.post(url, headers=AUTH, data=rectangles, files=files(encode(noise(8, 8))))
        assert_error(response, 400, "send a mask image instead")
