"""Region boxes, window planning, extract/paste and strategy choice, checked with numbers.

Small images and small buckets (multiples of SPATIAL_MULTIPLE) keep every case fast; a
fake model stands in for LaMa: it fills the holes it is given and keeps the rest.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lama_serve.core.contract import SPATIAL_MULTIPLE
from lama_serve.gateway.inpaint import regions
from lama_serve.gateway.inpaint.mask import MaskField
from lama_serve.gateway.inpaint.regions import Box, mask_boxes, merge_boxes
from lama_serve.gateway.inpaint.tiling import (
    DEFAULT_BUCKETS,
    Window,
    bucket_shape,
    choose_strategy,
    extract,
    paste,
    plan,
    plan_windows,
    whole_window,
)

SMALL_BUCKETS = (16, 24, 32)


def blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width), np.uint8)


def reference_boxes(mask: np.ndarray, threshold: int = 0) -> list[Box]:
    """8-connected components by breadth-first search, one pixel at a time."""
    holes, seen, boxes = mask > threshold, np.zeros(mask.shape, bool), []
    height, width = mask.shape
    for start in zip(*np.nonzero(holes)):
        if seen[start]:
            continue
        seen[start], queue, pixels = True, deque([start]), []
        while queue:
            y, x = queue.popleft()
            pixels.append((y, x))
            for ny in range(max(y - 1, 0), min(y + 2, height)):
                for nx in range(max(x - 1, 0), min(x + 2, width)):
                    if holes[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        ys, xs = zip(*pixels)
        boxes.append(Box(min(ys), min(xs), max(ys) + 1, max(xs) + 1))
    return sorted(boxes)


def fake_model(image_tile: np.ndarray, mask_tile: np.ndarray) -> np.ndarray:
    """LaMa's contract: holes get new values (here 255), other pixels come back unchanged."""
    return np.where(mask_tile[..., None] > 0, 255, image_tile).astype(np.uint8)


def run_windows(image: np.ndarray, mask: np.ndarray, windows: list[Window], threshold: int = 0) -> np.ndarray:
    out = image.copy()
    for window in windows:
        tiles = extract(image, MaskField(mask, threshold), window)
        assert tiles[0].shape == (*window.shape, 3) and tiles[1].shape == window.shape
        paste(image, MaskField(mask, threshold), window, fake_model(*tiles), out=out)
    return out


def assert_windows_valid(image_hw: tuple[int, int], windows: list[Window], buckets: tuple[int, ...]) -> None:
    height, width = image_hw
    for window in windows:
        box, region = window.box, window.region
        assert 0 <= box.top < box.bottom <= height and 0 <= box.left < box.right <= width
        assert box.top <= region.top and region.bottom <= box.bottom
        assert box.left <= region.left and region.right <= box.right
        assert window.shape == bucket_shape(*window.size, buckets)
        assert window.pad[0] >= 0 and window.pad[1] >= 0
        assert all(side % SPATIAL_MULTIPLE == 0 for side in window.shape)


# --- boxes from masks ---------------------------------------------------------------


def test_empty_mask_has_no_boxes_and_no_windows() -> None:
    assert mask_boxes(blank(20, 30) > 0) == []
    assert plan_windows((20, 30), blank(20, 30) > 0, margin=4) == []
    assert plan("crop", (20, 30), MaskField(blank(20, 30))) == []


def test_single_blob_and_threshold() -> None:
    mask = blank(20, 30)
    mask[3:7, 10:25] = 255
    mask[15, 2] = 100  # at or below the threshold: kept
    assert mask_boxes(mask > 100) == [Box(3, 10, 7, 25)]
    assert mask_boxes(mask > 0) == [Box(3, 10, 7, 25), Box(15, 2, 16, 3)]


