"""`lama-serve rollout | promote | rollback`: move traffic between model versions safely.

See docs/rollouts.md. Triton's admin key comes from TRITON_ADMIN_KEY or, with neither it nor
TRITON_URL set, from the file a running `lama-serve up` publishes (UP_INFO_PATH, 0600);
never from a flag: command lines are visible to every local user.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from lama_serve.core.arg_types import MODEL_VERSION
from lama_serve.core.cli_args import add_setting_flag, settings_from_args
from lama_serve.traffic.state import load_state

if TYPE_CHECKING:  # Triton's client (gevent) loads only when a rollout command runs
    from lama_serve.core.settings import Settings
    from lama_serve.rollout.operations import Rollouts

LOGGER = logging.getLogger(__name__)


def _common(parser: argparse.ArgumentParser) -> None:
    add_setting_flag(parser, "--state", "rollout_state_path", "state file; every gateway must read the same one", Path)
    add_setting_flag(parser, "--triton-url", "triton_url", "Triton host:port (unset: 127.0.0.1:TRITON_HTTP_PORT)")
    add_setting_flag(parser, "--repository", "model_repository", "model repository Triton serves", Path)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `rollout`, `promote` and `rollback`."""
    rollout = subparsers.add_parser(
        "rollout",
        help="load a new model version next to the serving one and canary it",
        description="Export V if missing, load it next to the stable version, smoke-check it "
        "and give it --canary percent of the gateway traffic. A failed check "
        "unloads V and exits 1; traffic never moves to it.",
    )
    action = rollout.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--model-version", type=MODEL_VERSION, help="version to roll out (or whose canary share to change)"
    )
    action.add_argument("--status", action="store_true", help="show the split and the history")
    rollout.add_argument(
        "--canary",
        type=float,
        default=10.0,
        metavar="PERCENT",
        help="share of traffic for the new version (default 10)",
    )
    rollout.add_argument(
        "--checkpoint",
        type=Path,
        help="checkpoint to export V from; without it a missing V is exported with random weights (seed V)",
    )
    rollout.add_argument(
        "--arch", choices=["big-lama", "tiny"], default="big-lama", help="architecture when V must be exported"
    )
    _common(rollout)
    rollout.set_defaults(func=run_rollout)
    for name, text in (
        ("promote", "send all traffic to the canary and unload the old version"),
        (
            "rollback",
            ("send all traffic back to the previous version and unload the canary (or the last promoted version)"),
        ),
    ):
        parser = subparsers.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        _common(parser)
        parser.set_defaults(func=run_promote if name == "promote" else run_rollback)


def run_rollout(args: argparse.Namespace) -> int:
    if args.status:
        return _with_rollouts(args, _print_status)
    return _with_rollouts(
        args, lambda r: r.rollout(str(args.model_version), args.canary, checkpoint=args.checkpoint, arch=args.arch)
    )


def run_promote(args: argparse.Namespace) -> int:
    return _with_rollouts(args, lambda r: r.promote())


def run_rollback(args: argparse.Namespace) -> int:
    return _with_rollouts(args, lambda r: r.rollback())


def _with_rollouts(args: argparse.Namespace, operation: Callable[[Rollouts], object]) -> int:
    """Build settings and the Triton client, run `operation`; domain errors reach the dispatcher."""
    from lama_serve.rollout.operations import Rollouts
    from lama_serve.triton.control import TritonControl

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = _with_running_up(settings_from_args(args))
    control = TritonControl.for_settings(settings)
    try:
        operation(Rollouts(settings, control))
    finally:
        control.close()
    return 0


def _with_running_up(settings: Settings) -> Settings:
    """Without TRITON_URL and TRITON_ADMIN_KEY: the Triton of a running `lama-serve up`
    (its UP_INFO_PATH file), and its state file unless one was given."""
    from lama_serve.triton.published import read_published

    if settings.triton_url or settings.triton_admin_key:
        return settings
    up = read_published(settings.up_info_path)
    if up is None:
        return settings
    update: dict[str, object] = {"triton_url": up.url, "triton_admin_key": SecretStr(up.admin_key)}
    if "rollout_state_path" not in settings.model_fields_set:
        update["rollout_state_path"] = Path(up.rollout_state_path)
    LOGGER.info("using the Triton of `lama-serve up` (pid %d) at %s, from %s", up.pid, up.url, settings.up_info_path)
    return settings.model_copy(update=update)


def _print_status(rollouts: Rollouts) -> None:
    from lama_serve.triton.errors import TritonError

    state = load_state(rollouts.state_path)
    print(f"state file: {rollouts.state_path}")
    try:
        print(
            f"Triton {rollouts.control.url} serves: "
            + (", ".join(f"v{v}" for v in rollouts.control.ready_versions()) or "nothing")
        )
    except TritonError as error:
        print(f"Triton: {error}")
    if state is None:
        print("no rollout yet: gateways use their configured MODEL_VERSION")
        return
    print("split: " + ", ".join(f"v{v} {p:g}%" for v, p in state.split().items()))
    print(
        f"stable v{state.stable}; canary "
        + (f"v{state.canary} ({state.canary_percent:g}%)" if state.canary else "none")
        + (f"; rollback returns to v{state.previous}" if state.previous else "")
    )
    print("history (oldest first):")
    for entry in state.history:
        smoke = entry.smoke or {}
        figures = (
            f" smoke {'ok' if smoke.get('passed') else 'FAILED'}, slowest {smoke.get('max_latency_s', 0):.3f} s"
            if smoke
            else ""
        )
        share = f" {entry.canary_percent:g}%" if entry.canary_percent is not None else ""
        print(
            f"  {entry.at} {entry.user:<12} {entry.action:<8} "
            f"v{entry.from_version or '-'} -> v{entry.to_version}{share}{figures}"
            + (f"  ({entry.note})" if entry.note else "")
        )
