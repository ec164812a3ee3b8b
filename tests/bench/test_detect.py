"""`lama-serve bench detect`: its labelled set and scores, with numbers (no Triton)."""
import numpy as np

from lama_serve.bench.detect import restored_share, score
from lama_serve.bench.detect_set import Example, shared_group, templated, write_template


def _example(truth: np.ndarray, kind: str = "logo") -> Example:
    clean = np.zeros(truth.shape + (3,), np.uint8)
    return Example(kind, clean, truth, clean)


def test_scores_pool_pixels_per_kind():
    truth = np.zeros((4, 4), bool)
    truth[0, :2] = True
    predicted = np.zeros((4, 4), np.uint8)
    predicted[0, 1:3] = 255
    row = score("logo", [_example(truth)], [predicted])
    assert (row["recall"], row["precision"], row["iou"]) == (0.5, 0.5, 0.333)
    assert score("clean", [_example(np.zeros((4, 4), bool), "clean")], [predicted])["false_positive_area"] == 0.125


def test_restored_share_counts_mark_pixels_within_three_levels():
    truth = np.ones((1, 4), bool)
    restored = np.array([[[0] * 3, [3] * 3, [4] * 3, [0] * 3]], np.uint8)
    assert restored_share([_example(truth)], [restored]) == 0.75
    assert restored_share([_example(truth)], [None]) == 0.0


def test_template_and_shared_examples_carry_their_truth(tmp_path):
    rng = np.random.default_rng(0)
    rgb, alpha = write_template(rng, tmp_path, 96)
    assert (tmp_path / "bench_mark.png").is_file() and rgb.shape[:2] == alpha.shape
    for example in [*templated(rng, (rgb, alpha), 2, 96), *shared_group(rng, 3, 96)]:
        assert example.image.shape == (96, 96, 3) and example.truth.any()
        moved = np.abs(example.image.astype(int) - example.clean).max(axis=-1) > 3
        np.testing.assert_array_equal(moved, example.truth)