def test_diagonal_touch_joins_but_a_gap_separates() -> None:
    mask = blank(10, 10)
    mask[1:3, 1:3] = 255
    mask[3, 3] = 255  # corner to corner: 8-connected
    mask[1, 5] = 255  # one empty column away: separate
    mask[[5, 6, 7], [9, 8, 7]] = 255  # the other diagonal
    assert mask_boxes(mask > 0) == [Box(1, 1, 4, 4), Box(1, 5, 2, 6), Box(5, 7, 8, 10)]


def test_nested_regions_are_boxed_apart_then_merged() -> None:
    mask = blank(12, 12)
    mask[1:11, 1:11] = 255
    mask[2:10, 2:10] = 0  # a ring ...
    mask[5, 5] = 255  # ... around a dot
    assert mask_boxes(mask > 0) == [Box(1, 1, 11, 11), Box(5, 5, 6, 6)]
    assert merge_boxes(mask_boxes(mask > 0), margin=0) == [Box(1, 1, 11, 11)]


def test_regions_at_the_image_borders() -> None:
    mask = blank(9, 11)
    mask[0, 0] = mask[8, 10] = mask[0, 10] = mask[8, 0] = 255
    mask[4, :] = 255  # a full-width row
    assert mask_boxes(mask > 0) == [
        Box(0, 0, 1, 1),
        Box(0, 10, 1, 11),
        Box(4, 0, 5, 11),
        Box(8, 0, 9, 1),
        Box(8, 10, 9, 11),
    ]


def test_fifty_dots() -> None:
    mask = blank(50, 100)
    ys, xs = np.meshgrid(np.arange(2, 50, 10), np.arange(3, 100, 10), indexing="ij")
    mask[ys, xs] = 255
    boxes = mask_boxes(mask > 0)
    assert len(boxes) == 50 and boxes == sorted(Box(y, x, y + 1, x + 1) for y, x in zip(ys.flat, xs.flat))
    assert merge_boxes(boxes, margin=4) == boxes  # gaps of 9 > 2 * 4
    assert merge_boxes(boxes, margin=5) == [Box(2, 3, 43, 94)]  # grown boxes touch


def test_merge_repeats_until_stable() -> None:
    # With margin 1, a and b touch at a corner; only their union reaches c.
    a, b, c = Box(0, 0, 2, 2), Box(4, 4, 6, 6), Box(0, 5, 1, 6)
    assert merge_boxes([a, b, c], margin=0) == [a, c, b]
    assert merge_boxes([a, b, c], margin=1) == [Box(0, 0, 6, 6)]
    touching = [Box(0, 0, 2, 2), Box(2, 2, 4, 4)]
    assert merge_boxes(touching, margin=0) == [Box(0, 0, 4, 4)]


def test_too_fragmented_masks_become_one_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mask = blank(20, 20)
    mask[2:18:4, 3:19:4] = 255  # 16 dots, 16 runs
    monkeypatch.setattr(regions, "MAX_RUNS", 15)
    assert mask_boxes(mask > 0) == [Box(2, 3, 15, 16)]
    monkeypatch.setattr(regions, "MAX_RUNS", 16)
    monkeypatch.setattr(regions, "MAX_REGIONS", 15)
    assert len(mask_boxes(mask > 0)) == 16
    assert merge_boxes(mask_boxes(mask > 0), margin=0) == [Box(2, 3, 15, 16)]


@settings(max_examples=80, deadline=None, database=None)
@given(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 24), st.integers(1, 24)),
        elements=st.sampled_from([0] * 4 + [90, 255]),
    )
)
def test_boxes_match_a_flood_fill(mask: np.ndarray) -> None:
    assert mask_boxes(mask > 0) == reference_boxes(mask)
    assert mask_boxes(mask > 90) == reference_boxes(mask, threshold=90)


# --- buckets and windows --------------------------------------------------------------


