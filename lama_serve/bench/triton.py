"""`lama-serve bench triton`: Triton alone under perf_analyzer load, per resolution and
concurrency, with Triton's dynamic batcher on, off, or both (measured, not assumed).

Against a running Triton (`--url`) or, by default, the bundled one started here on free
loopback ports with `--repository`; `--batching off|both` restarts it from a temporary
copy of the repository whose CPU config has no `dynamic_batching` block.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lama_serve.bench import OUT
from lama_serve.core.arg_types import COUNT, SIDE
from lama_serve.core.contract import MODEL_NAME
from lama_serve.core.repository import ModelRepository, is_version_name

if TYPE_CHECKING:
    from lama_serve.bench.perf_analyzer import PerfAnalyzer

CONFIG_NAME = "cpu"  # the bundled Triton is CPU-only: configs/cpu.pbtxt
BATCHING_MODES = {"on": ("on",), "off": ("off",), "both": ("on", "off")}


def without_dynamic_batching(config: str) -> str:
    """`config` (pbtxt text) minus its top-level `dynamic_batching { ... }` block."""
    match = re.search(r"^[ \t]*dynamic_batching\s*\{", config, re.MULTILINE)
    if match is None:
        raise ValueError("the config has no dynamic_batching block: it already runs without the batcher")
    depth = 0
    for end in range(match.end() - 1, len(config)):
        depth += {"{": 1, "}": -1}.get(config[end], 0)
        if depth == 0:
            return (
                config[: match.start()]
                + "# dynamic_batching removed by `lama-serve bench triton`\n"
                + config[end + 1 :].lstrip("\n")
            )
    raise ValueError("unbalanced braces in the dynamic_batching block")


def unbatched_copy(repository: Path, dest: Path) -> Path:
    """`dest` as `repository` with the batcher removed from configs/cpu.pbtxt. Version
    directories are symlinked, not copied (a big-lama export is ~200 MB)."""
    source, model_dir = repository.resolve() / MODEL_NAME, dest / MODEL_NAME
    (model_dir / "configs").mkdir(parents=True)
    for item in source.iterdir():
        if is_version_name(item.name):
            (model_dir / item.name).symlink_to(item, target_is_directory=True)
        elif item.is_file():
            (model_dir / item.name).write_bytes(item.read_bytes())
    config = (source / "configs" / f"{CONFIG_NAME}.pbtxt").read_text()
    (model_dir / "configs" / f"{CONFIG_NAME}.pbtxt").write_text(without_dynamic_batching(config))
    return dest


def _require_ready(url: str) -> None:
    """`--url` names a Triton that answers ready, or the bench stops here with what to do
    (not minutes later, in perf_analyzer's log or a connection traceback)."""
    from lama_serve.triton.client import server_ready

    if not server_ready(url, timeout_s=5.0):
        raise SystemExit(
            f"no Triton answers ready at {url}: start one (`lama-serve up`), check --url, "
            "or leave --url out to start the bundled Triton on the repository"
        )


@contextmanager
def triton_target(args: argparse.Namespace, batching: str) -> Iterator[tuple[str, str]]:
    """(HTTP host:port, metrics URL) of the Triton to load, started here unless `--url`."""
    if args.url:
        _require_ready(args.url)
        yield args.url, args.metrics_url or f"http://{urlsplit('//' + args.url).hostname}:8002/metrics"
        return
    from lama_serve.triton.process import TritonProcess, free_port

    if not ModelRepository(args.repository).exported_versions():
        raise SystemExit(
            f"no exported model in {args.repository}/{MODEL_NAME}: run "
            f"`lama-serve export` first, or pass --url of a running Triton"
        )
    with tempfile.TemporaryDirectory(prefix="lama-bench-repo-") as tmp:
        repository = args.repository if batching == "on" else unbatched_copy(args.repository, Path(tmp))
        with TritonProcess(
            repository, http_port=free_port(), metrics_port=free_port(), model_config_name=CONFIG_NAME
        ) as triton:
            triton.wait_ready(args.ready_timeout)
            yield triton.http_url, triton.metrics_url


def concurrency_levels(spec: str) -> range:
    """perf_analyzer's START:END[:STEP] as the levels it will measure."""
    try:
        start, end, step = ([int(part) for part in spec.split(":")] + [1])[:3]
    except ValueError:
        raise SystemExit(f"--concurrency-range must look like 1:8:1 (START:END[:STEP]), got {spec!r}") from None
    return range(start, end + 1, step)


def model_label(args: argparse.Namespace) -> str:
    """What was measured, for the plot and JSON: arch and random weights from export.json."""
    if args.url:
        return f"Triton at {args.url}"
    repository = ModelRepository(args.repository)
    manifest = repository.manifest(repository.exported_versions()[-1])
    random = ", RANDOM weights" if manifest and manifest.random_weights else ""
    return f"{manifest.arch if manifest else 'unknown arch'}{random}, bundled Triton (CPU)"


def summary_row(batching: str, size: int, measured: dict[str, float]) -> dict[str, object]:
    ms = {
        key: round(measured[key] / 1000, 2)
        for key in ("p50 latency", "p90 latency", "p99 latency", "Avg latency", "Server Queue", "Server Compute Infer")
    }
    return {
        "batching": batching,
        "size": size,
        "concurrency": int(measured["Concurrency"]),
        "throughput_per_s": round(measured["Inferences/Second"], 3),
        "p50_ms": ms["p50 latency"],
        "p90_ms": ms["p90 latency"],
        "p99_ms": ms["p99 latency"],
        "avg_ms": ms["Avg latency"],
        "server_queue_ms": ms["Server Queue"],
        "server_infer_ms": ms["Server Compute Infer"],
    }


def batching_ratios(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Throughput with / without the batcher, per size and concurrency measured both ways."""
    by_key = {(r["batching"], r["size"], r["concurrency"]): r["throughput_per_s"] for r in rows}
    return [
        {"size": size, "concurrency": conc, "on_over_off": round(by_key["on", size, conc] / off, 3)}
        for (mode, size, conc), off in by_key.items()
        if mode == "off" and ("on", size, conc) in by_key
    ]


def measure(
    analyzer: PerfAnalyzer, args: argparse.Namespace, url: str, metrics_url: str, batching: str, size: int, data: Path
) -> list[dict[str, object]]:
    """One perf_analyzer sweep over the concurrency range; its CSV and log stay in --out."""
    from lama_serve.bench.perf_analyzer import read_csv

    csv_path = args.out / f"triton_batching-{batching}_{size}.csv"
    analyzer.run(
        [
            "-m",
            MODEL_NAME,
            "-u",
            url,
            "-i",
            "http",
            "--input-data",
            str(data),
            "--concurrency-range",
            args.concurrency_range,
            "-f",
            str(csv_path),
            "--verbose-csv",
            "--collect-metrics",
            "--metrics-url",
            metrics_url,
            "--measurement-mode",
            "count_windows",
            "--measurement-request-count",
            str(args.request_count),
            "--measurement-interval",
            str(args.measurement_interval),
            "--stability-percentage",
            str(args.stability_percentage),
            "--max-trials",
            str(args.max_trials),
        ],
        log=csv_path.with_suffix(".log"),
    )
    measured = sorted(read_csv(csv_path), key=lambda m: m["Concurrency"])  # it sorts by throughput
    if len(measured) < len(concurrency_levels(args.concurrency_range)):
        print(
            f"warning: perf_analyzer stopped after {len(measured)} level(s) of {args.concurrency_range} at "
            f"{size} px (unstable measurement, see {csv_path.with_suffix('.log')}); raise "
            f"--request-count or --stability-percentage"
        )
    rows = [summary_row(batching, size, m) for m in measured]
    for row in rows:
        print(
            f"batching {batching:3} {size:5} px  concurrency {row['concurrency']:2}: "
            f"{row['throughput_per_s']:8.2f} infer/s  p50 {row['p50_ms']:9.1f} ms  p99 {row['p99_ms']:9.1f} ms",
            flush=True,
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from lama_serve.bench.inputs import samples, write_perf_analyzer_data
    from lama_serve.bench.perf_analyzer import PerfAnalyzer, PerfAnalyzerError
    from lama_serve.bench.results import plot_lines, write_rows

    if args.url and args.batching != "on":
        raise SystemExit(
            "--batching off|both restarts Triton with another config: drop --url "
            "so the bundled Triton is started with --repository"
        )
    concurrency_levels(args.concurrency_range)  # fail on a bad range before starting anything
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    try:
        analyzer = PerfAnalyzer.locate()
        with tempfile.TemporaryDirectory(prefix="lama-bench-inputs-") as tmp:
            data = {
                size: write_perf_analyzer_data(Path(tmp) / f"{size}.json", samples(size, args.samples))
                for size in args.sizes
            }
            for batching in BATCHING_MODES[args.batching]:
                with triton_target(args, batching) as (url, metrics_url):
                    for size in args.sizes:
                        rows += measure(analyzer, args, url, metrics_url, batching, size, data[size])
    except PerfAnalyzerError as error:
        raise SystemExit(str(error)) from error
    ratios = batching_ratios(rows)
    for ratio in ratios:
        print(
            f"{ratio['size']} px, concurrency {ratio['concurrency']}: batcher on/off throughput "
            f"= {ratio['on_over_off']:.2f}x"
        )
    label = model_label(args)
    write_rows(
        args.out,
        "triton",
        rows,
        {
            "target": label,
            "concurrency_range": args.concurrency_range,
            "samples_per_size": args.samples,
            "batching_ratios": ratios,
        },
    )
    series = {
        f"{size} px" + (f", batcher {mode}" if args.batching == "both" else ""): (
            [r["p50_ms"] for r in rows if r["size"] == size and r["batching"] == mode],
            [r["throughput_per_s"] for r in rows if r["size"] == size and r["batching"] == mode],
        )
        for mode in BATCHING_MODES[args.batching]
        for size in args.sizes
    }
    plot_lines(
        args.out / "triton.png",
        f"{label}\none point per concurrency ({args.concurrency_range})",
        "p50 latency (ms)",
        "throughput (infer/s)",
        series,
    )
    print(f"results in {args.out}: triton.csv/.json/.png and perf_analyzer's triton_batching-*.csv")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("triton", help="perf_analyzer load on Triton: throughput/latency, batcher on vs off")
    parser.add_argument(
        "--url",
        help="host:port of a running Triton's HTTP endpoint (default: start the bundled one on free loopback ports)",
    )
    parser.add_argument("--metrics-url", help="its Prometheus metrics URL (default: same host, port 8002)")
    parser.add_argument(
        "--repository", type=Path, default=Path("model_repository"), help="model repository for the bundled Triton"
    )
    parser.add_argument("--sizes", type=SIDE, nargs="+", default=[512, 1024, 2048], help="square image sides")
    parser.add_argument("--concurrency-range", default="1:8:1", help="perf_analyzer START:END:STEP")
    parser.add_argument(
        "--batching",
        choices=sorted(BATCHING_MODES),
        default="on",
        help="on: the config as is; off: without dynamic_batching; both: compare",
    )
    parser.add_argument("--samples", type=COUNT, default=4, help="distinct images per size")
    parser.add_argument("--request-count", type=COUNT, default=20, help="requests per measurement window")
    parser.add_argument("--measurement-interval", type=COUNT, default=5000, help="least window length (ms)")
    parser.add_argument(
        "--stability-percentage",
        type=float,
        default=10.0,
        help="allowed spread between windows; raise it on a busy host",
    )
    parser.add_argument("--max-trials", type=COUNT, default=10, help="windows tried before giving up")
    parser.add_argument("--ready-timeout", type=float, default=600.0, help="seconds to wait for the bundled Triton")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.set_defaults(func=run)
