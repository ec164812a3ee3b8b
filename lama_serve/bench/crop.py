"""`lama-serve bench crop`: what `hd_strategy=crop` buys on a large photo with a small mask.

In one run, through the gateway (in process, over ASGI) and the bundled Triton started on
`--repository` (or a running one with `--url`): a `--size` JPEG with a `--hole` square
mask under `crop` and under `original`, and a plain `--plain-size` request with the same
hole; then `--concurrency` crop requests at once, with Triton's average batch size over
them (delta of `nv_inference_count` / delta of `nv_inference_exec_count`), which shows
whether windows of different requests meet in the dynamic batcher. Each case also reports
the gateway's own work (decode + preprocess + encode, from its stage histograms) as a share
of the Triton stage.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lama_serve.bench import OUT
from lama_serve.core.arg_types import COUNT, SIDE
from lama_serve.core.contract import MODEL_NAME

if TYPE_CHECKING:
    import httpx

ENDPOINT = "/api/v1/remove-watermark"
Upload = dict[str, tuple[str, bytes, str]]


def upload(side: int, hole: int, seed: int) -> Upload:
    """A photo-like JPEG (what large uploads usually are) and a PNG mask with one centred
    `hole`-sided square."""
    import numpy as np
    from PIL import Image

    from lama_serve.bench.inputs import photo, png_bytes

    image = io.BytesIO()
    Image.fromarray(photo(side, np.random.default_rng(seed))).save(image, format="JPEG", quality=90)
    mask = np.zeros((side, side, 1), np.uint8)
    start = (side - hole) // 2
    mask[start : start + hole, start : start + hole] = 255
    return {"image": ("image.jpg", image.getvalue(), "image/jpeg"), "mask": ("mask.png", png_bytes(mask), "image/png")}


async def triton_counts(metrics_url: str) -> tuple[float, float]:
    """(inferences, executions) of the model so far, summed over its versions."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient() as client:
        text = (await client.get(metrics_url)).text
    totals = {"nv_inference_count": 0.0, "nv_inference_exec_count": 0.0}
    for family in text_string_to_metric_families(text):  # sample names get `_total`; families not
        if family.name in totals:
            totals[family.name] += sum(s.value for s in family.samples if s.labels.get("model") == MODEL_NAME)
    return totals["nv_inference_count"], totals["nv_inference_exec_count"]


STAGES = ("decode", "preprocess", "triton", "encode")
CASES = ("crop", "original", "plain", "concurrent")


async def stage_totals(client: httpx.AsyncClient) -> dict[str, tuple[float, float]]:
    """(seconds, observations) per stage from the gateway's own histograms."""
    from prometheus_client.parser import text_string_to_metric_families

    totals = {stage: [0.0, 0.0] for stage in STAGES}
    for family in text_string_to_metric_families((await client.get("/metrics")).text):
        if family.name == "lama_gateway_stage_duration_seconds":
            for sample in family.samples:
                stage, suffix = sample.labels.get("stage"), sample.name.rsplit("_", 1)[-1]
                if stage in totals and suffix in ("sum", "count"):
                    totals[stage][suffix == "count"] += sample.value
    return {stage: (seconds, count) for stage, (seconds, count) in totals.items()}


async def measure(
    client: httpx.AsyncClient,
    metrics_url: str,
    case: str,
    side: int,
    files: Upload,
    strategy: str | None,
    requests: int,
    concurrency: int,
) -> dict[str, object]:
    """`requests` posts in waves of `concurrency`: median latency and Triton's batch size."""
    params = {"hd_strategy": strategy} if strategy else {}
    latencies: list[float] = []
    seen: dict[str, set[str]] = {"X-HD-Strategy": set(), "X-Inpaint-Windows": set()}
    errors = 0

    async def post() -> None:
        nonlocal errors
        sent = time.perf_counter()
        response = await client.post(ENDPOINT, files=files, params=params)
        if response.status_code != 200:
            errors += 1
            print(f"{case}: HTTP {response.status_code} {response.text[:200]}", flush=True)
            return
        latencies.append(time.perf_counter() - sent)
        for header, values in seen.items():
            values.add(response.headers[header])

    inferences, executions = await triton_counts(metrics_url)
    stages_before = await stage_totals(client)
    started = time.perf_counter()
    for first in range(0, requests, concurrency):
        await asyncio.gather(*(post() for _ in range(min(concurrency, requests - first))))
    wall = time.perf_counter() - started
    inferences_after, executions_after = await triton_counts(metrics_url)
    stages_after = await stage_totals(client)
    # mean seconds per request of each stage (the triton stage spans all windows of a request)
    per_request = {
        stage: (stages_after[stage][0] - stages_before[stage][0]) / max(1, requests - errors) for stage in STAGES
    }
    gateway_work = per_request["decode"] + per_request["preprocess"] + per_request["encode"]
    executed = executions_after - executions
    row = {
        "case": case,
        "side": side,
        "strategy": ",".join(sorted(seen["X-HD-Strategy"])),
        "windows": ",".join(sorted(seen["X-Inpaint-Windows"])),
        "requests": requests,
        "concurrency": concurrency,
        "errors": errors,
        "median_s": round(statistics.median(latencies), 3) if latencies else float("nan"),
        "wall_s": round(wall, 3),
        "avg_batch": round((inferences_after - inferences) / executed, 2) if executed else float("nan"),
        **{f"{stage}_s": round(seconds, 4) for stage, seconds in per_request.items()},
        "gateway_share_of_model": round(gateway_work / per_request["triton"], 4)
        if per_request["triton"]
        else float("nan"),
    }
    print(
        f"{case:24} {side:5} px  median {row['median_s']:8.3f} s  windows {row['windows']:3}  "
        f"Triton avg batch {row['avg_batch']}  errors {errors}  decode+preprocess+encode = "
        f"{row['gateway_share_of_model']:.1%} of the Triton stage",
        flush=True,
    )
    return row


