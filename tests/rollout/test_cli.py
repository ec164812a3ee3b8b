"""`lama-serve rollout|promote|rollback` without a Triton: registration, status, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.cli import build_parser, main
from lama_serve.traffic.state import HistoryEntry, RolloutState, save_state

NO_TRITON = ["--triton-url", "127.0.0.1:9"]  # nothing listens on the discard port


def test_three_commands_are_registered() -> None:
    parser = build_parser()
    assert parser.parse_args(["rollout", "--model-version", "2"]).canary == 10.0
    assert parser.parse_args(["promote"]).func.__name__ == "run_promote"
    assert parser.parse_args(["rollback"]).func.__name__ == "run_rollback"
    with pytest.raises(SystemExit):
        parser.parse_args(["rollout", "--status", "--model-version", "2"])


def test_status_shows_split_and_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state_path = tmp_path / "rollout.json"
    assert main(["rollout", "--status", "--state", str(state_path), *NO_TRITON]) == 0
    assert "no rollout yet" in capsys.readouterr().out
    entry = HistoryEntry("rollout", "2", "1", 10.0, {"passed": True, "max_latency_s": 0.25}, user="alice")
    save_state(state_path, RolloutState("1").record(entry, canary="2", canary_percent=10.0))
    assert main(["rollout", "--status", "--state", str(state_path), *NO_TRITON]) == 0
    out = capsys.readouterr().out
    assert "split: v1 90%, v2 10%" in out and "cannot reach Triton" in out
    assert "alice" in out and "v1 -> v2 10% smoke ok, slowest 0.250 s" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["promote"], "no canary to promote"),
        (["rollback"], "nothing to roll back"),
        (["rollout", "--model-version", "2", "--canary", "150"], "between 0 and 100"),
        (["rollout", "--model-version", "2"], "cannot reach Triton at 127.0.0.1:9"),
    ],
)
def test_refusals_exit_1_and_say_why(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--state", str(tmp_path / "rollout.json"), *NO_TRITON]) == 1
    assert message in capsys.readouterr().err
