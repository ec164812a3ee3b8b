"""The state file: atomic round trip, history, split arithmetic, locking."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lama_serve.traffic.state import (
    MAX_HISTORY,
    HistoryEntry,
    RolloutState,
    StateError,
    load_state,
    save_state,
    state_lock,
)


def test_missing_file_means_no_rollout(tmp_path: Path) -> None:
    assert load_state(tmp_path / "absent.json") is None


def test_round_trip_keeps_state_and_history(tmp_path: Path) -> None:
    path = tmp_path / "var" / "rollout.json"  # parent created on write
    entry = HistoryEntry("rollout", "2", "1", 10.0, {"passed": True, "max_latency_s": 0.1})
    state = RolloutState(stable="1").record(entry, canary="2", canary_percent=10.0)
    save_state(path, state)
    loaded = load_state(path)
    assert loaded == state
    data = json.loads(path.read_text())
    assert data["split"] == {"1": 90.0, "2": 10.0}
    (recorded,) = data["history"]
    assert (recorded["from"], recorded["to"], recorded["action"]) == ("1", "2", "rollout")
    assert recorded["user"] and recorded["at"].endswith("Z")


def test_write_is_atomic_replace_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "rollout.json"
    save_state(path, RolloutState(stable="1"))
    before = os.stat(path).st_ino
    save_state(path, RolloutState(stable="2"))
    assert os.stat(path).st_ino != before  # a new file swapped in, never rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rollout.json"]
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_unwritable_directory_says_what_to_fix(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StateError, match="ROLLOUT_STATE_PATH"):
        save_state(tmp_path / "file" / "rollout.json", RolloutState(stable="1"))


@pytest.mark.parametrize("content", ["{not json", '{"schema": 99, "stable": "1"}', '{"schema": 1}'])
def test_unreadable_state_is_an_error_not_a_guess(tmp_path: Path, content: str) -> None:
    path = tmp_path / "rollout.json"
    path.write_text(content)
    with pytest.raises(StateError, match="Fix or restore"):
        load_state(path)


@pytest.mark.parametrize(
    ("canary", "percent", "split"),
    [
        (None, 0.0, {"1": 100.0}),
        ("2", 0.0, {"1": 100.0}),
        ("2", 25.0, {"1": 75.0, "2": 25.0}),
        ("2", 100.0, {"2": 100.0}),
    ],
)
def test_split(canary: str | None, percent: float, split: dict[str, float]) -> None:
    state = RolloutState(stable="1", canary=canary, canary_percent=percent)
    assert state.split() == split
    assert state.serving_versions() == ["1"] + ([canary] if canary else [])


def test_history_is_bounded() -> None:
    state = RolloutState(stable="1")
    for n in range(MAX_HISTORY + 5):
        state = state.record(HistoryEntry("adjust", "2", "1", float(n % 100)))
    assert len(state.history) == MAX_HISTORY
    assert state.history[-1].canary_percent == float((MAX_HISTORY + 4) % 100)


def test_second_command_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "rollout.json"
    with state_lock(path), pytest.raises(StateError, match="another rollout command"), state_lock(path):
        pass
    with state_lock(path):  # released
        pass
