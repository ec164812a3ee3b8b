"""detect.anchoring: regions away from a qualifying text mark need a sure score."""

import numpy as np

from lama_serve.detect import components
from lama_serve.detect.anchoring import MAX_AWAY, MIN_ANCHOR_PIXELS, anchor_of, anchored

KEEP = 0.8


def _regions(*boxes: tuple[int, int, int, int], shape=(100, 200)) -> tuple[np.ndarray, int]:
    mask = np.zeros(shape, bool)
    for x, y, w, h in boxes:
        mask[y : y + h, x : x + w] = True
    return components.label(mask)


def _line(x: int, y: int, w: int, h: int, shape=(100, 200)) -> np.ndarray:
    anchor = np.zeros(shape, np.uint8)
    anchor[y : y + h, x : x + w] = 255
    return anchor


def _label_at(labels: np.ndarray, x: int, y: int) -> int:
    return int(labels[y, x])


def test_a_stray_region_away_from_the_text_mark_needs_a_sure_score():
    labels, count = _regions((10, 10, 60, 12), (150, 60, 30, 30), (100, 80, 20, 10), (20, 60, 20, 20))
    mark, sure, stray, strong = (_label_at(labels, x, y) for x, y in ((10, 10), (150, 60), (100, 80), (20, 60)))
    scores = np.zeros(count + 1)
    scores[[mark, sure, stray, strong]] = 0.7, 0.85, 0.65, 0.75
    kept = scores >= 0.42
    result = anchored(labels, kept, scores, anchor_of(_line(12, 12, 56, 8)), KEEP)
    assert result[mark] and result[sure] and not result[stray]
    assert result[strong]  # under KEEP, but above the mark itself: no stray
    assert not result[0]


def test_no_qualifying_anchor_leaves_the_regions_alone():
    labels, _ = _regions((10, 10, 60, 12), (100, 80, 20, 10))
    scores = np.array([-np.inf, 0.7, 0.5])
    kept = scores >= 0.42
    assert np.array_equal(anchored(labels, kept, scores, None, KEEP), kept)
    few = _line(12, 12, 7, 7)  # 49 px: a stray letter of the photo's own lettering
    assert np.count_nonzero(few) < MIN_ANCHOR_PIXELS
    assert np.array_equal(anchored(labels, kept, scores, anchor_of(few), KEEP), kept)
    three_lines = _line(12, 12, 56, 3) | _line(12, 40, 56, 3) | _line(12, 60, 56, 3)
    assert np.array_equal(anchored(labels, kept, scores, anchor_of(three_lines), KEEP), kept)
    unseen = _line(120, 20, 60, 8)  # text the segmenter does not mark: no mark to anchor to
    assert np.array_equal(anchored(labels, kept, scores, anchor_of(unseen), KEEP), kept)


def _mark_and_tiles(tiles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A text mark's region (0.7) at the top and `tiles` copies (0.6) under it."""
    boxes = [(10 + 20 * (i % 9), 40 + 30 * (i // 9), 10, 8) for i in range(tiles)]
    labels, count = _regions((10, 5, 60, 12), *boxes)
    scores = np.r_[-np.inf, np.full(count, 0.6)]
    scores[_label_at(labels, 10, 5)] = 0.7
    return labels, scores >= 0.42, scores


def test_many_regions_away_from_the_text_are_a_tiled_mark_and_stay():
    labels, kept, scores = _mark_and_tiles(MAX_AWAY + 1)
    assert np.array_equal(anchored(labels, kept, scores, anchor_of(_line(12, 7, 56, 8)), KEEP), kept)
    labels, kept, scores = _mark_and_tiles(MAX_AWAY)
    assert anchored(labels, kept, scores, anchor_of(_line(12, 7, 56, 8)), KEEP).sum() == 1


def test_the_anchor_reaches_the_next_word_of_a_level_line():
    """The text model found one word (60 x 20 after LINE_GAP growth: x 22-81, y 12-31); the
    band of its line reaches one line height (20 px) past either end, so a word 15 px to the
    right is at the text, one 30 px away and anything off the line's rows are not."""
    near = anchor_of(_line(30, 20, 44, 4))
    assert near[20, 96] and near[20, 2 + 4]  # within 20 px of the ends, on the line's rows
    assert not near[20, 110] and not near[40, 60] and not near[5, 50]
    assert not anchor_of(_line(30, 10, 8, 40))[20, 60]  # an upright line gets no band
