"""One mark shared by many images (batch `detect=shared`), after Dekel et al., CVPR 2017.

Photos differ, the mark does not: the per-pixel median of image gradients over the batch
cancels the photos and keeps the mark's edges (a clean image or two in the batch barely
moves a median). Where those edges are dense, integrating them (Poisson, FFT) gives the mark
itself; high-passed (the integral drifts) and thresholded (Otsu) it covers the strokes'
cores, the strong edges themselves the thin strokes and rims: together the mark's mask.
Each item is then searched for the mark's edges (masked NCC), so items without the mark,
or with it shifted, are handled; in same-size batches the place the median found needs
less evidence than anywhere else.

Images of different sizes are compared on their common size, cropped at each of ANCHORS
(marks are put at a corner or the centre); the anchor whose median edges are strongest wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lama_serve.detect import filters
from lama_serve.detect.masks import grow_mask
from lama_serve.detect.regions import regions_of_mask
from lama_serve.detect.types import DetectionResult

ANCHORS = ("top-left", "top-right", "bottom-left", "bottom-right", "centre")
MIN_IMAGES = 3  # a median of two is a mean: the photos would not cancel
MIN_MARK_GRADIENT = 3.0  # levels/pixel of the strongest median edges below which there is no mark
MIN_SCORE = 0.35  # masked NCC of an item's edges with the mark's: below it the item is clean
# At the place the batch's median put the mark (same-size items), less evidence suffices: a
# textured photo under the mark lowers its NCC there to ~0.2, a clean item scores ~0.
MIN_SCORE_IN_PLACE = 0.15
EDGE_PERCENTILE = 99.9
EDGE_SHARE = 0.25  # median edges above this share of the strongest belong to the mark
NOISE_FACTOR = 3.0  # median edges this many times their image-wide median stand out of the photos
DENSITY_RADIUS = 8  # a mark's edges are dense within this radius; leftovers of photos are not
MIN_DENSITY = 0.08  # share of strong-edge pixels around a mark's pixel (text: ~0.3)
DETAIL_RADIUS = 8  # integrating noisy median gradients drifts; strokes at 256 px are finer
# Marks are sized to the image: at 512 px and more bold strokes get wider than DETAIL_RADIUS
# and a high-pass that narrow keeps only their rims (measured IoU 0.09-0.32), so the radius
# grows with the short side.
STROKE_SCALE = 40  # short-side pixels per pixel of high-pass radius (once over DETAIL_RADIUS)
MARGIN = 3  # pixels around the mark's edges that its mask may cover


@dataclass(frozen=True)
class SharedMark:
    """The estimated mark: its edge magnitude and mask, cropped to the mark's box."""

    edges: np.ndarray
    mask: np.ndarray
    level: float  # edge magnitude above which a pixel is part of the mark's edges
    origin: tuple[int, int] | None = None  # (y, x) of the box in a batch of same-size items


