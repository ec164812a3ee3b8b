import numpy as np
import pytest

from lama_serve.detect import filters
from lama_serve.detect.metrics import iou, recall
from lama_serve.detect.tiled import (
    TiledDetector,
    basis,
    cell_medians,
    fold,
    lattice_peaks,
)
from tests.detect.images import blend, photo, place, text_alpha

SIDE = 512


def _tiled(seed: int = 3):
    """Rotated `SAMPLE` at 35% on a staggered grid: rows 110 px apart, shifted by half a
    column (132 px) every other row, so the lattice is (110, +-66)."""
    alpha = text_alpha("SAMPLE", 28, 0.35, angle=30)
    image, truth = photo(seed, SIDE, SIDE), np.zeros((SIDE, SIDE), bool)
    h, w = alpha.shape
    for row, y in enumerate(range(0, SIDE - h, h + 40)):
        for x in range((row % 2) * (w + 30) // 2, SIDE - w, w + 30):
            image = blend(image, (255, 255, 255), alpha, x, y)
            truth |= place((SIDE, SIDE), alpha, x, y)
    return image, truth, (h + 40, w + 30)


def test_lattice_of_a_tiled_mark():
    image, _, (rows, cols) = _tiled()
    acf = filters.autocorrelation(filters.high_pass(filters.gray(image), 8))
    v1, v2 = basis(acf, lattice_peaks(acf))
    assert {v1, v2} == {(rows, cols // 2), (rows, -cols // 2)}


def test_tiled_mark_mask():
    image, truth, _ = _tiled()
    result = TiledDetector().detect(image)
    assert recall(result.mask, truth) >= 0.95
    assert iou(result.mask, truth) >= 0.6
    assert result.regions and all(r.kind == "tiled" for r in result.regions)


@pytest.mark.parametrize("seed", range(5))
def test_natural_photos_are_not_tiled(seed):
    assert TiledDetector().detect(photo(10 + seed, SIDE, SIDE)).coverage == 0.0


def test_smooth_gradient_and_noise_are_not_tiled():
    ramp = np.linspace(0, 255, SIDE)[None, :, None] * np.ones((SIDE, 1, 3))
    noise = np.random.default_rng(0).normal(0, 20, (SIDE, SIDE, 3))
    image = np.clip(ramp + noise, 0, 255).astype(np.uint8)
    assert TiledDetector().detect(image).coverage == 0.0


def test_fold_maps_lattice_translates_together():
    cells = fold((40, 50), (10, 5), (0, 12))
    assert cells[3, 4] == cells[13, 9] == cells[3, 16] and cells[3, 4] != cells[3, 5]


def test_cell_medians():
    values = np.array([[1.0, 5.0, 2.0, 7.0], [3.0, 9.0, 4.0, 8.0]])
    cells = np.array([[0, 1, 0, 1], [0, 1, 0, 1]])
    np.testing.assert_allclose(cell_medians(values, cells), [3.0, 8.0])


def test_dark_tiled_mark_is_found_too():
    alpha = text_alpha("SAMPLE", 28, 0.35, angle=30)
    image, dark_truth = photo(3, SIDE, SIDE), np.zeros((SIDE, SIDE), bool)
    h, w = alpha.shape
    for y in range(0, SIDE - h, h + 40):
        for x in range(0, SIDE - w, w + 30):
            image = blend(image, (0, 0, 0), alpha, x, y)
            dark_truth |= place((SIDE, SIDE), alpha, x, y)
    assert recall(TiledDetector().detect(image).mask, dark_truth) >= 0.9


def test_a_lattice_of_two_or_three_tiles_is_not_a_mark():
    """Two copies of one mark 256 px apart (cells of half the image): a median over 2 tiles
    keeps the photo, so nothing is reported."""
    alpha = text_alpha("SAMPLE", 28, 0.5)
    image = photo(4, SIDE, SIDE)
    for y in (60, 316):
        for x in (60, 316):
            image = blend(image, (255, 255, 255), alpha, x, y)
    assert TiledDetector().detect(image).coverage == 0.0


def test_a_lattice_covering_most_of_the_image_is_texture():
    """A fine checkerboard has a perfect lattice, but its 'mark' would be half the image."""
    ys, xs = np.indices((SIDE, SIDE))
    board = np.where((ys // 16 + xs // 16) % 2 == 0, 200, 50).astype(np.uint8)
    noisy = np.clip(board + np.random.default_rng(1).normal(0, 5, board.shape), 0, 255)
    image = np.repeat(noisy.astype(np.uint8)[..., None], 3, axis=2)
    assert TiledDetector().detect(image).coverage == 0.0
