"""The segmenter's training data: low-contrast recolouring with exact labels, two-scale pool, crops."""

from __future__ import annotations

import numpy as np

from lama_serve.detect import synth
from lama_serve.export.segmenter_data import (
    CONTRAST_LEVELS,
    make_pool,
    recolour_low_contrast,
    sample_batch,
)


def _composite(level: int) -> synth.Composite:
    """A flat grey photo with a white square mark at opacity 0.5."""
    clean = np.full((32, 32, 3), level, np.uint8)
    alpha = np.zeros((32, 32), np.float32)
    alpha[8:24, 8:24] = 0.5
    mark = np.full_like(clean, 255)
    image = synth.blend(clean, mark, alpha)
    return synth.Composite(image, synth.changed_mask(clean, image), "logo", clean, alpha, mark)


def test_recolour_moves_the_mark_a_few_tens_of_levels_off_the_photo() -> None:
    for level, darker in ((30, False), (230, True), (128, None)):
        out = recolour_low_contrast(np.random.default_rng(level), _composite(level))
        change = out.image[16, 16].astype(int) - level
        assert CONTRAST_LEVELS[0] - 1 <= abs(change[0]) <= CONTRAST_LEVELS[1] + 1
        assert np.all(change == change[0])  # one grey colour
        if darker is not None:
            assert (change[0] < 0) == darker  # away from the end of the range it sits at
        assert out.mask.sum() == 16 * 16 and out.mask[8:24, 8:24].all()  # labels recomputed
        assert np.array_equal(out.alpha, _composite(level).alpha)


def test_recolour_leaves_clean_composites_alone() -> None:
    clean = synth.Composite(
        np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), bool), "clean", np.zeros((4, 4, 3), np.uint8), None, None
    )
    assert recolour_low_contrast(np.random.default_rng(0), clean) is clean


def test_pool_cycles_sides_and_kinds_and_crops_are_shaped() -> None:
    pool = make_pool(np.random.default_rng(0), 4, (64, 96), low_contrast=0.5)
    assert [image.shape for image, _ in pool] == [(64, 64, 3), (96, 96, 3)] * 2
    assert all(mask.shape == image.shape[:2] and mask.dtype == bool for image, mask in pool)
    images, masks = sample_batch(np.random.default_rng(1), pool, 3, 48)
    assert tuple(images.shape) == (3, 48, 48, 3) and str(images.dtype) == "torch.uint8"
    assert tuple(masks.shape) == (3, 1, 48, 48) and float(masks.max()) <= 1.0


class _Counting:
    """A numpy Generator that counts its `random()` draws."""

    def __init__(self, seed: int) -> None:
        self.rng, self.draws = np.random.default_rng(seed), 0

    def random(self, *args: object) -> object:
        self.draws += 1
        return self.rng.random(*args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.rng, name)


def test_a_jpeg_share_compresses_images_and_keeps_the_masks() -> None:
    plain = make_pool(np.random.default_rng(0), 1, (64,), low_contrast=0.0)
    compressed = make_pool(np.random.default_rng(0), 1, (64,), low_contrast=0.0, jpeg=1.0)
    assert np.array_equal(plain[0][1], compressed[0][1])  # labels: the mark's pixels, not the artefacts
    error = np.abs(plain[0][0].astype(int) - compressed[0][0]).mean()
    assert 0 < error < 10  # quality JPEG_QUALITY: lossy, not ruined


def test_without_a_jpeg_share_the_pool_is_drawn_as_before() -> None:
    """A recipe without the JPEG share (the committed weights' own) must draw the pool it drew
    before the share existed: no draw is made for it."""
    counts = []
    for jpeg in (0.0, 1e-12):
        rng = _Counting(0)
        make_pool(rng, 5, (64,), low_contrast=0.25, jpeg=jpeg)  # type: ignore[arg-type]
        counts.append(rng.draws)
    assert counts[1] - counts[0] == 5
