import numpy as np
import pytest

from lama_serve.detect.metrics import false_positive_area, iou, precision, recall
from lama_serve.detect.synth import CLEARLY_VISIBLE, changed_mask


def test_scores_of_overlapping_masks():
    truth = np.zeros((10, 10), bool)
    truth[:, :4] = True  # 40 px
    predicted = np.zeros((10, 10), np.uint8)
    predicted[:, 2:6] = 255  # 40 px, 20 shared
    assert recall(predicted, truth) == 0.5
    assert precision(predicted, truth) == 0.5
    assert iou(predicted, truth) == pytest.approx(20 / 60)
    assert false_positive_area(predicted) == 0.4


def test_nothing_to_find_and_nothing_found_is_perfect():
    empty = np.zeros((3, 3), bool)
    assert recall(empty, empty) == precision(empty, empty) == iou(empty, empty) == 1.0
    assert false_positive_area(empty) == 0.0


def test_what_a_mask_leaves_of_a_marks_clear_changes():
    """`bench detect`'s left_visible: 1 - recall against the pixels changed by over CLEARLY_VISIBLE."""
    clean = np.full((4, 4, 3), 100, np.uint8)
    image = clean.copy()
    image[0, :2] = 140  # clearly changed
    image[1, :2] = 105  # changed by 5 levels: not clearly visible
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True
    assert 1 - recall(mask, changed_mask(clean, image, CLEARLY_VISIBLE)) == 0.5  # one of the two clear changes is left
    assert 1 - recall(mask, changed_mask(clean, clean, CLEARLY_VISIBLE)) == 0.0  # the mark changed nothing
