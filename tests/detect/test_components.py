"""Connected components and their statistics, with numbers."""

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


def test_labels_are_8_connected():
    mask = np.zeros((6, 8), bool)
    mask[0, 0] = mask[1, 1] = True  # diagonal: one component
    mask[4:6, 5:8] = True
    labels, count = components.label(mask)
    assert count == 2 and labels[0, 0] == labels[1, 1] != labels[4, 5]
    boxes = sorted(map(tuple, components.boxes(labels, count)))
    assert boxes == [(0, 0, 2, 2), (5, 4, 3, 2)]


def test_empty_mask_has_no_labels():
    labels, count = components.label(np.zeros((3, 3), bool))
    assert count == 0 and not labels.any()


def test_a_small_mask_in_a_large_image_is_labelled_as_its_box_alone() -> None:
    mark = np.random.default_rng(5).random((20, 30)) > 0.6
    image = np.zeros((400, 500), bool)
    image[100:120, 200:230] = mark
    labels, count = components.label(image)
    alone, alone_count = components.label(mark)
    assert count == alone_count > 1
    assert np.array_equal(labels[100:120, 200:230], alone) and labels.sum() == alone.sum()
