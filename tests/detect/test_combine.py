import numpy as np
import pytest

from lama_serve.detect.combine import combine_maps, combine_results, removed_regions
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
