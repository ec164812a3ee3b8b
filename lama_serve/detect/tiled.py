"""Tiled marks in one image: a repeated mark is a lattice in the image's autocorrelation.

The high-passed image's autocorrelation has off-centre peaks at the lattice vectors of a
tiled mark; natural photos have none (their autocorrelation decays from the centre). With
two independent lattice vectors every pixel folds onto one cell of the lattice; the median
over all tiles of each cell position cancels the photo and keeps the mark (as in the shared
detector), whose thresholded cell is repeated over the whole image as the mask.
"""

from __future__ import annotations

import numpy as np

from lama_serve.detect import filters
from lama_serve.detect.masks import grow_mask, max_filter
from lama_serve.detect.regions import regions_of_mask
from lama_serve.detect.types import DetectionResult

DETAIL_RADIUS = 8  # high-pass: photo content coarser than this is not part of a tiled mark
MIN_PERIOD = 12  # lags shorter than this are the texture's own correlation
MIN_REPEATS = 2  # a period must fit this many times in the image
# A per-cell median over fewer tiles than this keeps the photo (measured: lattices of 2-3
# tiles were textures or single marks); a mask over more of the image than MAX_COVERAGE is a
# texture's lattice, not a mark (tiled text covers 4-25 % of the composites' pixels).
MIN_TILES = 4
MAX_COVERAGE = 0.5
MIN_PEAK = 0.12  # normalised autocorrelation a lattice peak must reach
MIN_Z = 10.0  # and how far above the autocorrelation's spread (robust z-score)
MIN_SINE = 0.5  # |sin| of the angle between the two lattice vectors (30 degrees)
EDGE_GROWTH = 1  # pixels: the median tile loses the mark's faint anti-aliased rim
MIN_LEVEL = 4.0  # levels of the median tile's strongest detail: weaker is no mark
QUANTUM = 8  # medians are exact to 1/8 level
VALUE_BITS = 20  # +-65536 levels of detail at that precision: far beyond 8-bit images
Vector = tuple[int, int]


def lattice_peaks(acf: np.ndarray) -> list[Vector]:
    """Lags (dy, dx) in one half-plane that are local maxima standing out of the acf."""
    h, w = acf.shape[0] // 2, acf.shape[1] // 2
    dy, dx = np.meshgrid(np.arange(-h, h), np.arange(-w, w), indexing="ij")
    allowed = (
        ((dy > 0) | ((dy == 0) & (dx > 0)))
        & (np.hypot(dy, dx) >= MIN_PERIOD)
        & (np.abs(dy) * MIN_REPEATS <= h)
        & (np.abs(dx) * MIN_REPEATS <= w)
    )
    local_max = acf >= max_filter(acf, 1)
    values = acf[allowed]
    median = np.median(values)
    spread = 1.4826 * np.median(np.abs(values - median)) + 1e-9
    peaks = allowed & local_max & (acf >= MIN_PEAK) & ((acf - median) / spread >= MIN_Z)
    ys, xs = np.nonzero(peaks)
    order = np.argsort(np.hypot(ys - h, xs - w))
    return [(int(ys[i] - h), int(xs[i] - w)) for i in order]


def _peak_at(acf: np.ndarray, lag: np.ndarray) -> float:
    """Highest acf within one pixel of `lag` (lattice vectors sum with rounding); lags past
    half the image, too long to be checked, pass."""
    h, w = acf.shape[0] // 2, acf.shape[1] // 2
    if abs(lag[0]) * MIN_REPEATS > h or abs(lag[1]) * MIN_REPEATS > w:
        return 1.0
    y, x = h + int(lag[0]), w + int(lag[1])
    return float(acf[y - 1 : y + 2, x - 1 : x + 2].max())


def basis(acf: np.ndarray, peaks: list[Vector]) -> tuple[Vector, Vector] | None:
    """The shortest pair of non-parallel peaks whose sums, difference and doubles are peaks: a
    lattice (the ridges of long straight edges and a mark's own letters are not), or None."""
    for i, first_peak in enumerate(peaks):
        first = np.array(first_peak)
        for second_peak in peaks[i + 1 :]:
            second = np.array(second_peak)
            cross = abs(first[0] * second[1] - first[1] * second[0])
            if cross < MIN_SINE * np.linalg.norm(first) * np.linalg.norm(second):
                continue
            implied = (first + second, first - second, 2 * first, 2 * second)
            if min(_peak_at(acf, lag) for lag in implied) >= MIN_PEAK:
                return first_peak, second_peak
    return None


def fold(shape: tuple[int, int], v1: Vector, v2: Vector) -> np.ndarray:
    """Per pixel, the index of its position within the lattice cell (same index = same
    place of the mark in every tile)."""
    ys, xs = np.indices(shape)
    inverse = np.linalg.inv(np.array([[v1[0], v2[0]], [v1[1], v2[1]]], float))
    a = np.floor(inverse[0, 0] * ys + inverse[0, 1] * xs + 1e-6).astype(np.int64)
    b = np.floor(inverse[1, 0] * ys + inverse[1, 1] * xs + 1e-6).astype(np.int64)
    ry, rx = ys - a * v1[0] - b * v2[0], xs - a * v1[1] - b * v2[1]
    ry, rx = ry - ry.min(), rx - rx.min()
    return ry * (rx.max() + 1) + rx


def cell_medians(values: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Median of `values` per cell index: one integer sort of (cell, value quantised to
    1/QUANTUM level) keys, 3x faster than a lexsort."""
    offset = 1 << (VALUE_BITS - 1)
    quantised = np.clip(np.round(values.ravel() * QUANTUM), -offset, offset - 1).astype(np.int64) + offset
    keys = np.sort((cells.ravel().astype(np.int64) << VALUE_BITS) | quantised)
    counts = np.bincount(cells.ravel())
    starts = np.cumsum(counts) - counts
    medians = np.zeros(counts.size, np.float32)
    filled = counts > 0
    middle = keys[starts[filled] + counts[filled] // 2] & ((1 << VALUE_BITS) - 1)
    medians[filled] = (middle - offset) / QUANTUM
    return medians


class TiledDetector:
    """Finds a mark repeated on a 2D lattice over one image."""

    name = "tiled"

    def detect(self, image: np.ndarray) -> DetectionResult:
        detail = filters.high_pass(filters.gray(image), DETAIL_RADIUS)
        acf = filters.autocorrelation(detail)
        vectors = basis(acf, lattice_peaks(acf))
        if vectors is None:
            return DetectionResult.empty(image.shape)
        cells = fold(detail.shape, *vectors)
        if cells.size < MIN_TILES * (int(cells.max()) + 1):
            return DetectionResult.empty(image.shape)
        medians = filters.brighter_tail_up(cell_medians(detail, cells))
        if medians.max() < MIN_LEVEL:
            return DetectionResult.empty(image.shape)
        tile_mask = (medians > filters.otsu_threshold(medians))[cells]
        mask = grow_mask(np.where(tile_mask, 255, 0).astype(np.uint8), EDGE_GROWTH)
        if np.count_nonzero(mask) > MAX_COVERAGE * mask.size:
            return DetectionResult.empty(image.shape)
        score = float(acf[acf.shape[0] // 2 + vectors[0][0], acf.shape[1] // 2 + vectors[0][1]])
        return DetectionResult(mask=mask, regions=regions_of_mask(mask, score, "tiled"))
