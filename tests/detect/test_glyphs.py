"""A text line's grown box shrinks to its glyphs; compact regions stay whole."""

from __future__ import annotations

import numpy as np

from lama_serve.detect.glyphs import glyph_pixels, stroke_side
from lama_serve.detect.masks import grow_mask
from lama_serve.detect.metrics import iou, recall
from tests.detect.images import blend, photo, place, text_alpha


def test_stroke_side_follows_the_longer_tail():
    assert stroke_side(np.array([0.0] * 90 + [50.0] * 10)) == 1.0
    assert stroke_side(np.array([0.0] * 90 + [-50.0] * 10)) == -1.0


def test_line_box_shrinks_to_its_glyphs():
    alpha = text_alpha("Northlight Pictures", 40, 0.5)
    truth = place((256, 512), alpha, 20, 100)
    image = blend(photo(3, 256, 512), (255, 255, 255), alpha, 20, 100)
    ys, xs = np.nonzero(truth)
    box = np.zeros(truth.shape, np.uint8)
    box[ys.min() - 6 : ys.max() + 7, xs.min() - 6 : xs.max() + 7] = 255  # a grown text line
    glyphs = glyph_pixels(image, box, radius=8)
    assert iou(box, truth) < 0.25  # the whole grown line: 5x the mark's area
    assert iou(glyphs, truth) >= 0.45 and recall(glyphs, truth) >= 0.95  # measured 0.49, 1.0
    assert not glyphs[box == 0].any()


def test_compact_filled_region_is_kept_whole():
    image = photo(4)
    disc = np.zeros((256, 256), np.uint8)
    disc[100:140, 100:140] = 255
    np.testing.assert_array_equal(glyph_pixels(image, disc, radius=8), disc)
    assert not glyph_pixels(image, np.zeros_like(disc), radius=8).any()


def test_rotated_line_is_refined_though_its_box_is_square():
    line = np.eye(64, dtype=np.uint8) * 255
    region = grow_mask(line, 3)
    image = np.full((64, 64, 3), 100, np.uint8)
    image[line > 0] = 200
    refined = glyph_pixels(image, region, radius=4)
    assert np.count_nonzero(refined) < np.count_nonzero(region)
    assert recall(refined, line) == 1.0
