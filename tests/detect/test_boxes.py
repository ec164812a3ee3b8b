import numpy as np

from lama_serve.detect.boxes import box_map


def test_boxes_are_painted_with_their_scores_the_highest_on_top() -> None:
    boxes = np.array([[[1, 1, 3, 2], [2, 0, 4, 3], [0, 0, 0, 4]]], np.float32)  # the last one is empty
    painted = box_map(boxes, np.array([[0.9, 0.4, 1.0]], np.float32), (3, 5))
    assert painted.shape == (1, 3, 5, 1) and painted.dtype == np.float32
    np.testing.assert_allclose(
        painted[0, ..., 0],
        [[0, 0, 0.4, 0.4, 0], [0, 0.9, 0.9, 0.4, 0], [0, 0, 0.4, 0.4, 0]],
    )


def test_fractional_boxes_take_every_pixel_they_touch_and_are_clipped() -> None:
    painted = box_map(np.array([[[-3.5, 1.2, 1.1, 9.0]]]), np.array([[1.7]]), (4, 4))[0, ..., 0]
    assert painted.tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]  # score clipped to 1


def test_empty_slots_and_broken_boxes_paint_nothing() -> None:
    boxes = np.array([[[0, 0, 4, 4], [0, 0, 4, 4], [np.nan, 0, 4, 4], [3, 3, 1, 1], [9, 9, 12, 12]]])
    scores = np.array([[0.0, -1.0, 0.8, 0.8, 0.8]])
    assert not box_map(boxes, scores, (4, 4)).any()


def test_each_image_of_a_batch_keeps_its_own_boxes() -> None:
    boxes = np.array([[[0, 0, 1, 1]], [[1, 1, 2, 2]]], np.float32)
    painted = box_map(boxes, np.array([[0.5], [0.6]], np.float32), (2, 2))[..., 0]
    assert painted.tolist() == [[[0.5, 0], [0, 0]], [[0, 0], [0, np.float32(0.6)]]]


def test_a_model_that_found_nothing_gives_an_empty_map() -> None:
    assert box_map(np.zeros((2, 0, 4)), np.zeros((2, 0)), (8, 8)).shape == (2, 8, 8, 1)
