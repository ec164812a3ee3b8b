"""A large call's memory goes back to the OS (issue 17): the lama CPU backend calls OpenVINO's
`CompiledModel.release_memory()` after calls over `release_memory_above_pixels`. Real bundled
Triton, tiny model; the stubs' RSS is read from /proc before and after one large call."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lama_serve.core.contract import MODEL_NAME
from lama_serve.triton.client import SyncTriton, inpainting_inputs
from lama_serve.triton.process import TritonProcess
from tests.conftest import child_pids

LARGE_SIDE = 3072
_PARAMETER = re.compile(r'(key: "release_memory_above_pixels" value: \{ string_value: )"\d+"')


def _stubs_rss_mb(triton: TritonProcess) -> float:
    """Resident memory of Triton's Python backend stubs together (MB)."""
    total_kb = 0
    for pid in child_pids(triton.pid):
        status = Path(f"/proc/{pid}/status").read_text()
        if "triton_python_b" in status.split("\n", 1)[0]:  # Name: is cut at 15 characters
            total_kb += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total_kb / 1024


def _growth_after_large_call(start_triton: Callable[..., TritonProcess], repository: Path) -> tuple[float, float]:
    triton = start_triton(repository)
    before = _stubs_rss_mb(triton)
    client = SyncTriton(triton.http_url, timeout_s=300)
    try:
        image = np.random.default_rng(0).integers(0, 256, (1, LARGE_SIDE, LARGE_SIDE, 3), dtype=np.uint8)
        mask = np.full((1, LARGE_SIDE, LARGE_SIDE, 1), 255, np.uint8)
        client.infer(MODEL_NAME, "", inpainting_inputs(image, mask))
    finally:
        client.close()
    return before, _stubs_rss_mb(triton)


@pytest.mark.slow
def test_large_call_memory_is_given_back(
    start_triton: Callable[..., TritonProcess], copy_repository: Callable[[], Path]
) -> None:
    kept = copy_repository()
    config = kept / MODEL_NAME / "configs" / "cpu.pbtxt"
    config.write_text(_PARAMETER.sub(r'\1"0"', config.read_text()))  # 0: never release
    kept_before, kept_after = _growth_after_large_call(start_triton, kept)
    freed_before, freed_after = _growth_after_large_call(start_triton, copy_repository())
    print(
        f"\nstubs' RSS around one {LARGE_SIDE} px call: without release {kept_before:.0f} -> "
        f"{kept_after:.0f} MB, with release {freed_before:.0f} -> {freed_after:.0f} MB"
    )
    assert kept_after - kept_before > 100, "the call should have grown the kept arena"
    assert freed_after - freed_before < (kept_after - kept_before) / 4
