"""MaskField: the gray mask split once by the threshold into holes and blending alpha."""

from __future__ import annotations

import numpy as np

from lama_serve.gateway.inpaint.mask import MaskField


def test_holes_at_threshold() -> None:
    mask = np.array([0, 1, 127, 128, 255], np.uint8)
    np.testing.assert_array_equal(MaskField(mask, 0).holes, [False, True, True, True, True])
    np.testing.assert_array_equal(MaskField(mask, 127).holes, [False, False, False, True, True])


def test_alpha_is_the_gray_value_on_holes_only() -> None:
    field = MaskField(np.array([0, 64, 127, 128, 255], np.uint8), 127)
    np.testing.assert_allclose(field.alpha, [0, 0, 0, 128 / 255, 1.0])
    assert field.alpha.dtype == np.float32
    assert not field.empty and MaskField(np.full(4, 127, np.uint8), 127).empty


def test_views_are_computed_once() -> None:
    field = MaskField(np.array([[0, 255]], np.uint8))
    assert field.holes is field.holes and field.alpha is field.alpha
