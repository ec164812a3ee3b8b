"""Jobs fixtures: isolated settings, fake processors, a real local webhook receiver and a real
redis-server on a free loopback port."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web

from lama_serve.core.settings import Settings
from lama_serve.jobs.errors import ProcessingFailed
from lama_serve.jobs.model import Job, JobResult
from lama_serve.triton.process import free_port

WEBHOOK_SECRET = "whsec_" + "c2VydmVyLXdpZGUtdGVzdC1zZWNyZXQtMzJieXRlcyE="


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def job_settings(directory: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_key": "jobs-test-key-0123456789",
        "jobs_dir": directory / "jobs",
        "webhook_allow_private": True,
        "webhook_retry_schedule_s": (0.2, 0.2, 0.2),
        "webhook_secret": WEBHOOK_SECRET,
        "jobs_concurrency": 2,
        "jobs_claim_idle_s": 3.0,
    }
    return Settings(**(values | overrides))


async def echo(job: Job, inputs: dict[str, bytes], params: dict[str, Any]) -> JobResult:
    """Trivial processor: sleeps `params['sleep']`, fails with `params['fail']`, else echoes."""
    await asyncio.sleep(float(params.get("sleep", 0)))
    if "fail" in params:
        raise ProcessingFailed(str(params["fail"]), 400)
    return JobResult(inputs.get("image", b""), "application/octet-stream", {"X-Echo": job.id})


@dataclass
class Receiver:
    """Webhook receiver on 127.0.0.1; answers with `statuses` in turn, then 200."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} webhooks arrived"
            await asyncio.sleep(0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    hook.url = f"http://127.0.0.1:{port}/hook"
    yield hook
    await runner.cleanup()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server (no persistence) on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/setup.sh installs it)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(10)
