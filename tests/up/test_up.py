"""up.up: TRITON_URL skips Triton, and `lama-serve up` end to end: Triton + gateway healthy,
SIGTERM stops both, a Triton crash fails the command."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from lama_serve.core.settings import Settings
from lama_serve.triton.process import free_port
from lama_serve.up import up
from tests.conftest import PROJECT_ROOT, child_pids, exited
from tests.gateway.conftest import box_mask, encode, files, noise


def test_triton_url_starts_only_the_gateway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served: list[object] = []
    monkeypatch.setattr(up, "_create_gateway", lambda settings: "app")
    monkeypatch.setattr(up, "_serve_gateway", lambda app, s, triton, notice="": served.append(triton) or 0)
    monkeypatch.setattr(up, "TritonProcess", None)  # any use would fail
    settings = Settings(triton_url="triton.example:8000", generated_keys_file=tmp_path / "api_keys")
    assert up.run_up(settings) == 0
    assert served == [None]


def test_embedded_stack_refuses_another_model_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(up, "_create_gateway", lambda settings: "app")
    monkeypatch.setattr(up, "TritonProcess", None)  # any use would fail
    settings = Settings(model_name="inpainter", generated_keys_file=tmp_path / "api_keys")
    with caplog.at_level(logging.ERROR, logger="lama_serve.up.up"):
        assert up.run_up(settings) == 1
    assert "MODEL_NAME=inpainter" in caplog.text and "TRITON_URL" in caplog.text


# Restart of the tiny model's Triton: start + warmup of 3 sides, a few seconds here.
RESTART_WITHIN_S = 60.0


class UpCommand:
    """`lama-serve up` as a child process on free ports, with its log captured."""

    def __init__(self, repository: Path, tmp_path: Path, **extra_env: str) -> None:
        self.gateway_port = free_port()
        # no API_KEY: `up` must generate one, print it once and keep its hash in tmp_path
        env = {k: v for k, v in os.environ.items() if k not in ("TRITON_URL", "API_KEY", "API_KEYS_FILE")}
        env.update(
            GENERATED_KEYS_FILE=str(tmp_path / "api_keys"),
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_PORT=str(self.gateway_port),
            TRITON_HTTP_PORT=str(free_port()),
            TRITON_METRICS_PORT=str(free_port()),
            TRITON_GRPC_PORT=str(free_port()),
            MODEL_REPOSITORY=str(repository),
            STATS_DB_PATH=str(tmp_path / "stats.sqlite3"),
            JOBS_DIR=str(tmp_path / "jobs"),
            UP_INFO_PATH=str(tmp_path / "up.json"),
            ROLLOUT_STATE_PATH=str(tmp_path / "rollout.json"),
            RECOVERY_BACKOFF_S="0.5",
            **extra_env,
        )
        self.env, self.up_info = env, tmp_path / "up.json"
        self.log_path = tmp_path / "up.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lama_serve.cli", "up"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_healthy(self, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{self.gateway_port}/api/v1/health")
                if response.status_code == 200:
                    return response.json()
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"gateway not healthy; `up` log:\n{self.log()}")

    def generated_key(self) -> str:
        return self.log().split("X-API-Key: ", 1)[1].split()[0]

    def rollout_status(self) -> str:
        """`lama-serve rollout --status` in another process, with no TRITON_URL/TRITON_ADMIN_KEY."""
        env = {k: v for k, v in self.env.items() if k not in ("TRITON_URL", "TRITON_ADMIN_KEY")}
        result = subprocess.run(
            [sys.executable, "-m", "lama_serve.cli", "rollout", "--status"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def triton_pid(self) -> int:
        (pid,) = child_pids(self.process.pid)
        return pid


@pytest.fixture
def up_command(copy_repository: Callable[[], Path], tmp_path: Path) -> Iterator[UpCommand]:
    command = UpCommand(copy_repository(), tmp_path)
    yield command
    if command.process.poll() is None:
        # SIGTERM: `up` stops the Triton it started (in its own session: a SIGKILL here left
        # that Triton and its stubs running after the suite); SIGKILL only if it hangs.
        command.process.terminate()
        try:
            command.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            command.process.kill()
            command.process.wait()


def test_up_serves_and_sigterm_stops_both(up_command: UpCommand) -> None:
    health = up_command.wait_healthy()
    assert health["triton_ready"] is True
    assert health["device"] == "cpu"
    assert "warning" in health  # tiny export from random weights
    stats = httpx.get(
        f"http://127.0.0.1:{up_command.gateway_port}/api/v1/stats", headers={"X-API-Key": up_command.generated_key()}
    )
    assert stats.status_code == 200, stats.text  # the key `up` printed once works
    inpainted = httpx.post(
        f"http://127.0.0.1:{up_command.gateway_port}/api/v1/remove-watermark",
        headers={"X-API-Key": up_command.generated_key()},
        timeout=30,
        files=files(encode(noise(64, 64)), encode(box_mask(64, 64))),
    )
    assert inpainted.status_code == 200, inpainted.text  # over the bundled Triton's gRPC port
    triton_pid = up_command.triton_pid()
    stubs = child_pids(triton_pid)

    up_command.process.send_signal(signal.SIGTERM)
    assert up_command.process.wait(30) == 0, up_command.log()
    assert all(exited(pid) for pid in [triton_pid, *stubs]), "`lama-serve up` left processes"
    assert not up_command.up_info.exists(), "UP_INFO_PATH outlived `up`"


def test_rollout_reaches_up_through_its_published_file(up_command: UpCommand) -> None:
    up_command.wait_healthy()
    assert up_command.up_info.stat().st_mode & 0o777 == 0o600
    published = json.loads(up_command.up_info.read_text())
    assert published["url"] == f"127.0.0.1:{up_command.env['TRITON_HTTP_PORT']}"
    status = up_command.rollout_status()
    # The repository index is locked: listing versions proves the published key was sent.
    assert f"Triton {published['url']} serves: v1" in status, status
    assert f"state file: {published['rollout_state_path']}" in status


def test_up_restarts_triton_when_it_dies(up_command: UpCommand) -> None:
    up_command.wait_healthy()
    triton_pid = up_command.triton_pid()
    stubs = child_pids(triton_pid)
    os.kill(triton_pid, signal.SIGKILL)
    killed = time.monotonic()
    assert all(exited(stub) for stub in stubs), "Python backend stubs outlived their Triton"
    while "tritonserver restarted and ready" not in up_command.log():
        assert time.monotonic() - killed < RESTART_WITHIN_S, up_command.log()
        time.sleep(0.2)
    up_command.wait_healthy()
    back_after = time.monotonic() - killed
    assert up_command.process.poll() is None
    assert up_command.triton_pid() != triton_pid
    assert "tritonserver exited with status -9 while serving; restarting it" in up_command.log()
    print(f"tritonserver killed: service healthy again after {back_after:.1f} s")


def test_up_fails_when_triton_cannot_be_restarted(copy_repository: Callable[[], Path], tmp_path: Path) -> None:
    command = UpCommand(copy_repository(), tmp_path, TRITON_RESTART_ATTEMPTS="0")
    try:
        command.wait_healthy()
        os.kill(command.triton_pid(), signal.SIGKILL)
        assert command.process.wait(30) != 0
        assert "tritonserver could not be restarted; gateway stopped" in command.log()
    finally:
        if command.process.poll() is None:
            command.process.kill()
            command.process.wait()
