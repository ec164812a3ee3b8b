"""Work for nobody stops (issue 16): when the gateway gives up on a request, Triton does not
compute it.

Against a private bundled Triton serving the tiny model, made slow by large images (a
2048 px window takes the tiny model ~1.5 s on 2 cores; shapes differ so that no two
requests share a batch and each runs alone). More requests are abandoned than the model has
instances, so some are still queued when the gateway gives up: at most one execution per
instance may already have started and cannot be stopped. What is measured comes from Triton's own
metrics: executions (`nv_inference_exec_count`) and requests answered
(`nv_inference_request_success` / `_failure`), and how long after the gateway gave up a
small request is served again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lama_serve.core.contract import MODEL_NAME
from lama_serve.gateway.errors import ApiError
from lama_serve.gateway.processing import gather_or_cancel
from lama_serve.gateway.triton import TritonModel
from lama_serve.triton.process import TritonProcess, free_port
from tests.gateway.conftest import AUTH, SettingsFactory, assert_error, encode, gateway

from .conftest import URL, Figures, good_parts, live_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
# Distinct shapes: Triton's batcher only batches equal shapes, so each one is its own execution.
SHAPES = ((2048, 2048), (2048, 2032), (2032, 2048), (2032, 2032))
DEADLINE_S = 0.5
# the tiny model needs little memory: lift the big-lama-calibrated budget that refuses 2048 px
TINY = {"inference_seconds_per_megapixel": 0.0, "inference_memory_budget_mb": 65536}
COUNTERS = ("nv_inference_exec_count", "nv_inference_request_success", "nv_inference_request_failure")


def large_parts(height: int, width: int) -> dict[str, tuple[str, bytes, str]]:
    """A flat image (small upload, same compute) with a small hole, sent `original`."""
    mask = np.zeros((height, width), np.uint8)
    mask[100:164, 100:164] = 255
    return {
        "image": ("image.png", encode(np.full((height, width, 3), 90, np.uint8)), "image/png"),
        "mask": ("mask.png", encode(mask), "image/png"),
    }


def instances(triton: TritonProcess) -> int:
    """Model instances of lama (executions that can already run when the gateway gives up)."""
    config = httpx.get(f"http://{triton.http_url}/v2/models/{MODEL_NAME}/config").json()
    return sum(int(group.get("count", 1)) for group in config["instance_group"])


def counters(metrics_url: str) -> dict[str, float]:
    """Triton's lama counters, summed over versions."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    for family in text_string_to_metric_families(httpx.get(metrics_url).text):
        if family.name in totals:
            totals[family.name] += sum(
                s.value for s in family.samples if s.labels.get("model") == MODEL_NAME and s.name.endswith("_total")
            )
    return totals


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, int]:
    return {name.removeprefix("nv_inference_"): int(after[name] - before[name]) for name in COUNTERS}


async def batch_seconds(client: httpx.AsyncClient, height: int, width: int) -> float:
    """How long one large request takes when nothing is abandoned (the 'one batch' unit)."""
    started = time.monotonic()
    response = await client.post(URL + "?hd_strategy=original", headers=AUTH, files=large_parts(height, width))
    assert response.status_code == 200, response.text
    return time.monotonic() - started


async def seconds_until_served(client: httpx.AsyncClient) -> float:
    started = time.monotonic()
    response = await client.post(URL, headers=AUTH, files=good_parts())
    assert response.status_code == 200, response.text
    return time.monotonic() - started


@pytest.mark.parametrize("protocol", ["http", "grpc"])
async def test_abandoned_requests_are_not_computed(
    make_settings: SettingsFactory,
    start_triton: Callable[..., TritonProcess],
    figures: Figures,
    protocol: str,
) -> None:
    """Over HTTP Triton drops the queued ones at their deadline; over gRPC the gateway's cancel."""
    triton = start_triton(grpc_port=free_port())
    settings = make_settings(
        triton_url=triton.http_url,
        inference_timeout_s=DEADLINE_S,
        **TINY,
        triton_grpc_url=triton.grpc_url if protocol == "grpc" else None,
    )
    generous = make_settings(triton_url=triton.http_url, inference_timeout_s=60.0, **TINY)
    async with gateway(generous) as client:
        for shape in SHAPES:  # first call of a shape compiles it: keep that out of the figures
            await batch_seconds(client, *shape)
        one_batch_s = await batch_seconds(client, *SHAPES[0])

    before = counters(triton.metrics_url)
    async with gateway(settings) as client:
        responses: list[httpx.Response] = []

        async def post(shape: tuple[int, int]) -> None:
            responses.append(await client.post(URL + "?hd_strategy=original", headers=AUTH, files=large_parts(*shape)))

        async with anyio.create_task_group() as group:
            for shape in SHAPES:
                group.start_soon(post, shape)
        gave_up = time.monotonic()
        for response in responses:
            assert_error(response, 504, "longer than")
    async with gateway(generous) as client:
        idle_after_s = await seconds_until_served(client) + (time.monotonic() - gave_up)
    await anyio.sleep(one_batch_s)  # whatever still runs has finished and is counted
    work = delta(counters(triton.metrics_url), before)
    figures[f"cancel_after_504_{protocol}"] = {
        "one_batch_s": round(one_batch_s, 2),
        "abandoned": len(SHAPES),
        "served_again_after_s": round(idle_after_s, 2),
        **work,
    }
    # the small request + at most one abandoned execution per instance, already started.
    # served_again_after_s is a figure, not a check: it swings with the host's load (a shared
    # 2-core runner once took 5.2 s for one batch and 11.5 s to serve again, where an idle one
    # takes 1.9 s and 3.1 s); the execution count is the claim.
    assert work["exec_count"] <= 1 + instances(triton), work


