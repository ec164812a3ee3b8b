"""The segmenter at its own scale: maps of downscaled views, for marks too large for full size.

The segmenter learned from 160 px crops of 256 and 512 px composites, where a logo is at
most ~100 px wide. Marks are sized to the photo, so on larger photos they outgrow what the
net knows: on 512 px its full-size map finds a large logo's outline but not its flat tinted
inside (offline, 9 of 32 held-out logos got under 70 % of their pixels), and on 1024 px
photos, detected at that size, it found 0.45 of the logos' pixels. So it is also asked about
`scaled_views`:
- `native`: short side NATIVE_SHORT_SIDE, the training scale, for photos whose short side is
  over MIN_NATIVE_SIDE; its map goes through the model's profile, and the components that
  the full-size map mostly left empty (`missed_components`) join the mask. Taking all of it
  swelled text the full-size map had found well (1024 px, seeds 0-1: text_corner IoU 0.76
  -> 0.66, a batch's shared text 0.89 -> 0.73);
- `coarse`: short side COARSE_SHORT_SIDE, for photos from MIN_COARSE_SIDE. The coarse map
  is blurry (it would swell text into blobs) and fires on some textures, so it only adds
  whole components that the finer maps outline but leave mostly empty (a compact one, a
  logo's shape, at least a fifth empty): a large mark whose edges were seen and whose inside
  was not. `fill_missed` takes them, cut to the pixels the
  mark changed (detect.edges). Its text lines (`missed_lines`: components that are not
  compact, less the parts within `line_clear` px of what the finer maps found) go through
  the model's profile, cut to glyphs, with a higher mean floor: large banner letters (SAMPLE
  or PREVIEW, 64-90 px on a 512 px photo) that the full-size map sees in pieces look at half
  the size like the marks the net learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from lama_serve.detect import components
from lama_serve.detect.edges import trim_to_changed
from lama_serve.detect.masks import max_filter
from lama_serve.detect.types import DetectionResult, Region

NATIVE_SHORT_SIDE = 512  # the training pool's larger side
MIN_NATIVE_SIDE = 640  # below this the full-size view is already close to the native one
COARSE_SHORT_SIDE = 256  # the training pool's smaller side: marks 15-40 % of it are 38-102 px
MIN_COARSE_SIDE = 384  # below this the full-size view is already close to the coarse one
ANALYSIS_SIDE = 512  # short side (about) on which `fill_missed` finds and measures components
# Per view: short side, least short side of the image, resampling. The training composites
# had marks drawn sharp at 256 px; a box filter keeps a downscaled mark's edges about as
# sharp, where bilinear (a wider triangle filter when shrinking) blurred them past what the
# net knows: held-out logos, seeds 4-7 (16 per kind), recall / IoU 0.90 / 0.76 -> 0.94 / 0.79.
# The native view stays bilinear: boxed, its sharper text swelled text_corner at 1024 px
# (IoU 0.73 -> 0.68).
VIEWS = {
    "native": (NATIVE_SHORT_SIDE, MIN_NATIVE_SIDE, Image.Resampling.BILINEAR),
    "coarse": (COARSE_SHORT_SIDE, MIN_COARSE_SIDE, Image.Resampling.BOX),
}


@dataclass(frozen=True)
class CoarseFill:
    """Which components of a coarse map enter the mask (tuned on `lama-serve bench detect
    --offline`, seeds 0-3, docs/detection.md).

    threshold: coarse map value that makes a pixel part of a component; min_share and
    max_share: component area bounds as a share of the image (smaller marks are the finer
    maps'; a fifth of the photo or more is a texture, not a mark); outline_above: share of the
    component's rim (`rim` px either side of its edge) where the finer maps (full-size,
    native) fire; covered_below: share of a component that the finer maps already have
    (above: text lines, whose strokes they have and whose gaps a blurrier map would add;
    also the bar for the native map's components against the full-size map);
    compact_covered_below: the same bar for compact components (box sides within
    compact_aspect of each other, filled at least compact_fill): a logo whose thick frame the
    finer maps have and whose tinted inside they miss; text lines, straight or diagonal, are
    long or thin in their box; compact_min_share: the least area of a compact component,
    which under min_share must be outlined for small_outline_above of its rim (the coarse
    map blurs coins and stones into discs of that size, which the finer maps outline for up
    to ~0.3); sure_mean: the coarse map's mean over a component that enters without any
    outline (a large flat logo the finer maps do not see at all); edge_radius, edge_levels:
    the changed-pixel cut (detect.edges.trim_to_changed); line_clear: pixels around what
    the finer maps found that a coarse text line does not add to (its blurry blob would fill
    the gaps of a line they found); line_glyph_radius: the glyph cut (detect.glyphs) of a
    coarse line; line_min_mean: the coarse map's least mean over a kept piece of a line (the
    profile's floor let in coins that touch a credit line's blob).
    """

    threshold: float = 0.3
    min_share: float = 0.04
    max_share: float = 0.2
    outline_above: float = 0.08
    covered_below: float = 0.6
    compact_covered_below: float = 0.8
    compact_aspect: float = 2.0
    compact_fill: float = 0.3
    compact_min_share: float = 0.015
    small_outline_above: float = 0.4
    sure_mean: float = 0.9
    rim: int = 3
    edge_radius: int = 16
    edge_levels: float = 6.0
    line_clear: int = 8
    line_glyph_radius: int = 12
    line_min_mean: float = 0.7


def scaled(image: np.ndarray, short_side: int, resample: Image.Resampling) -> np.ndarray:
    """`image` resized with `resample` so its short side is `short_side`."""
    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, resample))


def scaled_views(image: np.ndarray) -> dict[str, np.ndarray]:
    """The `native` and `coarse` views of `image`, each only when the image is large enough
    for it to differ from the full-size view."""
    short = min(image.shape[:2])
    return {name: scaled(image, side, resample) for name, (side, least, resample) in VIEWS.items() if short >= least}


def _missed(
    plane: np.ndarray, seen: np.ndarray, threshold: float, covered_below: float
) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """(labels, count, missed per label, areas per label) of the components of `plane >
    threshold`: missed when `seen` covers less than `covered_below` of them."""
    labels, count = components.label(plane.reshape(seen.shape) > threshold)
    areas, covered = components.areas_and_means(labels, count, seen)
    missed = covered < covered_below
    missed[0] = False
    return labels, count, missed, areas


def missed_components(plane: np.ndarray, seen: np.ndarray, threshold: float, covered_below: float) -> np.ndarray:
    """bool HxW: the components of `plane > threshold` (HxW(x1)) of which `seen` (bool HxW)
    covers less than `covered_below`."""
    labels, _, missed, _ = _missed(plane, seen, threshold, covered_below)
    return missed[labels]


def inside(boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """bool per box (x, y, width, height): clear of the border of an image of `shape`."""
    height, width = shape[:2]
    x, y, w, h = boxes.T
    return (x > 0) & (y > 0) & (x + w < width) & (y + h < height)


def missed_lines(plane: np.ndarray, seen: np.ndarray, threshold: float, fill: CoarseFill) -> np.ndarray:
    """bool HxW: the missed components (`missed_components`) of the coarse `plane` that are
    not compact (text lines) nor touch the border (a coin cut by it is long too; banners lie
    across the middle), less the pixels within `fill.line_clear` of `seen`."""
    labels, count, missed, areas = _missed(plane, seen, threshold, fill.covered_below)
    if missed.any():
        boxes = components.boxes(labels, count)
        missed[1:] &= ~compact(boxes, areas[1:], fill.compact_aspect, fill.compact_fill) & inside(boxes, seen.shape)
    if not missed.any():
        return np.zeros(seen.shape, bool)
    return missed[labels] & ~(max_filter(seen.astype(np.uint8), fill.line_clear) > 0)


def compact(boxes: np.ndarray, areas: np.ndarray, aspect: float, fill: float) -> np.ndarray:
    """bool per component (`boxes`: x, y, width, height; `areas`: pixels): box sides within
    `aspect` of each other and at least `fill` of the box covered (a diagonal line's box is
    square but nearly empty)."""
    sides = boxes[:, 2:].astype(np.float64)
    return (sides.max(axis=1) <= aspect * sides.min(axis=1)) & (areas >= fill * sides.prod(axis=1))


def rim_share(component: np.ndarray, support: np.ndarray, rim: int) -> float:
    """Share of the band `rim` px either side of the component's edge where `support` holds."""
    outer = max_filter(component.astype(np.uint8), rim) > 0
    inner = max_filter((~component).astype(np.uint8), rim) == 0
    band = outer & ~inner
    return float((support & band).sum() / max(int(band.sum()), 1))


