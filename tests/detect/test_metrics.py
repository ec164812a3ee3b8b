import numpy as np
import pytest

from lama_serve.detect.metrics import false_positive_area, iou, precision, recall


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
