"""Rollouts against the real bundled Triton, each test on its own server and repository."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from lama_serve.cli import main
from lama_serve.core.contract import MODEL_NAME
from lama_serve.core.settings import REPOSITORY_API_HEADER
from lama_serve.rollout.operations import Rollouts, VersionRejected, restore_serving_versions
from lama_serve.rollout.smoke import golden_pair
from lama_serve.traffic.state import current_user, load_state
from lama_serve.triton.control import TritonControl
from lama_serve.triton.process import TritonProcess

from .conftest import add_version, settings_for, write_half_size_model

StartTriton = Callable[..., TritonProcess]


@pytest.fixture
def control_for() -> Iterator[Callable[[TritonProcess], TritonControl]]:
    clients: list[TritonControl] = []

    def make(triton: TritonProcess) -> TritonControl:
        clients.append(TritonControl(triton.http_url, triton.repository_api_headers, timeout_s=120))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def _retired(repository: Path, version: str) -> list[Path]:
    return sorted((repository / MODEL_NAME).glob(f"retired-{version}-*"))


def test_cli_rollout_exports_canaries_promotes_and_rolls_back(
    copy_repository: Callable[[], Path],
    start_triton: StartTriton,
    control_for,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    repository = copy_repository()
    triton = start_triton(repository)
    control = control_for(triton)
    state_path = tmp_path / "rollout.json"
    monkeypatch.setenv("TRITON_ADMIN_KEY", triton.repository_api_headers[REPOSITORY_API_HEADER])
    monkeypatch.setenv("ROLLOUT_DRAIN_QUIET_S", "0.5")
    common = ["--state", str(state_path), "--triton-url", triton.http_url, "--repository", str(repository)]

    assert main(["rollout", "--model-version", "2", "--canary", "25", "--arch", "tiny", *common]) == 0
    assert (repository / MODEL_NAME / "2" / "model.onnx").is_file()
    assert "RANDOM weights" in caplog.text
    assert control.ready_versions() == ["1", "2"]
    state = load_state(state_path)
    assert state.split() == {"1": 75.0, "2": 25.0}
    rollout = state.history[-1]
    assert (rollout.action, rollout.from_version, rollout.to_version) == ("rollout", "1", "2")
    assert rollout.user == current_user() and rollout.smoke["passed"]
    image, mask = golden_pair(64, 96)
    outputs = [control.infer(v, image, mask) for v in ("1", "2")]
    assert not np.array_equal(*outputs)  # two different models really serve side by side

    assert main(["rollout", "--model-version", "2", "--canary", "40", *common]) == 0  # widen it
    capsys.readouterr()
    assert main(["rollout", "--status", *common]) == 0
    status = capsys.readouterr().out
    assert "v1 60%, v2 40%" in status and "Triton 127.0.0.1" in status and "smoke ok" in status

    assert main(["promote", *common]) == 0
    assert control.ready_versions() == ["2"]
    state = load_state(state_path)
    assert (state.split(), state.previous) == ({"2": 100.0}, "1")

    assert main(["rollback", *common]) == 0  # after a promote: back to v1, reloaded and checked
    assert control.ready_versions() == ["1"]
    state = load_state(state_path)
    assert state.split() == {"1": 100.0} and state.previous is None
    assert [e.action for e in state.history] == ["rollout", "adjust", "promote", "rollback"]
    assert not (repository / MODEL_NAME / "2").exists() and _retired(repository, "2")

    assert main(["promote", *common]) == 1
    assert "no canary to promote" in capsys.readouterr().err


def test_canary_rollback_and_restart_restore(
    copy_repository: Callable[[], Path], start_triton: StartTriton, control_for, tiny_v2_export: Path, tmp_path: Path
) -> None:
    repository = copy_repository()
    triton = start_triton(repository)
    add_version(repository, 2, tiny_v2_export)  # exported while v1 serves
    settings = settings_for(triton, tmp_path / "rollout.json")
    rollouts = Rollouts(settings, control_for(triton), say=lambda _: None)

    rollouts.rollout("2", 50.0)
    assert rollouts.control.ready_versions() == ["1", "2"]

    # A restarted Triton loads only the newest version; the hook brings the stable one back.
    restarted = start_triton(repository)
    assert control_for(restarted).ready_versions() == ["2"]
    assert restore_serving_versions(settings.rollout_state_path, control_for(restarted)) == ["1", "2"]
    assert control_for(restarted).ready_versions() == ["1", "2"]
    restarted.stop()

    state = rollouts.rollback()
    assert state.split() == {"1": 100.0}
    assert rollouts.control.ready_versions() == ["1"]
    assert [e.action for e in state.history] == ["rollout", "rollback"]
    assert _retired(repository, "2")


def test_broken_versions_never_get_traffic(
    copy_repository: Callable[[], Path], start_triton: StartTriton, control_for, tmp_path: Path
) -> None:
    repository = copy_repository()
    triton = start_triton(repository)
    write_half_size_model(repository / MODEL_NAME / "3" / "model.onnx")
    control = control_for(triton)
    settings = settings_for(triton, tmp_path / "rollout.json")
    rollouts = Rollouts(settings, control, say=lambda _: None)

    # OpenVINO's load-time check already sees the half-size output; ONNX Runtime's smoke check does
    with pytest.raises(
        VersionRejected,
        match=r"v3 rejected, v1 keeps all traffic: .*(shapes differ|"
        r"smoke check failed: 64x96: output is uint8 \[32, 48, 3\])",
    ):
        rollouts.rollout("3", 50.0)
    assert control.ready_versions() == ["1"]
    assert control.version_states()["3"] == "UNAVAILABLE"
    state = load_state(settings.rollout_state_path)
    assert state.split() == {"1": 100.0} and state.canary is None
    rejected = state.history[-1]
    assert rejected.action == "rejected" and not (rejected.smoke or {}).get("passed")  # None: failed to load
    assert _retired(repository, "3") and not (repository / MODEL_NAME / "3").exists()

    garbage = repository / MODEL_NAME / "4" / "model.onnx"
    garbage.parent.mkdir()
    garbage.write_bytes(b"not onnx")
    # Triton's own readiness stays false after v3's failed load (a Triton quirk; probes use
    # /v2/health/live and the gateway's real-inference health instead): v4 must not change it
    ready_before = triton.is_ready()
    with pytest.raises(VersionRejected, match="rejected before loading"):
        rollouts.rollout("4", 50.0)
    assert "4" not in control.version_states()  # never handed to Triton
    assert triton.is_ready() == ready_before and control.ready_versions() == ["1"]
    assert load_state(settings.rollout_state_path).split() == {"1": 100.0}