def test_bucket_shape() -> None:
    assert bucket_shape(500, 300) == (512, 512)
    assert bucket_shape(513, 1024) == (768, 1024)
    assert bucket_shape(1, 1) == (512, 512)
    # Past the biggest bucket: only the spatial multiple.
    assert bucket_shape(1025, 10) == (1032, 16)
    assert bucket_shape(30, 17, SMALL_BUCKETS) == (32, 24)
    # Never below the model's MIN_SIDE (16), whatever the buckets.
    assert bucket_shape(5, 30, (8,)) == (16, 32)
    with pytest.raises(ValueError, match="multiples"):
        bucket_shape(10, 10, (10, 20))


def test_small_logo_on_a_large_image_gets_one_small_window() -> None:
    mask = blank(4096, 4096)
    mask[3000:3200, 100:400] = 255
    [window] = plan_windows(mask.shape, mask > 0, margin=64)
    assert window.region == Box(3000, 100, 3200, 400)
    # Rows centred on the region; columns shifted inside the image, not shrunk.
    assert window.box == Box(2844, 0, 3356, 512)
    assert window.shape == window.size == (512, 512)
    assert window.pad == (0, 0) and window.scale == 1.0
    [bigger] = plan_windows(mask.shape, mask > 0, margin=128)  # 300 + 2 * 128 > 512
    assert bigger.shape == (768, 768)


def test_window_in_an_image_smaller_than_the_bucket_is_padded() -> None:
    image_hw = (300, 2000)
    mask = blank(*image_hw)
    mask[100:120, 1990:2000] = 255
    [window] = plan_windows(image_hw, mask > 0, margin=32)
    assert window.box == Box(0, 1488, 300, 2000)  # whole height, right edge
    assert window.size == (300, 512) and window.shape == (512, 512)
    assert window.pad == (212, 0)
    image = np.random.default_rng(0).integers(0, 256, (*image_hw, 3), dtype=np.uint8)
    tile, holes = extract(image, MaskField(mask), window)
    crop = image[0:300, 1488:2000]
    assert np.array_equal(tile[:300], crop)
    # Mirrored below, edge row repeated (LaMa's training padding).
    assert np.array_equal(tile[300:], crop[::-1][:212])
    assert holes.shape == (512, 512) and set(np.unique(holes)) == {0, 255}


def test_region_larger_than_the_biggest_bucket_falls_back_to_resize() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 200, (100, 90, 3), dtype=np.uint8)
    mask = blank(100, 90)
    mask[10:70, 20:40] = 255
    mask[40, 10:80] = 255  # a one-pixel stroke must survive the downscale
    [window] = plan_windows((100, 90), mask > 0, margin=4, buckets=SMALL_BUCKETS)
    assert window.region == Box(10, 10, 70, 80)
    # Region + margin (78 px), squared around the region.
    assert window.box == Box(1, 6, 79, 84)
    assert window.size == (32, 32) and window.shape == (32, 32)
    assert window.scale == pytest.approx(32 / 78)
    _, holes = extract(image, MaskField(mask), window)
    stroke_row = int((40 - 1) * 32 / 78)
    assert (holes[stroke_row] == 255).sum() >= 20  # the stroke is still a hole
    constant = np.full((*window.shape, 3), 123, np.uint8)
    out = paste(image, MaskField(mask), window, constant)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert (out[mask > 0] == 123).all()


