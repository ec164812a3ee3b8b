import numpy as np
import pytest
from PIL import Image

from lama_serve.core.settings import Settings
from lama_serve.detect.template_detector import TemplateDetector
from lama_serve.detect.templates import (
    _peaks,
    edge_removal,
    load_templates,
    sized,
    template_from_rgba,
)
from lama_serve.detect.types import DetectionConfigError
from tests.detect.images import blend, photo, text_alpha

DEFAULTS = Settings.model_construct()


def detector(*templates):
    return TemplateDetector(templates, DEFAULTS.template_min_score, DEFAULTS.template_scales)


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
    result = detector(template).detect(marked)
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
    (match,) = detector(template).matches(marked)
    assert (match.x, match.y, match.scale) == (100, 200, 1.5)


def test_repeated_copies_are_each_found_once():
    template = _stock_template()
    marked = photo(2, 512, 512)
    places = [(20, 30), (250, 30), (20, 200), (250, 200), (20, 400), (250, 400)]
    for x, y in places:
        marked = blend(marked, template.color, template.alpha, x, y)
    found = sorted((m.x, m.y, m.scale) for m in detector(template).matches(marked))
    assert found == sorted((x, y, 1.0) for x, y in places)


def test_a_weaker_peak_half_a_template_away_stays_a_candidate():
    score = np.zeros((200, 200), np.float32)
    score[100, 100], score[60, 95], score[90, 105] = 0.19, 0.17, 0.18  # 40 px and 10 px away; template 150 px
    assert _peaks(score, 150, 150, 0.1) == [(100, 100, pytest.approx(0.19)), (95, 60, pytest.approx(0.17))]


def test_unblending_removes_edges_only_where_the_mark_is():
    template = _stock_template(opacity=0.2)
    marked = blend(photo(3, 384, 384), template.color, template.alpha, 100, 120)
    size = sized(template, 1.0)
    assert edge_removal(marked, size, 100, 120) > 0.1
    assert edge_removal(marked, size, 180, 40) < 0
    assert edge_removal(marked, size, 102, 120) < edge_removal(marked, size, 100, 120)


def test_a_mark_off_every_listed_scale_is_not_unblended():
    """Exact un-blending needs the mark's size: 1.1 is 10 % off the nearest listed scale."""
    template = _stock_template()
    other = template.scaled(1.1)
    marked = blend(photo(1, 512, 512), other.color, other.alpha, 100, 200)
    assert TemplateDetector((template,), DEFAULTS.template_min_score, (1.0, 1.5)).matches(marked) == []
    (match,) = TemplateDetector((template,), DEFAULTS.template_min_score, (1.1,)).matches(marked)
    assert (match.x, match.y) == (100, 200)


@pytest.mark.parametrize("seed", range(4))
def test_clean_photos_match_nothing(seed):
    assert detector(_stock_template()).detect(photo(10 + seed, 384, 384)).regions == ()


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