async def test_sibling_windows_of_a_failed_window_are_not_computed(
    start_triton: Callable[..., TritonProcess],
    figures: Figures,
) -> None:
    """gather_or_cancel: one window of an image fails at once (Triton rejects its mask), the
    large windows sent with it are cancelled by the gateway; Triton must not compute them for
    nobody."""
    triton = start_triton(grpc_port=free_port())
    model = TritonModel(
        triton.http_url, MODEL_NAME, "", timeout_s=60.0, probe_timeout_s=5.0, retry_after_s=1, grpc_url=triton.grpc_url
    )
    windows = [(np.full((1, h, w, 3), 90, np.uint8), np.zeros((1, h, w, 1), np.uint8)) for h, w in SHAPES]
    try:
        for image, mask in windows:  # compile both shapes first, and time one execution
            started = time.monotonic()
            await model.infer(image, mask)
        one_batch_s = time.monotonic() - started
        before = counters(triton.metrics_url)
        bad_mask = np.zeros((1, 64, 64, 2), np.uint8)  # 2 channels: rejected before the queue
        with pytest.raises(ApiError):
            await gather_or_cancel(
                [*(model.infer(i, m) for i, m in windows), model.infer(windows[0][0][:, :64, :64], bad_mask)]
            )
        # On a loaded host the rejection can come back after a window has already been computed
        # (the large uploads go first): what counts is the work done after the gateway knew.
        at_failure = counters(triton.metrics_url)
        await anyio.sleep((len(windows) + 0.5) * one_batch_s)  # time for all to run if Triton computed them
        work = delta(counters(triton.metrics_url), before)
        after_failure = delta(counters(triton.metrics_url), at_failure)
    finally:
        await model.close()
    figures["cancel_sibling_windows"] = {
        "one_batch_s": round(one_batch_s, 2),
        "cancelled": len(windows),
        **work,
        "exec_after_failure": after_failure["exec_count"],
    }
    # at most those that had already started when the failure came back, and on a loaded host one
    # more that an instance took up while the cancel was still on its way (seen once in ~30 runs)
    assert after_failure["exec_count"] <= instances(triton) + 1 < len(windows), (after_failure, work)


async def test_requests_of_a_client_that_left_are_not_computed(
    make_settings: SettingsFactory,
    start_triton: Callable[..., TritonProcess],
    figures: Figures,
) -> None:
    """The client gives up (its own 0.5 s timeout closes the connection) while the gateway's
    deadline is generous: the gateway must notice and cancel its Triton calls."""
    triton = start_triton(grpc_port=free_port())
    settings = make_settings(
        triton_url=triton.http_url, triton_grpc_url=triton.grpc_url, inference_timeout_s=60.0, **TINY
    )
    with live_gateway(settings) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
            for shape in SHAPES:
                await batch_seconds(client, *shape)
            one_batch_s = await batch_seconds(client, *SHAPES[0])
        before = counters(triton.metrics_url)
        async with httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_S) as impatient:

            async def post(shape: tuple[int, int]) -> None:
                with pytest.raises(httpx.TimeoutException):
                    await impatient.post(URL + "?hd_strategy=original", headers=AUTH, files=large_parts(*shape))

            async with anyio.create_task_group() as group:
                for shape in SHAPES:
                    group.start_soon(post, shape)
        gave_up = time.monotonic()
        async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
            idle_after_s = await seconds_until_served(client) + (time.monotonic() - gave_up)
        await anyio.sleep(one_batch_s)
        work = delta(counters(triton.metrics_url), before)
    figures["cancel_client_gone"] = {
        "one_batch_s": round(one_batch_s, 2),
        "abandoned": len(SHAPES),
        "served_again_after_s": round(idle_after_s, 2),
        **work,
    }
    assert work["exec_count"] <= 1 + instances(triton), work  # served_again_after_s: a figure, as above
