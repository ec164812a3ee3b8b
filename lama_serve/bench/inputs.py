"""Photo-like images and brush-stroke masks for load tests, as tensors, PNGs or
perf_analyzer `--input-data` JSON.

Constant or uniform-noise inputs make a poor benchmark: PNG sizes (gateway decode/encode
cost) and the mask coverage the gateway sees are unrealistic. These stand-ins have smooth
gradients, hard-edged shapes and sensor-like noise, and masks made of thick strokes like a
user's brush or a watermark. Deterministic per seed, so runs compare like with like.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lama_serve.core.contract import IMAGE, MASK, SPATIAL_MULTIPLE
from lama_serve.detect import synth


@dataclass(frozen=True)
class Sample:
    """One request: image [H,W,3] and mask [H,W,1], both uint8 (no batch axis)."""

    image: np.ndarray
    mask: np.ndarray

    @property
    def side(self) -> int:
        return int(self.image.shape[0])


def photo(side: int, rng: np.random.Generator) -> np.ndarray:
    """A `side`x`side` RGB stand-in for a photo: gradient sky/ground, shapes, noise."""
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) / side
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    base = top * (1 - ys[..., None]) + bottom * ys[..., None] + 40 * np.sin(6 * xs)[..., None]
    canvas = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(12):
        x0, y0 = rng.integers(0, side, 2)
        w, h = rng.integers(side // 16, side // 3, 2)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((int(x0), int(y0), int(x0 + w), int(y0 + h)), fill=fill)
    noisy = np.asarray(canvas, np.float32) + 6 * rng.standard_normal((side, side, 3), np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def brush_mask(side: int, rng: np.random.Generator) -> np.ndarray:
    """A [side, side, 1] mask (255 = inpaint) of a few thick random strokes."""
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(2, 5))):
        points = [tuple(int(v) for v in rng.integers(0, side, 2))]
        for _ in range(int(rng.integers(3, 7))):
            step = rng.integers(-side // 5, side // 5 + 1, 2)
            points.append(tuple(int(v) for v in np.clip(np.add(points[-1], step), 0, side - 1)))
        width = int(rng.integers(max(side // 64, 2), max(side // 20, 3)))
        draw.line(points, fill=255, width=width, joint="curve")
    return np.asarray(canvas, np.uint8)[..., None]


def samples(side: int, count: int, seed: int = 0) -> list[Sample]:
    """`count` distinct (image, mask) pairs of one size; `side` must suit the model."""
    if side <= 0 or side % SPATIAL_MULTIPLE:
        raise ValueError(f"image side must be a positive multiple of {SPATIAL_MULTIPLE}, got {side}")
    rng = np.random.default_rng([seed, side])
    return [Sample(photo(side, rng), brush_mask(side, rng)) for _ in range(count)]


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding of an [H,W,3] image or [H,W,1] mask, as a client would upload it."""
    out = io.BytesIO()
    Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array).save(out, format="PNG")
    return out.getvalue()


def upload(image: np.ndarray, jpeg_quality: int | None = None) -> tuple[str, bytes, str]:
    """(file name, bytes, media type) of an [H,W,3] image as a client sends it: PNG (lossless),
    or JPEG at `jpeg_quality` (what most photos arrive as: the mark compressed with them)."""
    if jpeg_quality is None:
        return "image.png", png_bytes(image), "image/png"
    return "image.jpg", synth.jpeg_bytes(image, jpeg_quality), "image/jpeg"


def as_sent(image: np.ndarray, jpeg_quality: int | None = None) -> np.ndarray:
    """The pixels a server decodes from `upload(image, jpeg_quality)`."""
    return image if jpeg_quality is None else synth.jpeg_roundtrip(image, jpeg_quality)


def write_perf_analyzer_data(path: Path, batch: list[Sample]) -> Path:
    """perf_analyzer `--input-data` JSON: one entry per sample, raw tensor bytes as base64
    with their shape (no batch axis: the model batches), cycled through by perf_analyzer."""

    def tensor(array: np.ndarray) -> dict[str, object]:
        return {"b64": base64.b64encode(array.tobytes()).decode("ascii"), "shape": list(array.shape)}

    entries = [{IMAGE.name: tensor(s.image), MASK.name: tensor(s.mask)} for s in batch]
    path.write_text(json.dumps({"data": entries}))
    return path
