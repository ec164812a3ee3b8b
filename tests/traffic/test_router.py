"""`VersionRouter`: split statistics, cheap reloads, and resilience to a bad file."""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

from lama_serve.traffic.router import VersionRouter
from lama_serve.traffic.state import RolloutState, save_state


def _state(path: Path, stable: str = "1", canary: str | None = None, percent: float = 0.0) -> None:
    save_state(path, RolloutState(stable=stable, canary=canary, canary_percent=percent))


def test_no_state_file_means_configured_version(tmp_path: Path) -> None:
    router = VersionRouter(tmp_path / "rollout.json")
    assert router.choose() is None
    assert router.split() is None


def test_ten_percent_canary_over_2000_picks(tmp_path: Path) -> None:
    path = tmp_path / "rollout.json"
    _state(path, "1", "2", 10.0)
    router = VersionRouter(path)
    picks = [router.choose() for _ in range(2000)]
    counts = collections.Counter(picks)
    assert 180 <= counts["2"] <= 220 and counts["1"] + counts["2"] == 2000
    # interleaved, not bunched: every window of 20 requests holds the canary twice
    assert all(picks[i : i + 20].count("2") == 2 for i in range(0, 2000, 20))


def test_fractional_percent_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "rollout.json"
    _state(path, "1", "2", 2.5)
    router = VersionRouter(path)
    assert collections.Counter(router.choose() for _ in range(4000))["2"] == 100


def test_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "rollout.json"
    _state(path, "1")
    router = VersionRouter(path)
    assert {router.choose() for _ in range(10)} == {"1"}
    _state(path, "1", "2", 50.0)
    assert collections.Counter(router.choose() for _ in range(10)) == {"1": 5, "2": 5}
    _state(path, "2")  # promoted
    assert {router.choose() for _ in range(10)} == {"2"}
    path.unlink()
    assert router.choose() is None


def test_unchanged_file_is_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rollout.json"
    _state(path, "1", "2", 10.0)
    router = VersionRouter(path)
    router.choose()
    reads: list[Path] = []
    monkeypatch.setattr("lama_serve.traffic.router.load_state", lambda p: reads.append(p))
    for _ in range(100):
        router.choose()
    assert reads == []


def test_same_mtime_rewrite_is_still_seen(tmp_path: Path) -> None:
    """os.replace gives a new inode, so even a coarse-mtime filesystem cannot hide a change."""
    path = tmp_path / "rollout.json"
    _state(path, "1")
    stamp = os.stat(path).st_mtime_ns
    router = VersionRouter(path)
    assert router.choose() == "1"
    _state(path, "3")
    os.utime(path, ns=(stamp, stamp))
    assert router.choose() == "3"


def test_corrupt_file_keeps_the_last_good_split(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "rollout.json"
    _state(path, "1", "2", 50.0)
    router = VersionRouter(path)
    router.choose()
    tmp = tmp_path / "broken"
    tmp.write_text("{truncated")
    os.replace(tmp, path)
    assert {router.choose() for _ in range(10)} == {"1", "2"}
    assert "cannot read rollout state" in caplog.text
