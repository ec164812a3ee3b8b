"""Settings: rollouts of model versions (`lama-serve rollout/promote/rollback`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class RolloutSettings(BaseModel):
    """The traffic split's state file, and how a new version is checked and an old one drained."""

    rollout_state_path: Path = Field(
        Path("var/rollout.json"),
        description="Traffic split between model versions, written by `lama-serve rollout`/"
        "`promote`/`rollback` and read by every gateway process (share it between replicas).",
    )
    rollout_ready_timeout_s: float = Field(600.0, gt=0, description="Longest wait for a version to load and warm up.")
    rollout_smoke_max_latency_s: float = Field(
        10.0, gt=0, description="Slowest golden-input call a new version may take."
    )
    rollout_publish_command: str | None = Field(
        None,
        description="Shell command run after every state change to publish the file to "
        "the gateways (e.g. `kubectl apply` of a ConfigMap); gets $ROLLOUT_STATE_PATH.",
    )
    rollout_drain_min_s: float = Field(
        0.0,
        ge=0,
        description="Wait before draining starts: how long gateways take to see a "
        "new state file (0 for a local file; ~90 s for a Kubernetes ConfigMap).",
    )
    rollout_drain_quiet_s: float = Field(
        2.0, gt=0, description="An old version is drained once its request count stays still this long."
    )
    rollout_drain_timeout_s: float = Field(
        120.0, gt=0, description="Unload the old version after this long even if it still gets requests."
    )
