"""One mark shared by many images (batch `detect=shared`), after Dekel et al., CVPR 2017.

Photos differ, the mark does not: the per-pixel median of image gradients over the batch
cancels the photos and keeps the mark's edges (a clean image or two in the batch barely
moves a median). What the photos leave of their edges is scattered; the mark's edges are
lines, so they are found on the median edges averaged along short segments
(filters.line_mean), and the group of such lines with the most edge energy is the mark.
Integrating the median gradients on those edges only (Poisson, zero on a frame of
background around them) gives the mark's contrast, flat inside its shapes; thresholded
(Otsu) it covers filled shapes and strokes, the strong edges the thin strokes and rims:
together the mark's mask.
Each item is then searched for the mark's edges (masked NCC; coarse to fine on large photos,
detect.search), so items without the mark, or with it shifted, are handled; in same-size
batches the place the median found needs less evidence than anywhere else.

Images of different sizes are compared where they overlap, lined up at each of frames.ANCHORS
(marks are put at a corner or the centre); the anchor whose median edges are strongest wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lama_serve.detect import components, filters, search
from lama_serve.detect.frames import ANCHORS, Frame
from lama_serve.detect.masks import grow_mask, max_filter
from lama_serve.detect.regions import regions_of_mask
from lama_serve.detect.types import DetectionResult

MIN_IMAGES = 3  # a median of two is a mean: the photos would not cancel
MIN_MARK_GRADIENT = 3.0  # levels/pixel of the strongest median edges below which there is no mark
MIN_SCORE = 0.35  # masked NCC of an item's edges with the mark's: below it the item is clean
# At the place the batch's median put the mark (same-size items), less evidence suffices: a
# textured photo under the mark lowers its NCC there to ~0.2, a clean item scores ~0.
MIN_SCORE_IN_PLACE = 0.15
EDGE_PERCENTILE = 99.9
EDGE_SHARE = 0.25  # median edges above this share of the strongest belong to the mark
NOISE_FACTOR = 3.0  # median edges this many times their image-wide median stand out of the photos
# Tuned on the held-out batches of `lama-serve bench detect` (seeds 0-7, docs/detection.md);
# 11-21 px segments, 8-20 px gaps and 4-16 px frames gave the same masks within 0.03 IoU.
LINE_LENGTH = 15  # pixels of the segments the median edges are averaged along
# Pieces of edges closer than twice this are one mark, at a 512 px short side; marks are
# sized to the photo, so the gap grows with it (12 px split a 1024 px batch's words: 0.41
# against 0.89 with 24 px, which at 512 px joined a faint logo to texture: 0.24 -> 0.08).
CLUSTER_GAP = 12
CLUSTER_SIDE = 512
FRAME = 8  # pixels of background kept around the mark's edges when it is integrated


@dataclass(frozen=True)
class SharedMark:
    """The estimated mark: its edge magnitude and mask, cropped to the mark's box."""

    edges: np.ndarray
    mask: np.ndarray
    level: float  # edge magnitude above which a pixel is part of the mark's edges
    frame: Frame  # where the items line up (the whole image in a batch of same-size items)
    origin: tuple[int, int] | None = None  # (y, x) of the box in a batch of same-size items