def fill_missed(
    coarse: np.ndarray, fine: np.ndarray, image: np.ndarray, fine_threshold: float, kind: str, fill: CoarseFill
) -> DetectionResult:
    """The components of the `coarse` map (HxW(x1), at the image's size) that the `fine` map
    outlines (above `fine_threshold` on their rim) but mostly leaves out; mask and regions
    (score: the coarse map's mean there). Components are found on every `step`-th pixel (a
    short side near ANALYSIS_SIDE): the coarse map has no finer detail, and a 3 MP photo
    would cost 0.3 s at full size."""
    height, width = image.shape[:2]
    step = max(1, min(height, width) // ANALYSIS_SIDE)
    plane = coarse.reshape(height, width)[::step, ::step]
    seen = fine.reshape(height, width)[::step, ::step] > fine_threshold
    labels, count = components.label(plane > fill.threshold)
    if count == 0:
        return DetectionResult.empty(image.shape)
    areas, covered, means = components.areas_and_means(labels, count, seen, plane)
    boxes = components.boxes(labels, count)
    shaped = np.concatenate([[False], compact(boxes, areas[1:], fill.compact_aspect, fill.compact_fill)])
    small = areas < fill.min_share * plane.size
    sized = (areas >= np.where(shaped, fill.compact_min_share, fill.min_share) * plane.size) & (
        areas < fill.max_share * plane.size
    )
    bar = np.where(shaped, fill.compact_covered_below, fill.covered_below)
    candidates = np.nonzero(sized & (covered < bar))[0]
    rim = max(1, round(fill.rim / step))

    def outlined(i: int) -> bool:
        """rim_share on the component's box grown by the rim (the rest of the image is not near)."""
        x, y, w, h = (int(v) for v in boxes[i - 1])
        near = slice(max(y - rim - 1, 0), y + h + rim + 1), slice(max(x - rim - 1, 0), x + w + rim + 1)
        return rim_share(labels[near] == i, seen[near], rim) >= (
            fill.small_outline_above if small[i] else fill.outline_above
        )

    keep = [int(i) for i in candidates if i > 0 and (means[i] >= fill.sure_mean or outlined(int(i)))]
    if not keep:
        return DetectionResult.empty(image.shape)
    kept = np.repeat(np.repeat(np.isin(labels, keep), step, 0), step, 1)[:height, :width]
    mask = trim_to_changed(image, np.where(kept, 255, 0).astype(np.uint8), fill.edge_radius, fill.edge_levels)
    regions = tuple(Region(*(int(v) * step for v in boxes[i - 1]), score=float(means[i]), kind=kind) for i in keep)
    return DetectionResult(mask=mask, regions=regions)
