"""The watermark-likeness factors, with numbers: places, repeats, one overlay colour, varied
backgrounds, and their bounded combination."""

import numpy as np
import pytest

from lama_serve.detect.likeness import (
    LIKENESS_FLOOR,
    background_variation,
    overlay_polarity,
    position_prior,
    repetition,
    watermark_likeness,
)


def test_position_prior_favours_corners_centre_and_diagonal():
    shape = (1000, 1000)
    corner = position_prior(np.array([900, 920, 80, 40]), shape)
    centre = position_prior(np.array([450, 480, 100, 40]), shape)
    edge_middle = position_prior(np.array([0, 480, 60, 40]), shape)  # middle of the left edge
    assert corner > 0.7 and centre > 0.9 and edge_middle < 0.5


def test_position_prior_favours_lines_along_the_top_and_bottom_edges():
    shape = (1000, 1000)
    bottom_line = position_prior(np.array([250, 930, 400, 40]), shape)  # centred: no corner, no diagonal
    assert bottom_line == pytest.approx(1.0)
    assert position_prior(np.array([250, 20, 400, 40]), shape) == 1.0  # along the top
    assert position_prior(np.array([430, 850, 40, 140]), shape) < 0.5  # upright there: not a line
    assert position_prior(np.array([250, 780, 400, 40]), shape) < 0.5  # a fifth of the way up


def test_repetition_counts_same_sized_regions():
    boxes = np.array([[0, 0, 100, 20], [200, 0, 104, 21], [400, 0, 98, 20], [0, 500, 30, 200]])
    np.testing.assert_allclose(repetition(boxes), [1.0, 1.0, 1.0, 0.0])
    assert repetition(boxes[:1]).tolist() == [0.0]


def test_overlay_polarity_and_background_variation():
    ramp = np.tile(np.linspace(20, 230, 200, dtype=np.float32), (20, 1))
    strokes = np.zeros_like(ramp)
    strokes[8:12, ::2] = 40  # bright strokes everywhere along the ramp
    box = np.array([0, 0, 200, 20])
    assert overlay_polarity(strokes - 5, box) == 1.0
    mixed = strokes.copy()
    mixed[:, 100:] *= -1  # dark strokes on the right half: not one overlay
    assert overlay_polarity(mixed, box) == 0.0
    assert background_variation(ramp, box) == 1.0
    assert background_variation(np.full_like(ramp, 128), box) == 0.0


def test_likeness_is_bounded():
    assert watermark_likeness(0, 0, 0, 0) == LIKENESS_FLOOR
    assert watermark_likeness(1, 1, 1, 1) == 1.0
