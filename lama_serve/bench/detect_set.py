"""The labelled set of `lama-serve bench detect`: real photos (scikit-image's data, held-out
split) with synthetic marks whose ground-truth masks are known.

Kinds: detect.synth's (corner, centre, diagonal and tiled text, logo, clean), `template`
(a known mark saved as an RGBA template, blended elsewhere: the template detector must find
and un-blend it) and `shared` groups (one mark over several photos, for `detect=shared`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lama_serve.detect import synth

SPLIT = "heldout"  # photos, fonts and words the segmenter never saw
TEMPLATE_NAME = "bench_mark"


@dataclass(frozen=True)
class Example:
    kind: str
    image: np.ndarray
    truth: np.ndarray  # bool HxW, the pixels the mark changed visibly
    clean: np.ndarray


def synthetic(rng: np.random.Generator, kind: str, count: int, size: int) -> list[Example]:
    composites = (synth.make_composite(rng, kind, SPLIT, (size, size)) for _ in range(count))
    return [Example(kind, c.image, c.mask, c.clean) for c in composites]


def write_template(rng: np.random.Generator, folder: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A logo mark cropped to its alpha, saved as folder/TEMPLATE_NAME.png; (rgb, alpha 0..1)
    as stored (alpha quantised to 8 bits, like any operator's PNG)."""
    logo = synth.make_composite(rng, "logo", SPLIT, (size, size))
    ys, xs = np.nonzero(logo.alpha > 0)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    rgba = np.dstack([logo.mark[box], np.rint(logo.alpha[box] * 255).astype(np.uint8)])
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba).save(folder / f"{TEMPLATE_NAME}.png")
    return rgba[..., :3], rgba[..., 3].astype(np.float32) / 255


def templated(rng: np.random.Generator, template: tuple[np.ndarray, np.ndarray], count: int,
              size: int) -> list[Example]:
    """The template blended at a random place over other photos."""
    rgb, alpha = template
    h, w = alpha.shape
    examples = []
    for _ in range(count):
        clean = synth.random_photo(rng, SPLIT, (size, size))
        y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
        layer, mark = np.zeros((size, size), np.float32), np.zeros((size, size, 3), np.uint8)
        layer[y : y + h, x : x + w], mark[y : y + h, x : x + w] = alpha, rgb
        image = synth.blend(clean, mark, layer)
        examples.append(Example("template", image, synth.changed_mask(clean, image), clean))
    return examples


def shared_group(rng: np.random.Generator, count: int, size: int) -> list[Example]:
    """One corner-text mark over `count` different photos."""
    source = synth.make_composite(rng, "text_corner", SPLIT, (size, size))
    examples = []
    for _ in range(count):
        clean = synth.random_photo(rng, SPLIT, (size, size))
        image = synth.blend(clean, source.mark, source.alpha)
        examples.append(Example("shared", image, synth.changed_mask(clean, image), clean))
    return examples
