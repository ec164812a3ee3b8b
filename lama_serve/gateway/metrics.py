"""Prometheus metrics of the gateway. Names are a contract with deploy/'s dashboards.

Each app gets its own CollectorRegistry, so tests can build several apps in one process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Stage = Literal["decode", "detect", "preprocess", "triton", "encode"]
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_BYTE_BUCKETS = tuple(float(4**n * 1024) for n in range(1, 10))  # 4 KiB .. 256 MiB


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "lama_gateway_requests_total",
            "HTTP requests by route template, status and the model version that served them.",
            ["route", "status", "version"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "lama_gateway_request_duration_seconds",
            "Time from request to last response byte.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stages = Histogram(
            "lama_gateway_stage_duration_seconds",
            "Time per processing stage of an inpainting.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge("lama_gateway_in_flight_requests", "Requests being served now.", registry=self.registry)
        self.payload = Histogram(
            "lama_gateway_payload_bytes",
            "Image bytes received (image + mask) and sent.",
            ["direction"],
            buckets=_BYTE_BUCKETS,
            registry=self.registry,
        )

    @contextmanager
    def stage(self, name: Stage) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages.labels(stage=name).observe(time.perf_counter() - started)


class MetricsMiddleware:
    """Counts, times and tracks in-flight HTTP requests, labelled by route template
    (not raw path, which would explode the label set)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees if the app dies before answering
        version = ""  # X-Model-Version of the response: metrics broken down by version

        async def send_recording(message: Message) -> None:
            nonlocal status, version
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                version = headers.get(b"x-model-version", b"").decode("latin-1")
            await send(message)

        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_recording)
        finally:
            self.metrics.in_flight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route=route, status=str(status), version=version).inc()
            self.metrics.duration.labels(route=route).observe(time.perf_counter() - started)
