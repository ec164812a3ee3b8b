"""`lama-serve bench detect`: `--size` takes a side or a photo's shape, and a rate-limited
gateway is waited out without timing the refused calls."""

from __future__ import annotations

import argparse
import asyncio

import httpx
import pytest

from lama_serve.bench.detect import jpeg_quality, photo_size, post_when_allowed
from lama_serve.bench.detect_sets import labelled_set, shared_sets
from lama_serve.cli import main


def test_size_is_a_side_or_width_x_height_and_shapes_the_whole_set() -> None:
    assert photo_size("512") == 512 and photo_size("640x427") == (427, 640) and photo_size("160X96") == (96, 160)
    for bad in ("big", "640x", "16", "640x8", "95"):
        with pytest.raises(argparse.ArgumentTypeError):
            photo_size(bad)
    composites = labelled_set(1, (64, 96), seed=0, user_marks=1)
    assert {c.image.shape for c in composites} == {(64, 96, 3)}
    assert {
        image.shape for batch in shared_sets(2, (64, 96), seed=0) if not batch.mixed_sizes for image in batch.images
    } == {(64, 96, 3)}


def test_jpeg_quality_is_1_to_100() -> None:
    assert jpeg_quality("1") == 1 and jpeg_quality("100") == 100
    for bad in ("0", "101", "high"):
        with pytest.raises(argparse.ArgumentTypeError):
            jpeg_quality(bad)


def test_a_rate_limited_call_is_waited_out_and_only_the_answered_call_is_timed() -> None:
    """Two 429s (Retry-After 0) then 200: one 200 comes back after three calls. The gateway's
    rate limit is on by default; the bench measures against such a gateway unchanged."""
    answers = iter([429, 429, 200])
    calls = []

    def gateway(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        status = next(answers)
        return httpx.Response(status, headers={"Retry-After": "0"} if status == 429 else {}, content=b"ok")

    async def post() -> tuple[httpx.Response, float]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(gateway), base_url="http://gw") as client:
            return await post_when_allowed(client, "/api/v1/detect", files={"image": ("a.png", b"x")})

    response, seconds = asyncio.run(post())
    assert response.status_code == 200 and calls == ["/api/v1/detect"] * 3 and 0 <= seconds < 1


def test_offline_without_detector_graphs_says_how_to_write_them(tmp_path) -> None:
    """Checked before the labelled set is drawn: one line, not an onnxruntime traceback."""
    argv = ["bench", "detect", "--offline", str(tmp_path), "--per-kind", "1", "--shared", "0", "--runs", "0"]
    with pytest.raises(SystemExit, match=f"lama-serve detector export --repository {tmp_path}"):
        main(argv)
