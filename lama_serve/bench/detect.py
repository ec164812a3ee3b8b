"""`lama-serve bench detect`: the gateway's detection (served detector models through
Triton + local detectors, `gateway.detection.DetectionService`) on a labelled set, per kind:
pixel recall, IoU, precision, the false-positive area on clean photos, template
restoration, `detect=shared` IoU, and detection latency.

Against a running Triton (`--triton-url`, serving watermark_text and watermark_seg) or, by
default, a bundled one started here on loopback with the detector models exported into a
temporary repository (no `lama` needed).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from lama_serve.bench.detect_set import Example, shared_group, synthetic, templated, write_template
from lama_serve.detect import metrics, synth
from lama_serve.detect.types import DetectionResult

RESTORE_TOLERANCE = 3  # levels: the target for un-blended template pixels
SYNTH_KINDS = tuple(kind for kind in synth.KINDS if kind != "clean")


def score(kind: str, examples: list[Example], predicted: list[np.ndarray]) -> dict[str, object]:
    """Pixels pooled over the kind's examples."""
    truth = np.concatenate([e.truth.ravel() for e in examples])
    pred = np.concatenate([p.ravel() for p in predicted])
    if kind == "clean":
        return {"kind": kind, "n": len(examples), "false_positive_area": round(metrics.false_positive_area(pred), 4)}
    return {"kind": kind, "n": len(examples), "recall": round(metrics.recall(pred, truth), 3),
            "iou": round(metrics.iou(pred, truth), 3), "precision": round(metrics.precision(pred, truth), 3),
            "predicted_area": round(float(np.mean(pred > 0)), 4)}


def restored_share(examples: list[Example], restored: list[np.ndarray | None]) -> float:
    """Share of the marks' pixels un-blended to within RESTORE_TOLERANCE of the clean photo."""
    good = total = 0
    for example, image in zip(examples, restored, strict=True):
        total += int(example.truth.sum())
        if image is not None:
            error = np.abs(image.astype(int) - example.clean).max(axis=-1)
            good += int((error[example.truth] <= RESTORE_TOLERANCE).sum())
    return round(good / max(total, 1), 3)


async def _measure(url: str, templates: Path,
                   sets: dict[str, list[Example]], groups: list[list[Example]]) -> list[dict[str, object]]:
    from lama_serve.core.settings import Settings
    from lama_serve.detect.detectors import local_detectors
    from lama_serve.gateway.detection.service import DetectionService
    from lama_serve.gateway.triton import TritonModel

    settings = Settings(watermark_templates_dir=templates, triton_url=url)
    triton = TritonModel(url, "lama", "", timeout_s=120.0, probe_timeout_s=5.0, retry_after_s=1)
    service = DetectionService(settings, triton, local_detectors(settings))
    print(f"detectors active: {await service.active()}", flush=True)
    rows, latencies = [], []
    try:
        await service.detect(sets["clean"][0].image)  # warm-up
        for kind, examples in sets.items():
            results = []
            for example in examples:
                started = time.perf_counter()
                results.append(await service.detect(example.image))
                latencies.append(time.perf_counter() - started)
            row = score(kind, examples, [r.mask | _restored_mask(r, e) for r, e in zip(results, examples, strict=True)])
            if kind == "template":
                row["restored_within_3"] = restored_share(examples, [r.restored for r in results])
            rows.append(row)
        for index, group in enumerate(groups):
            found = await service.detect_shared([e.image for e in group])
            rows.append({**score("shared", group, [r.mask for r in found]), "kind": f"shared#{index}"})
    finally:
        await triton.close()
    rows.append({"kind": "latency", "n": len(latencies),
                 "p50_ms": round(statistics.median(latencies) * 1000, 1),
                 "max_ms": round(max(latencies) * 1000, 1)})
    return rows


def _restored_mask(result: DetectionResult, example: Example) -> np.ndarray:
    """Un-blended pixels count as found (they are removed, not inpainted) where they moved
    visibly (synth.VISIBLE_CHANGE, the truth's own tolerance)."""
    if result.restored is None:
        return np.zeros(example.truth.shape, np.uint8)
    return np.where(synth.changed_mask(example.image, result.restored), 255, 0).astype(np.uint8)


@contextmanager
def _triton(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    if args.triton_url:
        yield args.triton_url
        return
    from lama_serve.core.contract import DETECTOR_MODELS
    from lama_serve.export.detectors import export_detectors
    from lama_serve.triton.process import TritonProcess, free_port

    export_detectors(workdir / "repository")
    with TritonProcess(workdir / "repository", http_port=free_port(), metrics_port=free_port(),
                       models=DETECTOR_MODELS) as process:
        process.wait_ready(300.0)
        yield process.http_url


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as tmp:
        workdir = Path(tmp)
        template = write_template(rng, workdir / "templates", args.size)
        sets = {kind: synthetic(rng, kind, args.per_kind, args.size) for kind in (*SYNTH_KINDS, "clean")}
        sets["template"] = templated(rng, template, args.per_kind, args.size)
        groups = [shared_group(rng, args.shared_items, args.size) for _ in range(args.shared_groups)]
        with _triton(args, workdir) as url:
            rows = asyncio.run(_measure(url, workdir / "templates", sets, groups))
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items()), flush=True)
    if args.out:
        from lama_serve.bench.results import write_rows

        columns = list(dict.fromkeys(key for row in rows for key in row))  # rows differ by kind
        write_rows(args.out, "detect", [{key: row.get(key, "") for key in columns} for row in rows],
                   {"size": args.size, "per_kind": args.per_kind, "seed": args.seed})
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("detect", help="watermark detection: recall/IoU/precision per kind, latency")
    parser.add_argument("--triton-url", help="host:port of a Triton serving the detector models "
                        "(default: start the bundled one with freshly exported detectors)")
    parser.add_argument("--per-kind", type=int, default=8, help="images per kind")
    parser.add_argument("--size", type=int, default=384, help="square image side")
    parser.add_argument("--shared-groups", type=int, default=2, help="batches of one shared mark")
    parser.add_argument("--shared-items", type=int, default=8, help="images per shared batch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write detect.csv/.json there")
    parser.set_defaults(func=run)
