import numpy as np
import pytest
from PIL import Image

from lama_serve.detect.templates import (
    TemplateDetector,
    load_templates,
    template_from_rgba,
)
from lama_serve.detect.types import DetectionConfigError
from tests.detect.images import blend, photo, text_alpha

MIN_SCORE = 0.35


def _stock_template(opacity: float = 0.4):
    """White `(c) STOCK` at 40% with a fully opaque bar under it (to be inpainted)."""
    alpha = text_alpha("(c) STOCK", 40, opacity)
    alpha = np.pad(alpha, ((0, 6), (0, 0)))
    alpha[-4:, :] = 1.0
    rgba = np.dstack([np.full(alpha.shape + (3,), 255, np.uint8), (alpha * 255).round().astype(np.uint8)])
    return template_from_rgba("stock", rgba)


def test_known_mark_is_found_and_unblended_exactly():
    template = _stock_template()
    clean = photo(1, 512, 512)
    marked = blend(clean, template.color, template.alpha, 300, 400)
    result = TemplateDetector((template,), MIN_SCORE).detect(marked)
    (region,) = result.regions
    h, w = template.alpha.shape
    assert (region.x, region.y, region.width, region.height) == (300, 400, w, h)
    assert region.kind == "template:stock" and region.score > 0.6
    see_through = np.zeros(clean.shape[:2], bool)
    see_through[400 : 400 + h, 300 : 300 + w] = template.alpha < 0.95
    error = np.abs(result.restored.astype(int) - clean.astype(int))[see_through]
    assert error.max() <= 3
    # only the opaque bar is left to inpaint
    assert np.count_nonzero(result.mask) == 4 * w
    assert result.mask[400 + h - 1, 300] == 255 and result.mask[400, 300] == 0


def test_scaled_mark_is_found_at_its_scale():
    template = _stock_template()
    bigger = template.scaled(1.5)
    marked = blend(photo(1, 512, 512), bigger.color, bigger.alpha, 100, 200)
    (match,) = TemplateDetector((template,), MIN_SCORE).matches(marked)
    assert (match.x, match.y, match.scale) == (100, 200, 1.5)


@pytest.mark.parametrize("seed", range(4))
def test_clean_photos_match_nothing(seed):
    assert TemplateDetector((_stock_template(),), MIN_SCORE).detect(photo(10 + seed, 384, 384)).regions == ()


def test_templates_load_from_a_folder(tmp_path):
    template = _stock_template()
    rgba = np.dstack([template.color, template.alpha * 255]).round().astype(np.uint8)
    Image.fromarray(rgba).save(tmp_path / "acme.png")
    (loaded,) = load_templates(tmp_path)
    assert loaded.name == "acme" and np.allclose(loaded.alpha, template.alpha, atol=1 / 255)


def test_template_without_alpha_is_refused(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "flat.png")
    with pytest.raises(DetectionConfigError, match="no alpha"):
        load_templates(tmp_path)


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(DetectionConfigError, match="WATERMARK_TEMPLATES_DIR"):
        load_templates(tmp_path / "nowhere")
