"""A segmenter's spilled mask is cut back to the pixels the mark changed."""

from __future__ import annotations

import numpy as np

from lama_serve.detect.edges import local_background, trim_to_changed, with_changed_rim
from lama_serve.detect.masks import grow_mask
from lama_serve.detect.metrics import iou, recall
from tests.detect.images import blend, photo, place, text_alpha


def test_local_background_averages_only_the_outside():
    image = np.zeros((9, 9, 3), np.float32)
    image[:, :4] = 30.0  # outside pixels: 30 on the left
    image[:, 4:] = 200.0  # the (masked) rest
    outside = np.zeros((9, 9), bool)
    outside[:, :4] = True
    background, known = local_background(image, outside, radius=2)
    assert np.allclose(background[known], 30.0)
    assert known[:, :6].all() and not known[:, 6:].any()  # no outside pixel within 2 px there


def smooth_photo(height: int, width: int) -> np.ndarray:
    """A sky-like background: a colour gradient plus sensor noise (std 2 levels)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(60, 160, width, dtype=np.float32)[None, :, None] * np.array([1.0, 0.9, 0.7], np.float32)
    noisy = np.broadcast_to(ramp, (height, width, 3)) + rng.normal(0, 2, (height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def test_spill_is_cut_and_the_mark_kept():
    alpha = text_alpha("Northlight Pictures", 40, 0.5)
    truth = place((256, 512), alpha, 20, 100)
    image = blend(smooth_photo(256, 512), (255, 255, 255), alpha, 20, 100)
    spilled = grow_mask(np.where(truth, 255, 0).astype(np.uint8), 3)  # a half-resolution map's rim
    trimmed = trim_to_changed(image, spilled, radius=16, levels=6.0)
    assert iou(spilled, truth) < 0.45  # measured 0.37
    assert iou(trimmed, truth) >= 0.85 and recall(trimmed, truth) >= 0.97  # measured 0.95, 0.99
    assert not trimmed[spilled == 0].any()
    # Over a strongly textured photo the local mean is no background model: little is cut,
    # and nothing of the mark is lost.
    textured = blend(photo(3, 256, 512), (255, 255, 255), alpha, 20, 100)
    assert recall(trim_to_changed(textured, spilled, radius=16, levels=6.0), truth) >= 0.99


def test_inside_of_a_large_solid_mark_is_kept():
    image = np.full((64, 64, 3), 120, np.uint8)
    image[16:48, 16:48] = 121  # barely changed, but no background within the radius inside
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    trimmed = trim_to_changed(image, mask, radius=4, levels=6.0)
    assert trimmed[26:38, 26:38].all()  # > radius + margin from the outside: kept
    assert not trimmed[16:18, 18:46].any()  # the rim matches its background: cut
    assert not trim_to_changed(image, np.zeros_like(mask), radius=4, levels=6.0).any()


def test_the_trim_depends_only_on_the_window_around_the_mask():
    """Computed on the mask's box grown by the window: the same cut as on a crop of the image
    around the mark, at any place in a larger image (also touching its border)."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    for y, x in [(0, 0), (120, 200), (280, 370)]:
        mask = np.zeros((300, 400), np.uint8)
        mask[y : y + 20, x : x + 30] = 255
        whole = trim_to_changed(image, mask, radius=16, levels=6.0)
        top, left = max(y - 40, 0), max(x - 40, 0)
        crop = (slice(top, y + 60), slice(left, x + 70))
        assert np.array_equal(whole[crop], trim_to_changed(image[crop], mask[crop], radius=16, levels=6.0))
        assert not np.delete(whole, np.s_[top : y + 60], axis=0).any()


def test_the_changed_rim_joins_the_mask_and_the_photo_stays_out():
    """A flat photo (100) under a 10 px square mark (200) whose left edge is anti-aliased
    (150: 50 levels off the photo) and right edge barely (110): the mask of the square gains
    the left ring column only."""
    image = np.full((40, 40, 3), 100, np.uint8)
    image[15:25, 15:25] = 200
    image[15:25, 14] = 150
    image[15:25, 25] = 110
    mask = np.zeros((40, 40), np.uint8)
    mask[15:25, 15:25] = 255
    rimmed = with_changed_rim(image, mask, radius=8, levels=20.0)
    added = (rimmed > 0) & (mask == 0)
    assert set(zip(*np.nonzero(added))) == {(y, 14) for y in range(15, 25)}
    assert not with_changed_rim(image, np.zeros_like(mask)).any()
