"""The detection bench's rows are the pixel metrics of detect.metrics, with faint marks
reported apart, the batch-shared answer scored from the items' own masks, and known templates
restored by un-blending."""

from __future__ import annotations

import numpy as np

from lama_serve.bench.detect_rows import (
    TARGET_OPACITY,
    score_rows,
    shared_row,
    template_row,
    whole_photo_row,
)
from lama_serve.bench.detect_sets import labelled_set, opacity, shared_set, whole_photos
from lama_serve.detect import sources, synth


def test_scores_per_kind() -> None:
    marked = next(c for c in labelled_set(1, 64, seed=0) if c.kind == "logo" and opacity(c) >= TARGET_OPACITY)
    clean = next(c for c in labelled_set(1, 64, seed=0) if c.kind == "clean")
    half = marked.mask.copy()
    half[: half.shape[0] // 2] = False  # finds the lower half of the mark only
    noisy = np.zeros_like(clean.mask)
    noisy[:8, :8] = True  # 64 of 4096 pixels wrongly masked
    rows = {r["kind"]: r for r in score_rows([(marked, half, 0.010), (clean, noisy, 0.030)])}
    expected = np.count_nonzero(half) / np.count_nonzero(marked.mask)
    assert rows["logo"]["recall"] == round(expected, 3) and rows["logo"]["precision"] == 1.0
    assert rows["logo"]["iou"] == round(expected, 3) and rows["logo"]["p50_ms"] == 10.0
    assert rows["logo"]["iou_se"] == 0.0  # one image: no spread to report
    assert rows["logo"]["left_visible"] == 0.0  # the mark's top 2 rows missed: in the rim a removal adds
    (missed,) = score_rows([(marked, np.zeros_like(marked.mask), 0.010)])
    assert missed["left_visible"] == 1.0 and missed["recall"] == 0.0
    assert rows["clean"] == {
        "kind": "clean",
        "images": 1,
        "false_positive_area": round(64 / 4096, 4),
        "p50_ms": 30.0,
        "target": "short",  # 1.6 % of the photo over the 1 % bar
    }
    assert rows["logo"]["target"] == "met"  # the mark lies mostly in the lower half: 0.952 of it found


def test_rows_report_the_standard_error_of_their_means() -> None:
    """Two images of a kind, one found whole, one missed: IoU 0.5 +- 0.5 (stdev 0.707 / sqrt 2)."""
    marked = [c for c in labelled_set(2, 64, seed=0) if c.kind == "logo" and opacity(c) >= TARGET_OPACITY][:2]
    assert len(marked) == 2
    scored = [(marked[0], marked[0].mask, 0.01), (marked[1], np.zeros_like(marked[1].mask), 0.01)]
    (row,) = score_rows(scored)
    assert row["iou"] == 0.5 and row["iou_se"] == 0.5 and row["recall_se"] == 0.5


def test_shared_row_scores_the_batch_answer_from_the_items_own_masks() -> None:
    batch = shared_set(4, 64, seed=1, kind="text_corner")
    truths = [synth.changed_mask(c, i) for c, i in zip(batch.clean, batch.images)]
    assert all(t.any() for t in truths)
    own = [np.where(t, 255, 0).astype(np.uint8) for t in truths]
    alone = shared_row(batch, own)["iou"]
    own[0][:, 32:] = 0  # one item finds half the mark; the others agree on all of it
    row = shared_row(batch, own)
    assert batch.opacity >= TARGET_OPACITY and row["opacity"] == round(batch.opacity, 2)
    assert row["kind"] == "shared text_corner over 4 images" and row["images"] == 4
    assert "target" not in row  # under 8 images the batch target does not hold
    assert row["iou"] >= alone - 0.05 and row["iou"] > 0.6  # measured 0.71 (0.73 with all masks whole)


def test_a_faint_shared_mark_is_labelled_faint() -> None:
    batch = shared_set(3, 64, seed=0, kind="logo")  # this seed's logo is at opacity 0.2
    assert batch.opacity < TARGET_OPACITY
    row = shared_row(batch, [np.zeros((64, 64), np.uint8)] * 3)
    assert row["kind"] == "shared logo over 3 images (faint)" and "target" not in row


def test_a_faint_known_template_is_found_on_every_photo_and_restored() -> None:
    """Seed 0's logo is blended at opacity 0.2: on busy photos its edges correlate at 0.14-0.3
    and a false peak can correlate better; un-blending tells them apart."""
    row = template_row(8, 512, seed=0)
    assert row["opacity"] == 0.2
    assert row["found"] == 8 and row["restored_within_3_levels"] == 1.0


def test_whole_photos_are_the_held_out_photos_at_their_own_size() -> None:
    photos = whole_photos()
    assert len(photos) == len(sources.PHOTOS["heldout"]) and len({p.shape for p in photos}) > 1
    masks = [np.zeros((10, 10), np.uint8), np.full((10, 10), 255, np.uint8), np.zeros((10, 10), np.uint8)]
    masks[2][:5] = 255
    row = whole_photo_row(masks)
    assert row["images"] == 3 and row["false_positive_area"] == 0.5
