"""detect.template_sizes: a known mark between the listed sizes."""

import numpy as np

from lama_serve.detect import filters
from lama_serve.detect.template_detector import TemplateDetector
from lama_serve.detect.template_sizes import local_peak
from lama_serve.detect.templates import sized, template_from_rgba
from tests.detect.images import blend, photo, text_alpha


def _stock(opacity: float = 0.4):
    alpha = text_alpha("(c) STOCK", 40, opacity)
    rgba = np.dstack([np.full(alpha.shape + (3,), 255, np.uint8), (alpha * 255).round().astype(np.uint8)])
    return template_from_rgba("stock", rgba)


def test_local_peak_finds_the_mark_near_a_given_centre():
    template = _stock()
    h, w = template.alpha.shape
    marked = blend(photo(1, 256, 384), template.color, template.alpha, 120, 90)
    plane = filters.gradient_magnitude(filters.gray(marked))
    score, x, y = local_peak(plane, sized(template, 1.0), 90 + h / 2 + 5, 120 + w / 2 - 6, reach=10)
    assert (x, y) == (120, 90) and score > 0.8
    assert local_peak(plane, sized(template, 1.0), 5, 5, reach=2) is None  # the window leaves the image


def test_a_mark_between_the_listed_sizes_is_found_and_unblended_when_asked():
    template = _stock()
    other = template.scaled(1.1)
    clean = photo(1, 512, 512)
    marked = blend(clean, other.color, other.alpha, 100, 200)
    assert TemplateDetector((template,), 0.1, (1.0, 1.5)).matches(marked) == []
    result = TemplateDetector((template,), 0.1, (1.0, 1.5), size_search=True).detect(marked)
    (region,) = result.regions
    assert (region.x, region.y) == (100, 200) and abs(region.width - other.alpha.shape[1]) <= 1
    see_through = np.zeros(clean.shape[:2], bool)
    h, w = other.alpha.shape
    see_through[200 : 200 + h, 100 : 100 + w] = other.alpha > 0
    error = np.abs(result.restored.astype(int) - clean.astype(int)).max(axis=-1)[see_through]
    assert np.mean(error <= 3) > 0.95


def test_size_search_finds_nothing_on_clean_photos():
    detector = TemplateDetector((_stock(),), 0.1, (0.5, 1.0, 2.0), size_search=True)
    assert all(detector.detect(photo(20 + seed, 384, 384)).regions == () for seed in range(3))
