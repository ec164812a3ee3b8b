import numpy as np
import pytest

from lama_serve.detect.masks import (
    grow_mask,
    mask_from_alpha,
    parse_rectangles,
    rectangles_mask,
)
from lama_serve.detect.types import DetectionInputError


def test_grow_mask_dilates_a_point_into_a_square():
    mask = np.zeros((20, 20), np.uint8)
    mask[10, 10] = 255
    grown = grow_mask(mask, 3)
    ys, xs = np.nonzero(grown)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (7, 13, 7, 13)
    assert np.count_nonzero(grown) == 49


@pytest.mark.parametrize("radius", [1, 2, 5, 16, 64])
def test_grow_mask_matches_brute_force(radius):
    mask = (np.random.default_rng(radius).random((70, 90)) > 0.995).astype(np.uint8) * 255
    expected = np.zeros_like(mask)
    for y, x in zip(*np.nonzero(mask)):
        expected[max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1] = 255
    np.testing.assert_array_equal(grow_mask(mask, radius), expected)


def test_grow_mask_zero_is_a_copy():
    mask = np.eye(4, dtype=np.uint8)
    assert np.array_equal(grow_mask(mask, 0), mask) and grow_mask(mask, 0) is not mask


@pytest.mark.parametrize("pixels", [-1, 65, 2.5, True, "3"])
def test_grow_mask_rejects_out_of_range(pixels):
    with pytest.raises(DetectionInputError, match="grow_mask"):
        grow_mask(np.zeros((4, 4), np.uint8), pixels)


def test_alpha_transparent_pixels_are_the_mask():
    rgba = np.full((4, 5, 4), 255, np.uint8)
    rgba[1:3, 2:4, 3] = 0
    rgba[0, 0, 3] = 128
    mask = mask_from_alpha(rgba)
    assert np.count_nonzero(mask) == 5 and mask[1, 2] == 255 and mask[0, 0] == 255 and mask[3, 4] == 0


def test_alpha_needs_four_channels():
    with pytest.raises(DetectionInputError, match="RGBA"):
        mask_from_alpha(np.zeros((4, 4, 3), np.uint8))


def test_rectangles_as_lists_and_objects():
    rects = parse_rectangles('[[1, 2, 3, 4], {"x": 5, "y": 0, "width": 2, "height": 1}]', 10, 8)
    assert rects == [(1, 2, 3, 4), (5, 0, 2, 1)]
    mask = rectangles_mask(rects, 8, 10)
    assert np.count_nonzero(mask) == 12 + 2 and mask[2, 1] == 255 and mask[6, 4] == 0


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not valid JSON"),
        ("{}", "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ("[[1, 2, 3]]", r"\[x, y, width, height\]"),
        ('[[1, 2, "3", 4]]', "4 integers"),
        ('[{"x": 1, "y": 2, "width": 3}]', "4 integers"),
        ("[[-1, 0, 3, 3]]", ">= 0"),
        ("[[0, 0, 0, 3]]", "> 0"),
        ("[[8, 0, 3, 3]]", "x\\+width <= 10"),
        ("[[0, 7, 3, 3]]", "y\\+height <= 8"),
    ],
)
def test_bad_rectangles_say_what_to_fix(text, message):
    with pytest.raises(DetectionInputError, match=message):
        parse_rectangles(text, 10, 8)
