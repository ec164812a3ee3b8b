"""The detection bench's labelled data: reproducible from a seed, every kind, and batches of
different sizes that keep the shared mark at the same place from the corner."""

from __future__ import annotations

import numpy as np

from lama_serve.bench.detect_rows import shared_row
from lama_serve.bench.detect_sets import labelled_set, shared_set, shared_sets
from lama_serve.detect import synth


def test_labelled_set_is_deterministic_and_covers_every_kind() -> None:
    first, again = labelled_set(1, 64, seed=3), labelled_set(1, 64, seed=3)
    assert [c.kind for c in first] == list(synth.KINDS)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again))


def test_a_batch_of_different_sizes_keeps_the_mark_at_the_same_place_from_the_corner() -> None:
    same, mixed = shared_set(4, 96, seed=2, kind="logo"), shared_set(4, 96, seed=2, kind="logo", mixed_sizes=True)
    assert len({image.shape for image in mixed.images}) > 1
    for whole, cut, clean in zip(same.images, mixed.images, mixed.clean, strict=True):
        height, width = cut.shape[:2]
        assert np.array_equal(whole[-height:, -width:], cut) and clean.shape == cut.shape
    row = shared_row(mixed, [np.zeros(image.shape[:2], np.uint8) for image in mixed.images])
    assert row["kind"] == "shared logo over 4 images of different sizes"
    kinds = [(batch.kind, batch.mixed_sizes) for batch in shared_sets(3, 64, seed=0)]
    assert kinds == [("text_corner", False), ("text_corner", True), ("logo", False), ("logo", True)]
