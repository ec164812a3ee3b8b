"""The three rollout operations, each a safe sequence over Triton and the state file.

Order matters for zero failed requests: a version gets traffic only after it is loaded,
warm and smoke-checked; it is unloaded only after the state file moved traffic away and
its request count stopped moving (drain). Versions rolled back or rejected are renamed
to `retired-V-<time>` inside the model directory, so Triton's `latest` version policy
never picks them up again when it restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lama_serve.core.errors import LamaServeError
from lama_serve.core.repository import ModelRepository
from lama_serve.core.settings import Settings
from lama_serve.rollout.smoke import SmokeReport, preflight, smoke_check
from lama_serve.traffic.state import (
    HistoryEntry,
    RolloutState,
    load_state,
    publish_state,
    save_state,
    state_lock,
    utc_now,
)
from lama_serve.triton.control import TritonControl
from lama_serve.triton.errors import TritonError

log = logging.getLogger(__name__)


class RolloutError(LamaServeError):
    """An operation stopped; the message says where traffic is and what to do next."""


class VersionRejected(RolloutError):
    """A version failed its checks and was unloaded again; it never got traffic."""

    def __init__(self, message: str, smoke: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.smoke = smoke


@dataclass
class Rollouts:
    """`rollout`, `promote` and `rollback` against one Triton, one repository, one state file."""

    settings: Settings
    control: TritonControl
    say: Callable[[str], None] = print

    @property
    def state_path(self) -> Path:
        return self.settings.rollout_state_path

    @property
    def repository(self) -> ModelRepository:
        return ModelRepository(self.settings.model_repository, self.settings.model_name)

    def rollout(
        self, version: str, canary_percent: float, *, checkpoint: Path | None = None, arch: str = "big-lama"
    ) -> RolloutState:
        """Export `version` if needed, load it next to the stable one, smoke-check it, then
        give it `canary_percent` of the traffic. Rejects (and unloads) it on any failure."""
        if not 0 <= canary_percent <= 100:
            raise RolloutError(f"--canary must be between 0 and 100, not {canary_percent:g}")
        with state_lock(self.state_path):
            state = load_state(self.state_path)
            if state is None:
                # Pin the gateways first: without a state they call Triton's newest version,
                # which would be V as soon as it loads, before its smoke check.
                state = self._save(RolloutState(stable=self._stable_from_triton()))
            if state.canary == version:
                entry = HistoryEntry("adjust", version, state.stable, canary_percent)
                return self._save(state.record(entry, canary_percent=canary_percent))
            if state.canary is not None:
                raise RolloutError(
                    f"v{state.canary} is already in canary; run `lama-serve promote` "
                    f"or `lama-serve rollback` before rolling out v{version}."
                )
            if version == state.stable:
                raise RolloutError(f"v{version} is already the stable version; pick a new one.")
            self._export_if_missing(version, checkpoint, arch)
            try:
                report = self._bring_up(version, alongside=state.stable)
            except VersionRejected as error:
                self._retire_files(version)
                self._save(state.record(HistoryEntry("rejected", version, state.stable, 0.0, error.smoke, str(error))))
                raise
            entry = HistoryEntry("rollout", version, state.stable, canary_percent, report.figures())
            return self._save(state.record(entry, canary=version, canary_percent=canary_percent))

    def promote(self) -> RolloutState:
        """All traffic to the canary; the old stable version is drained and unloaded."""
        with state_lock(self.state_path):
            state = load_state(self.state_path)
            if state is None or state.canary is None:
                raise RolloutError(
                    "no canary to promote; start one with `lama-serve rollout --model-version V --canary PERCENT`."
                )
            old, new = state.stable, state.canary
            state = self._save(
                state.record(
                    HistoryEntry("promote", new, old, 100.0), stable=new, canary=None, canary_percent=0.0, previous=old
                )
            )
            self._unload_after_drain(old, keep=new)
            return state

    def rollback(self) -> RolloutState:
        """All traffic back to the previous version; the one rolled back is unloaded and retired.

        During a canary that is the stable version (still loaded); after a promote it is the
        version promoted from, which is loaded and smoke-checked again first.
        """
        with state_lock(self.state_path):
            state = load_state(self.state_path)
            if state is not None and state.canary is not None:
                target, leaving, report = state.stable, state.canary, None
            elif state is not None and state.previous is not None:
                target, leaving = state.previous, state.stable
                report = self._bring_up(target, alongside=leaving)
            else:
                raise RolloutError(
                    f"nothing to roll back: {self.state_path} records no canary and "
                    f"no promoted version (see `lama-serve rollout --status`)."
                )
            entry = HistoryEntry("rollback", target, leaving, 0.0, report.figures() if report else None)
            state = self._save(state.record(entry, stable=target, canary=None, canary_percent=0.0, previous=None))
            self._unload_after_drain(leaving, keep=target)
            self._retire_files(leaving)
            return state

    def _stable_from_triton(self) -> str:
        """Without a state file the gateway calls Triton's newest ready version: that one."""
        ready = self.control.ready_versions()
        if not ready:
            raise RolloutError(
                f"Triton at {self.control.url} serves no version of {self.control.model}; "
                f"start it with `lama-serve up` first."
            )
        return ready[-1]

    def _export_if_missing(self, version: str, checkpoint: Path | None, arch: str) -> None:
        onnx_path = self.repository.onnx_path(version)
        if onnx_path.is_file():
            if checkpoint is not None:
                raise RolloutError(
                    f"v{version} is already exported ({onnx_path}) and --checkpoint "
                    f"would be ignored; use a new version number or drop --checkpoint."
                )
            self.say(f"using the existing export {onnx_path}")
            return
        if checkpoint is None:
            log.warning(
                "no --checkpoint: exporting %s v%s with RANDOM weights; its outputs are "
                "noise, not inpaintings. Pass --checkpoint for a real model.",
                arch,
                version,
            )
        from lama_serve.export.errors import ExportError  # torch loads only when an export is due
        from lama_serve.export.pipeline import export_to_repository

        self.say(f"exporting {arch} as v{version} into {self.settings.model_repository}")
        try:
            # Random weights are seeded with the version so that two versions really differ.
            export_to_repository(
                self.settings.model_repository,
                int(version),
                arch=arch,
                checkpoint=checkpoint,
                seed=int(version),
                progress=self.say,
            )
        except ExportError as error:
            raise RolloutError(f"export of v{version} failed: {error}") from error

    def _bring_up(self, version: str, *, alongside: str) -> SmokeReport:
        """Load `version` next to `alongside`, wait for it, smoke-check it; on failure unload
        it again (traffic never moved) and raise with the reasons."""
        onnx_path = self.repository.onnx_path(version)
        problems = (
            preflight(onnx_path)
            if onnx_path.is_file()
            else [
                (
                    f"no {onnx_path}; export it first, or point --repository (MODEL_REPOSITORY) at the "
                    f"repository Triton serves"
                )
            ]
        )
        if problems:
            raise VersionRejected(f"v{version} rejected before loading: {'; '.join(problems)}", None)
        report: SmokeReport | None = None
        try:
            self.say(f"loading v{version} next to v{alongside}")
            self.control.load_versions([alongside, version])
            self.control.wait_ready(version, self.settings.rollout_ready_timeout_s)
            self.say(f"v{version} ready; smoke check")
            report = smoke_check(
                lambda image, mask: self.control.infer(version, image, mask),
                max_latency_s=self.settings.rollout_smoke_max_latency_s,
            )
            if not report.passed:
                raise RolloutError("smoke check failed: " + "; ".join(report.reasons))
        except (RolloutError, TritonError) as error:
            self.say(f"v{version} rejected, unloading it: {error}")
            self._unload(version, keep=alongside)
            raise VersionRejected(
                f"v{version} rejected, v{alongside} keeps all traffic: {error}", report.figures() if report else None
            ) from error
        self.say(f"smoke check passed (slowest call {max(report.latencies_s):.3f} s)")
        return report

    def _unload_after_drain(self, version: str, *, keep: str) -> None:
        settings = self.settings
        self.say(f"draining v{version} (quiet for {settings.rollout_drain_quiet_s:g} s)")
        if not self.control.drain(
            version,
            min_wait_s=settings.rollout_drain_min_s,
            quiet_s=settings.rollout_drain_quiet_s,
            timeout_s=settings.rollout_drain_timeout_s,
        ):
            log.warning(
                "v%s still received requests %g s after traffic moved away: some gateway "
                "does not read %s (set ROLLOUT_STATE_PATH on every gateway). Unloading it "
                "anyway; Triton finishes the requests it already has.",
                version,
                settings.rollout_drain_timeout_s,
                self.state_path,
            )
        self._unload(version, keep=keep)

    def _unload(self, version: str, *, keep: str) -> None:
        try:
            self.control.load_versions([keep])
            self.control.wait_unloaded(version, self.settings.rollout_ready_timeout_s)
        except TritonError as error:
            raise RolloutError(f"traffic is on v{keep} but v{version} could not be unloaded: {error}") from error
        self.say(f"v{version} unloaded")

    def _retire_files(self, version: str) -> None:
        source = self.repository.version_dir(version)
        if not source.is_dir():
            return
        target = self.repository.retired_dir(version, utc_now().replace(":", ""))
        try:
            source.rename(target)
        except OSError as error:
            log.warning(
                "could not move %s aside (%s): delete it yourself, or Triton's `latest` "
                "version policy serves it again after a restart",
                source,
                error,
            )
            return
        self.say(f"moved {source} to {target} (Triton ignores it; delete it when done)")

    def _save(self, state: RolloutState) -> RolloutState:
        """Write `state` and publish it; if publishing fails, put the old file back and stop."""
        previous = load_state(self.state_path)
        save_state(self.state_path, state)
        failure = publish_state(
            self.state_path, self.settings.rollout_publish_command, timeout_s=self.settings.rollout_drain_timeout_s
        )
        if failure:
            if previous is None:
                self.state_path.unlink()
            else:
                save_state(self.state_path, previous)
            raise RolloutError(
                f"ROLLOUT_PUBLISH_COMMAND failed ({failure}); {self.state_path} is "
                f"restored and traffic did not move. Fix the command and run again."
            )
        if self.settings.rollout_publish_command:
            self.say(f"published {self.state_path}")
        self.say("traffic: " + ", ".join(f"v{v} {p:g}%" for v, p in state.split().items()))
        return state


def restore_serving_versions(state_path: Path, control: TritonControl, *, timeout_s: float = 600.0) -> list[str] | None:
    """Make a freshly started Triton serve the versions the state file routes to.

    Triton loads only the newest version at start; during a canary the stable one is then
    missing. Returns the versions now served, or None when there is no state file.
    """
    state = load_state(state_path)
    if state is None:
        return None
    wanted = state.serving_versions()
    if set(control.ready_versions()) != set(wanted):
        control.load_versions(wanted)
        for version in wanted:
            control.wait_ready(version, timeout_s)
    return wanted