async def run_cases(args: argparse.Namespace, triton_url: str, metrics_url: str) -> list[dict[str, object]]:
    """The gateway in process (ASGI, its lifespan run) with rate limiting off and limits
    raised to fit `--size`; one plain request warms it up before anything is timed."""
    import httpx

    from lama_serve.core.settings import Settings
    from lama_serve.gateway.app import create_app

    key = secrets.token_urlsafe(24)
    large = upload(args.size, args.hole, seed=1)
    plain = upload(args.plain_size, min(args.hole, args.plain_size // 2), 2)
    with tempfile.TemporaryDirectory(prefix="lama-bench-crop-") as tmp:
        settings = Settings(
            api_key=key,
            api_keys_file=None,
            triton_url=triton_url,
            rate_limit_per_minute=0,
            stats_db_path=Path(tmp) / "stats.sqlite3",
            max_upload_bytes=256 * 1024 * 1024,
            max_image_side=max(args.size, args.plain_size),
            max_image_pixels=max(args.size, args.plain_size) ** 2,
            inference_timeout_s=args.timeout,
            log_level="warning",
            cors_origins=[],
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://gateway",
                headers={"X-API-Key": key},
                timeout=args.timeout,
            ) as client,
        ):
            await measure(client, metrics_url, "warm-up", args.plain_size, plain, None, 1, 1)
            cases = {
                "crop": lambda: measure(client, metrics_url, "crop", args.size, large, "crop", args.runs, 1),
                "original": lambda: measure(
                    client, metrics_url, "original", args.size, large, "original", args.runs, 1
                ),
                "plain": lambda: measure(client, metrics_url, "plain", args.plain_size, plain, None, args.runs, 1),
                "concurrent": lambda: measure(
                    client, metrics_url, "crop concurrent", args.size, large, "crop", args.concurrency, args.concurrency
                ),
            }
            return [await cases[name]() for name in CASES if name in args.cases]


def run(args: argparse.Namespace) -> int:
    from lama_serve.bench.results import write_rows
    from lama_serve.bench.triton import triton_target

    with triton_target(args, "on") as (triton_url, metrics_url):
        rows = asyncio.run(run_cases(args, triton_url, metrics_url))
    ratios = case_ratios({str(row["case"]): row for row in rows})
    print(
        f"{args.size} px, {args.hole} px hole, plain {args.plain_size} px, concurrency {args.concurrency}: "
        + ", ".join(f"{name} {value}" for name, value in ratios.items())
    )
    write_rows(args.out, "crop", rows, {"target": args.url or str(args.repository), "ratios": ratios})
    print(f"results in {args.out}: crop.csv/.json")
    return 0


def case_ratios(rows: dict[str, dict[str, object]]) -> dict[str, float]:
    """original/crop and crop/plain median latencies, and the concurrent crops' Triton batch
    size, for the cases that ran (crop/plain is issue 16's end-to-end target: <= 1.2)."""
    median = {case: float(row["median_s"]) for case, row in rows.items()}
    ratios = {}
    if {"original", "crop"} <= set(median):
        ratios["original_over_crop"] = round(median["original"] / median["crop"], 2)
    if {"crop", "plain"} <= set(median):
        ratios["crop_over_plain"] = round(median["crop"] / median["plain"], 2)
    if "crop concurrent" in rows:
        ratios["concurrent_crop_avg_batch"] = float(rows["crop concurrent"]["avg_batch"])
    return ratios


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "crop",
        help="hd_strategy crop vs original on a large image, and Triton's batch size under concurrent crop requests",
    )
    parser.add_argument(
        "--repository",
        type=Path,
        default=Path("model_repository"),
        help="model repository for the bundled Triton (big-lama or tiny, as exported)",
    )
    parser.add_argument("--url", help="host:port of a running Triton instead of starting the bundled one")
    parser.add_argument("--metrics-url", help="its Prometheus metrics URL (default: same host, port 8002)")
    parser.add_argument(
        "--size",
        type=SIDE,
        default=2048,
        help="side of the large image; 4096 works, but `original` on big-lama on a few "
        "CPU cores then takes minutes per request",
    )
    parser.add_argument("--hole", type=COUNT, default=256, help="side of the square mask hole")
    parser.add_argument("--plain-size", type=SIDE, default=512, help="side of the plain request")
    parser.add_argument("--runs", type=COUNT, default=3, help="sequential requests per case (median)")
    parser.add_argument("--concurrency", type=COUNT, default=8, help="crop requests sent at once")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-request and inference timeout (s)")
    parser.add_argument("--ready-timeout", type=float, default=600.0, help="seconds to wait for the bundled Triton")
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=CASES,
        default=list(CASES),
        help="cases to run (leave out `original` for big-lama at 4096 px on a few cores)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.set_defaults(func=run)
