"""A corpus of malformed, hostile and odd-but-valid uploads against one running gateway.

Every case gets the status in `CASES` (4xx with the v1 error shape, or a documented
success), the security headers, and afterwards the same server still answers a good
request: one bad client must never take the service down or poison later requests.
A slow (trickling) upload is served to completion while other clients are answered.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import (
    API_KEY,
    AUTH,
    assert_error,
    decode,
    isolated_settings,
)

from .conftest import (
    URL,
    Figures,
    assert_security_headers,
    box_mask,
    encode,
    files,
    good_parts,
    live_gateway,
    noise,
)

SIDE = 32
MAX_UPLOAD = 10 * 1024 * 1024  # the default MAX_UPLOAD_BYTES
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, extra: bytes = b"") -> bytes:
    """A valid-looking PNG of a few bytes whose header declares `width` x `height` (a bomb)."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return _PNG_SIGNATURE + header + extra + _chunk(b"IDAT", zlib.compress(b"\0" * 16)) + _chunk(b"IEND", b"")


def ztxt_bomb() -> bytes:
    """A 32x32 PNG whose compressed text chunk inflates to 64 MiB (Pillow stops at 1 MiB)."""
    image = encode(noise(SIDE, SIDE))
    bomb = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * (64 << 20), 9))
    return image[:33] + bomb + image[33:]  # right after IHDR


def bad_crc_png() -> bytes:
    data = bytearray(encode(noise(SIDE, SIDE)))
    data[29] ^= 0xFF  # last byte of IHDR's CRC
    return bytes(data)


