"""How much a region of a served model's map looks like a watermark: small named factors.

A text detector fires on every text, the photo's own too (signs, labels), and the segmenter
on photo structure that looks like strokes. Each factor is one piece of evidence that a
region is an overlay rather than part of the photo (one colour brightening or darkening
varied backgrounds, a usual place, repeated copies); `watermark_likeness` combines them into
[LIKENESS_FLOOR, 1], the factor a region's mean probability is scored by (detect.regions).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from lama_serve.detect import filters

LIKENESS_FLOOR = 0.4  # a region that looks nothing like a watermark keeps 40% of its score
BLOCKS = 4  # pieces along a region's long side, compared for a consistent overlay
DETAIL_RADIUS = 6  # high-pass radius (pixels) that isolates glyph strokes from the photo
BACKGROUND_SPREAD = 40.0  # std (levels) of the background across a region that counts as "varied"
SIZE_TOLERANCE = 0.2  # relative size difference under which two regions count as repeats
# A line whose centre lies in the outer fifth of the height (0.6 of the way from the middle
# to the top or bottom edge) is where credit lines run; its prior reaches 1 at 0.9 of the way.
EDGE_LINE_START, EDGE_LINE_RAMP = 0.6, 0.3


def _blocks(box: np.ndarray) -> list[tuple[slice, slice]]:
    x, y, w, h = (int(v) for v in box)
    if w >= h:
        cuts = np.linspace(x, x + w, BLOCKS + 1).astype(int)
        return [(slice(y, y + h), slice(a, b)) for a, b in pairwise(cuts) if b > a]
    cuts = np.linspace(y, y + h, BLOCKS + 1).astype(int)
    return [(slice(a, b), slice(x, x + w)) for a, b in pairwise(cuts) if b > a]


def overlay_polarity(detail: np.ndarray, box: np.ndarray) -> float:
    """1 when every block's strokes deviate from their surroundings the same way (all
    brighter or all darker), as one overlay colour does; 0 when the blocks disagree."""
    signs = []
    for rows, cols in _blocks(box):
        d = detail[rows, cols]
        lo, mid, hi = np.percentile(d, (5, 50, 95))
        signs.append(np.sign((hi - mid) - (mid - lo)))
    return float(abs(np.mean(signs))) if signs else 0.0


def background_variation(plane: np.ndarray, box: np.ndarray) -> float:
    """0..1: how much the background changes along the region. An overlay crosses varied
    photo content; text printed on a sign or label sits on a uniform background."""
    medians = [np.median(plane[rows, cols]) for rows, cols in _blocks(box)]
    return float(min(np.std(medians) / BACKGROUND_SPREAD * 4, 1.0)) if len(medians) > 1 else 0.0


def position_prior(box: np.ndarray, shape: tuple[int, int]) -> float:
    """0..1: near a corner, the centre or the main diagonals, where marks are put, or a
    line along the top or bottom edge (a credit line centred there, or one that runs
    from a corner across words over varied backgrounds, has its centre far from the corner)."""
    x, y, w, h = (float(v) for v in box)
    height, width = shape
    cx, cy = (x + w / 2) / width, (y + h / 2) / height
    corner = max(abs(cx - 0.5), abs(cy - 0.5)) * 2  # 1 at the border, 0 at the centre
    near_corner = min(abs(cx - 0.5), abs(cy - 0.5)) * 2  # both coordinates far from centre
    centre = 1 - corner
    diagonal = 1 - min(abs(cx - cy), abs(cx + cy - 1)) * 4
    edge_line = (abs(cy - 0.5) * 2 - EDGE_LINE_START) / EDGE_LINE_RAMP if w >= h else 0.0
    return float(np.clip(max(near_corner * corner, centre, diagonal, edge_line), 0.0, 1.0))


def repetition(boxes: np.ndarray) -> np.ndarray:
    """0..1 per region: share of the other regions of (nearly) the same size, as tiled marks."""
    if len(boxes) < 2:
        return np.zeros(len(boxes))
    sizes = boxes[:, 2:].astype(float)
    close = np.all(np.abs(sizes[:, None] - sizes[None]) <= SIZE_TOLERANCE * sizes[:, None], axis=2)
    return np.minimum((close.sum(1) - 1) / 2.0, 1.0)


def watermark_likeness(polarity: float, variation: float, position: float, repeated: float) -> float:
    """Combine the factors into [LIKENESS_FLOOR, 1]: overlay evidence counts most."""
    evidence = 0.45 * polarity * (0.3 + 0.7 * variation) + 0.3 * position + 0.25 * repeated
    return LIKENESS_FLOOR + (1 - LIKENESS_FLOOR) * min(evidence / 0.7, 1.0)


class RegionLikeness:
    """The likeness of each region of one image: the gray plane, its detail and the regions'
    repetition computed once, each region's factors when it is asked for (tiny regions never are)."""

    def __init__(self, image: np.ndarray, boxes: np.ndarray, shape: tuple[int, int]) -> None:
        """`boxes`: x, y, width, height per region; `shape`: the map's (H, W)."""
        self.plane = filters.gray(image)
        self.detail = filters.high_pass(self.plane, DETAIL_RADIUS)
        self.boxes, self.shape = boxes, shape
        self.repeated = repetition(boxes)

    def __call__(self, index: int) -> float:
        box = self.boxes[index]
        return watermark_likeness(
            overlay_polarity(self.detail, box),
            background_variation(self.plane, box),
            position_prior(box, self.shape),
            float(self.repeated[index]),
        )
