"""Synthetic watermark composites with known ground truth, deterministic from a seed.

Used to train the learned segmenter (`lama-serve detector train`), by `lama-serve bench
detect` and by tests. A composite is a real photo (random crop, scale, flip) blended with a
mark J = (1 - a) I + a W; its mask holds the pixels the mark visibly changed.

    rng = np.random.default_rng(0)
    c = make_composite(rng, "text_diagonal", split="heldout", size=(256, 256))
    c.image, c.mask, c.kind, c.alpha, c.mark, c.clean
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from lama_serve.detect import sources

KINDS = ("text_corner", "text_centre", "text_diagonal", "text_tiled", "logo", "clean")
# A pixel belongs to the mark when some channel moved by more than this many levels; smaller
# changes are invisible and need no inpainting (the same tolerance as template restoration).
VISIBLE_CHANGE = 3
CLEARLY_VISIBLE = 10  # levels: a mark's change of a pixel that shows on most photos
OPACITY_RANGE = (0.2, 0.8)
Size = int | tuple[int, int]  # an image size: a square side, or (H, W)
_COLOURS = ((255, 255, 255), (0, 0, 0), (200, 200, 200), (60, 60, 60))


@dataclass(frozen=True)
class Composite:
    """One labelled example; `alpha` (float32 HxW) and `mark` (uint8 HxWx3) are None if clean."""

    image: np.ndarray
    mask: np.ndarray
    kind: str
    clean: np.ndarray
    alpha: np.ndarray | None
    mark: np.ndarray | None


def blend(clean: np.ndarray, mark: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """J = (1 - a) I + a W, rounded to uint8."""
    a = alpha[..., None].astype(np.float32)
    out = clean.astype(np.float32) * (1.0 - a) + mark.astype(np.float32) * a
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def changed_mask(clean: np.ndarray, image: np.ndarray, levels: int = VISIBLE_CHANGE) -> np.ndarray:
    """Pixels where some channel differs by more than `levels` (default VISIBLE_CHANGE)."""
    diff = np.abs(image.astype(np.int16) - clean.astype(np.int16)).max(axis=-1)
    return diff > levels


def jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    """A uint8 HxWx3 image as a JPEG of `quality` (Pillow's 1-100; its default 75)."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """The pixels decoded from jpeg_bytes(image, quality): what most photos arrive as, the mark
    compressed with the photo."""
    with Image.open(io.BytesIO(jpeg_bytes(image, quality))) as decoded:
        return np.asarray(decoded.convert("RGB"))


def shape_of(size: Size) -> tuple[int, int]:
    """(H, W) of a square side or of an (H, W) pair."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def random_photo(rng: np.random.Generator, split: str, size: tuple[int, int]) -> np.ndarray:
    """A random crop (35-100 % of the short side), resized to `size` (H, W), maybe flipped."""
    source = sources.photo(str(rng.choice(sources.PHOTOS[split])))
    height, width = size
    h, w = source.shape[:2]
    scale = min(h / height, w / width) * rng.uniform(0.35, 1.0)
    ch, cw = max(8, int(height * scale)), max(8, int(width * scale))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = Image.fromarray(source[y : y + ch, x : x + cw]).resize((width, height), Image.BILINEAR)
    array = np.asarray(crop)
    return np.ascontiguousarray(array[:, ::-1] if rng.random() < 0.5 else array)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    if rng.random() < 0.7:
        return _COLOURS[int(rng.integers(len(_COLOURS)))]
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _tinted(colour: tuple[int, int, int], coverage: Image.Image) -> Image.Image:
    """An RGBA layer of one colour whose alpha is `coverage`."""
    return Image.merge("RGBA", (*Image.new("RGB", coverage.size, colour).split(), coverage))


def _styled(rng: np.random.Generator, shape: Image.Image, fill: tuple[int, int, int]) -> Image.Image:
    """Colour a coverage map (mode L), with an optional outline and drop shadow."""
    pad = 8
    cover = Image.new("L", (shape.width + 2 * pad, shape.height + 2 * pad))
    cover.paste(shape, (pad, pad))
    sprite = Image.new("RGBA", cover.size)
    if rng.random() < 0.3:  # drop shadow
        offset = int(rng.integers(1, 4))
        shadow = Image.new("L", cover.size)
        shadow.paste(cover, (offset, offset))
        shadow = shadow.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
        sprite.alpha_composite(_tinted((0, 0, 0), shadow))
    if rng.random() < 0.3:  # outline in a contrasting grey
        ring = cover.filter(ImageFilter.MaxFilter(3))
        outline = (40, 40, 40) if sum(fill) > 380 else (230, 230, 230)
        sprite.alpha_composite(_tinted(outline, ring))
    sprite.alpha_composite(_tinted(fill, cover))
    return sprite


def text_coverage(font: str, font_px: int, text: str, pad: int = 1) -> Image.Image:
    """`text` in `font` (a path under sources.FONT_DIR) as an L image cropped to its ink box,
    `pad` px around."""
    face = ImageFont.truetype(str(sources.font_path(font)), font_px)
    left, top, right, bottom = face.getbbox(text)
    cover = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad))
    ImageDraw.Draw(cover).text((pad - left, pad - top), text, fill=255, font=face)
    return cover


