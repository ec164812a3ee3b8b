"""`lama-serve bench detect`: how well automatic detection finds watermarks, measured.

A labelled set is built from real photographs (scikit-image's data photos, the held-out split
of detect.sources: other photos, strings and fonts than the segmenter was trained on) with
synthetic marks whose masks are known (detect.synth). Each image goes through a running
gateway's `POST /api/v1/detect?format=png`: the served detectors, post-processing and the
combination exactly as clients get them. The two estimators that need several images or an
operator's file are measured on the library the gateway runs: the batch-shared mark
(`detect.consensus`, on the items' masks from the same gateway) and known templates with
exact un-blending (`detect.templates`).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lama_serve.bench import OUT
from lama_serve.bench.args import COUNT, SKIPPABLE_COUNT, at_least
from lama_serve.bench.user_marks import user_marked_set
from lama_serve.detect import metrics, sources, synth
from lama_serve.detect.shared import MIN_IMAGES

DETECT = "/api/v1/detect"
REMOVE = "/api/v1/remove-watermark"
TARGET_OPACITY = 0.3  # the targets hold for marks at least this opaque
RESTORE_TOLERANCE = 3  # levels: a restored pixel this close to the clean photo counts as exact
SHARED_KINDS = ("text_corner", "logo")  # marks put at the same place on every image of a batch
SIZE_SPREAD = 64  # a batch "of different sizes": each item cut by 0..SIZE_SPREAD-1 px at top and left
MIN_SIDE = SIZE_SPREAD + 32  # the batch of different sizes still leaves 32 px of every photo
RATE_LIMITED_TRIES = 120  # 429 answers waited out per request (a default gateway allows 30 a minute)


def photo_size(text: str) -> synth.Size:
    """`--size`: "512" (square) or "640x427" (width x height, as photos are described) -> (H, W)."""
    width, shaped, height = text.lower().partition("x")
    try:
        sides = (int(height), int(width)) if shaped else int(width)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: give a side (512) or WIDTHxHEIGHT (640x427)"
        ) from None
    if min(synth.shape_of(sides)) < MIN_SIDE:
        raise argparse.ArgumentTypeError(f"{text!r} is too small: each side needs at least {MIN_SIDE} px")
    return sides


def size_label(size: synth.Size) -> str:
    """The size as photos are described: "512 px" (square) or "640x427 px" (width x height)."""
    height, width = synth.shape_of(size)
    return f"{width} px" if isinstance(size, int) else f"{width}x{height} px"


def png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def labelled_set(per_kind: int, size: synth.Size, seed: int, user_marks: int = 0) -> list[synth.Composite]:
    """`per_kind` held-out composites of every kind, then `user_marks` marks made the way
    people make them (bench.user_marks), deterministic from `seed`; `size`: a square side or
    (H, W)."""
    rng = np.random.default_rng(seed)
    shape = synth.shape_of(size)
    held_out = [synth.make_composite(rng, kind, "heldout", shape) for kind in synth.KINDS for _ in range(per_kind)]
    return held_out + user_marked_set(user_marks, size, seed)


def opacity(composite: synth.Composite) -> float:
    return 0.0 if composite.alpha is None else float(composite.alpha.max())


def score_rows(scored: list[tuple[synth.Composite, np.ndarray, float]]) -> list[dict[str, object]]:
    """Per kind (faint marks under TARGET_OPACITY apart): mean recall, IoU, precision of the
    watermark pixels (with the standard error of the recall and IoU means: a row holds a few
    images, so its means move between seeds), false-positive area on clean images, and median
    detection latency."""
    groups: dict[str, list[tuple[synth.Composite, np.ndarray, float]]] = {}
    for item in scored:
        composite = item[0]
        faint = composite.kind != "clean" and opacity(composite) < TARGET_OPACITY
        groups.setdefault(f"{composite.kind}{' (faint)' if faint else ''}", []).append(item)
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
        row["p50_ms"] = round(1000 * statistics.median(seconds for *_, seconds in items), 1)
        rows.append(row)
    return rows


def whole_photos() -> list[np.ndarray]:
    """The held-out photos whole, at their own size (303 x 384 to 1411 x 1411 px): what a client
    sends who has no mark to remove. The labelled set's clean images are square crops of
    35-100 % of a side, scaled to `--size`: closer views, with fewer and larger objects."""
    return [sources.photo(name) for name in sources.PHOTOS["heldout"]]


def whole_photo_row(masks: list[np.ndarray]) -> dict[str, object]:
    """Mean false-positive area of the detected `masks` of whole_photos()."""
    return {
        "kind": "clean, whole held-out photos at their own size",
        "images": len(masks),
        "false_positive_area": round(statistics.fmean(metrics.false_positive_area(m > 0) for m in masks), 4),
    }


@dataclass(frozen=True)
class SharedSet:
    """One `kind` mark blended at the same place on `count` photos: the batch `detect=shared`
    case, one photographer's or stock site's mark on many images."""

    kind: str
    clean: list[np.ndarray]
    images: list[np.ndarray]
    opacity: float
    mixed_sizes: bool = False


def shared_set(count: int, size: synth.Size, seed: int, kind: str, mixed_sizes: bool = False) -> SharedSet:
    """With `mixed_sizes`, each photo is cut at its top and left (the mark stays at the same
    place from the bottom-right corner): a batch of photos of different sizes."""
    rng = np.random.default_rng(seed)
    shape = synth.shape_of(size)
    source = synth.make_composite(rng, kind, "heldout", shape)
    clean = [synth.random_photo(rng, "heldout", shape) for _ in range(count)]
    images = [synth.blend(photo, source.mark, source.alpha) for photo in clean]
    if mixed_sizes:
        cuts = np.random.default_rng(seed + 104729).integers(0, SIZE_SPREAD, (count, 2))
        clean, images = (
            [np.ascontiguousarray(a[y:, x:]) for a, (y, x) in zip(arrays, cuts)] for arrays in (clean, images)
        )
    return SharedSet(kind, clean, images, opacity(source), mixed_sizes)


def shared_sets(count: int, size: synth.Size, seed: int) -> list[SharedSet]:
    """The batches the bench scores: each of SHARED_KINDS, of one size and of different sizes;
    none for a `count` of 0 (`--shared 0`)."""
    if count == 0:
        return []
    return [shared_set(count, size, seed, kind, mixed) for kind in SHARED_KINDS for mixed in (False, True)]


def shared_row(batch: SharedSet, own: list[np.ndarray]) -> dict[str, object]:
    """Mean IoU of each item's mask from `detect.consensus.shared_results` (what the batch
    route's `detect=shared` answers), given each item's own detected mask `own`; a mark under
    TARGET_OPACITY is labelled faint, like the per-kind rows."""
    from lama_serve.detect.consensus import shared_results
    from lama_serve.detect.types import DetectionResult

    results = shared_results(batch.images, [DetectionResult(mask=mask, regions=()) for mask in own])
    ious = [metrics.iou(r.mask, synth.changed_mask(c, i)) for r, c, i in zip(results, batch.clean, batch.images)]
    faint = " (faint)" if batch.opacity < TARGET_OPACITY else ""
    sizes = " of different sizes" if batch.mixed_sizes else ""
    return {
        "kind": f"shared {batch.kind} over {len(batch.images)} images{sizes}{faint}",
        "images": len(batch.images),
        "opacity": round(batch.opacity, 2),
        "iou": round(statistics.fmean(ious), 3),
    }


def template_row(count: int, size: synth.Size, seed: int) -> dict[str, object]:
    """A known semi-transparent logo placed into `count` photos: the share of its pixels that
    exact un-blending restores within RESTORE_TOLERANCE levels of the clean photo."""
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
        image = synth.blend(clean, logo.mark, logo.alpha)
        result = detector.detect(image)
        if result.restored is None:
            continue
        area = (logo.alpha > 0) & (result.mask == 0)  # what un-blending (not inpainting) restores
        error = np.abs(result.restored.astype(np.int16) - clean.astype(np.int16)).max(axis=-1)[area]
        exact.append(float(np.mean(error <= RESTORE_TOLERANCE)) if error.size else 1.0)
    return {
        "kind": "known template (un-blended)",
        "images": count,
        "opacity": round(opacity(logo), 2),
        "found": len(exact),
        "restored_within_3_levels": round(statistics.fmean(exact), 3) if exact else None,
    }


async def post_when_allowed(client: object, url: str, **request: object) -> tuple[object, float]:
    """(response, seconds of the answered call): a 429 is waited out for its Retry-After (the
    gateway's rate limit is on by default, and a measurement should not need it off); only
    the call that was let through is timed."""
    from lama_serve.jobs.webhooks import retry_after

    for _ in range(RATE_LIMITED_TRIES):
        start = time.perf_counter()
        response = await client.post(url, **request)
        seconds = time.perf_counter() - start
        if response.status_code != 429:
            break
        await asyncio.sleep(retry_after(response.headers.get("Retry-After")) or 1.0)
    return response, seconds


async def _detect_mask(client: object, image: np.ndarray) -> tuple[np.ndarray, float]:
    """(uint8 mask from the gateway's /api/v1/detect?format=png, seconds it took)."""
    from PIL import Image

    upload = {"image": ("image.png", png(image), "image/png")}
    response, seconds = await post_when_allowed(client, DETECT, params={"format": "png"}, files=upload)
    if response.status_code != 200:
        raise SystemExit(f"{DETECT} answered {response.status_code}: {response.text[:300]}")
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("L")), seconds


async def _detect_all(client: object, composites: list[synth.Composite]) -> list[tuple]:
    scored = []
    for composite in composites:
        mask, seconds = await _detect_mask(client, composite.image)
        scored.append((composite, mask > 127, seconds))
    return scored


async def _removal_latency(client: object, composite: synth.Composite, runs: int) -> dict[str, float]:
    """Median seconds of remove-watermark on one image, with its true mask and without a mask."""
    image = ("image.png", png(composite.image), "image/png")
    mask = ("mask.png", png(np.where(composite.mask, 255, 0).astype(np.uint8)), "image/png")
    medians = {}
    for name, files in (("masked", {"image": image, "mask": mask}), ("no mask (detected)", {"image": image})):
        samples = []
        for _ in range(runs + 1):  # the first call warms shapes up and is dropped
            response, seconds = await post_when_allowed(client, REMOVE, files=files)
            samples.append(seconds)
            if response.status_code != 200:
                raise SystemExit(f"{REMOVE} ({name}) answered {response.status_code}: {response.text[:300]}")
        medians[name] = statistics.median(samples[1:])
    return medians


async def _measure(args: argparse.Namespace) -> tuple[list[dict[str, object]], dict[str, float]]:
    import httpx

    composites = labelled_set(args.per_kind, args.size, args.seed, args.user_marks)
    async with httpx.AsyncClient(
        base_url=args.url, headers={"X-API-Key": args.api_key}, timeout=args.timeout
    ) as client:
        rows = score_rows(await _detect_all(client, composites))
        rows.append(whole_photo_row([(await _detect_mask(client, photo))[0] for photo in whole_photos()]))
        for batch in shared_sets(args.shared, args.size, args.seed):
            rows.append(shared_row(batch, [(await _detect_mask(client, image))[0] for image in batch.images]))
        text = next(c for c in composites if c.kind == "text_corner")
        latency = await _removal_latency(client, text, args.runs) if args.runs else {}
    return rows, latency


def _measure_offline(args: argparse.Namespace) -> tuple[list[dict[str, object]], dict[str, float]]:
    """The same rows from the repository's graphs in onnxruntime (no gateway, no latency)."""
    from lama_serve.bench.detect_offline import OfflineDetection, served_path_scores

    detection = OfflineDetection(args.offline)
    composites = labelled_set(args.per_kind, args.size, args.seed, args.user_marks)
    rows = score_rows(served_path_scores(composites, detection))
    rows.append(whole_photo_row([detection.detect(photo).mask for photo in whole_photos()]))
    for batch in shared_sets(args.shared, args.size, args.seed):
        rows.append(shared_row(batch, [detection.detect(image).mask for image in batch.images]))
    return rows, {}


def run(args: argparse.Namespace) -> int:
    from lama_serve.bench.results import write_rows

    if args.offline is None and not args.api_key:
        raise SystemExit("no API key: pass --api-key or set API_KEY (the gateway's key)")
    rows, latency = _measure_offline(args) if args.offline else asyncio.run(_measure(args))
    rows.append(template_row(args.per_kind, args.size, args.seed))
    columns = (
        "images",
        "recall",
        "recall_se",
        "iou",
        "iou_se",
        "precision",
        "false_positive_area",
        "opacity",
        "found",
        "restored_within_3_levels",
        "p50_ms",
    )
    print(f"detection on {size_label(args.size)} held-out composites ({args.offline or args.url}):")
    for row in rows:
        figures = "  ".join(f"{c} {row[c]}" for c in columns if c in row)
        print(f"  {row['kind']:<54} {figures}")
    for name, seconds in latency.items():
        print(f"remove-watermark {size_label(args.size)}, {name}: median {seconds * 1000:.0f} ms")
    if len(latency) == 2:
        print(f"no-mask / masked latency: {latency['no mask (detected)'] / latency['masked']:.2f}x")
    source = {"offline": str(args.offline)} if args.offline else {"url": args.url}
    height, width = synth.shape_of(args.size)
    meta = {**source, "width": width, "height": height, "latency_s": latency, "seed": args.seed}
    write_rows(args.out, "detect", rows, meta)
    print(f"results in {args.out}: detect.csv/.json")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="detection quality (recall, IoU, precision, false positives) "
        "on labelled composites, and no-mask vs masked latency",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="gateway base URL")
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"), help="default: $API_KEY")
    parser.add_argument("--per-kind", type=COUNT, default=8, help="composites per kind")
    parser.add_argument(
        "--size",
        type=photo_size,
        default=512,
        help="image size: a square side (512) or WIDTHxHEIGHT (640x427: a photo's shape, which "
        "the served detectors pad to multiples of 32)",
    )
    parser.add_argument(
        "--shared",
        type=at_least(MIN_IMAGES, " images", or_zero=True),
        default=8,
        help="images sharing one mark (0: no batch-shared rows)",
    )
    parser.add_argument(
        "--user-marks",
        type=SKIPPABLE_COUNT,
        default=0,
        help="also score this many marks made the way people make them (credit lines, SAMPLE banners)",
    )
    parser.add_argument(
        "--runs", type=SKIPPABLE_COUNT, default=3, help="timed remove-watermark calls per variant (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--offline",
        type=Path,
        default=None,
        metavar="REPOSITORY",
        help="no gateway: run REPOSITORY's detector graphs in onnxruntime as Triton would",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    parser.add_argument("--out", type=Path, default=OUT, help="results folder")
    parser.set_defaults(func=run)
