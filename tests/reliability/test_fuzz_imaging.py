"""Fuzz the decode and preprocess path (pure functions of gateway/imaging.py).

Whatever bytes arrive, the only exception allowed out is `BadInput` (a 400); anything
else would be a 500 for a client's mistake. What does decode must be a uint8 RGB array
within the limits, and the tiles cut from it must have the model's spatial multiple. Seeds are valid
PNG/JPEG/WebP files of several modes, mutated by byte flips, splices and truncation.
A crash found here is to be pinned as an `@example` regression case (none so far).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from lama_serve.core.contract import SPATIAL_MULTIPLE
from lama_serve.gateway.errors import BadInput
from lama_serve.gateway.inpaint import imaging, tiling
from lama_serve.gateway.inpaint.mask import MaskField

from .conftest import Figures, encode, noise

LIMITS = imaging.ImageLimits(max_side=256, max_pixels=128 * 128)
# Bounded (about a second per property) and derandomized so CI is reproducible; 4000
# random examples per property found nothing when this was written.
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _seeds() -> list[bytes]:
    rgb = noise(24, 20, seed=3)
    rgba = np.dstack([rgb, noise(24, 20, seed=4)[..., 0]])
    return [
        encode(rgb),
        encode(rgb, "JPEG", quality=80),
        encode(rgb, "WEBP", quality=80),
        encode(rgba),
        encode(rgba, "WEBP", lossless=True),
        encode(rgb[..., 0]),
        encode(rgb[..., 0].astype(np.uint16) * 257),
        encode(Image.fromarray(rgb).convert("P"), transparency=1),
        encode(Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        encode(Image.fromarray(rgb).convert("1")),
    ]


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed file with a few bytes overwritten, a slice removed or duplicated, or cut short."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        operation = draw(st.sampled_from(["set", "delete", "duplicate", "truncate"]))
        length = draw(st.integers(1, 16))
        if operation == "set":
            data[position : position + length] = draw(st.binary(min_size=length, max_size=length))
        elif operation == "delete":
            del data[position : position + length]
        elif operation == "duplicate":
            data[position:position] = data[position : position + length]
        else:
            del data[max(position, 8) :]
        if not data:
            break
    return bytes(data)


ANY_BYTES = st.one_of(st.binary(max_size=512), mutated())


def _decode_or_bad_input(data: bytes) -> imaging.DecodedImage | None:
    try:
        return imaging.decode_image(data, LIMITS)
    except BadInput:
        return None


@FUZZ
@given(ANY_BYTES)
@example(b"")
@example(b"\x89PNG\r\n\x1a\n")
def test_decode_image_raises_only_bad_input(data: bytes) -> None:
    decoded = _decode_or_bad_input(data)
    if decoded is None:
        return
    height, width, channels = decoded.rgb.shape
    assert decoded.rgb.dtype == np.uint8 and channels == 3
    assert max(height, width) <= LIMITS.max_side and height * width <= LIMITS.max_pixels
    assert decoded.alpha is None or decoded.alpha.shape == (height, width)
    mask = MaskField(np.full((height, width), 255, np.uint8))
    for window in tiling.plan("original", (height, width), mask):
        image, holes = tiling.extract(decoded.rgb, mask, window)
        assert image.shape[0] % SPATIAL_MULTIPLE == 0 and image.shape[1] % SPATIAL_MULTIPLE == 0
        assert holes.shape == image.shape[:2]


@FUZZ
@given(ANY_BYTES, st.tuples(st.integers(1, 64), st.integers(1, 64)))
def test_decode_mask_raises_only_bad_input(data: bytes, shape: tuple[int, int]) -> None:
    try:
        mask = imaging.decode_mask(data, LIMITS, shape)
    except BadInput:
        return
    assert mask.shape == shape and mask.dtype == np.uint8


@pytest.fixture(scope="module", autouse=True)
def _as_in_production(figures: Figures) -> Iterator[None]:
    """create_app sets Pillow's bomb limit to MAX_IMAGE_PIXELS; fuzz under the same rule."""
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, LIMITS.max_pixels
    yield
    Image.MAX_IMAGE_PIXELS = saved
    figures["imaging_fuzz"] = {
        "examples_per_property": FUZZ.max_examples,
        "properties": 2,
        "seeds": len(SEEDS),
    }
