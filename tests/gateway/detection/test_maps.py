"""The pure helpers around a served detector: fit, pad, crop and scale back, with numbers."""

import numpy as np

from lama_serve.gateway.detection.maps import fit_side, map_of, model_input, pad_to_multiple, resize_map


def test_pad_to_multiple_mirrors_the_image():
    image = np.arange(2 * 3, dtype=np.uint8).reshape(2, 3)[..., None].repeat(3, axis=2)  # [[0 1 2] [3 4 5]]
    padded = pad_to_multiple(image, 4)
    assert padded.shape == (4, 4, 3)
    assert padded[:, :, 0].tolist() == [[0, 1, 2, 1], [3, 4, 5, 4], [0, 1, 2, 1], [3, 4, 5, 4]]
    assert pad_to_multiple(np.zeros((1, 1, 3), np.uint8), 4).shape == (4, 4, 3)  # one pixel mirrors to itself
    assert pad_to_multiple(np.zeros((32, 64, 3), np.uint8)).shape == (32, 64, 3)


def test_fit_side_bounds_the_longest_side_and_leaves_small_images():
    image = np.zeros((300, 1200, 3), np.uint8)
    assert fit_side(image, 600).shape == (150, 600, 3)
    assert fit_side(image, 2000) is image


def test_model_input_and_map_of_round_trip_to_the_image_size():
    image = np.zeros((50, 2000, 3), np.uint8)
    batch, valid = model_input(image, 1000)
    assert batch.shape == (1, 32, 1024, 3) and valid == (25, 1000)
    output = np.zeros((1, 32, 1024, 1), np.float32)
    output[0, :25, :500] = 1.0  # left half of the valid part
    full = map_of(output, valid, (50, 2000))
    assert full.shape == (50, 2000, 1)
    assert full[:, :990].min() == 1.0 and full[:, 1010:].max() == 0.0


def test_resize_map_keeps_a_same_size_map():
    plane = np.random.default_rng(0).random((7, 9)).astype(np.float32)
    np.testing.assert_array_equal(resize_map(plane, (7, 9))[..., 0], plane)
