"""A batch's shared mark from its items' own detections: vote, carry, trim."""

from __future__ import annotations

import numpy as np

from lama_serve.detect import consensus
from lama_serve.detect.consensus import agree, completed, near, shared_results, votes, voting_anchor
from lama_serve.detect.frames import Frame
from lama_serve.detect.metrics import iou, recall
from lama_serve.detect.regions import regions_of_mask
from lama_serve.detect.types import DetectionResult, Region
from tests.detect.images import blend, photo, place, text_alpha
from tests.detect.test_edges import smooth_photo

SHAPE = (96, 160)
ORIGIN = (10, 12)  # x, y of the mark


def _regions(mask: np.ndarray) -> tuple[Region, ...]:
    return regions_of_mask(np.where(mask, 255, 0).astype(np.uint8), 0.5, "shared")


def _corner_batch() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Six photos of different sizes, one mark 10 px from each one's bottom-right corner:
    (images, true masks)."""
    alpha = text_alpha("(c) Field Notes", 24, 0.6)
    images, truths = [], []
    for seed in range(6):
        height, width = 200 + 13 * seed, 260 + 7 * seed
        x, y = width - alpha.shape[1] - 10, height - alpha.shape[0] - 10
        images.append(blend(photo(seed, height, width), (255, 255, 255), alpha, x, y))
        truths.append(place((height, width), alpha, x, y))
    return images, truths


def _thirds(truth: np.ndarray) -> list[np.ndarray]:
    """The columns of the mark in `truth`, in three runs from left to right."""
    return np.array_split(np.flatnonzero(truth.any(axis=0)), 3)


def _result(mask: np.ndarray, restored: np.ndarray | None = None) -> DetectionResult:
    return DetectionResult(mask=np.where(mask, 255, 0).astype(np.uint8), regions=(), restored=restored)


def test_votes_are_shares_and_need_one_frame():
    a, b = np.zeros((2, 3), bool), np.ones((2, 3), bool)
    assert np.allclose(votes([a, b, b, b]), 0.75)
    assert votes([a, np.zeros((3, 2), bool)]) is None and votes([]) is None


def test_every_item_gets_the_agreed_mark_trimmed_to_what_it_changed():
    alpha = text_alpha("(c) Field Notes", 20, 0.6)
    truth = place(SHAPE, alpha, *ORIGIN)
    photos = [photo(seed, *SHAPE) for seed in range(4)]
    marked = [blend(p, (255, 255, 255), alpha, *ORIGIN) for p in photos[:3]]
    images = [*marked, photos[3]]
    columns = np.flatnonzero(truth.any(axis=0))
    thirds = np.array_split(columns, 3)
    own = []
    for index in range(3):  # each misses another third of the mark and has a false blob of its own
        found = truth.copy()
        found[:, thirds[index]] = False
        found[60 + 10 * index : 70 + 10 * index, 100:110] = True
        own.append(found)
    clean_own = np.zeros(SHAPE, bool)
    clean_own[80:90, 140:150] = True  # the clean item's own (unrelated) find
    results = agree(images, [*map(_result, own), _result(clean_own)])
    assert results is not None
    for result, found in zip(results[:3], own, strict=True):
        assert iou(result.mask, truth) > max(0.9, iou(found, truth) + 0.2)
        assert result.regions and result.regions[0].kind == "shared"
        assert not result.mask[55:95, 95:115].any()  # no item's private false blob
    clean = results[3].mask > 0  # told the batch shares the mark: at most its area, none of its own find
    assert clean.sum() <= truth.sum() and not clean[80:90, 140:150].any()


def test_pixels_the_mark_did_not_change_are_trimmed_per_item():
    """A white mark over a white patch changes nothing there: that item's mask leaves it out."""
    alpha = np.zeros((20, 60), np.float32)
    alpha[5:15, :] = 0.6
    truth = place(SHAPE, alpha, *ORIGIN)
    backgrounds = [smooth_photo(*SHAPE) for _ in range(3)]
    split = ORIGIN[0] + 30
    backgrounds[0][:, :split] = 255  # the mark's left half lies on white in item 0
    images = [blend(b, (255, 255, 255), alpha, *ORIGIN) for b in backgrounds]
    results = agree(images, [_result(truth)] * 3)
    assert results is not None
    left, right = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    left[:, : split - 17], right[:, split:] = True, True  # 17: past the background window's reach
    assert not results[0].mask[truth & left].any() and results[0].mask[truth & right].all()
    assert results[1].mask[truth].all()


def test_no_agreement_or_a_restored_item():
    first, second = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    first[:10, :10], second[50:60, 50:60] = True, True
    images = [photo(seed, *SHAPE) for seed in range(3)]
    assert agree(images, [_result(first), _result(second), _result(np.zeros(SHAPE, bool))]) is None
    restored = _result(first, restored=images[0])  # a template un-blended: exact, kept as is
    results = agree(images, [restored, _result(first), _result(first)])
    assert results is not None and results[0] is restored and results[1].mask[:10, :10].any()


