"""`lama-serve bench gateway`: the REST API under closed-loop load (what clients see:
upload, PNG decode/encode, auth, Triton call), optionally next to Triton called directly
with the same images, which gives the gateway's own p50 overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from lama_serve.bench import OUT
from lama_serve.core.arg_types import COUNT, SIDE
from lama_serve.core.contract import MODEL_NAME

if TYPE_CHECKING:
    import httpx

    from lama_serve.bench.inputs import Sample

ENDPOINT = "/api/v1/remove-watermark"
Send = Callable[[int], Awaitable[object]]


async def _sweep(name: str, size: int, send: Send, args: argparse.Namespace) -> list[dict[str, object]]:
    """One warm-up request (its failure aborts with the reason), then each concurrency."""
    from lama_serve.bench.load import closed_loop

    try:
        await send(0)
    except Exception as error:
        raise SystemExit(
            f"{name}: the warm-up request failed: {error!r}. Check the URL, the API "
            f"key, and that rate limiting is off (RATE_LIMIT_PER_MINUTE=0)."
        ) from error
    rows = []
    for concurrency in args.concurrency:
        result = await closed_loop(send, concurrency, args.requests, args.duration)
        rows.append(row := {"target": name, "size": size, **result.summary()})
        print(
            f"{name:8} {size:5} px  concurrency {concurrency:2}: {row['throughput_per_s']:7.2f} req/s  "
            f"p50 {row['p50_ms']:8.1f} ms  p90 {row['p90_ms']:8.1f} ms  p99 {row['p99_ms']:8.1f} ms  "
            f"errors {row['errors']} {row['error_kinds']}",
            flush=True,
        )
    return rows


async def _measure(args: argparse.Namespace) -> list[dict[str, object]]:
    import httpx

    from lama_serve.bench.inputs import samples

    rows: list[dict[str, object]] = []
    limits = httpx.Limits(max_connections=max(args.concurrency))
    async with (
        httpx.AsyncClient(
            base_url=args.url, headers={"X-API-Key": args.api_key}, timeout=args.timeout, limits=limits
        ) as client,
        AsyncExitStack() as stack,
    ):
        for size in args.sizes:
            batch = samples(size, args.samples)
            rows += await _sweep("gateway", size, _gateway_sender(client, batch), args)
            if args.triton_url:
                rows += await _sweep("triton", size, _triton_sender(args, batch, stack), args)
    return rows


def _gateway_sender(client: httpx.AsyncClient, batch: list[Sample]) -> Send:
    """Multipart PNG uploads, as a browser or SDK sends them; anything but 200 fails."""
    from lama_serve.bench.inputs import png_bytes
    from lama_serve.bench.load import RequestFailed

    uploads = [
        {"image": ("image.png", png_bytes(s.image), "image/png"), "mask": ("mask.png", png_bytes(s.mask), "image/png")}
        for s in batch
    ]

    async def post(index: int) -> None:
        response = await client.post(ENDPOINT, files=uploads[index % len(uploads)])
        if response.status_code != 200:
            raise RequestFailed(f"HTTP {response.status_code}")

    return post


def _triton_sender(args: argparse.Namespace, batch: list[Sample], stack: AsyncExitStack) -> Send:
    """Direct Triton calls with the tensors the gateway itself would send for each sample:
    the same window and bucket padding (`tiling`), the same request builder (batch of 1)."""
    from lama_serve.core.settings import load_settings
    from lama_serve.gateway.inpaint import tiling
    from lama_serve.gateway.inpaint.mask import MaskField
    from lama_serve.triton.client import AsyncTriton, inpainting_inputs

    # A locked Triton (`up`'s, compose's) answers inference only with TRITON_ADMIN_KEY's header.
    client = AsyncTriton(args.triton_url, timeout_s=args.timeout, headers=load_settings().admin_headers)
    stack.push_async_callback(client.close)

    def tensors(sample: Sample) -> dict:
        mask = sample.mask[..., 0]
        window = tiling.whole_window(mask.shape, None, tiling.DEFAULT_BUCKETS)
        image, holes = tiling.extract(sample.image, MaskField(mask), window)
        return inpainting_inputs(image[None], holes[None, ..., None])

    requests = [tensors(sample) for sample in batch]

    async def infer(index: int) -> None:
        await client.infer(MODEL_NAME, "", requests[index % len(requests)])

    return infer


def overheads(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Gateway p50 minus Triton-alone p50, per size and concurrency measured both ways."""
    direct = {(r["size"], r["concurrency"]): r["p50_ms"] for r in rows if r["target"] == "triton"}
    return [
        {
            "size": r["size"],
            "concurrency": r["concurrency"],
            "p50_overhead_ms": round(r["p50_ms"] - direct[r["size"], r["concurrency"]], 2),
        }
        for r in rows
        if r["target"] == "gateway" and (r["size"], r["concurrency"]) in direct
    ]


def run(args: argparse.Namespace) -> int:
    from lama_serve.bench.results import plot_lines, write_rows

    if not args.api_key:
        raise SystemExit("no API key: pass --api-key or set API_KEY (the gateway's key)")
    rows = asyncio.run(_measure(args))
    extra = overheads(rows)
    for item in extra:
        print(
            f"{item['size']} px, concurrency {item['concurrency']}: gateway p50 overhead "
            f"{item['p50_overhead_ms']:.1f} ms over Triton alone"
        )
    write_rows(
        args.out,
        "gateway",
        rows,
        {
            "url": args.url,
            "triton_url": args.triton_url,
            "requests_per_level": args.requests,
            "seconds_per_level": args.duration,
            "p50_overheads": extra,
        },
    )

    def points(target: str, size: int, stat: str) -> tuple[list, list]:
        chosen = [r for r in rows if r["target"] == target and r["size"] == size]
        return [r["concurrency"] for r in chosen], [r[f"{stat}_ms"] for r in chosen]

    series = {
        f"{target} {size} px {stat}": points(target, size, stat)
        for target in dict.fromkeys(r["target"] for r in rows)
        for size in args.sizes
        for stat in ("p50", "p99")
    }
    plot_lines(
        args.out / "gateway.png", "Gateway vs Triton alone: latency under load", "concurrency", "latency (ms)", series
    )
    print(f"results in {args.out}: gateway.csv/.json/.png")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gateway", help="REST API load: throughput, p50/p90/p99, errors")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="gateway base URL")
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"), help="default: $API_KEY")
    parser.add_argument(
        "--triton-url",
        help="host:port of the gateway's Triton: also measure it directly and report the gateway's p50 overhead",
    )
    parser.add_argument("--sizes", type=SIDE, nargs="+", default=[512], help="square image sides")
    parser.add_argument("--concurrency", type=COUNT, nargs="+", default=[1, 4, 8])
    parser.add_argument("--requests", type=COUNT, default=50, help="most requests per concurrency level")
    parser.add_argument("--duration", type=float, default=60.0, help="most seconds per concurrency level")
    parser.add_argument("--samples", type=COUNT, default=4, help="distinct images per size")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request timeout (s)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.set_defaults(func=run)
