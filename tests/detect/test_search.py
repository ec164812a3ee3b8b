"""Coarse-to-fine NCC search: the same best position as the full search, at a fraction of it."""

from __future__ import annotations

import numpy as np
import pytest

from lama_serve.detect import filters, search


def test_shrunk_takes_block_means_and_drops_the_ragged_edge():
    plane = np.arange(30, dtype=np.float64).reshape(5, 6)
    np.testing.assert_allclose(search.shrunk(plane, 2), [[3.5, 5.5, 7.5], [15.5, 17.5, 19.5]])


def test_factor_halves_large_planes_while_the_template_keeps_its_shape(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(search, "FULL_SEARCH_PIXELS", 10_000)
    assert search.factor((100, 100), (40, 40)) == 1  # small enough: every position
    assert search.factor((400, 400), (128, 128)) == 4  # 160 000 / 16 fits
    assert search.factor((400, 400), (40, 64)) == 2  # at 4 its short side would be 10 px
    assert search.factor((400, 400), (30, 30)) == 1  # halved it would be 15 px


def test_peaks_are_the_best_positions_apart_from_each_other():
    score = np.zeros((20, 20))
    score[5, 5], score[5, 6], score[15, 12] = 0.9, 0.8, 0.7
    assert search.peaks(score, 2, (3, 3)) == [(5, 5), (15, 12)]  # (5, 6) is the same peak


def test_a_large_plane_gets_the_full_search_best_position_and_score(monkeypatch: pytest.MonkeyPatch):
    """A 48 x 80 px ring of edges put at (130, 210) in a 320 x 400 px textured plane: the
    search on the plane shrunk 2x, refined at full size, finds the full search's position and
    score; positions far from every candidate are -1."""
    monkeypatch.setattr(search, "FULL_SEARCH_PIXELS", 10_000)
    rng = np.random.default_rng(3)
    template = np.zeros((48, 80))
    template[4:44, 6:74] = 40.0
    template[10:38, 14:66] = 0.0
    plane = rng.normal(10, 4, (320, 400))
    plane[130:178, 210:290] += template
    support = np.ones(template.shape, bool)
    support[16:32, 22:58] = False  # the photo showing through the ring's middle does not count
    full = filters.ncc(plane, template, support)
    fast = search.ncc_scores(plane, template, support, also=[(3, 4)])
    assert search.factor(plane.shape, template.shape) == 2
    assert fast.shape == full.shape
    best = np.unravel_index(int(np.argmax(full)), full.shape)
    assert best == (130, 210) == np.unravel_index(int(np.argmax(fast)), fast.shape)
    assert fast[best] == pytest.approx(full[best])
    assert fast[3, 4] == pytest.approx(full[3, 4])  # `also`: computed exactly
    assert fast[200, 20] == -1.0