def test_near_is_the_grown_box_of_all_masks():
    first, second = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    first[20, 30], second[25, 40] = True, True
    box = near([first, second], margin=2)
    assert box is not None and box.sum() == (25 - 20 + 5) * (40 - 30 + 5) and box[18, 28] and box[27, 42]
    assert near([np.zeros(SHAPE, bool)]) is None and near([first, np.zeros((3, 3), bool)]) is None


def test_agreement_is_limited_to_the_located_mark():
    """Detectors misfiring alike on every item (a texture they share) do not spread the mask
    past the box where the batch's median edges located the mark, nor agree on half the image."""
    images = [photo(seed, *SHAPE) for seed in range(3)]
    assert agree(images, [_result(np.ones(SHAPE, bool))] * 3) is None
    everywhere = np.zeros(SHAPE, bool)
    everywhere[: SHAPE[0] // 3] = True
    located = np.zeros(SHAPE, bool)
    located[10:20, 10:40] = True
    results = agree(images, [_result(everywhere)] * 3, located=[_result(located)] * 3)
    assert results is not None
    assert all(not r.mask[~near([located])].any() for r in results)


def test_an_item_whose_own_detection_missed_the_mark_gets_it():
    images = [photo(seed, *SHAPE) for seed in range(3)]
    mark = np.zeros(SHAPE, bool)
    mark[10:20, 10:40] = True
    own = [_result(mark), _result(mark), _result(np.zeros(SHAPE, bool))]  # the third missed it
    results = agree(images, own)
    assert results is not None and results[2].mask[10:20, 10:40].any()


def test_the_median_estimate_completes_the_vote_near_the_agreed_pixels():
    """The items' own detections found a filled mark's left 24 px only; the median estimate
    (`located`) has all 36 and a stray piece 40 px off: the shared mark gets the missed
    part, not the stray piece (further than COMPLETE_MARGIN from the agreed pixels' box)."""
    alpha = np.full((20, 36), 0.6, np.float32)
    images = [blend(photo(seed, *SHAPE), (255, 255, 255), alpha, *ORIGIN) for seed in range(3)]
    truth = place(SHAPE, alpha, *ORIGIN)
    half = truth.copy()
    half[:, ORIGIN[0] + 24 :] = False
    located = truth.copy()
    located[70:80, 120:140] = True
    results = agree(images, [_result(half)] * 3, located=[_result(located)] * 3)
    assert results is not None
    for result in results:
        assert iou(result.mask, truth) > 0.95 and not result.mask[70:80, 120:140].any()


def test_an_item_of_a_mixed_size_batch_gets_the_estimate_and_its_own_pixels_near_it():
    image = blend(photo(0, *SHAPE), (255, 255, 255), np.full((14, 40), 0.6, np.float32), 10, 10)
    located, own = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    located[10:20, 10:40] = True
    own[12:24, 30:50] = True  # the estimate's missed part, within COMPLETE_MARGIN
    own[70:90, 120:150] = True  # the item's own find far from the shared mark
    estimate = DetectionResult(mask=np.where(located, 255, 0).astype(np.uint8), regions=_regions(located))
    mask = completed(image, _result(own), estimate).mask > 0
    assert mask[located].all() and mask[12:24, 30:50].all() and not mask[70:90, 120:150].any()
    assert completed(image, _result(own), DetectionResult.empty(SHAPE)).mask[70:90, 120:150].all()
    restored = _result(own, restored=image)
    assert completed(image, restored, estimate) is restored


def test_own_pixels_adding_more_than_the_estimate_are_a_misfire_and_left_out():
    image = blend(photo(1, *SHAPE), (255, 255, 255), np.full((10, 30), 0.6, np.float32), 10, 10)
    located = np.zeros(SHAPE, bool)
    located[10:20, 10:40] = True
    everywhere = np.ones(SHAPE, bool)  # the item's detectors fired over the whole photo
    estimate = DetectionResult(mask=np.where(located, 255, 0).astype(np.uint8), regions=_regions(located))
    assert np.array_equal(completed(image, _result(everywhere), estimate).mask > 0, located)


def test_a_batch_of_different_sizes_is_answered_by_the_median_estimate():
    images, truths = _corner_batch()
    own = [DetectionResult.empty(image.shape) for image in images]  # every item missed it alone
    results = shared_results(images, own)
    assert min(iou(r.mask, t) for r, t in zip(results, truths)) > 0.6


def test_votes_on_a_canvas_count_the_items_covering_each_pixel():
    masks = [np.ones((4, 4), bool), np.ones((2, 4), bool), np.zeros((4, 4), bool), np.ones((4, 4), bool)]
    share = votes(masks, Frame.of(masks, "bottom-left"))
    assert share is not None and share.shape == (4, 4)
    assert np.allclose(share[2:], 0.75) and np.allclose(share[:2], 2 / 3)  # the short item covers the bottom rows
    share = votes(masks[1:], Frame.of(masks[1:], "bottom-left"))  # two items cover the top rows: too few
    assert share is not None and np.allclose(share[:2], 0.0) and np.allclose(share[2:], 2 / 3)


def test_items_of_different_sizes_vote_where_the_median_estimate_lines_them_up():
    """A mark 10 px from the bottom-right corner of photos of six sizes; each item's own
    detection missed another third of it and found a blob of its own: lined up at that
    corner, the vote gives each the whole mark (IoU about 0.8 with the median estimate's
    wider rim; its own detection alone 0.6)."""
    images, truths = _corner_batch()
    own = []
    for index, truth in enumerate(truths):
        found = truth.copy()
        found[:, _thirds(truth)[index % 3]] = False
        found[20 + 10 * index : 30 + 10 * index, 20:30] = True
        own.append(_result(found))
    results = shared_results(images, own)
    for result, truth, mine in zip(results, truths, own, strict=True):
        assert recall(result.mask > 0, truth) > 0.95 and iou(result.mask, truth) > 0.75 > iou(mine.mask, truth) + 0.1
        assert not result.mask[20:90, 20:30].any()


def test_an_items_own_misfire_next_to_the_mark_stays_out_when_the_batch_voted():
    """Items of different sizes; each own detection found the mark and, just above it, a
    patch of its own photo (another place in each). The vote leaves the patches out; joined
    to the vote, the median estimate must not bring them back with it."""
    images, truths = _corner_batch()
    own, patches = [], []
    for index, truth in enumerate(truths):
        ys, xs = np.nonzero(truth)
        patch = np.zeros_like(truth)
        patch[ys.min() - 8 : ys.min() - 2, xs.min() + 15 * index : xs.min() + 15 * index + 12] = True
        own.append(_result(truth | patch))
        patches.append(patch)
    for result, patch in zip(shared_results(images, own), patches, strict=True):
        assert not result.mask[patch].any()


def test_a_part_most_items_missed_is_kept_from_the_median_estimate():
    """Items of different sizes: four of six own detections miss the mark's first third, so
    the vote leaves it out; the median estimate, which lined the items up, keeps it."""
    images, truths = _corner_batch()
    own = []
    for index, truth in enumerate(truths):
        found = truth.copy()
        if index < 4:
            found[:, _thirds(truth)[0]] = False
        own.append(_result(found))
    for result, truth in zip(shared_results(images, own), truths, strict=True):
        assert recall(result.mask > 0, truth) > 0.95


def test_the_vote_keeps_the_part_of_a_line_the_crops_hid_from_the_median_estimate():
    """Photos cut at the top and left by 0-60 px, a credit line starting 10 px from the left:
    the median estimate, taken where every item lies, located the line from column 60 on. The
    vote keeps its start too, where some items do not reach, as it joins the located part; a
    misfire every item shares, inside the common part and away from the line, stays out."""
    alpha = text_alpha("(c) Field Notes Studio", 20, 0.6)
    canvas, (x, y) = (130, 300), (10, 50)
    cuts = [(0, 0), (5, 0), (10, 0), (0, 30), (5, 45), (10, 60)]
    images, truths, own, located = [], [], [], []
    for seed, (top, left) in enumerate(cuts):
        image = blend(photo(seed, *canvas), (255, 255, 255), alpha, x, y)[top:, left:]
        truth = place(canvas, alpha, x, y)[top:, left:]
        misfire = np.zeros(canvas, bool)
        misfire[100:120, 200:230] = True
        images.append(image)
        truths.append(truth)
        own.append(_result(truth | misfire[top:, left:]))
        right = truth.copy()
        right[:, : 60 - left] = False
        located.append(_result(right))
    results = agree(images, own, located, anchor="bottom-right")
    assert results is not None
    for result, truth, (top, left) in zip(results, truths, cuts, strict=True):
        assert recall(result.mask > 0, truth) > 0.95
        assert not result.mask[100 - top : 120 - top, 200 - left : 230 - left].any()


def test_the_anchor_at_which_the_items_own_masks_agree_the_most():
    """A line 10 px from the bottom-right corner of photos of six sizes: put at the bottom-left
    corner, its copies still overlap along the line, but fewer items mark each pixel."""
    images, truths = _corner_batch()
    own = [_result(truth) for truth in truths]
    assert voting_anchor(images, own) == "bottom-right"
    assert voting_anchor(images, [DetectionResult.empty(image.shape) for image in images]) is None


def test_a_batch_the_median_estimate_did_not_line_up_votes_where_the_items_agree(monkeypatch):
    """Items of different sizes whose median edges showed no mark (a faint one, photos alike
    where they all lie): one item's own detection missed the mark; lined up where the others'
    agree, it gets the mark from the vote (its own result before)."""
    images, truths = _corner_batch()
    own = [_result(truth if index else np.zeros_like(truth)) for index, truth in enumerate(truths)]
    monkeypatch.setattr(consensus, "estimate_mark", lambda _: None)
    results = shared_results(images, own)
    assert all(recall(result.mask > 0, truth) > 0.95 for result, truth in zip(results, truths, strict=True))
