"""Several detectors, one answer: their maps and results merged into one mask."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def removed_regions(result: DetectionResult, image: np.ndarray) -> tuple[Region, ...]:
    """The regions acted upon: masked (to inpaint) or un-blended (restored differs from
    `image` there). Candidates reported with a low score and left alone are not counted."""
    changed = (
        (result.mask > 0) if result.restored is None else (result.mask > 0) | (result.restored != image).any(axis=-1)
    )
    return tuple(r for r in result.regions if changed[r.y : r.y + r.height, r.x : r.x + r.width].any())
