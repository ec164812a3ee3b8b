"""Operation rules that need no Triton: publishing the state, refusing unsafe requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lama_serve.core.settings import Settings
from lama_serve.rollout.operations import RolloutError, Rollouts
from lama_serve.traffic.state import HistoryEntry, RolloutState, load_state, save_state


class NoTriton:
    """Stands in for TritonControl where an operation must not touch Triton at all."""

    url = "nowhere"

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"Triton was called: {name}")


def _canary(path: Path) -> RolloutState:
    state = RolloutState("1").record(HistoryEntry("rollout", "2", "1", 10.0), canary="2", canary_percent=10.0)
    save_state(path, state)
    return state


def _rollouts(path: Path, **settings: object) -> Rollouts:
    return Rollouts(
        Settings(rollout_state_path=path, **settings),
        NoTriton(),  # type: ignore[arg-type]
        say=lambda _: None,
    )


def test_publish_command_gets_every_change(tmp_path: Path) -> None:
    path, published = tmp_path / "rollout.json", tmp_path / "published.json"
    _canary(path)
    rollouts = _rollouts(path, rollout_publish_command=f'cp "$ROLLOUT_STATE_PATH" {published}')
    rollouts.rollout("2", 30.0)  # widening a canary moves only the split
    assert json.loads(published.read_text())["split"] == {"1": 70.0, "2": 30.0}
    assert load_state(path).history[-1].action == "adjust"


def test_failed_publish_restores_the_state_and_moves_no_traffic(tmp_path: Path) -> None:
    path = tmp_path / "rollout.json"
    before = _canary(path)
    rollouts = _rollouts(path, rollout_publish_command="echo cluster unreachable >&2; exit 3")
    with pytest.raises(RolloutError, match="exit status 3: cluster unreachable.*traffic did not move"):
        rollouts.promote()
    assert load_state(path) == before


def test_second_canary_is_refused_while_one_runs(tmp_path: Path) -> None:
    path = tmp_path / "rollout.json"
    _canary(path)
    with pytest.raises(RolloutError, match="v2 is already in canary; run `lama-serve promote`"):
        _rollouts(path).rollout("3", 10.0)