def _text_sprite(rng: np.random.Generator, split: str, font_px: int) -> Image.Image:
    font = str(rng.choice(sources.FONTS[split]))
    return _styled(rng, text_coverage(font, font_px, sources.random_string(rng, split)), _colour(rng))


def _logo_sprite(rng: np.random.Generator, side: int) -> Image.Image:
    """A logo-like shape: ring, disc, rounded box or star, sometimes with an inner cut-out."""
    cover = Image.new("L", (side, side))
    draw = ImageDraw.Draw(cover)
    box, width = (0, 0, side - 1, side - 1), max(2, side // int(rng.integers(6, 12)))
    shape = int(rng.integers(4))
    if shape == 0:
        draw.ellipse(box, outline=255, width=width)
    elif shape == 1:
        draw.ellipse(box, fill=255)
        draw.regular_polygon((side / 2, side / 2, side / 4), int(rng.integers(3, 7)), fill=0)
    elif shape == 2:
        draw.rounded_rectangle(box, radius=side // 5, outline=255, width=width)
        draw.rectangle((side // 3, side // 3, 2 * side // 3, 2 * side // 3), fill=255)
    else:
        n = int(rng.integers(5, 8))
        angles = np.arange(2 * n) * np.pi / n
        radii = np.where(np.arange(2 * n) % 2 == 0, side / 2 - 1, side / 4.5)
        draw.polygon([(side / 2 + r * np.cos(t), side / 2 + r * np.sin(t)) for r, t in zip(radii, angles)], fill=255)
    return _styled(rng, cover, _colour(rng))


def _place(layer: Image.Image, sprite: Image.Image, x: int, y: int) -> None:
    """alpha_composite that clips sprites hanging over any border."""
    left, top = max(0, -x), max(0, -y)
    right, bottom = min(sprite.width, layer.width - x), min(sprite.height, layer.height - y)
    if right > left and bottom > top:
        layer.alpha_composite(sprite.crop((left, top, right, bottom)), (x + left, y + top))


def _mark_layer(rng: np.random.Generator, kind: str, split: str, size: tuple[int, int]) -> Image.Image:
    height, width = size
    short = min(height, width)
    layer = Image.new("RGBA", (width, height))
    if kind == "logo":
        sprite = _logo_sprite(rng, int(short * rng.uniform(0.15, 0.4)))
    elif kind == "text_corner":
        sprite = _text_sprite(rng, split, max(9, int(short * rng.uniform(0.04, 0.09))))
        sprite = sprite.rotate(float(rng.uniform(-5, 5)), Image.BICUBIC, expand=True)
    elif kind == "text_tiled":
        sprite = _text_sprite(rng, split, max(9, int(short * rng.uniform(0.04, 0.08))))
        sprite = sprite.rotate(float(rng.choice([0.0, 30.0, -30.0, 45.0])), Image.BICUBIC, expand=True)
        step_x = sprite.width + int(rng.integers(4, 40))
        step_y = sprite.height + int(rng.integers(4, 40))
        for y in range(-int(rng.integers(step_y)), height, step_y):
            for x in range(-int(rng.integers(step_x)), width, step_x):
                _place(layer, sprite, x, y)
        return layer
    else:  # text_centre, text_diagonal
        sprite = _text_sprite(rng, split, max(12, int(short * rng.uniform(0.08, 0.18))))
        if sprite.width > 0.9 * width:
            factor = 0.9 * width / sprite.width
            sprite = sprite.resize((int(sprite.width * factor), max(1, int(sprite.height * factor))), Image.BICUBIC)
        angle = rng.uniform(-10, 10) if kind == "text_centre" else rng.choice([-1, 1]) * rng.uniform(25, 50)
        sprite = sprite.rotate(float(angle), Image.BICUBIC, expand=True)
    if kind in ("logo", "text_corner") and rng.random() < 0.8:
        margin = int(short * rng.uniform(0.02, 0.06))
        x = margin if rng.random() < 0.5 else width - sprite.width - margin
        y = margin if rng.random() < 0.5 else height - sprite.height - margin
    else:
        x = (width - sprite.width) // 2 + int(rng.integers(-width // 10, width // 10 + 1))
        y = (height - sprite.height) // 2 + int(rng.integers(-height // 10, height // 10 + 1))
    _place(layer, sprite, x, y)
    return layer


def make_composite(
    rng: np.random.Generator, kind: str, split: str = "train", size: tuple[int, int] = (256, 256)
) -> Composite:
    """One composite of `kind` (see KINDS) over a photo of `split` (sources.SPLITS), `size` = (H, W)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    sources.check_split(split)
    clean = random_photo(rng, split, size)
    if kind == "clean":
        return Composite(clean, np.zeros(size, bool), kind, clean, None, None)
    layer = np.asarray(_mark_layer(rng, kind, split, size))
    alpha = layer[..., 3].astype(np.float32) / 255.0 * float(rng.uniform(*OPACITY_RANGE))
    mark = np.ascontiguousarray(layer[..., :3])
    image = blend(clean, mark, alpha)
    return Composite(image, changed_mask(clean, image), kind, clean, alpha, mark)
