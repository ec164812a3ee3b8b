"""The committed watermark segmenter on held-out composites (photos, fonts and strings it
never saw): pixel recall, IoU and precision per kind, printed; a loose sanity bar only."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from lama_serve.core.contract import PROBABILITY_MAP
from lama_serve.detect.synth import KINDS, make_composite
from lama_serve.export.detectors import SEG_WEIGHTS

(IMAGE,), (PROBABILITY,) = PROBABILITY_MAP.inputs, PROBABILITY_MAP.outputs
PER_KIND = 6
THRESHOLD = 0.5


def scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(recall, IoU, precision) of boolean masks pooled over a set; 1.0 where undefined."""
    hit = np.logical_and(predicted, truth).sum()
    union = np.logical_or(predicted, truth).sum()
    return (
        hit / truth.sum() if truth.any() else 1.0,
        hit / union if union else 1.0,
        hit / predicted.sum() if predicted.any() else 1.0,
    )


def test_scores_numbers() -> None:
    truth = np.array([1, 1, 1, 1, 0, 0], bool)
    predicted = np.array([1, 1, 0, 0, 1, 0], bool)
    assert scores(predicted, truth) == pytest.approx((0.5, 0.4, 2 / 3))


def test_heldout_recall_iou_precision_per_kind() -> None:
    session = ort.InferenceSession(str(SEG_WEIGHTS))
    rng = np.random.default_rng(2024)
    table = {}
    for kind in KINDS:
        items = [make_composite(rng, kind, "heldout", (256, 256)) for _ in range(PER_KIND)]
        (maps,) = session.run([PROBABILITY.name], {IMAGE.name: np.stack([c.image for c in items])})
        predicted, truth = maps[..., 0] > THRESHOLD, np.stack([c.mask for c in items])
        table[kind] = (*scores(predicted, truth), float(predicted.mean()))
    print(f"\nheld-out, {PER_KIND} composites/kind at 256x256, threshold {THRESHOLD}")
    print(f"{'kind':14} recall   IoU  precision  predicted-area")
    for kind, (recall, iou, precision, area) in table.items():
        print(f"{kind:14} {recall:6.3f} {iou:5.3f} {precision:10.3f} {area:15.4f}")
    marked = [kind for kind in KINDS if kind != "clean"]
    assert np.mean([table[k][0] for k in marked]) > 0.3, "the segmenter finds under 30% of mark pixels"
    assert table["clean"][3] < 0.05, "the segmenter marks over 5% of clean photos"
