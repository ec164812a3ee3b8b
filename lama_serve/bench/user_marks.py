"""Marks made the way people make them, for `lama-serve bench detect --user-marks N`.

The held-out composites (detect.synth) draw everything at random. People stamp photos out of
habit: a credit line in a corner ("(c) Example Studio 2026", a site name, a handle) in a
common sans or serif font, or a large SAMPLE / PREVIEW across the middle or the diagonal,
mostly white, at opacity 0.3-0.8, on the photos they try first. These score as kinds
`user_corner`, `user_centre` and `user_diagonal`. Some of the photos trained the segmenter, so
recall here is optimistic; the false positives on them (precision) are what this set shows.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from lama_serve.detect import sources, synth

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry", "coins", "retina", "brick")
FONTS = (
    "dejavu/DejaVuSans-Bold.ttf",
    "dejavu/DejaVuSans.ttf",
    "freefont/FreeSans.ttf",
    "freefont/FreeSerifBold.ttf",
    "liberation/LiberationSerif-Regular.ttf",
)
CREDITS = ("\u00a9 Example Studio 2026", "shutterfoto.com", "@janedoe", "Copyright ACME Images", "\u00a9 2026 J. Doe")
BANNERS = ("SAMPLE", "PREVIEW", "DRAFT", "shutterfoto.com")
OPACITIES = (0.3, 0.4, 0.5, 0.6, 0.8)
MIN_CONTRAST = 40.0  # mean levels between mark and photo under it; fainter: the other colour


def _sprite(text: str, font: str, pixels: int, angle: int) -> Image.Image:
    sprite = synth.text_coverage(font, pixels, text, pad=4)
    return sprite.rotate(angle, expand=True, resample=Image.BICUBIC) if angle else sprite


def _layout(rng: np.random.Generator, side: int) -> tuple[str, str, int, int]:
    """(kind, text, font pixels at this side, angle)."""
    scale = side / 512
    kind = str(rng.choice(("user_corner", "user_corner", "user_centre", "user_diagonal")))
    if kind == "user_corner":
        return kind, str(rng.choice(CREDITS)), round(int(rng.choice((16, 20, 24, 32))) * scale), 0
    angle = int(rng.choice((30, 35, 45))) if kind == "user_diagonal" else 0
    return kind, str(rng.choice(BANNERS)), round(int(rng.choice((40, 64, 90))) * scale), angle


def user_marked(rng: np.random.Generator, shape: tuple[int, int]) -> synth.Composite:
    """One photo of `shape` (H, W) with a habitual mark, labelled like detect.synth's."""
    height, width = shape
    kind, text, pixels, angle = _layout(rng, min(shape))
    sprite = _sprite(text, str(rng.choice(FONTS)), pixels, angle)
    if sprite.width > width * 0.9 or sprite.height > height * 0.9:
        sprite = sprite.resize((max(1, int(sprite.width * 0.8)), max(1, int(sprite.height * 0.8))))
    margin = min(shape) // 40
    w, h = sprite.size
    corners = ((margin, margin), (margin, height - h - margin), (width - w - margin, height - h - margin))
    x, y = corners[int(rng.integers(3))] if kind == "user_corner" else ((width - w) // 2, (height - h) // 2)
    layer = Image.new("L", (width, height))
    layer.paste(sprite, (x, y))
    alpha = np.asarray(layer).astype(np.float32) / 255 * float(rng.choice(OPACITIES))
    photo = sources.photo(str(rng.choice(PHOTOS)))
    clean = np.asarray(Image.fromarray(photo).resize((width, height), Image.LANCZOS))
    colour = np.full(3, 255.0 if rng.random() < 0.75 else 200.0)
    if np.abs(clean[alpha > 0].astype(np.float32) - colour).mean() < MIN_CONTRAST:
        colour = np.zeros(3)  # white on a white sky: people pick black
    mark = np.broadcast_to(colour, (height, width, 3)).astype(np.uint8)
    image = synth.blend(clean, mark, alpha)
    return synth.Composite(image, synth.changed_mask(clean, image), kind, clean, alpha, mark)


def user_marked_set(count: int, size: synth.Size, seed: int) -> list[synth.Composite]:
    """`count` habitual marks on photos of `size` (a square side or (H, W)), deterministic from `seed`."""
    rng = np.random.default_rng(seed + 7919)  # apart from labelled_set's stream of the same seed
    return [user_marked(rng, synth.shape_of(size)) for _ in range(count)]
