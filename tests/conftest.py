"""Shared fixtures: a tiny exported model repository and the bundled Triton serving it.

    tiny_repository   session: tmp copy of model_repository/lama configs + tiny export (v1)
    triton_server     session: a ready TritonProcess (CPU config) on free ports serving it;
                      use .http_url ("127.0.0.1:PORT"), .metrics_url, .repository
    start_triton      function: factory for private servers, stopped after the test:
                      start_triton(repository=None, wait=True, **TritonProcess kwargs)
    copy_repository   function: a private copy of tiny_repository to modify (configs, files)
    detector_repository  session: tiny_repository + watermark_text and watermark_seg (v1)
    detector_triton   session: a ready TritonProcess serving detector_repository (all models)

Plain helpers for process checks: child_pids(pid), exited(pid, timeout); free_port() comes
from serving.process.

Tests that only need to talk to a model use `triton_server`; tests that stop, break or
reconfigure Triton use `start_triton` (+ `copy_repository`) so the shared one stays intact.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lama_serve.core.contract import DETECTOR_MODELS, MODEL_NAME
from lama_serve.triton.process import TritonProcess, free_port

pytest_plugins = ["tests.weights_server"]  # the `weights_server` fixture (loopback release host)


def _cuda_provider_missing() -> str | None:
    """Why GPU tests cannot run here, or None when ONNX Runtime can use CUDA."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "no CUDA: needs an NVIDIA GPU and `pip install onnxruntime-gpu` (CI has neither)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `gpu` skip, with the reason, where no GPU is usable."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    reason = _cuda_provider_missing() if gpu_items else None
    for item in gpu_items if reason else []:
        item.add_marker(pytest.mark.skip(reason=reason))


PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIGS_SOURCE = PROJECT_ROOT / "model_repository" / MODEL_NAME
READY_TIMEOUT_S = 60.0


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc), e.g. Triton's Python backend stubs."""
    return [
        int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()
    ]


def exited(pid: int, timeout: float = 5.0) -> bool:
    """True once `pid` is gone or a zombie, waiting at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists() or stat.read_text().rsplit(") ", 1)[1].startswith("Z"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def _copy_configs(repository: Path, models: tuple[str, ...] = (MODEL_NAME,)) -> Path:
    """The repo's configs for `models` (no versions) into `repository`."""
    for name in models:
        shutil.copytree(
            CONFIGS_SOURCE.parent / name, repository / name, ignore=shutil.ignore_patterns("[0-9]*", "__pycache__")
        )
    return repository


@pytest.fixture(scope="session")
def tiny_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model repository with the real configs and a tiny random-weights export as version 1."""
    from lama_serve.export.pipeline import export_to_repository

    repository = _copy_configs(tmp_path_factory.mktemp("model_repository"))
    export_to_repository(repository, 1, arch="tiny", seed=0)
    return repository


@pytest.fixture(scope="session")
def detector_repository(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_repository plus both detector models: their configs and `export_detectors` v1."""
    from lama_serve.export.detectors import export_detectors

    repository = Path(shutil.copytree(tiny_repository, tmp_path_factory.mktemp("detectors") / "repo"))
    export_detectors(_copy_configs(repository, DETECTOR_MODELS), 1)
    return repository


@pytest.fixture
def copy_repository(tiny_repository: Path, tmp_path: Path) -> Callable[[], Path]:
    """Factory of private copies of `tiny_repository` (safe to modify)."""
    counter = itertools.count()

    def make() -> Path:
        return Path(shutil.copytree(tiny_repository, tmp_path / f"repository{next(counter)}"))

    return make


def _new_process(repository: Path, **kwargs: Any) -> TritonProcess:
    return TritonProcess(repository, http_port=free_port(), metrics_port=free_port(), exit_timeout=2, **kwargs)


@pytest.fixture(scope="session")
def triton_server(tiny_repository: Path) -> Iterator[TritonProcess]:
    """One ready bundled Triton serving `tiny_repository` with configs/cpu.pbtxt."""
    process = _new_process(tiny_repository).start()
    try:
        process.wait_ready(READY_TIMEOUT_S)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def detector_triton(detector_repository: Path) -> Iterator[TritonProcess]:
    """One ready bundled Triton serving lama and both detectors (CPU configs)."""
    process = _new_process(detector_repository).start()
    try:
        process.wait_ready(READY_TIMEOUT_S)
        yield process
    finally:
        process.stop()


@pytest.fixture
def start_triton(tiny_repository: Path) -> Iterator[Callable[..., TritonProcess]]:
    """Factory: start a private Triton (ready unless wait=False); all stopped after the test."""
    started: list[TritonProcess] = []

    def start(repository: Path | None = None, *, wait: bool = True, **kwargs: Any) -> TritonProcess:
        process = _new_process(repository or tiny_repository, **kwargs)
        started.append(process.start())
        if wait:
            process.wait_ready(READY_TIMEOUT_S)
        return process

    yield start
    for process in started:
        process.stop()
