"""backend.triton_io.instance_threads: the cores are split over the instances that compute at once."""

from __future__ import annotations

import pytest

from lama_serve.backend.triton_io import instance_threads


def _config(threads: str | None, *counts: int) -> dict:
    config: dict = {"instance_group": [{"kind": "KIND_CPU", "count": count} for count in counts]}
    if threads is not None:
        config["parameters"] = {"threads": {"string_value": threads}}
    return config


@pytest.mark.parametrize(
    "config, cores, expected",
    [
        (_config("0", 2), 16, 8),  # cpu.pbtxt on 16 cores: 8 each
        (_config(None, 2), 2, 1),  # this 2-core host: one each
        (_config("12", 2, 1), 64, 4),  # 12 threads over 3 instances
        (_config("0", 1), 16, 16),  # one instance keeps every core
        (_config("0", 4), 2, 1),  # never below one thread
        ({}, 6, 6),  # no group listed: one instance
    ],
)
def test_threads_split_over_instances(config: dict, cores: int, expected: int) -> None:
    assert instance_threads(config, cores) == expected
