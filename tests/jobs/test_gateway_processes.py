"""Whole gateway processes (uvicorn) in front of the real bundled Triton: one is killed with
SIGKILL while a job runs and others are queued; after a restart (local store) or by the
surviving replica (Redis) every job succeeds with the sync answer and every completion
webhook arrives, signed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from lama_serve.triton.process import TritonProcess, free_port
from tests.gateway.conftest import API_KEY, AUTH, box_mask, encode, noise
from tests.jobs.conftest import WEBHOOK_SECRET, Receiver

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
URL = "/api/v1/remove-watermark"
JOBS = 10


class Gateway:
    """`uvicorn --factory lama_serve.gateway.app:create_app` on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "lama_serve.gateway.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=os.environ | env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, f"gateway exited; see {log}"
            try:
                httpx.get(f"{self.url}/health", timeout=1)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def gateways() -> Iterator[list[Gateway]]:
    started: list[Gateway] = []
    yield started
    for gateway in started:
        if gateway.process.poll() is None:
            gateway.kill()


def parts(seed: int) -> dict[str, tuple[str, bytes, str]]:
    return {
        "image": ("i.png", encode(noise(384, 384, seed)), "image/png"),
        "mask": ("m.png", encode(box_mask(384, 384)), "image/png"),
    }


@pytest.mark.parametrize("backend", ["local", "redis"])
async def test_sigkill_mid_burst_then_every_job_completes(
    backend: str,
    triton_server: TritonProcess,
    receiver: Receiver,
    gateways: list[Gateway],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    env = {
        "API_KEY": API_KEY,
        "TRITON_URL": triton_server.http_url,
        "JOBS_DIR": str(tmp_path / "jobs"),
        "JOBS_BACKEND": backend,
        "JOBS_CONCURRENCY": "1",
        "JOBS_CLAIM_IDLE_S": "2",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_RETRY_SCHEDULE_S": "0.2,0.5,1",
        "RATE_LIMIT_PER_MINUTE": "0",
        "STATS_DB_PATH": str(tmp_path / "stats.sqlite3"),
        "MODEL_REPOSITORY": str(tmp_path / "none"),
    }
    if backend == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    log = tmp_path / "gateways.log"
    gateways.append(Gateway(env, log))
    if backend == "redis":
        gateways.append(Gateway(env, log))  # the replica that takes the killed one's jobs over
    first = gateways[0]
    async with httpx.AsyncClient(base_url=first.url, timeout=60) as client:

        async def submit(index: int) -> str:
            headers = {**AUTH, "Prefer": "respond-async"}
            answer = await client.post(URL, headers=headers, files=parts(index), data={"webhook": receiver.url})
            return answer.json()["id"]

        # At once: posted one after the other on a loaded host, the first jobs were done
        # before the last was accepted and nothing was left queued to survive the kill.
        ids = list(await asyncio.gather(*(submit(i) for i in range(JOBS))))
        states: set[str] = set()
        while "processing" not in states:  # one call per look: on a loaded host ten were too slow
            page = (await client.get("/api/v1/jobs", headers=AUTH, params={"limit": JOBS})).json()["jobs"]
            states = {job["status"] for job in page}
            assert states != {"succeeded"}, "every job finished before one was seen running"
        first.kill()
    assert {"processing", "queued"} <= states  # one running and some queued when killed
    if backend == "local":
        gateways.append(Gateway(env, log))
    survivor = gateways[-1]
    await receiver.wait_for(JOBS, timeout_s=120)
    async with httpx.AsyncClient(base_url=survivor.url, timeout=60) as client:
        for index, job_id in enumerate(ids):
            job = (await client.get(f"/api/v1/jobs/{job_id}", headers=AUTH)).json()
            assert job["status"] == "succeeded", job
            result = await client.get(job["urls"]["result"], headers=AUTH)
            assert result.content == (await client.post(URL, headers=AUTH, files=parts(index))).content
    delivered = {Webhook(WEBHOOK_SECRET).verify(body, headers)["data"]["id"] for headers, body in receiver.received}
    assert delivered == set(ids)
