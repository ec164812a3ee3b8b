"""bench.user_marks: habitual marks, labelled like the held-out composites."""

import numpy as np

from lama_serve.bench.detect_sets import labelled_set
from lama_serve.bench.user_marks import MIN_CONTRAST, user_marked_set


def test_user_marks_are_deterministic_labelled_and_visible():
    first, again = user_marked_set(6, 256, seed=2), user_marked_set(6, 256, seed=2)
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask) for a, b in zip(first, again))
    for c in first:
        assert c.kind in ("user_corner", "user_centre", "user_diagonal")
        assert c.image.shape == (256, 256, 3) and c.mask.any() and 0.3 <= c.alpha.max() <= 0.8
        under = c.alpha > 0
        contrast = np.abs(c.clean[under].astype(float) - c.mark[under].astype(float)).mean()
        assert contrast >= MIN_CONTRAST or not c.mark.any()  # black is the fallback colour


def test_the_labelled_set_appends_them_after_the_held_out_kinds():
    plain = labelled_set(1, 64, seed=3)
    both = labelled_set(1, 64, seed=3, user_marks=2)
    assert [c.kind for c in both[: len(plain)]] == [c.kind for c in plain]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(plain, both))
    assert [c.kind.startswith("user_") for c in both[len(plain) :]] == [True, True]


def test_user_marks_fit_a_photo_shape():
    for c in user_marked_set(8, (200, 300), seed=1):
        assert c.image.shape == (200, 300, 3) and c.mask.shape == (200, 300) and c.mask.any()
