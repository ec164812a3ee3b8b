"""Cut a detected mask down to the pixels that differ from their local background.

The learned segmenter predicts at half resolution and upsamples its map, so its regions
spill a few pixels past the mark's edges and over the gaps between strokes (most of its
wrong pixels lie within 3 px of the mark); the text model's glyph cut and a batch's shared
mask spill the same way over busy backgrounds. A mark changes the pixels it covers
(J = (1 - a) I + a W); spilled pixels are the photo itself. So each masked pixel near the
region's outside is compared with the background there, the mean colour of the unmasked
pixels around it (a normalised box mean), and kept only when it differs by more than
`levels`. Pixels with no unmasked neighbour within `radius` (the inside of a large solid
mark) have no background to compare with and are kept. The work is done on the mask's box
grown by the background window (every window of a masked pixel lies in it): a mark in one
corner of a 1024 px image costs its own size, not the image's.

The other way round, `with_changed_rim` adds the 1 px ring just outside a mask where the
colour stands out from the background by more than RIM_LEVELS: a mark's anti-aliased edge,
which the maps' thresholds leave out and which, left in the photo, shows as a ghost outline
around the inpainted area.
"""

from __future__ import annotations

import numpy as np

from lama_serve.detect import filters
from lama_serve.detect.masks import grow_mask, max_filter

MARGIN = 1  # pixels between the mask and the background sampled around it (the anti-aliased rim)
MIN_BACKGROUND = 0.05  # share of a window that must be background for its mean to count
# The rim: tuned on `lama-serve bench detect --offline` (seeds 0-3; 6 and 12 levels traded
# more IoU for recall on texture), background window as for the masks' own cut.
RIM_RADIUS = 16
RIM_LEVELS = 20.0


def local_background(image: np.ndarray, outside: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(HxWx3 mean colour of the `outside` pixels in each (2r+1)^2 window, HxW bool: enough
    outside pixels there for that mean to count)."""
    weight = outside.astype(np.float32)
    share = filters.box_mean(weight, radius, pad="constant")
    sums = np.stack([filters.box_mean(image[..., c] * weight, radius, pad="constant") for c in range(3)], -1)
    return sums / np.maximum(share, 1e-6)[..., None], share >= MIN_BACKGROUND


def trim_to_changed(image: np.ndarray, mask: np.ndarray, radius: int, levels: float) -> np.ndarray:
    """uint8 mask: `mask` without the pixels whose colour stays within `levels` (max over
    channels) of their local background (unmasked pixels within `radius`)."""
    inside = mask > 0
    trimmed = np.zeros(mask.shape, np.uint8)
    ys, xs = np.nonzero(inside)
    if ys.size == 0:
        return trimmed
    reach = radius + MARGIN
    box = (
        slice(max(ys.min() - reach, 0), ys.max() + reach + 1),
        slice(max(xs.min() - reach, 0), xs.max() + reach + 1),
    )
    inside = inside[box]
    pixels = image[box][..., :3].astype(np.float32)
    outside = max_filter(inside.astype(np.uint8), MARGIN) == 0
    background, known = local_background(pixels, outside, radius)
    deviation = np.abs(pixels - background).max(axis=-1)
    trimmed[box] = np.where(inside & (~known | (deviation > levels)), 255, 0)
    return trimmed


def with_changed_rim(
    image: np.ndarray, mask: np.ndarray, radius: int = RIM_RADIUS, levels: float = RIM_LEVELS
) -> np.ndarray:
    """uint8 mask: `mask` plus the pixels of its 1 px outer ring that differ by more than
    `levels` from their local background (unmasked pixels within `radius`, past the ring)."""
    ring = trim_to_changed(image, grow_mask(mask, 1), radius, levels)
    return np.where((mask > 0) | (ring > 0), 255, 0).astype(np.uint8)
