"""Issue 17: the embedded Triton serves only callers with its secret, which no command line shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from lama_serve.triton.client import SyncTriton, inpainting_inputs
from lama_serve.triton.process import LOCKED_APIS, TritonProcess

SECRET = "lock-test-secret-0123456789abcdef"


def command_lines() -> dict[int, bytes]:
    """Every process's /proc/PID/cmdline that this user can read."""
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
    return lines


def _infer(triton: TritonProcess, headers: dict[str, str]) -> np.ndarray:
    client = SyncTriton(triton.http_url, timeout_s=30, headers=headers)
    try:
        image, mask = np.zeros((1, 16, 16, 3), np.uint8), np.full((1, 16, 16, 1), 255, np.uint8)
        return client.infer("lama", "", inpainting_inputs(image, mask)).arrays["inpainted"]
    finally:
        client.close()


def test_locked_triton_refuses_without_the_secret(start_triton: Callable[..., TritonProcess]) -> None:
    triton = start_triton(repository_api_key=SECRET, restricted_apis=LOCKED_APIS)
    assert triton.pid in command_lines()
    leaks = [pid for pid, line in command_lines().items() if SECRET.encode() in line]
    assert not leaks, f"secret on the command line of {leaks}"
    assert b"@LAMA_TRITON_SECRET@" in command_lines()[triton.pid]

    base = f"http://{triton.http_url}"
    refused = {
        "logging": httpx.post(f"{base}/v2/logging", json={"log_verbose_level": 1}),
        "trace": httpx.get(f"{base}/v2/trace/setting"),
        "shared memory": httpx.get(f"{base}/v2/systemsharedmemory/status"),
        "repository": httpx.post(f"{base}/v2/repository/models/lama/unload", json={}),
        "inference": httpx.post(f"{base}/v2/models/lama/infer", json={"inputs": []}),
    }
    for api, response in refused.items():
        assert response.status_code == 403, (api, response.status_code, response.text)
    assert httpx.get(f"{base}/v2/health/ready").status_code == 200  # probes stay open

    assert _infer(triton, triton.repository_api_headers).shape == (1, 16, 16, 3)
