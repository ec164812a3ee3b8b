"""A small request is not starved by a heavy one (issue 17): the lama CPU config runs two
instances and two priority levels, and TritonModel sends small calls at HIGH_PRIORITY.
Real bundled Triton, tiny model; the heavy call is slowed by a large image."""

from __future__ import annotations

import time

import anyio
import numpy as np
import pytest

from lama_serve.core.contract import MODEL_NAME
from lama_serve.gateway.triton import TritonModel
from lama_serve.triton.client import DEFAULT_PRIORITY, HIGH_PRIORITY, inpainting_inputs, priority_for
from lama_serve.triton.process import TritonProcess

HEAVY_SIDE = 3072  # tiny model, 1 thread per instance on this 2-core host: seconds
SMALL_SIDE = 128
SMALL = 1024 * 1024  # Settings.high_priority_max_pixels' default


def _call(side: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(side)
    image = rng.integers(0, 256, (1, side, side, 3), dtype=np.uint8)
    mask = np.zeros((1, side, side, 1), np.uint8)
    mask[:, side // 4 : side // 2, side // 4 : side // 2] = 255
    return image, mask


def test_priority_follows_the_pixels_of_the_whole_call() -> None:
    one = inpainting_inputs(*_call(SMALL_SIDE))
    assert priority_for(one, SMALL) == HIGH_PRIORITY
    assert priority_for(one, 0) == DEFAULT_PRIORITY  # 0: all at the default level
    batch = inpainting_inputs(np.zeros((8, 512, 512, 3), np.uint8), np.zeros((8, 512, 512, 1), np.uint8))
    assert priority_for(batch, SMALL) == DEFAULT_PRIORITY  # 2M pixels in one call
    assert priority_for(batch, 8 * 512 * 512) == HIGH_PRIORITY


def _model(triton: TritonProcess) -> TritonModel:
    """The gateway's Triton adapter with small calls at high priority."""
    return TritonModel(
        triton.http_url,
        MODEL_NAME,
        "",
        timeout_s=300,
        probe_timeout_s=10,
        retry_after_s=1,
        high_priority_max_pixels=SMALL,
    )


@pytest.mark.slow
def test_small_request_completes_while_a_heavy_one_runs(triton_server: TritonProcess) -> None:
    done: dict[str, float] = {}

    async def scenario() -> None:
        model = _model(triton_server)

        async def timed(name: str, side: int) -> None:
            started = time.monotonic()
            await model.infer(*_call(side))
            done[name] = time.monotonic() - started

        try:
            await timed("alone", SMALL_SIDE)  # an idle server
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(timed, "heavy", HEAVY_SIDE)
                await anyio.sleep(1.0)  # the heavy call is computing
                await timed("small", SMALL_SIDE)
                assert "heavy" not in done, "the heavy call ended before the small one: raise HEAVY_SIDE"
        finally:
            await model.close()

    anyio.run(scenario)
    print(
        f"\nsmall {SMALL_SIDE} px alone {done['alone']:.3f} s, while a {HEAVY_SIDE} px call ran "
        f"{done['small']:.3f} s; the heavy call took {done['heavy']:.1f} s"
    )
    assert done["small"] < done["heavy"] / 2


@pytest.mark.slow
def test_large_calls_run_one_at_a_time_beside_small_ones(triton_server: TritonProcess) -> None:
    """Two large requests at once: the second waits in the gateway (two would hold twice the
    memory budget and take the small calls' instance); a small one still goes through."""
    in_flight = {"large": 0, "most": 0}
    finished: list[str] = []

    async def scenario() -> None:
        model = _model(triton_server)
        real_infer = model._triton.infer

        async def counting_infer(*args: object, **kwargs: object) -> object:
            large = args[-1] != HIGH_PRIORITY
            in_flight["large"] += large
            in_flight["most"] = max(in_flight["most"], in_flight["large"])
            try:
                return await real_infer(*args, **kwargs)
            finally:
                in_flight["large"] -= large

        model._triton.infer = counting_infer

        async def call(name: str, side: int) -> None:
            await model.infer(*_call(side))
            finished.append(name)

        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call, "large-1", 2048)
                tasks.start_soon(call, "large-2", 2048)
                await anyio.sleep(0.5)
                tasks.start_soon(call, "small", SMALL_SIDE)
        finally:
            await model.close()

    anyio.run(scenario)
    assert in_flight["most"] == 1
    assert finished.index("small") < 2, finished  # not behind both large calls
