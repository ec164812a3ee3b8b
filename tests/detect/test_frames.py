"""Items of different sizes put at one anchor of a shared canvas."""

from __future__ import annotations

import numpy as np
import pytest

from lama_serve.detect.frames import ANCHORS, Frame

SHAPES = ((4, 6), (6, 5), (5, 8))


def test_offsets_at_each_anchor():
    frame = Frame.of([np.zeros(s) for s in SHAPES], "bottom-right")
    assert frame.size == (6, 8)
    assert [frame.offset(s) for s in SHAPES] == [(2, 2), (0, 3), (1, 0)]
    assert Frame(ANCHORS[0], SHAPES).offset((4, 6)) == (0, 0)
    assert Frame("centre", SHAPES).offset((4, 6)) == (1, 1)
    assert Frame("top-right", SHAPES).offset((6, 5)) == (0, 3)


@pytest.mark.parametrize("anchor", ANCHORS)
def test_put_then_take_gives_the_plane_back_and_cut_is_the_part_every_item_covers(anchor: str):
    planes = [np.arange(h * w).reshape(h, w) + 1 for h, w in SHAPES]
    frame = Frame.of(planes, anchor)
    for plane in planes:
        canvas = frame.put(plane)
        assert canvas.shape == frame.size and canvas.sum() == plane.sum()
        np.testing.assert_array_equal(frame.take(canvas, plane.shape), plane)
    covered = np.sum([frame.put(np.ones_like(p, bool)) for p in planes], axis=0)
    rows, columns = frame.common()
    everywhere = covered == len(planes)
    assert everywhere[rows, columns].all() and everywhere.sum() == everywhere[rows, columns].size
    cuts = [frame.cut(p) for p in planes]
    assert {c.shape for c in cuts} == {(rows.stop - rows.start, columns.stop - columns.start)}
    for plane, cut in zip(planes, cuts):  # the cut is the plane's part at the common place of the canvas
        np.testing.assert_array_equal(frame.put(plane)[rows, columns], cut)


def test_same_size_items_fill_the_canvas():
    planes = [np.ones((3, 4))] * 2
    frame = Frame.of(planes, "centre")
    assert frame.offset((3, 4)) == (0, 0) and frame.common() == (slice(0, 3), slice(0, 4))


def test_a_box_reaches_beyond_only_the_sides_past_which_some_item_lies():
    frame = Frame.of([np.zeros(s) for s in SHAPES], "bottom-right")  # common part: rows 2-5, columns 3-7
    shape = (4, 5)
    assert frame.reaches_beyond((slice(0, 2), slice(1, 3)), shape)  # the taller items go on above it
    assert frame.reaches_beyond((slice(1, 3), slice(0, 2)), shape)  # the wider ones to its left
    assert not frame.reaches_beyond((slice(1, 4), slice(1, 5)), shape)  # below and right: the canvas ends
    same = Frame.of([np.zeros((4, 6))] * 2, "centre")
    assert not same.reaches_beyond((slice(0, 4), slice(0, 6)), (4, 6))
