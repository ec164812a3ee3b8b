"""Pixel scores of a predicted mask against ground truth (bench and tests share them).

Masks are anything where nonzero = watermark. Empty denominators give 1.0 when nothing was
to be found and nothing was found, so a clean image detected clean scores perfectly.
"""

from __future__ import annotations

import numpy as np


def _counts(predicted: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """(true positives, predicted pixels, true pixels)."""
    p, t = predicted > 0, truth > 0
    return int(np.count_nonzero(p & t)), int(np.count_nonzero(p)), int(np.count_nonzero(t))


def recall(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Share of watermark pixels found."""
    hit, _, true = _counts(predicted, truth)
    return hit / true if true else 1.0


def precision(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Share of predicted pixels that are watermark."""
    hit, pred, _ = _counts(predicted, truth)
    return hit / pred if pred else 1.0


def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of the two masks."""
    hit, pred, true = _counts(predicted, truth)
    union = pred + true - hit
    return hit / union if union else 1.0


def false_positive_area(predicted: np.ndarray) -> float:
    """Fraction of a clean image's pixels wrongly masked."""
    return float(np.count_nonzero(predicted)) / max(predicted.size, 1)
