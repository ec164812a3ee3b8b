"""Training data of the watermark segmenter: a seeded pool of composites, and random crops of it.

Two things the first recipes lacked, both seen as whole missed marks on held-out photos:
- scale: served images are 512 px and more, where a mark covers twice the pixels it covers
  at 256 px; the pool mixes composite sides (`sides`) so the net sees both scales.
- contrast: a share of marks (`low_contrast`) is recoloured close to the photo under it
  (dark text on dark gravel, a grey logo on grey coffee), the cases neither model fired on.
Labels stay exact: the mask is recomputed from the recoloured blend (synth.changed_mask).
And one seen on photos as clients send them: a `jpeg` share of composites is JPEG-compressed
(quality JPEG_QUALITY) after blending, as most photos arrive; the mask stays the mark's.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from lama_serve.detect import synth

# Levels between a recoloured mark and the mean photo colour under it: visible but faint.
CONTRAST_LEVELS = (25.0, 70.0)
# Qualities of the compressed share: from a heavily compressed upload to a camera's own.
JPEG_QUALITY = (50, 95)


def recolour_low_contrast(rng: np.random.Generator, composite: synth.Composite) -> synth.Composite:
    """The same mark shape and opacity in one colour a few tens of levels off the photo under it."""
    if composite.alpha is None:
        return composite
    under = composite.clean[composite.alpha > 0].astype(np.float32)
    background = under.mean(axis=0) if under.size else np.full(3, 127.0, np.float32)
    offset = rng.uniform(*CONTRAST_LEVELS) / max(float(composite.alpha.max()), 0.2)
    level = float(background.mean())
    sign = float(rng.choice([-1.0, 1.0])) if 60 < level < 195 else (1.0 if level <= 60 else -1.0)
    colour = np.clip(background + sign * offset, 0, 255)
    mark = np.broadcast_to(colour.astype(np.uint8), composite.clean.shape).copy()
    image = synth.blend(composite.clean, mark, composite.alpha)
    return replace(composite, image=image, mask=synth.changed_mask(composite.clean, image), mark=mark)


def make_pool(
    rng: np.random.Generator,
    count: int,
    sides: tuple[int, ...],
    low_contrast: float,
    jpeg: float = 0.0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`count` train-split composites of every kind (clean included), cycling through `sides`:
    (image uint8 HWC, mask bool HW) pairs; a `low_contrast` share of marks is recoloured, a
    `jpeg` share of images compressed. With `jpeg` 0 no draw is made for it, so a recipe
    without it draws the pool it always drew."""
    pool = []
    for i in range(count):
        side = sides[i % len(sides)]
        composite = synth.make_composite(rng, synth.KINDS[i % len(synth.KINDS)], "train", (side, side))
        if rng.random() < low_contrast:
            composite = recolour_low_contrast(rng, composite)
        image = composite.image
        if jpeg and rng.random() < jpeg:
            image = synth.jpeg_roundtrip(image, int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
        pool.append((image, composite.mask))
    return pool


def sample_batch(
    rng: np.random.Generator, pool: list[tuple[np.ndarray, np.ndarray]], batch: int, crop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch` random crops (half flipped upside down) of random pool items:
    images uint8 NHWC, masks float N1HW."""
    xs, ys = [], []
    for index in rng.integers(0, len(pool), batch):
        image, mask = pool[index]
        y, x = (int(v) for v in rng.integers(0, np.array(mask.shape) - crop + 1))
        image, mask = image[y : y + crop, x : x + crop], mask[y : y + crop, x : x + crop]
        if rng.random() < 0.5:
            image, mask = image[::-1], mask[::-1]
        xs.append(np.ascontiguousarray(image))
        ys.append(mask[None].astype(np.float32))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))
