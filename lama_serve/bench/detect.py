"""`lama-serve bench detect`: how well automatic detection finds watermarks, measured.

Each image of the labelled set (bench.detect_sets) goes through a running gateway's
`POST /api/v1/detect?format=png`: the served detectors, post-processing and the combination
exactly as clients get them; `--offline` runs a repository's graphs the same way without one
(bench.detect_offline). `--jpeg Q` sends every image as a JPEG of quality Q, as most photos
arrive (scored against the mark's pixels in the lossless composite). The two estimators that
need several images or an operator's file
are measured on the library the gateway runs: the batch-shared mark (`detect.consensus`, on
the items' masks from the same gateway) and known templates with exact un-blending
(`detect.templates`). The rows are bench.detect_rows', each judged against the issue's
targets with its margin in standard errors, and summed up by bench.detect_targets.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import time
from pathlib import Path

import numpy as np

from lama_serve.bench import OUT
from lama_serve.bench.detect_rows import score_rows, shared_row, template_row, whole_photo_row
from lama_serve.bench.detect_sets import SIZE_SPREAD, labelled_set, shared_sets, whole_photos
from lama_serve.bench.detect_targets import summary as targets_summary
from lama_serve.bench.inputs import as_sent, png_bytes, upload
from lama_serve.core.arg_types import COUNT, SKIPPABLE_COUNT, at_least
from lama_serve.detect import synth
from lama_serve.detect.shared import MIN_IMAGES

DETECT = "/api/v1/detect"
REMOVE = "/api/v1/remove-watermark"
MIN_PHOTO_SIDE = SIZE_SPREAD + 32  # the batch of different sizes still leaves 32 px of every photo
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
    if min(synth.shape_of(sides)) < MIN_PHOTO_SIDE:
        raise argparse.ArgumentTypeError(f"{text!r} is too small: each side needs at least {MIN_PHOTO_SIDE} px")
    return sides


def jpeg_quality(text: str) -> int:
    """`--jpeg`: a JPEG quality, 1-100."""
    value = COUNT(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"{value} is too large: JPEG quality goes up to 100 (Pillow's default is 75)")
    return value


def size_label(size: synth.Size) -> str:
    """The size as photos are described: "512 px" (square) or "640x427 px" (width x height)."""
    height, width = synth.shape_of(size)
    return f"{width} px" if isinstance(size, int) else f"{width}x{height} px"


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


async def _detect_mask(client: object, image: np.ndarray, jpeg: int | None) -> tuple[np.ndarray, float]:
    """(uint8 mask from the gateway's /api/v1/detect?format=png, seconds it took)."""
    from PIL import Image

    files = {"image": upload(image, jpeg)}
    response, seconds = await post_when_allowed(client, DETECT, params={"format": "png"}, files=files)
    if response.status_code != 200:
        raise SystemExit(f"{DETECT} answered {response.status_code}: {response.text[:300]}")
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("L")), seconds


async def _detect_all(client: object, composites: list[synth.Composite], jpeg: int | None) -> list[tuple]:
    scored = []
    for composite in composites:
        mask, seconds = await _detect_mask(client, composite.image, jpeg)
        scored.append((composite, mask > 127, seconds))
    return scored


async def _removal_latency(client: object, composite: synth.Composite, runs: int, jpeg: int | None) -> dict[str, float]:
    """Median seconds of remove-watermark on one image, with its true mask and without a mask."""
    image = upload(composite.image, jpeg)
    mask = ("mask.png", png_bytes(np.where(composite.mask, 255, 0).astype(np.uint8)), "image/png")
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
        rows = score_rows(await _detect_all(client, composites, args.jpeg))
        rows.append(whole_photo_row([(await _detect_mask(client, photo, args.jpeg))[0] for photo in whole_photos()]))
        for batch in shared_sets(args.shared, args.size, args.seed):
            masks = [(await _detect_mask(client, image, args.jpeg))[0] for image in batch.images]
            rows.append(shared_row(batch, masks))
        text = next(c for c in composites if c.kind == "text_corner")
        latency = await _removal_latency(client, text, args.runs, args.jpeg) if args.runs else {}
    return rows, latency


def _measure_offline(args: argparse.Namespace) -> tuple[list[dict[str, object]], dict[str, float]]:
    """The same rows from the repository's graphs in onnxruntime (no gateway, no latency)."""
    from lama_serve.bench.detect_offline import OfflineDetection, served_path_scores

    detection = OfflineDetection(args.offline)
    composites = labelled_set(args.per_kind, args.size, args.seed, args.user_marks)
    rows = score_rows(served_path_scores(composites, detection, args.jpeg))
    rows.append(whole_photo_row([detection.detect(as_sent(photo, args.jpeg)).mask for photo in whole_photos()]))
    for batch in shared_sets(args.shared, args.size, args.seed):
        rows.append(shared_row(batch, [detection.detect(as_sent(image, args.jpeg)).mask for image in batch.images]))
    return rows, {}


def run(args: argparse.Namespace) -> int:
    from lama_serve.bench.results import write_rows

    if args.offline is None and not args.api_key:
        raise SystemExit("no API key: pass --api-key or set API_KEY (the gateway's key)")
    rows, latency = _measure_offline(args) if args.offline else asyncio.run(_measure(args))
    rows.append(template_row(args.per_kind, args.size, args.seed, args.jpeg))
    columns = (
        "images",
        "recall",
        "recall_se",
        "iou",
        "iou_se",
        "precision",
        "left_visible",
        "false_positive_area",
        "opacity",
        "found",
        "restored_within_3_levels",
        "p50_ms",
        "target",
        "target_margin_se",
    )
    sent = "PNG" if args.jpeg is None else f"JPEG quality {args.jpeg}"
    print(f"detection on {size_label(args.size)} held-out composites sent as {sent} ({args.offline or args.url}):")
    for row in rows:
        figures = "  ".join(f"{c} {row[c]}" for c in columns if c in row)
        print(f"  {row['kind']:<54} {figures}")
    print(targets_summary(rows))
    for name, seconds in latency.items():
        print(f"remove-watermark {size_label(args.size)}, {name}: median {seconds * 1000:.0f} ms")
    if len(latency) == 2:
        print(f"no-mask / masked latency: {latency['no mask (detected)'] / latency['masked']:.2f}x")
    source = {"offline": str(args.offline)} if args.offline else {"url": args.url}
    height, width = synth.shape_of(args.size)
    meta = {**source, "width": width, "height": height, "jpeg": args.jpeg, "latency_s": latency, "seed": args.seed}
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
    parser.add_argument(
        "--jpeg",
        type=jpeg_quality,
        default=None,
        metavar="QUALITY",
        help="send every image as a JPEG of this quality (1-100), as most photos arrive; default: PNG",
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
