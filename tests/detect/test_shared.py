import numpy as np

from lama_serve.bench.detect_sets import shared_set
from lama_serve.detect import synth
from lama_serve.detect.filters import gradients
from lama_serve.detect.metrics import iou, precision
from lama_serve.detect.shared import estimate_mark, locate, locate_all, poisson_reconstruct
from tests.detect.images import blend, photo, place, text_alpha

SIDE = 512


def _batch(count: int, sizes=None, clean=()):
    """Photos with one white 50% mark 20 px from the bottom-right corner (index in `clean`: none)."""
    alpha = text_alpha("PhotoStudio", 42, 0.5)
    images, truths = [], []
    for i in range(count):
        h, w = sizes[i] if sizes else (SIDE, SIDE)
        x, y = w - alpha.shape[1] - 20, h - alpha.shape[0] - 20
        image = photo(i, h, w)
        images.append(image if i in clean else blend(image, (255, 255, 255), alpha, x, y))
        truths.append(np.zeros((h, w), bool) if i in clean else place((h, w), alpha, x, y))
    return images, truths


def test_poisson_inverts_gradients_inside_a_zero_frame():
    plane = np.zeros((34, 44))
    plane[2:-2, 2:-2] = np.random.default_rng(0).normal(size=(30, 40))
    np.testing.assert_allclose(poisson_reconstruct(*gradients(plane)), plane, atol=1e-4)


def test_filled_faint_logo_comes_back_filled():
    """A 20 % dark disc with a square hole over varied photos: integrated on its edges only,
    the median gradients give its contrast flat inside the shape (a high-pass kept its rims:
    IoU 0.01). Where the photos' median colour nears the mark's, the contrast fades: 0.75."""
    yy, xx = np.mgrid[:120, :120]
    alpha = np.where(np.hypot(yy - 59.5, xx - 59.5) < 58, 0.2, 0.0)
    alpha[40:80, 40:80] = 0.0
    images = [blend(photo(i, SIDE, SIDE), (40, 20, 90), alpha, 300, 300) for i in range(8)]
    truth = place((SIDE, SIDE), alpha, 300, 300)
    scores = [iou(r.mask, truth) for r in locate_all(images, estimate_mark(images))]
    assert min(scores) >= 0.7, scores


def test_ten_images_sharing_a_mark_with_one_clean():
    images, truths = _batch(10, clean=(9,))
    results = locate_all(images, estimate_mark(images))
    scores = [iou(r.mask, t) for r, t in zip(results[:9], truths)]
    assert min(scores) >= 0.8, scores
    assert results[9].coverage == 0.0 and results[9].regions == ()
    assert all(r.regions and r.regions[0].kind == "shared" for r in results[:9])


def test_different_sizes_align_on_the_corner():
    sizes = [(SIDE + 37 * (i % 3), SIDE + 23 * (i % 4)) for i in range(8)]
    images, truths = _batch(8, sizes=sizes)
    scores = [iou(r.mask, t) for r, t in zip(locate_all(images, estimate_mark(images)), truths)]
    assert min(scores) >= 0.7, scores


def test_unrelated_photos_share_nothing():
    images = [photo(20 + i, SIDE, SIDE) for i in range(8)]
    assert all(r.coverage == 0.0 for r in locate_all(images, estimate_mark(images)))


def test_too_few_images_give_nothing():
    images, _ = _batch(2)
    assert all(r.coverage == 0.0 for r in locate_all(images, estimate_mark(images)))


def test_textured_item_is_found_in_place():
    """A busy photo under the mark lowers its edge NCC below MIN_SCORE; at the place the
    batch's median found the mark, MIN_SCORE_IN_PLACE still finds it."""
    images, truths = _batch(8)
    noise = np.random.default_rng(5).normal(0, 60, images[0].shape)
    images[0] = np.clip(images[0] + noise, 0, 255).astype(np.uint8)
    mark = estimate_mark(images)
    assert mark is not None and mark.origin is not None
    assert iou(locate(images[0], mark).mask, truths[0]) >= 0.5


def test_bold_mark_on_large_images_is_filled_not_hollow():
    """Marks scale with the image: at 1024 px a 150 px word has strokes wider than the 256 px
    high-pass radius, which kept only their rims (IoU 0.09); the radius scales with the image."""
    side, alpha = 1024, text_alpha("HOME", 150, 0.5)
    images = [blend(photo(i, side, side), (0, 0, 0), alpha, 40, 40) for i in range(8)]
    truth = place((side, side), alpha, 40, 40)
    assert min(iou(r.mask, truth) for r in locate_all(images, estimate_mark(images))) >= 0.5


def test_a_mark_the_crops_cut_stays_on_its_strokes():
    """Held-out photos cut by 0-63 px at the top and left, a credit line near their top: the
    part every item covers holds only the lower part of the line. Integrated with no
    background above it, the median gradients spilled into a blob under the words (located
    precision 0.31-0.35); kept on the strokes' edges, 0.70 and more."""
    batch = shared_set(8, SIDE, 2, "text_corner", mixed_sizes=True)
    mark = estimate_mark(batch.images)
    assert mark is not None and mark.frame.anchor == "bottom-right"
    truths = [synth.changed_mask(c, i) for c, i in zip(batch.clean, batch.images)]
    located = locate_all(batch.images, mark)
    assert all(r.watermark_found for r in located)
    assert min(precision(r.mask > 0, t) for r, t in zip(located, truths)) >= 0.65
