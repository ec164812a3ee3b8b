"""Where a template's masked NCC peaks in a large plane, searched coarse to fine.

A batch's shared mark is searched for in every item at full size: on a 12 MP photo the
FFT-based NCC over every position took ~1 s, most of `detect=shared` on large photos. A mark
big enough to matter on such a photo is found as well at half size; there only the best
few positions are kept, and the full-size NCC is computed around them alone. Halved again
while the plane is still large (a quarter of the side on a 12 MP photo).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from lama_serve.detect import filters

FULL_SEARCH_PIXELS = 2_000_000  # planes up to this size are searched at every position
MIN_SHRUNK_SIDE = 16  # a template's short side when shrunk: smaller ones lose their shape
PEAKS = 4  # best separated positions of the shrunk search refined at full size


def factor(plane: tuple[int, int], template: tuple[int, int]) -> int:
    """The power of two to shrink by: 1 for planes up to FULL_SEARCH_PIXELS, else halved
    until they fit while the template's short side stays at least MIN_SHRUNK_SIDE."""
    by = 1
    while plane[0] * plane[1] > FULL_SEARCH_PIXELS * by * by and min(template) >= 2 * by * MIN_SHRUNK_SIDE:
        by *= 2
    return by


def shrunk(plane: np.ndarray, by: int) -> np.ndarray:
    """`by` x `by` block means (rows and columns past the last whole block are dropped)."""
    h, w = plane.shape[0] // by * by, plane.shape[1] // by * by
    return plane[:h, :w].reshape(h // by, by, w // by, by).mean(axis=(1, 3))


def peaks(score: np.ndarray, count: int, apart: tuple[int, int]) -> list[tuple[int, int]]:
    """Up to `count` positions of the highest scores, each at least `apart` (rows, columns)
    from those before it."""
    score = score.copy()
    found = []
    for _ in range(count):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        if not np.isfinite(score[y, x]):
            break
        found.append((int(y), int(x)))
        score[max(y - apart[0], 0) : y + apart[0] + 1, max(x - apart[1], 0) : x + apart[1] + 1] = -np.inf
    return found


def ncc_scores(
    plane: np.ndarray, template: np.ndarray, support: np.ndarray, also: Iterable[tuple[int, int]] = ()
) -> np.ndarray:
    """filters.ncc(plane, template, support), exact at every position of planes up to
    FULL_SEARCH_PIXELS; on larger ones exact near the PEAKS best positions of the search on
    the shrunk plane (`factor`) and at the positions `also` (row, column), -1 elsewhere."""
    h, w = template.shape
    by = factor(plane.shape, template.shape)
    if by == 1:
        return filters.ncc(plane, template, support)
    valid = (plane.shape[0] - h + 1, plane.shape[1] - w + 1)
    coarse = filters.ncc(shrunk(plane, by), shrunk(template, by), shrunk(support.astype(np.float64), by) > 0)
    candidates = [(by * y, by * x) for y, x in peaks(coarse, PEAKS, (h // (2 * by), w // (2 * by)))]
    score = np.full(valid, -1.0)
    reach = by + 1  # a shrunk position stands for `by` full-size ones, give or take one
    for y, x in [*candidates, *also]:
        top, left = max(y - reach, 0), max(x - reach, 0)
        bottom, right = min(y + reach + 1, valid[0]), min(x + reach + 1, valid[1])
        if bottom > top and right > left:
            window = plane[top : bottom + h - 1, left : right + w - 1]
            score[top:bottom, left:right] = filters.ncc(window, template, support)
    return score