def animation(fmt: str) -> bytes:
    frames = [Image.fromarray(noise(SIDE, SIDE, seed)) for seed in range(3)]
    out = io.BytesIO()
    frames[0].save(out, format=fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
    return out.getvalue()


def palette_with_transparency() -> bytes:
    image = Image.fromarray(noise(SIDE, SIDE)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return encode(image, transparency=0)


def rotated_jpeg() -> bytes:
    """48 wide, 32 high, EXIF orientation 6 (rotate 90°): served as 32x48."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(noise(32, 48), "JPEG", exif=exif.tobytes())


def multipart(parts: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """Body and Content-Type httpx would send for `parts`."""
    request = httpx.Request("POST", "http://x", files=parts)
    return request.read(), request.headers["Content-Type"]


def without_boundary() -> dict[str, Any]:
    body, _ = multipart(good_parts())
    return {"content": body, "headers": {**AUTH, "Content-Type": "multipart/form-data"}}


def with_image(image: bytes, filename: str = "image", content_type: str = "application/octet-stream") -> dict[str, Any]:
    return {"files": {"image": (filename, image, content_type), "mask": good_parts()["mask"]}}


def with_mask(mask: bytes) -> dict[str, Any]:
    return {"files": files(encode(noise(SIDE, SIDE)), mask)}


def good_request() -> dict[str, Any]:
    return {"files": good_parts()}


def white(height: int, width: int) -> np.ndarray:
    return np.full((height, width), 255, np.uint8)


def check_unchanged(request: dict[str, Any], response: httpx.Response) -> None:
    """An all-black mask keeps every pixel bit-identical."""
    image = request["files"]["image"][1]
    np.testing.assert_array_equal(decode(response.content), decode(image))


def check_alpha_kept(_: dict[str, Any], response: httpx.Response) -> None:
    assert decode(response.content).shape == (SIDE, SIDE, 4)


def check_size(label: str) -> Callable[[dict[str, Any], httpx.Response], None]:
    def check(_: dict[str, Any], response: httpx.Response) -> None:
        assert response.headers["X-Image-Size"] == label

    return check


@dataclass(frozen=True)
class Case:
    """One upload: `build()` gives httpx.post keyword arguments (X-API-Key added unless
    `headers` is given); `status` is what docs/gateway.md and docs/security.md promise; `detail` is part of the
    error detail (4xx) and `check` an extra assertion on a success."""

    id: str
    build: Callable[[], dict[str, Any]]
    status: int
    detail: str = ""
    check: Callable[[dict[str, Any], httpx.Response], None] | None = None


CASES = [
    # --- not an image, or not all of one ---------------------------------------------------
    Case("empty-image", lambda: with_image(b""), 400, "Invalid image format"),
    Case("empty-mask", lambda: with_mask(b""), 400, "Invalid mask format"),
    Case("truncated-png", lambda: with_image(encode(noise(SIDE, SIDE))[:200]), 400, "Invalid image"),
    Case("truncated-jpeg", lambda: with_image(encode(noise(SIDE, SIDE), "JPEG")[:300]), 400, "Invalid image"),
    Case("truncated-webp", lambda: with_image(encode(noise(SIDE, SIDE), "WEBP")[:100]), 400, "Invalid image"),
    Case("png-signature-only", lambda: with_image(_PNG_SIGNATURE), 400, "Invalid image"),
    Case("png-bad-crc", lambda: with_image(bad_crc_png()), 400, "Invalid image"),
    Case("text-as-image", lambda: with_image(b"hello, world\n", "a.txt", "text/plain"), 400, "Invalid image"),
    Case(
        "svg-as-image",
        lambda: with_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg", "image/svg+xml"),
        400,
        "Invalid image",
    ),
    Case("gif", lambda: with_image(encode(noise(SIDE, SIDE), "GIF")), 400, "JPEG, PNG or WebP"),
    Case("animated-gif", lambda: with_image(animation("GIF")), 400, "JPEG, PNG or WebP"),
    Case("bmp", lambda: with_image(encode(noise(SIDE, SIDE), "BMP")), 400, "JPEG, PNG or WebP"),
    Case("tiff", lambda: with_image(encode(noise(SIDE, SIDE), "TIFF")), 400, "JPEG, PNG or WebP"),
    Case("undecodable-mask", lambda: with_mask(b"\xff\xd8\xff garbage"), 400, "Invalid mask format"),
    # --- hostile sizes ---------------------------------------------------------------------
    Case("bomb-50000x50000", lambda: with_image(png_declaring(50_000, 50_000)), 400, "too large"),
    Case("bomb-mask-50000x50000", lambda: with_mask(png_declaring(50_000, 50_000)), 400, "too large"),
    Case("ztxt-chunk-bomb", lambda: with_image(ztxt_bomb()), 400, "Invalid image"),
    Case("side-4097", lambda: with_image(encode(noise(8, 4097))), 400, "Max dimension: 4096px"),
    Case("mask-side-4097", lambda: with_mask(encode(white(4097, 8))), 400, "Mask too large"),
    Case(
        "upload-11MB",
        lambda: with_image(b"\x89PNG" + b"\0" * (11 * 1024 * 1024)),
        413,
        "Image too large. Max size",
    ),
    # --- malformed requests ----------------------------------------------------------------
    Case(
        "bad-rectangles-json",
        lambda: {"files": files(encode(noise(SIDE, SIDE))), "data": {"rectangles": "[[1,"}},
        400,
        "not valid JSON",
    ),
    Case("rectangles-and-mask", lambda: {**good_request(), "data": {"rectangles": "[[0, 0, 2, 2]]"}}, 400, "not both"),
    Case("negative-grow-mask", lambda: {**good_request(), "data": {"grow_mask": "-1"}}, 400, "grow_mask"),
    Case("missing-image", lambda: {"files": {"mask": good_parts()["mask"]}}, 400, "image"),
    Case(
        "image-as-text-field",
        lambda: {"data": {"image": "iVBORw0KGgo="}, "files": {"mask": good_parts()["mask"]}},
        400,
        "image",
    ),
    Case("missing-boundary", without_boundary, 400),
    Case("json-body", lambda: {"json": {"image": "x", "mask": "y"}}, 400, "image"),
    Case("unknown-output-format", lambda: {**good_request(), "params": {"format": "gif"}}, 400, "format"),
    Case("no-api-key", lambda: {**good_request(), "headers": {}}, 401, "Missing API Key"),
    Case(
        "wrong-api-key",
        lambda: {**good_request(), "headers": {"X-API-Key": API_KEY[:-1] + "!"}},
        401,
        "Invalid API Key",
    ),
    # --- odd but valid: documented successes --------------------------------------------------
    Case("missing-mask-is-detected", lambda: {"files": files(encode(noise(SIDE, SIDE)))}, 200),
    Case("png-named-jpg", lambda: with_image(encode(noise(SIDE, SIDE)), "photo.jpg", "image/jpeg"), 200),
    Case("png-sent-as-text-plain", lambda: with_image(encode(noise(SIDE, SIDE)), "a.txt", "text/plain"), 200),
    Case(
        "animated-webp-first-frame",
        lambda: with_image(animation("WEBP")),
        200,
        check=check_size(f"{SIDE}x{SIDE}"),
    ),
    Case("png-16-bit", lambda: with_image(encode(np.full((SIDE, SIDE), 40000, np.uint16))), 200),
    Case(
        "jpeg-cmyk",
        lambda: with_image(encode(Image.fromarray(noise(SIDE, SIDE)).convert("CMYK"), "JPEG")),
        200,
    ),
    Case(
        "palette-with-transparency",
        lambda: with_image(palette_with_transparency()),
        200,
        check=check_alpha_kept,
    ),
    Case("exif-rotated-jpeg", lambda: with_image(rotated_jpeg()), 200, check=check_size("32x48")),
    Case("image-1x1", lambda: {"files": files(encode(noise(1, 1)), encode(white(1, 1)))}, 200),
    Case("side-4096", lambda: {"files": files(encode(noise(8, 4096)), encode(white(8, 4096)))}, 200),
    Case("mask-larger", lambda: with_mask(encode(box_mask(4 * SIDE, 4 * SIDE))), 200),
    Case("mask-smaller", lambda: with_mask(encode(box_mask(5, 7))), 200),
    Case("mask-rgba", lambda: with_mask(encode(Image.fromarray(box_mask(SIDE, SIDE)).convert("RGBA"))), 200),
    Case("mask-16-bit", lambda: with_mask(encode(box_mask(SIDE, SIDE).astype(np.uint16) * 257)), 200),
    Case("mask-bilevel", lambda: with_mask(encode(Image.fromarray(box_mask(SIDE, SIDE)).convert("1"))), 200),
    Case("mask-jpeg", lambda: with_mask(encode(box_mask(SIDE, SIDE), "JPEG")), 200),
    Case(
        "mask-all-black",
        lambda: with_mask(encode(np.zeros((SIDE, SIDE), np.uint8))),
        200,
        check=check_unchanged,
    ),
    Case("mask-all-white", lambda: with_mask(encode(white(SIDE, SIDE))), 200),
    Case(
        "duplicate-fields-last-wins",
        lambda: {"files": [*good_parts().items(), ("image", ("b", encode(noise(8, 16)), "image/png"))]},
        200,
        check=check_size("16x8"),
    ),
    Case("accept-garbage", lambda: {**good_request(), "headers": {**AUTH, "Accept": "image/*;q=abc, */*"}}, 200),
]


@pytest.fixture(scope="module")
def base_url(triton_server: TritonProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One gateway for the whole corpus, so that damage done by one case shows in the next."""
    settings = isolated_settings(tmp_path_factory.mktemp("corpus"), triton_url=triton_server.http_url)
    with live_gateway(settings) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def post(client: httpx.Client, request: dict[str, Any]) -> httpx.Response:
    return client.post(URL, **{"headers": AUTH, **request})


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_documented_answer_and_server_keeps_serving(
    case: Case, client: httpx.Client, figures: Figures
) -> None:
    tally = figures.setdefault("bad_input_corpus", {"cases": 0, "server_errors": 0, "next_request_failed": 0})
    tally["cases"] += 1
    request = case.build()
    response = post(client, request)
    tally["server_errors"] += response.status_code >= 500
    assert_security_headers(response.headers)
    if case.status >= 400:
        assert_error(response, case.status, case.detail)
    else:
        assert response.status_code == case.status, response.text
        if case.check:
            case.check(request, response)
    following = post(client, good_request())
    tally["next_request_failed"] += following.status_code != 200
    assert following.status_code == 200, following.text


def test_slow_upload_is_served_while_others_are_answered(base_url: str, figures: Figures) -> None:
    """uvicorn sets no body-read deadline: a trickling client is served to the end without
    blocking anyone (nginx's `client_body_timeout 30s` cuts idle ones in deployment)."""
    body, content_type = multipart(good_parts())
    chunks, pause_s = 20, 0.05

    def trickle() -> Iterator[bytes]:
        step = -(-len(body) // chunks)
        for start in range(0, len(body), step):
            time.sleep(pause_s)
            yield body[start : start + step]

    result: dict[str, httpx.Response] = {}

    def slow_client() -> None:
        with httpx.Client(base_url=base_url, timeout=10) as slow:
            headers = {**AUTH, "Content-Type": content_type}
            result["response"] = slow.post(URL, headers=headers, content=trickle())

    thread = threading.Thread(target=slow_client)
    started = time.monotonic()
    thread.start()
    latencies = []
    with httpx.Client(base_url=base_url, timeout=5) as other:
        while thread.is_alive() and time.monotonic() - started < 5:
            before = time.monotonic()
            assert other.get("/api/v1/health").status_code == 200
            latencies.append(time.monotonic() - before)
            time.sleep(0.1)
    thread.join(timeout=10)
    elapsed = time.monotonic() - started
    assert result["response"].status_code == 200, result["response"].text
    assert elapsed >= chunks * pause_s * 0.9  # it really trickled
    assert latencies and max(latencies) < 1.0
    figures["slow_upload"] = {
        "upload_seconds": round(elapsed, 2),
        "health_checks_meanwhile": len(latencies),
        "max_health_latency_s": round(max(latencies), 3),
    }
