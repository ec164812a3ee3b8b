"""serving.process.TritonProcess: load, admin API restriction, clear load errors, clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import tritonclient.http as httpclient

from lama_serve.core.contract import MODEL_NAME
from lama_serve.core.settings import REPOSITORY_API_HEADER
from lama_serve.triton.process import (
    TritonProcess,
    TritonStartupError,
    free_port,
)
from lama_serve.triton.shared_memory import PREFIX, SHARED_MEMORY
from tests.conftest import child_pids, exited


def test_serves_the_model_with_the_cpu_config(triton_server: TritonProcess) -> None:
    client = httpclient.InferenceServerClient(triton_server.http_url)
    try:
        assert client.is_server_ready()
        assert client.is_model_ready(MODEL_NAME)
        assert client.get_model_config(MODEL_NAME)["backend"] == "lama_cpu"
    finally:
        client.close()
    assert httpx.get(triton_server.metrics_url).status_code == 200


def test_repository_api_needs_the_per_run_secret(triton_server: TritonProcess) -> None:
    index = f"http://{triton_server.http_url}/v2/repository/index"
    assert httpx.post(index).status_code == 403
    allowed = httpx.post(index, headers=triton_server.repository_api_headers)
    assert allowed.status_code == 200
    assert MODEL_NAME in allowed.text
    secret = triton_server.repository_api_headers[REPOSITORY_API_HEADER]
    assert secret not in triton_server.log_tail()


def test_taken_port_is_refused_before_starting(tiny_repository: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = TritonProcess(tiny_repository, http_port=taken.getsockname()[1], metrics_port=free_port())
        with pytest.raises(TritonStartupError, match="TRITON_HTTP_PORT"):
            process.start()
    assert process.pid is None


def test_corrupt_model_fails_fast_with_the_load_error(
    copy_repository: Callable[[], Path], start_triton: Callable[..., TritonProcess]
) -> None:
    repository = copy_repository()
    (repository / MODEL_NAME / "1" / "model.onnx").write_bytes(b"not an onnx file")
    process = start_triton(repository, wait=False)
    started = time.monotonic()
    with pytest.raises(TritonStartupError) as info:
        process.wait_ready(60)
    assert time.monotonic() - started < 30
    message = str(info.value)
    assert "exited with status" in message
    assert "cannot load ONNX model" in message and "model.onnx" in message


def test_stop_leaves_no_process_behind(start_triton: Callable[..., TritonProcess]) -> None:
    process = start_triton()
    assert process.pid is not None
    stubs = child_pids(process.pid)
    assert stubs, "the Python backend runs the model in a stub child process"
    process.stop()
    assert process.returncode is not None
    assert all(exited(pid) for pid in stubs)


def test_a_killed_server_leaves_no_shared_memory_behind(start_triton: Callable[..., TritonProcess]) -> None:
    """Triton unlinks its Python backend regions on a clean exit only; after a crash `stop()`
    removes them (each restart of a crashing stack would leak its regions in /dev/shm)."""
    process = start_triton()
    assert process.pid is not None
    regions = list(SHARED_MEMORY.glob(f"{process.shm_prefix}*"))
    assert regions, "the Python backend's stub talks to Triton through /dev/shm regions"
    os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process.returncode is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(region.exists() for region in regions)  # the crash left them
    process.stop()
    assert not any(region.exists() for region in regions)


def test_a_start_removes_the_regions_of_a_stack_that_was_killed(
    start_triton: Callable[..., TritonProcess],
) -> None:
    """An out-of-memory kill takes `up` and its Triton at once: nobody stops that server, so
    the next start removes the regions named after the dead starter."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    orphan = SHARED_MEMORY / f"{PREFIX}{child.pid}_0123abcd_region"
    orphan.write_bytes(b"\0" * 16)
    start_triton()
    assert not orphan.exists()


def test_free_port_never_hands_out_a_port_twice() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
