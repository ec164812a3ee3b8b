"""lama_serve.detect.synth: deterministic composites whose masks are exactly what the mark changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lama_serve.detect import sources, synth


@pytest.mark.parametrize("kind", synth.KINDS)
def test_same_seed_same_composite(kind: str) -> None:
    first = synth.make_composite(np.random.default_rng(7), kind, "train", (96, 128))
    second = synth.make_composite(np.random.default_rng(7), kind, "train", (96, 128))
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_array_equal(first.mask, second.mask)
    assert first.image.shape == (96, 128, 3) and first.image.dtype == np.uint8
    assert first.mask.shape == (96, 128) and first.mask.dtype == bool


@pytest.mark.parametrize("split", sources.SPLITS)
@pytest.mark.parametrize("kind", [k for k in synth.KINDS if k != "clean"])
def test_ground_truth_is_the_visible_blend(kind: str, split: str) -> None:
    c = synth.make_composite(np.random.default_rng(3), kind, split, (128, 128))
    np.testing.assert_array_equal(c.image, synth.blend(c.clean, c.mark, c.alpha))
    diff = np.abs(c.image.astype(int) - c.clean.astype(int)).max(axis=-1)
    np.testing.assert_array_equal(c.mask, diff > synth.VISIBLE_CHANGE)
    assert c.alpha.max() <= synth.OPACITY_RANGE[1] + 1e-6
    assert not c.mask[c.alpha == 0].any(), "no mark pixel outside the mark's alpha"
    assert 0.001 < c.mask.mean() < 0.6, f"{kind}: mark covers {c.mask.mean():.4f} of the image"


def test_clean_composite_is_the_photo() -> None:
    c = synth.make_composite(np.random.default_rng(0), "clean", "heldout", (64, 64))
    assert c.alpha is None and c.mark is None and not c.mask.any()
    np.testing.assert_array_equal(c.image, c.clean)


def test_blend_numbers() -> None:
    clean = np.full((1, 2, 3), 100, np.uint8)
    mark = np.full((1, 2, 3), 200, np.uint8)
    out = synth.blend(clean, mark, np.array([[0.25, 0.0]], np.float32))
    assert out[0, 0].tolist() == [125, 125, 125] and out[0, 1].tolist() == [100, 100, 100]


def test_heldout_split_shares_no_photo_font_or_word() -> None:
    for table in (sources.PHOTOS, sources.FONTS, sources.WORDS):
        assert not set(table["train"]) & set(table["heldout"])
    words = {w for s in range(50) for w in sources.random_string(np.random.default_rng(s), "heldout").lower().split()}
    assert not words & {w.lower() for w in sources.WORDS["train"]}


def test_unknown_kind_or_split_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        synth.make_composite(np.random.default_rng(0), "stamp")
    with pytest.raises(ValueError, match="split must be one of"):
        synth.make_composite(np.random.default_rng(0), "logo", "test")


def test_every_photo_loads_as_rgb() -> None:
    for split in sources.SPLITS:
        for name in sources.PHOTOS[split]:
            image = sources.photo(name)
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
            assert min(image.shape[:2]) >= 128, f"{name}: {image.shape}"


def test_missing_photo_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sources.PHOTO_PACKAGES, "opencv-doc", tmp_path)
    with pytest.raises(sources.SourceError, match="apt-get install opencv-doc"):
        sources.photo.__wrapped__("opencv-doc:building.jpg")
