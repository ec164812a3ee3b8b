"""The rows `lama-serve bench detect` prints: per kind recall, IoU, precision and false
positives of detected masks against the labelled set's (bench.detect_sets), the batch-shared
mark's IoU, and known templates restored by exact un-blending; each judged against the
targets that hold for it (bench.detect_targets).
"""

from __future__ import annotations

import statistics

import numpy as np

from lama_serve.bench.detect_sets import SharedSet, opacity
from lama_serve.bench.detect_targets import (
    CLEAN_BARS,
    TARGET_OPACITY,
    TEMPLATE_BARS,
    composite_bars,
    judged,
    shared_bars,
)
from lama_serve.bench.inputs import as_sent
from lama_serve.core.settings.detection import DetectionSettings
from lama_serve.detect import metrics, synth
from lama_serve.detect.masks import grow_mask

# Pixels remove-watermark grows a detected mask by (a default server): `left_visible` scores
# the mask a removal inpaints, the other columns the detected mask itself.
REMOVAL_GROW: int = DetectionSettings.model_fields["detected_mask_grow"].default
RESTORE_TOLERANCE = 3  # levels: a restored pixel this close to the clean photo counts as exact
FAINT = " (faint)"  # appended to the name of a row of marks under TARGET_OPACITY


def score_rows(scored: list[tuple[synth.Composite, np.ndarray, float]]) -> list[dict[str, object]]:
    """Per kind (faint marks under TARGET_OPACITY apart): mean recall, IoU, precision of the
    watermark pixels (with the standard error of the recall and IoU means: a row holds a few
    images, so its means move between seeds), the share of the mark's clearly visible pixels a
    removal leaves (`left_visible`: changed by over synth.CLEARLY_VISIBLE levels and outside the
    mask grown by REMOVAL_GROW), false-positive
    area on clean images, and median detection latency."""
    groups: dict[str, list[tuple[synth.Composite, np.ndarray, float]]] = {}
    bars = {}
    for item in scored:
        composite = item[0]
        faint = composite.kind != "clean" and opacity(composite) < TARGET_OPACITY
        name = f"{composite.kind}{FAINT if faint else ''}"
        groups.setdefault(name, []).append(item)
        bars[name] = composite_bars(composite.kind, faint)
    rows = []
    for kind, items in groups.items():

        def summary(score: object, items: list = items) -> tuple[float, float]:
            """(mean, standard error of the mean) of `score` over the row's images."""
            values = [score(predicted, c.mask) for c, predicted, _ in items]
            error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
            return round(statistics.fmean(values), 3), round(error, 3)

        row: dict[str, object] = {"kind": kind, "images": len(items)}
        if kind == "clean":
            row["false_positive_area"] = round(
                statistics.fmean(metrics.false_positive_area(predicted) for _, predicted, _ in items), 4
            )
        else:
            (recall, recall_se), (iou, iou_se) = summary(metrics.recall), summary(metrics.iou)
            row |= {"recall": recall, "recall_se": recall_se, "iou": iou, "iou_se": iou_se}
            row["precision"] = summary(metrics.precision)[0]
            # what a removal leaves: the clearly visible pixels its (grown) mask does not reach
            clear = [
                (grow_mask(p > 0, REMOVAL_GROW), synth.changed_mask(c.clean, c.image, synth.CLEARLY_VISIBLE))
                for c, p, _ in items
            ]
            row["left_visible"] = round(statistics.fmean(1 - metrics.recall(m, t) for m, t in clear), 3)
        row["p50_ms"] = round(1000 * statistics.median(seconds for *_, seconds in items), 1)
        rows.append(judged(row, bars[kind]))
    return rows


def whole_photo_row(masks: list[np.ndarray]) -> dict[str, object]:
    """Mean false-positive area of the detected `masks` of whole_photos()."""
    row = {
        "kind": "clean, whole held-out photos at their own size",
        "images": len(masks),
        "false_positive_area": round(statistics.fmean(metrics.false_positive_area(m > 0) for m in masks), 4),
    }
    return judged(row, CLEAN_BARS)


def shared_row(batch: SharedSet, own: list[np.ndarray]) -> dict[str, object]:
    """Mean IoU of each item's mask from `detect.consensus.shared_results` (what the batch
    route's `detect=shared` answers), given each item's own detected mask `own`; a mark under
    TARGET_OPACITY is labelled faint, like the per-kind rows."""
    from lama_serve.detect.consensus import shared_results
    from lama_serve.detect.types import DetectionResult

    results = shared_results(batch.images, [DetectionResult(mask=mask, regions=()) for mask in own])
    ious = [metrics.iou(r.mask, synth.changed_mask(c, i)) for r, c, i in zip(results, batch.clean, batch.images)]
    faint = batch.opacity < TARGET_OPACITY
    sizes = " of different sizes" if batch.mixed_sizes else ""
    row = {
        "kind": f"shared {batch.kind} over {len(batch.images)} images{sizes}{FAINT if faint else ''}",
        "images": len(batch.images),
        "opacity": round(batch.opacity, 2),
        "iou": round(statistics.fmean(ious), 3),
    }
    return judged(row, shared_bars(len(batch.images), faint))


def template_row(count: int, size: synth.Size, seed: int, jpeg: int | None = None) -> dict[str, object]:
    """A known semi-transparent logo placed into `count` photos: the share of its pixels that
    exact un-blending restores within RESTORE_TOLERANCE levels of the clean photo; `jpeg`:
    each marked photo as decoded from a JPEG of that quality (its error is divided by 1 - a
    along with the mark)."""
    from lama_serve.core.settings import Settings
    from lama_serve.detect.template_detector import TemplateDetector
    from lama_serve.detect.templates import template_from_rgba

    rng = np.random.default_rng(seed)
    shape = synth.shape_of(size)
    logo = synth.make_composite(rng, "logo", "heldout", shape)
    ys, xs = np.nonzero(logo.alpha)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    rgba = np.dstack([logo.mark[box], np.rint(logo.alpha[box] * 255)]).astype(np.uint8)
    template = template_from_rgba("bench-logo", rgba)
    defaults = Settings.model_construct()
    detector = TemplateDetector((template,), defaults.template_min_score, defaults.template_scales)
    exact = []
    for _ in range(count):
        clean = synth.random_photo(rng, "heldout", shape)
        image = as_sent(synth.blend(clean, logo.mark, logo.alpha), jpeg)
        result = detector.detect(image)
        if result.restored is None:
            continue
        area = (logo.alpha > 0) & (result.mask == 0)  # what un-blending (not inpainting) restores
        error = np.abs(result.restored.astype(np.int16) - clean.astype(np.int16)).max(axis=-1)[area]
        exact.append(float(np.mean(error <= RESTORE_TOLERANCE)) if error.size else 1.0)
    row = {
        "kind": "known template (un-blended)",
        "images": count,
        "opacity": round(opacity(logo), 2),
        "found": len(exact),
        "restored_within_3_levels": round(statistics.fmean(exact), 3) if exact else None,
    }
    return judged(row, TEMPLATE_BARS)
