"""Several detectors, one answer: their maps and results merged into one mask, their
pieces of one mark into one reported area."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from lama_serve.detect.types import DetectionResult, Region


def combine_maps(
    maps: Mapping[str, np.ndarray], thresholds: Mapping[str, float], weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """uint8 mask, 255 where any detector's weighted probability reaches its own threshold.

    Detectors are calibrated differently (a text map at 0.3 is sure, a segmenter's is not),
    so each has a threshold; a weight < 1 makes a detector need more evidence.
    """
    if not maps:
        raise ValueError("combine_maps needs at least one map")
    hit = None
    for name, probability in maps.items():
        weighted = probability.reshape(probability.shape[:2]) * (weights or {}).get(name, 1.0)
        above = weighted >= thresholds[name]
        hit = above if hit is None else hit | above
    return np.where(hit, 255, 0).astype(np.uint8)


def combine_results(results: Sequence[DetectionResult], shape: tuple[int, ...]) -> DetectionResult:
    """Union of the masks, all regions best first, the last un-blended image (if any)."""
    mask = np.zeros(shape[:2], np.uint8)
    restored = None
    for result in results:
        mask |= result.mask
        restored = result.restored if result.restored is not None else restored
    regions = tuple(sorted((r for res in results for r in res.regions), key=lambda r: -r.score))
    return DetectionResult(mask=mask, regions=regions, restored=restored)


# Two pieces whose boxes are apart by at most this share of the smaller piece's short side
# (a text line's height) are one area: the gaps between a line's glyph groups and words (a
# "©" and the name after it: 0.53 of its height in DejaVu Sans Bold) and between the lines of
# a two-line credit are smaller; the tiles of a tiled mark lie further apart.
AREA_LINK = 0.75


def removed_regions(result: DetectionResult, image: np.ndarray) -> tuple[Region, ...]:
    """The regions acted upon: masked (to inpaint) or un-blended (restored differs from
    `image` there). Candidates reported with a low score and left alone are not counted."""
    changed = (
        (result.mask > 0) if result.restored is None else (result.mask > 0) | (result.restored != image).any(axis=-1)
    )
    return tuple(r for r in result.regions if changed[r.y : r.y + r.height, r.x : r.x + r.width].any())


def as_areas(result: DetectionResult, image: np.ndarray) -> DetectionResult:
    """`result` with one region per watermark area, as a client counts and edits them: the
    detectors report pieces (the segmenter a region per glyph group, the text model one per
    line, both over the same credit line: ten regions for one mark). Pieces acted upon
    (removed_regions) join only each other; so do the candidates left alone."""
    acted = set(removed_regions(result, image))
    areas = [
        *merged_regions([r for r in result.regions if r in acted]),
        *merged_regions([r for r in result.regions if r not in acted]),
    ]
    return replace(result, regions=tuple(sorted(areas, key=lambda r: -r.score)))


def merged_regions(regions: Sequence[Region], link: float = AREA_LINK) -> list[Region]:
    """Regions whose boxes touch or lie within `link` x the smaller short side of each other
    (through others too), each group as one: the box around it, its best score and that
    piece's kind."""
    if len(regions) < 2:
        return list(regions)
    box = np.array([(r.x, r.y, r.x + r.width, r.y + r.height) for r in regions], np.float64)
    short = np.minimum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    reach = link * np.minimum(short[:, None], short[None, :])
    linked = np.ones((len(regions), len(regions)), bool)
    for low, high in ((0, 2), (1, 3)):  # the gap along x, then along y; overlapping boxes: 0
        gap = np.maximum(box[:, None, low], box[None, :, low]) - np.minimum(box[:, None, high], box[None, :, high])
        linked &= gap <= reach
    group = np.arange(len(regions))
    while True:  # each region takes the least group number it is linked to, until none moves
        lowest = np.where(linked, group[None, :], len(regions)).min(axis=1)
        if (lowest == group).all():
            break
        group = lowest
    merged = []
    for number in np.unique(group):
        members = np.flatnonzero(group == number)
        best = regions[max(members, key=lambda i: regions[i].score)]
        x0, y0 = box[members, :2].min(axis=0).astype(int)
        x1, y1 = box[members, 2:].max(axis=0).astype(int)
        merged.append(replace(best, x=int(x0), y=int(y0), width=int(x1 - x0), height=int(y1 - y0)))
    return merged
