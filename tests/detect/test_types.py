"""DetectionResult: a result found on a scaled copy, brought to the image's size."""

import numpy as np

from lama_serve.detect.types import DetectionResult, Region


def test_a_result_from_a_half_size_copy_doubles_its_mask_and_boxes():
    mask = np.zeros((2, 3), np.uint8)
    mask[0, 1] = 255
    found = DetectionResult(mask=mask, regions=(Region(1, 0, 1, 1, 0.9, "seg"),))
    big = found.resized((4, 6, 3))
    expected = np.zeros((4, 6), np.uint8)
    expected[0:2, 2:4] = 255
    assert big.mask.tolist() == expected.tolist()
    assert big.regions == (Region(2, 0, 2, 2, 0.9, "seg"),)
    assert found.resized((2, 3)) is found


def test_boxes_scaled_by_an_odd_factor_cover_their_area():
    """A 10 px image seen at 7 px: a box at 3..5 covers 3*10/7 = 4.29 .. 5*10/7 = 7.14 -> 4..8."""
    found = DetectionResult(mask=np.zeros((7, 7), np.uint8), regions=(Region(3, 3, 2, 2, 0.5, "t"),))
    (box,) = found.resized((10, 10)).regions
    assert (box.x, box.y, box.width, box.height) == (4, 4, 4, 4)