def test_paste_is_exact_outside_the_mask_with_overlapping_windows() -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
    mask = blank(64, 80)
    mask[5:9, 24:28] = 255  # its window overlaps the next one's, which holds part of it
    mask[20:23, 30:50] = 180
    mask[50:60, 60:75] = 255
    mask[30, 10] = 40  # soft, below the threshold used below
    windows = plan_windows(mask.shape, mask > 50, margin=3, buckets=SMALL_BUCKETS)
    assert len(windows) == 3
    assert_windows_valid(mask.shape, windows, SMALL_BUCKETS)
    boxes = [w.box for w in windows]
    assert any(
        max(a.top, b.top) < min(a.bottom, b.bottom) and max(a.left, b.left) < min(a.right, b.right)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    ), "the case needs overlapping windows"
    out = run_windows(image, mask, windows, threshold=50)
    keep = mask <= 50
    assert np.abs(out[keep].astype(int) - image[keep]).max() == 0
    assert (out[~keep] == 255).all()


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 72), st.integers(1, 72)),
        elements=st.sampled_from([0] * 12 + [255]),
    ),
    st.integers(0, 12),
)
def test_planned_windows_cover_every_hole_and_nothing_else(mask: np.ndarray, margin: int) -> None:
    image = np.random.default_rng(mask.size).integers(0, 255, (*mask.shape, 3), dtype=np.uint8)
    windows = plan_windows(mask.shape, mask > 0, margin=margin, buckets=SMALL_BUCKETS)
    assert_windows_valid(mask.shape, windows, SMALL_BUCKETS)
    owners = np.zeros(mask.shape, int)
    for window in windows:
        owners[window.region.slices] += 1
    assert (owners[mask > 0] == 1).all()  # each hole belongs to exactly one region
    out = run_windows(image, mask, windows)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    if all(w.scale == 1.0 for w in windows):
        assert (out[mask > 0] == 255).all()


# --- strategies -------------------------------------------------------------------------


def test_choose_strategy() -> None:
    assert choose_strategy(None, (2000, 800), trigger=1024) == "crop"
    assert choose_strategy(None, (1024, 1024), trigger=1024) == "original"
    for name in ("original", "crop", "resize"):
        assert choose_strategy(name, (100, 100), trigger=1024) == name
    with pytest.raises(ValueError, match="unknown strategy"):
        choose_strategy("tile", (100, 100), trigger=1024)


def test_whole_image_windows() -> None:
    assert whole_window((500, 300), None, DEFAULT_BUCKETS) == Window(
        Box(0, 0, 500, 300), Box(0, 0, 500, 300), (500, 300), (512, 512)
    )
    resized = whole_window((4096, 3000), 2048, DEFAULT_BUCKETS)
    assert resized.size == (2048, 1500) and resized.shape == (2048, 1504)
    assert resized.scale == 0.5
    small = whole_window((1000, 800), 2048, DEFAULT_BUCKETS)
    assert small.size == (1000, 800)  # never upscaled


def test_plan_dispatches_on_strategy() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 200, (40, 30, 3), dtype=np.uint8)
    mask = blank(40, 30)
    mask[10:20, 5:9] = 255
    [original] = plan("original", mask.shape, MaskField(mask), buckets=SMALL_BUCKETS)
    assert original.box == original.region == Box(0, 0, 40, 30) and original.shape == (
        40,
        32,
    )
    [resized] = plan("resize", mask.shape, MaskField(mask), resize_limit=20, buckets=SMALL_BUCKETS)
    assert resized.size == (20, 15) and resized.shape == (24, 16)
    [crop] = plan("crop", mask.shape, MaskField(mask), margin=2, buckets=SMALL_BUCKETS)
    assert crop.shape == (16, 16)
    for window in (original, resized, crop):
        out = run_windows(image, mask, [window])
        assert np.array_equal(out[mask == 0], image[mask == 0])


def test_crop_gives_way_to_the_whole_image_when_tiles_cost_more() -> None:
    mask = blank(64, 64)
    mask[8, 8] = mask[8, 56] = mask[56, 8] = mask[56, 56] = 255
    windows = plan("crop", mask.shape, MaskField(mask), margin=2, buckets=(16, 64))
    assert [w.shape for w in windows] == [(16, 16)] * 4  # 4 * 16**2 < 64**2
    mask[8::16, 8::16] = 255  # 16 dots: 16 * 16**2 tile pixels, as many as the image
    [whole] = plan("crop", mask.shape, MaskField(mask), margin=2, buckets=(16, 64))
    assert whole.box == whole.region == Box(0, 0, 64, 64) and whole.shape == (64, 64)
