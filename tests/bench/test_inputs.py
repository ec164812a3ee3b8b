"""Synthetic photos and masks: contract shapes, determinism, and the perf_analyzer JSON."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lama_serve.bench.inputs import as_sent, png_bytes, samples, upload, write_perf_analyzer_data


def test_samples_follow_the_contract_and_repeat_per_seed() -> None:
    first, again = samples(64, 3, seed=1), samples(64, 3, seed=1)
    for sample, same in zip(first, again):
        assert sample.image.shape == (64, 64, 3) and sample.image.dtype == np.uint8
        assert sample.mask.shape == (64, 64, 1) and sample.mask.dtype == np.uint8
        assert np.array_equal(sample.image, same.image) and np.array_equal(sample.mask, same.mask)
        assert 0.0 < (sample.mask > 0).mean() < 0.6  # strokes, not empty nor all-hole
        assert sample.image.std() > 10  # not a flat image
    assert not np.array_equal(first[0].image, first[1].image)


def test_sides_that_are_not_multiples_of_8_are_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        samples(100, 1)


def test_png_bytes_round_trip() -> None:
    sample = samples(32, 1)[0]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(sample.image)))), sample.image)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(sample.mask)))), sample.mask[..., 0])


def test_an_upload_is_lossless_png_or_a_jpeg_of_the_quality_asked() -> None:
    image = samples(64, 1, seed=3)[0].image
    name, data, media = upload(image)
    assert (name, media) == ("image.png", "image/png") and np.array_equal(as_sent(image), image)
    name, data, media = upload(image, 50)
    assert (name, media) == ("image.jpg", "image/jpeg") and data[:2] == b"\xff\xd8"
    decoded = as_sent(image, 50)
    assert np.array_equal(decoded, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    error = [np.abs(as_sent(image, q).astype(int) - image).mean() for q in (20, 50, 95)]
    assert error[0] > error[1] > error[2] > 0  # lossy, less so as quality rises


def test_perf_analyzer_data_holds_raw_tensors_with_shapes(tmp_path: Path) -> None:
    batch = samples(16, 2)
    data = json.loads(write_perf_analyzer_data(tmp_path / "in.json", batch).read_text())["data"]
    assert len(data) == 2
    for entry, sample in zip(data, batch):
        for name, array in (("image", sample.image), ("mask", sample.mask)):
            assert entry[name]["shape"] == list(array.shape)
            assert base64.b64decode(entry[name]["b64"]) == array.tobytes()
