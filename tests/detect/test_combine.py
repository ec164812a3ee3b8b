import numpy as np
import pytest

from lama_serve.detect.combine import as_areas, combine_maps, combine_results, merged_regions, removed_regions
from lama_serve.detect.types import DetectionResult, Region


def test_each_map_has_its_threshold_and_weight():
    text = np.array([[0.2, 0.4], [0.0, 0.0]])
    seg = np.array([[0.0, 0.0], [0.7, 0.9]])[..., None]  # [H, W, 1] like a served map
    mask = combine_maps({"text": text, "seg": seg}, {"text": 0.3, "seg": 0.5}, {"seg": 0.6})
    assert mask.tolist() == [[0, 255], [0, 255]]  # seg 0.7*0.6 = 0.42 < 0.5


def test_combine_maps_needs_a_map():
    with pytest.raises(ValueError):
        combine_maps({}, {})


def test_results_union_masks_and_sort_regions():
    a = np.zeros((4, 4), np.uint8)
    a[0, 0] = 255
    b = np.zeros((4, 4), np.uint8)
    b[3, 3] = 255
    restored = np.ones((4, 4, 3), np.uint8)
    low, high = Region(0, 0, 1, 1, 0.3, "tiled"), Region(3, 3, 1, 1, 0.9, "template:x")
    merged = combine_results([DetectionResult(a, (low,)), DetectionResult(b, (high,), restored)], (4, 4, 3))
    assert np.count_nonzero(merged.mask) == 2 and merged.coverage == 2 / 16
    assert merged.regions == (high, low) and merged.restored is restored
    assert high.as_dict() == {"x": 3, "y": 3, "width": 1, "height": 1, "score": 0.9, "kind": "template:x"}


def test_removed_regions_are_the_masked_or_unblended_ones():
    image = np.zeros((10, 20, 3), np.uint8)
    mask = np.zeros((10, 20), np.uint8)
    mask[1:3, 1:3] = 255
    restored = image.copy()
    restored[5, 15] = 9  # un-blended pixel
    regions = (
        Region(0, 0, 4, 4, 0.9, "text"),
        Region(14, 4, 3, 3, 0.8, "template:a"),
        Region(6, 6, 3, 3, 0.2, "text"),
    )  # a low-score candidate left alone
    removed = removed_regions(DetectionResult(mask, regions, restored), image)
    assert [r.kind for r in removed] == ["text", "template:a"]
    assert removed_regions(DetectionResult(mask, regions), image) == regions[:1]


def test_pieces_of_one_line_are_one_area_and_apart_marks_stay_apart():
    glyphs = [Region(100 + 30 * i, 50, 24, 20, 0.5 + 0.1 * i, "watermark_seg") for i in range(3)]  # 6 px gaps
    line = Region(98, 54, 90, 12, 0.7, "watermark_text")  # the text model's box over them
    far = Region(300, 200, 20, 20, 0.95, "tiled")  # 112 px right of the line: another mark
    merged = merged_regions([*glyphs, line, far])
    assert sorted((r.x, r.y, r.width, r.height, r.score, r.kind) for r in merged) == [
        (98, 50, 90, 20, 0.7, "watermark_seg"),  # 0.7: the best piece's score and kind (the first one)
        (300, 200, 20, 20, 0.95, "tiled"),
    ]
    assert merged_regions(glyphs[:1]) == glyphs[:1] and merged_regions([]) == []


def test_link_is_a_share_of_the_smaller_short_side():
    a, b = Region(0, 0, 40, 20, 0.9, "x"), Region(50, 0, 40, 20, 0.8, "x")  # gap 10 = 0.5 x 20
    assert len(merged_regions([a, b])) == 1
    assert len(merged_regions([a, b], link=0.45)) == 2
    chain = [Region(25 * i, 0, 20, 20, 0.5, "x") for i in range(4)]  # each 5 px from the next
    assert len(merged_regions([chain[0], chain[3], chain[1], chain[2]])) == 1  # linked through the others


def test_areas_keep_masked_pieces_and_left_alone_candidates_apart():
    image = np.zeros((40, 80, 3), np.uint8)
    mask = np.zeros((40, 80), np.uint8)
    mask[10:20, 10:30] = 255
    masked = Region(10, 10, 10, 10, 0.9, "watermark_seg"), Region(22, 10, 8, 10, 0.8, "watermark_seg")
    candidate = Region(32, 10, 10, 10, 0.2, "watermark_text")  # a sign's text next to them, left alone
    areas = as_areas(DetectionResult(mask, (*masked, candidate)), image)
    assert [(r.x, r.width, r.score) for r in areas.regions] == [(10, 20, 0.9), (32, 10, 0.2)]
    assert areas.mask is mask and removed_regions(areas, image) == areas.regions[:1]
