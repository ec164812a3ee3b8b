"""A text line's box -> the pixels of its glyphs.

A text detector answers where a line of text is, not which pixels its strokes cover; masking
the whole (grown) line inpaints about twice the mark's area. Within each elongated region the
overlay's strokes deviate from the local background all the same way (one colour, see
likeness.overlay_polarity), so that deviation thresholded (Otsu) and grown by a pixel for the
anti-aliased rim is the mark. Compact regions (logo-like shapes the text net also fires on;
a rotated line fills little of its box, a logo much) are kept whole: their filled interiors
have no detail to find.
"""

from __future__ import annotations

import numpy as np

from lama_serve.detect import components, filters
from lama_serve.detect.masks import grow_mask

MIN_ELONGATION = 2.0  # long side / short side of a text line's box
MAX_FILL = 0.5  # a region filling more of a box that is not elongated is compact: kept whole
TAIL = 3.0  # percentiles at each end that decide which way the strokes deviate
RIM = 1  # pixels of anti-aliased edge around the strokes


def stroke_side(detail: np.ndarray) -> float:
    """+1 when the region's strongest deviations are brighter than its median, else -1."""
    low, middle, high = np.percentile(detail, (TAIL, 50, 100 - TAIL))
    return 1.0 if high - middle >= middle - low else -1.0


def glyph_pixels(image: np.ndarray, mask: np.ndarray, radius: int) -> np.ndarray:
    """uint8 mask: within each elongated region of `mask`, the pixels deviating from the
    local mean (box of 2*radius+1) on the strokes' side past Otsu's threshold, plus RIM."""
    labels, count = components.label(mask > 0)
    if count == 0:
        return np.zeros(mask.shape, np.uint8)
    detail = filters.high_pass(filters.gray(image), radius)
    keep = np.zeros(mask.shape, bool)
    for index, (x, y, w, h) in enumerate(components.boxes(labels, count), start=1):
        window = slice(y, y + h), slice(x, x + w)
        region = labels[window] == index
        if max(w, h) < MIN_ELONGATION * min(w, h) and region.mean() > MAX_FILL:
            keep[window] |= region
            continue
        side = detail[window] * stroke_side(detail[window][region])
        keep[window] |= region & (side > filters.otsu_threshold(side[region]))
    grown = grow_mask(np.where(keep, 255, 0).astype(np.uint8), RIM)
    return np.where(mask > 0, grown, 0).astype(np.uint8)
