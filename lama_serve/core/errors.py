"""The root of every error this project raises on purpose.

    LamaServeError                 message says what failed and how to fix it
    ├── ExportError                export/: checkpoint, mismatch, parity
    ├── TritonError                triton/: unavailable, overloaded, timeout, forbidden, failed,
    │                              start-up, not installed, repository control
    ├── StateError                 traffic/: unreadable or invalid rollout state
    ├── RolloutError               rollout/: a version rejected by the smoke check
    ├── UpError                    up/: the embedded stack cannot start
    ├── JobError                   jobs/: unknown job, no result, idempotency, webhook refused
    └── ConfigurationError         settings that cannot work (e.g. no API key for the gateway)

The `lama-serve` dispatcher catches this root once and exits with its `exit_code` (1; 2 for
settings that cannot work) and the message. The
gateway's HTTP errors (`gateway.errors.ApiError`) are a separate family: they carry a status.
"""

from __future__ import annotations


class LamaServeError(Exception):
    """Base of the project's domain errors."""

    exit_code = 1  # of `lama-serve` when this error ends a command


class ConfigurationError(LamaServeError):
    """The settings cannot work; the message names the variables to set."""

    exit_code = 2
