"""The export as small named steps: load checkpoint -> build module -> export ONNX ->
validate -> record. Each step is importable and checkable alone; this module chains them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import torch

from lama_serve.core import contract
from lama_serve.core.repository import ExportManifest, ModelRepository
from lama_serve.export.arch import get_arch
from lama_serve.export.bf16_check import SKIPPED, check_bf16, summary_line
from lama_serve.export.checkpoint import LoadedCheckpoint, load_checkpoint, random_generator
from lama_serve.export.onnx_export import deployable_graph, export_onnx, reference_graph
from lama_serve.export.parity import ParityReport, check_parity
from lama_serve.export.weights import FetchedWeights

Progress = Callable[[str], None]


@dataclass
class ExportResult:
    onnx_path: Path
    metadata_path: Path
    metadata: dict[str, object] = field(default_factory=dict)


def _quiet(_: str) -> None:
    pass


def load_weights(arch_name: str, checkpoint: Path | None, seed: int, trust: bool) -> LoadedCheckpoint:
    arch = get_arch(arch_name)
    return random_generator(arch, seed) if checkpoint is None else load_checkpoint(checkpoint, arch, trust)


def weights_record(
    loaded: LoadedCheckpoint, checkpoint: Path | None, fetched: FetchedWeights | None
) -> dict[str, str | None]:
    """Which weights an export holds (export.json `weights`, shown by /api/v1/health)."""
    if fetched is not None:
        return {"name": fetched.model, "sha256": fetched.sha256, "md5": fetched.md5, "source": "fetched"}
    if checkpoint is None:
        return {"name": "random", "sha256": "random", "md5": None, "source": "random"}
    return {"name": checkpoint.name, "sha256": loaded.sha256, "md5": None, "source": "checkpoint"}


def export_to_repository(
    repository: Path,
    version: int = 1,
    *,
    arch: str = "tiny",
    checkpoint: Path | None = None,
    seed: int = 0,
    precision: str = "fp32",
    validate: bool = True,
    trust_checkpoint: bool = False,
    progress: Progress = _quiet,
    fetched: FetchedWeights | None = None,
    accuracy_check: bool = True,
) -> ExportResult:
    """Write `repository/<model>/<version>/model.onnx` and `export.json`; parity-check it.
    `fetched`: released weights from the cache (`weights.fetch`), exported instead of `checkpoint`;
    `accuracy_check`: run the bf16 accuracy gate (export/bf16_check.py) and record it."""
    checkpoint = fetched.path if fetched is not None else checkpoint
    target = ModelRepository(Path(repository))
    target.ensure_configs()
    started = time.perf_counter()
    progress(f"[1/4] loading weights ({checkpoint or f'random, seed {seed}'})")
    loaded = load_weights(arch, checkpoint, seed, trust_checkpoint)
    if loaded.source == "random":
        progress("WARNING: random weights - outputs are NOT meaningful inpaintings")
    progress(f"[2/4] building the {precision} graph (BatchNorm folded, DFT as matmuls)")
    graph = deployable_graph(loaded.generator, precision)
    progress("[3/4] exporting ONNX (dynamic batch, height, width)")
    onnx_path = export_onnx(graph, target.onnx_path(version))
    onnx.checker.check_model(str(onnx_path))
    reports: list[ParityReport] = []
    if validate:
        progress("[4/4] parity check: ONNX Runtime vs PyTorch eager (torch.fft)")
        reports = check_parity(onnx_path, reference_graph(loaded.generator), precision)
        for report in reports:
            progress(report.line())
    else:
        progress("[4/4] parity check SKIPPED (--no-validate)")
    if accuracy_check:
        progress("bf16 accuracy check: OpenVINO bf16 vs f32 on the load-time gate's inputs")
        bf16_accuracy = check_bf16(onnx_path)
    else:
        bf16_accuracy = {"status": SKIPPED, "reason": "--no-accuracy-check"}
    progress(summary_line(bf16_accuracy))
    metadata = {
        "model": contract.MODEL_NAME,
        "version": version,
        "arch": arch,
        "checkpoint_sha256": loaded.sha256,
        "checkpoint_source": loaded.source,
        "checkpoint_path": str(checkpoint) if checkpoint else None,
        "weights": weights_record(loaded, checkpoint, fetched),
        "random_weights": loaded.source == "random",
        "seed": seed if checkpoint is None else None,
        "precision": precision,
        "opset": contract.ONNX_OPSET,
        "torch": torch.__version__,
        "onnx_bytes": onnx_path.stat().st_size,
        "validated": validate,
        "parity": [r.to_dict() for r in reports],
        "bf16_accuracy": bf16_accuracy,
        "seconds": round(time.perf_counter() - started, 2),
    }
    metadata_path = ExportManifest(metadata).write(target.manifest_path(version))
    return ExportResult(onnx_path, metadata_path, metadata)
