"""serving.batching: validation messages and one model call per same-shape group."""

from __future__ import annotations

import numpy as np
import pytest

from lama_serve.backend.batching import RequestError, detector_check, infer_batched, validate
from lama_serve.core.contract import BOX_LIST, PROBABILITY_MAP


def pair(n: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n * 1000 + h + w)
    return (rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8), rng.integers(0, 2, (n, h, w, 1), dtype=np.uint8) * 255)


class RecordingModel:
    """Stands in for the ONNX session: inverts the image, records each call's shape."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        self.calls.append(images.shape)
        return 255 - images


@pytest.mark.parametrize(
    ("image", "mask", "message"),
    [
        (np.zeros((1, 8, 8, 3), np.float32), np.zeros((1, 8, 8, 1), np.uint8), "must be UINT8"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((1, 8, 8, 1), np.uint8), "shape [N,H,W,3]"),
        (np.zeros((1, 8, 8, 4), np.uint8), np.zeros((1, 8, 8, 1), np.uint8), "3 channel(s)"),
        (np.zeros((1, 8, 8, 3), np.uint8), np.zeros((1, 16, 8, 1), np.uint8), "share N, H and W"),
        (np.zeros((1, 60, 96, 3), np.uint8), np.zeros((1, 60, 96, 1), np.uint8), "e.g. 64x96"),
        (np.zeros((0, 8, 8, 3), np.uint8), np.zeros((0, 8, 8, 1), np.uint8), "empty input"),
        (np.zeros((1, 8, 64, 3), np.uint8), np.zeros((1, 8, 64, 1), np.uint8), "at least 16, got 8x64"),
    ],
)
def test_validate_rejects_with_a_fix(image: np.ndarray, mask: np.ndarray, message: str) -> None:
    with pytest.raises(RequestError) as info:
        validate(image, mask)
    assert message in str(info.value)


def test_same_shape_requests_run_as_one_call_and_split_back() -> None:
    requests = [pair(1, 16, 24), pair(2, 32, 32), pair(3, 16, 24)]
    model = RecordingModel()
    results = infer_batched(requests, model)
    assert sorted(model.calls) == [(2, 32, 32, 3), (4, 16, 24, 3)]
    for (image, _), result in zip(requests, results):
        np.testing.assert_array_equal(result, 255 - image)


def test_bad_request_fails_alone() -> None:
    bad = (np.zeros((1, 12, 16, 3), np.uint8), np.zeros((1, 12, 16, 1), np.uint8))
    requests = [pair(1, 16, 16), bad, pair(1, 16, 16)]
    results = infer_batched(requests, RecordingModel())
    assert isinstance(results[1], RequestError)
    assert all(isinstance(results[i], np.ndarray) for i in (0, 2))


def test_model_failure_fails_only_its_group() -> None:
    def fails_on_32(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        if images.shape[1] == 32:
            raise RuntimeError("out of memory")
        return images

    results = infer_batched([pair(1, 32, 32), pair(1, 16, 16)], fails_on_32)
    assert isinstance(results[0], RuntimeError)
    assert isinstance(results[1], np.ndarray)


def test_detector_requests_are_single_images_on_the_32_grid() -> None:
    images = [
        (np.zeros((1, 32, 64, 3), np.uint8),),
        (np.zeros((1, 40, 64, 3), np.uint8),),
        (np.ones((2, 32, 64, 3), np.uint8),),
    ]
    calls: list[tuple[int, ...]] = []

    def detector(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return batch[..., :1].astype(np.float32)

    results = infer_batched(images, detector, detector_check(PROBABILITY_MAP))
    assert calls == [(3, 32, 64, 3)]
    assert "multiples of 32" in str(results[1]) and "e.g. 64x64" in str(results[1])
    assert results[0].shape == (1, 32, 64, 1) and results[2].shape == (2, 32, 64, 1)
    assert results[2].max() == 1.0 and results[0].max() == 0.0


def test_a_box_detector_gets_each_of_its_outputs_split_per_request() -> None:
    images = [(np.full((n, 32, 32, 3), n, np.uint8),) for n in (1, 2)] + [(np.zeros((1, 30, 32, 3), np.uint8),)]

    def boxes(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = batch[:, 0, 0, :2].astype(np.float32)  # [N, K=2]
        return np.repeat(scores[..., None], 4, axis=2), scores

    one, two, bad = infer_batched(images, boxes, detector_check(BOX_LIST))
    assert [a.shape for a in one] == [(1, 2, 4), (1, 2)] and [a.shape for a in two] == [(2, 2, 4), (2, 2)]
    assert one[1].tolist() == [[1, 1]] and two[1].tolist() == [[2, 2], [2, 2]]
    assert isinstance(bad, RequestError) and "multiples of 32" in str(bad)
