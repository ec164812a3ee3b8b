"""Pixel scores of a predicted mask against ground truth (bench and tests share them).

Masks are anything where nonzero = watermark. Empty denominators give 1.0 when nothing was
to be found and nothing was found, so a clean image detected clean scores perfectly.
"""

from __future__ import annotations

import numpy as np

CLEARLY_VISIBLE = 10  # levels: a mark's change of a pixel that shows on most photos


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


def left_visible(mask: np.ndarray, clean: np.ndarray, image: np.ndarray, levels: int = CLEARLY_VISIBLE) -> float:
    """Share of the pixels a mark changed by more than `levels` (some channel of `image`
    against `clean`, uint8 HxWx3) that `mask` leaves out: what stays visible once the mask
    is inpainted (the rest of the photo is kept as it is); 0.0 when the mark changed none."""
    visible = np.abs(image.astype(np.int16) - clean.astype(np.int16)).max(axis=-1) > levels
    count = int(np.count_nonzero(visible))
    return int(np.count_nonzero(visible & ~(mask > 0))) / count if count else 0.0