def _crop(plane: np.ndarray, anchor: str, height: int, width: int) -> np.ndarray:
    h, w = plane.shape[:2]
    top = {"top": 0, "bottom": h - height}.get(anchor.split("-")[0], (h - height) // 2)
    left = {"left": 0, "right": w - width}.get(anchor.split("-")[-1], (w - width) // 2)
    return plane[top : top + height, left : left + width]


def poisson_reconstruct(gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
    """The plane whose forward-difference gradients best fit (gy, gx), mean 0 (Neumann, DCT)."""
    div = gy.copy()
    div[1:] -= gy[:-1]
    div += gx
    div[:, 1:] -= gx[:, :-1]
    h, w = div.shape
    mirrored = np.block([[div, div[:, ::-1]], [div[::-1], div[::-1, ::-1]]])
    eig = (2 * np.cos(np.pi * np.arange(2 * h) / h) - 2)[:, None] + (2 * np.cos(np.pi * np.arange(w + 1) / w) - 2)[
        None, :
    ]
    eig[0, 0] = 1.0
    spectrum = np.fft.rfft2(mirrored) / eig
    spectrum[0, 0] = 0.0
    return np.fft.irfft2(spectrum, (2 * h, 2 * w))[:h, :w]


def _median_gradients(planes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [filters.gradients(p) for p in planes]
    return (np.median(np.stack([p[0] for p in pairs]), axis=0), np.median(np.stack([p[1] for p in pairs]), axis=0))


def estimate_mark(images: Sequence[np.ndarray]) -> SharedMark | None:
    """The mark common to `images`, or None when they share none (or are too few)."""
    if len(images) < MIN_IMAGES:
        return None
    planes = [filters.gray(image) for image in images]
    height, width = min(p.shape[0] for p in planes), min(p.shape[1] for p in planes)
    same_size = all(p.shape == planes[0].shape for p in planes)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for anchor in ANCHORS[:1] if same_size else ANCHORS:
        gy, gx = _median_gradients([_crop(p, anchor, height, width) for p in planes])
        strength = float(np.percentile(np.hypot(gy, gx), EDGE_PERCENTILE))
        if best is None or strength > best[0]:
            best = (strength, gy, gx)
    strength, gy, gx = best  # type: ignore[misc]
    if strength < MIN_MARK_GRADIENT:
        return None
    edges = np.hypot(gy, gx)
    floor = NOISE_FACTOR * float(np.median(edges))  # what is left of the photos' edges
    if strength < 2 * floor:
        return None
    level = max(strength * EDGE_SHARE, floor)
    dense = filters.box_mean((edges > level).astype(np.float32), DENSITY_RADIUS, "constant") > MIN_DENSITY
    core = (edges > level) & grow_mask(dense, DENSITY_RADIUS)
    strong = grow_mask(core, MARGIN)
    ys, xs = np.nonzero(strong)
    if ys.size == 0:
        return None
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    radius = max(DETAIL_RADIUS, round(min(height, width) / STROKE_SCALE))
    mark = filters.high_pass(poisson_reconstruct(gy[box], gx[box]).astype(np.float32), radius)
    mark = filters.brighter_tail_up(mark)
    mask = ((mark > filters.otsu_threshold(mark)) & strong[box]) | core[box]
    return SharedMark(
        edges=edges[box], mask=mask, level=level, origin=(int(ys.min()), int(xs.min())) if same_size else None
    )


def _place(score: np.ndarray, mark: SharedMark, min_score: float) -> tuple[tuple[int, int], float] | None:
    """The best position if it reaches min_score, else the batch's own place of the mark
    if it reaches MIN_SCORE_IN_PLACE there, else None (the item is clean)."""
    if score.size == 0:
        return None
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)
    if score[y, x] >= min_score:
        return (int(y), int(x)), float(score[y, x])
    origin = mark.origin
    if (
        origin is not None
        and origin[0] < score.shape[0]
        and origin[1] < score.shape[1]
        and score[origin] >= MIN_SCORE_IN_PLACE
    ):
        return origin, float(score[origin])
    return None


def locate(image: np.ndarray, mark: SharedMark, min_score: float = MIN_SCORE) -> DetectionResult:
    """Where `mark` is in `image` (best masked-NCC position of its edges), as a mask."""
    edges = filters.gradient_magnitude(filters.gray(image))
    support = grow_mask(mark.edges > mark.level, 1)
    score = filters.ncc(edges, mark.edges, support)
    placed = _place(score, mark, min_score)
    if placed is None:
        return DetectionResult.empty(image.shape)
    (y, x), best = placed
    h, w = mark.mask.shape
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[y : y + h, x : x + w] = np.where(mark.mask, 255, 0)
    return DetectionResult(mask=mask, regions=regions_of_mask(mask, best, "shared"))


def detect_shared(images: Sequence[np.ndarray]) -> list[DetectionResult]:
    """One result per image; all empty when the batch shares no mark."""
    mark = estimate_mark(images)
    if mark is None:
        return [DetectionResult.empty(image.shape) for image in images]
    return [locate(image, mark) for image in images]