def poisson_reconstruct(gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
    """The plane whose forward-difference gradients best fit (gy, gx) inside, zero on a
    one-pixel frame around it (Dirichlet): cropped with room around a mark, the frame is the
    photo's background, so a filled mark comes back filled instead of drifting away from its
    rim (solved by FFT on the odd extension)."""
    div = gy.copy()
    div[1:] -= gy[:-1]
    div += gx
    div[:, 1:] -= gx[:, :-1]
    h, w = div.shape
    odd = np.zeros((2 * (h + 1), 2 * (w + 1)))
    odd[1 : h + 1, 1 : w + 1] = div
    odd[h + 2 :, 1 : w + 1] = -div[::-1]
    odd[:, w + 2 :] = -odd[:, w:0:-1]
    rows, cols = odd.shape
    eig = (2 * np.cos(2 * np.pi * np.arange(rows) / rows) - 2)[:, None] + (
        2 * np.cos(2 * np.pi * np.arange(cols // 2 + 1) / cols) - 2
    )[None, :]
    eig[0, 0] = 1.0
    spectrum = np.fft.rfft2(odd) / eig
    spectrum[0, 0] = 0.0
    return np.fft.irfft2(spectrum, odd.shape)[1 : h + 1, 1 : w + 1]


def _median_gradients(planes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [filters.gradients(p) for p in planes]
    return (np.median(np.stack([p[0] for p in pairs]), axis=0), np.median(np.stack([p[1] for p in pairs]), axis=0))


def estimate_mark(images: Sequence[np.ndarray]) -> SharedMark | None:
    """The mark common to `images`, or None when they share none (or are too few)."""
    if len(images) < MIN_IMAGES:
        return None
    planes = [filters.gray(image) for image in images]
    same_size = all(p.shape == planes[0].shape for p in planes)
    best: tuple[tuple[float, float, float], Frame, np.ndarray, np.ndarray, np.ndarray] | None = None
    for anchor in ANCHORS[:1] if same_size else ANCHORS:
        frame = Frame.of(planes, anchor)
        gy, gx = _median_gradients([frame.cut(p) for p in planes])
        edges = np.hypot(gy, gx)
        levels = _edge_levels(edges)
        if best is None or levels[0] > best[0][0]:
            best = (levels, frame, gy, gx, edges)
    (strength, floor, level), frame, gy, gx, edges = best  # type: ignore[misc]
    height, width = edges.shape
    if strength < MIN_MARK_GRADIENT or strength < 2 * floor:
        return None
    gap = max(CLUSTER_GAP, round(CLUSTER_GAP * min(height, width) / CLUSTER_SIDE))
    cluster = _strongest_cluster(filters.line_mean(edges, LINE_LENGTH), gap)
    if cluster is None:
        return None
    core = (edges > level) & cluster
    ys, xs = np.nonzero(cluster)
    box = (
        slice(max(ys.min() - FRAME, 0), min(ys.max() + FRAME + 1, height)),
        slice(max(xs.min() - FRAME, 0), min(xs.max() + FRAME + 1, width)),
    )
    on_edges = grow_mask(core[box], 1)  # elsewhere the median gradients are the photos' leftovers
    mark = np.abs(poisson_reconstruct(gy[box] * on_edges, gx[box] * on_edges))
    mask = (mark > filters.otsu_threshold(mark)) | core[box]
    if frame.reaches_beyond(box, edges.shape):
        # The mark goes on past a side where not every item lies: no background frames it there,
        # and the integration spills from that side (a blob under a line cut at its top). Its
        # strokes' edges are still right: keep the mask on them.
        mask &= on_edges > 0
    if not mask.any():
        return None
    origin = (box[0].start, box[1].start) if same_size else None
    return SharedMark(edges=edges[box], mask=mask, level=level, frame=frame, origin=origin)


def _edge_levels(edges: np.ndarray) -> tuple[float, float, float]:
    """(strength: the strongest edges' level, floor: what the photos leave of theirs, level
    above which an edge belongs to the mark) of a plane of median edge magnitudes."""
    strength = float(np.percentile(edges, EDGE_PERCENTILE))
    floor = NOISE_FACTOR * float(np.median(edges))
    return strength, floor, max(strength * EDGE_SHARE, floor)


def _strongest_cluster(coherent: np.ndarray, gap: int) -> np.ndarray | None:
    """bool HxW: the pixels of the group of strong coherent edges (pieces within 2 x `gap`
    px of each other) with the most edge energy; None when none stands out."""
    strong = coherent > _edge_levels(coherent)[2]
    labels, count = components.label(max_filter(strong, gap))
    if count == 0:
        return None
    energy = np.bincount(labels[strong], weights=coherent[strong], minlength=count + 1)
    return strong & (labels == int(np.argmax(energy[1:])) + 1)


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
    score = search.ncc_scores(edges, mark.edges, support, also=[] if mark.origin is None else [mark.origin])
    placed = _place(score, mark, min_score)
    if placed is None:
        return DetectionResult.empty(image.shape)
    (y, x), best = placed
    h, w = mark.mask.shape
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[y : y + h, x : x + w] = np.where(mark.mask, 255, 0)
    return DetectionResult(mask=mask, regions=regions_of_mask(mask, best, "shared"))


def locate_all(images: Sequence[np.ndarray], mark: SharedMark | None) -> list[DetectionResult]:
    """`mark` (the batch's estimate_mark) located in each image; all empty when there is none."""
    if mark is None:
        return [DetectionResult.empty(image.shape) for image in images]
    return [locate(image, mark) for image in images]
