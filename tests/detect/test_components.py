"""Per-component statistics, with numbers."""

from __future__ import annotations

import numpy as np

from lama_serve.detect import components


def test_areas_and_means_of_several_planes_in_one_pass() -> None:
    labels = np.array([[0, 1, 1], [2, 2, 2]])
    seen = np.array([[True, True, False], [True, True, True]])
    plane = np.array([[9.0, 0.2, 0.4], [0.5, 0.5, 0.8]])
    areas, covered, means = components.areas_and_means(labels, 2, seen, plane)
    assert areas.tolist() == [1, 2, 3]
    assert np.allclose(covered, [1.0, 0.5, 1.0]) and np.allclose(means, [9.0, 0.3, 0.6])
    assert components.areas_and_means(np.zeros((2, 2), int), 0)[0].tolist() == [4]
