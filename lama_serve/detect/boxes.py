"""A box detector's answer as a probability map, so that it joins the others' maps.

A dropped-in detector may follow core.contract.BOX_LIST (scored boxes) instead of
PROBABILITY_MAP. Painting each box with its score gives the map the rest of detection
already handles: the model's profile thresholds and keeps it (detect.regions), the union
with the other detectors' maps, the regions reported. A box's mask is the box itself:
what a box detector knows of a mark.
"""

from __future__ import annotations

import numpy as np


def box_map(boxes: np.ndarray, scores: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """float32 [N, H, W, 1] for `boxes` [N, K, 4] (x0, y0, x1, y1 in pixels, x1 and y1
    excluded) scored `scores` [N, K]: each box painted with its score (clipped to [0, 1]),
    the highest where boxes overlap. Boxes are clipped to `shape` (H, W) and take every
    pixel they touch; empty slots (score <= 0), empty or non-finite boxes are skipped."""
    height, width = shape
    boxes = np.asarray(boxes, np.float64).reshape(len(scores), -1, 4)
    scores = np.asarray(scores, np.float64).reshape(len(scores), -1)
    painted = np.zeros((len(scores), height, width, 1), np.float32)
    for plane, image_boxes, image_scores in zip(painted, boxes, scores, strict=True):
        for (x0, y0, x1, y1), score in zip(image_boxes, image_scores, strict=True):
            if not (np.isfinite([x0, y0, x1, y1, score]).all() and score > 0):
                continue
            left, top = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
            right, bottom = min(int(np.ceil(x1)), width), min(int(np.ceil(y1)), height)
            if right > left and bottom > top:
                area = plane[top:bottom, left:right]
                np.maximum(area, min(float(score), 1.0), out=area)
    return painted
