"""Rollout, promote and rollback while the gateway serves a steady load: no request fails.

The gateway routes by the state file (Settings.rollout_state_path, a VersionRouter per app,
the chosen version passed to Triton and echoed in X-Model-Version).
"""

from __future__ import annotations

import asyncio
import collections
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from lama_serve.core.settings import Settings
from lama_serve.gateway.app import create_app
from lama_serve.rollout.operations import Rollouts
from lama_serve.rollout.smoke import golden_pair
from lama_serve.triton.control import TritonControl
from lama_serve.triton.process import TritonProcess

from .conftest import add_version, settings_for

API_KEY = "rollout-load-test-key-0123"
WORKERS = 2  # bounded load: two clients back to back, small images (2 shared CPU cores)
PHASE_TIMEOUT_S = 60.0

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _png(array) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array.squeeze()).save(out, format="PNG")
    return out.getvalue()


class Load:
    """Workers posting back to back; each answer is filed under the phase its request ran in, or
    under "A -> B" when a phase ended while it ran (any request, in any phase, must succeed)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        image, mask = golden_pair(64, 96)
        self._files = {"image": ("image.png", _png(image), "image/png"), "mask": ("mask.png", _png(mask), "image/png")}
        self._client = client
        self.phase = "before"
        self.versions: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.failures: list[tuple[str, int, str]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # One thread for every rollout operation: Triton's HTTP client (gevent) stays on the
        # thread that first used it, as the CLI does.
        self._operations = ThreadPoolExecutor(max_workers=1)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(WORKERS)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _worker(self) -> None:
        while not self._stop.is_set():
            phase = self.phase
            response = await self._client.post(
                "/api/v1/remove-watermark", files=self._files, headers={"X-API-Key": API_KEY}
            )
            if self.phase != phase:  # it straddled a change (the route may be chosen late): either version is right
                phase = f"{phase} -> {self.phase}"
            if response.status_code == 200:
                self.versions[phase][response.headers["X-Model-Version"]] += 1
            else:
                self.failures.append((phase, response.status_code, response.text[:300]))

    async def run(self, phase: str, operation: Callable[[], object]) -> None:
        self.phase = phase
        await asyncio.get_running_loop().run_in_executor(self._operations, operation)

    def progress(self, message: str) -> None:
        """Rollouts' progress lines: mark the moment the state file is about to change."""
        if message.startswith("smoke check passed") and self.phase == "rolling out":
            self.phase = "switching"

    async def observe(self, phase: str, until: Callable[[collections.Counter[str]], bool]) -> None:
        self.phase = phase
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        while not until(self.versions[phase]):
            assert time.monotonic() < deadline, f"{phase}: saw only {dict(self.versions[phase])}"
            await asyncio.sleep(0.1)


async def test_every_request_succeeds_through_rollout_promote_and_rollback(
    copy_repository: Callable[[], Path],
    start_triton: Callable[..., TritonProcess],
    tiny_v2_export: Path,
    tmp_path: Path,
) -> None:
    repository = copy_repository()
    triton = start_triton(repository)
    add_version(repository, 2, tiny_v2_export)
    rollout_settings = settings_for(triton, tmp_path / "rollout.json")
    app = create_app(
        Settings(
            api_key=API_KEY,
            api_keys_file=None,
            triton_url=triton.http_url,
            model_repository=repository,
            stats_db_path=tmp_path / "stats.sqlite3",
            rate_limit_per_minute=0,
            rollout_state_path=rollout_settings.rollout_state_path,
        )
    )
    control = TritonControl(triton.http_url, triton.repository_api_headers, timeout_s=120)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=60) as client:
            load = Load(client)
            rollouts = Rollouts(rollout_settings, control, say=load.progress)
            load.start()
            try:
                await load.observe("before", lambda seen: sum(seen.values()) >= 4)
                await load.run("rolling out", lambda: rollouts.rollout("2", 50.0))
                await load.observe("canary", lambda seen: min(seen["1"], seen["2"]) >= 3)
                await load.run("promoting", rollouts.promote)
                await load.observe("promoted", lambda seen: sum(seen.values()) >= 4)
                await load.run("rolling back", rollouts.rollback)
                await load.observe("rolled back", lambda seen: sum(seen.values()) >= 4)
            finally:
                await load.stop()
                control.close()

    assert load.failures == []
    assert set(load.versions["before"]) == {"1"}
    assert set(load.versions["rolling out"]) <= {"1"}  # v2 loaded but not yet checked: no traffic
    assert set(load.versions["canary"]) == {"1", "2"}
    assert set(load.versions["promoted"]) == {"2"}
    assert set(load.versions["rolled back"]) == {"1"}
