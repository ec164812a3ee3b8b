"""`lama-serve up`: export if needed (up/provision.py) -> bundled Triton -> gateway, with one
shared lifetime.

`run_up(settings)` is the whole command minus argument parsing, so tests drive it directly.
Triton is a child in its own session: Ctrl-C/SIGTERM reach only this process, which stops
the gateway and then Triton. A Triton that dies while serving is restarted (up/supervisor.py);
when restarts fail, the gateway stops and the command exits non-zero instead of leaving a
gateway that answers 503 forever.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from pydantic import SecretStr

from lama_serve.core.backoff import Backoff
from lama_serve.core.contract import MODEL_NAME
from lama_serve.core.errors import ConfigurationError
from lama_serve.core.repository import served_models
from lama_serve.detect.detectors import served_detectors
from lama_serve.triton.bundle import TritonNotInstalledError
from lama_serve.triton.process import LOCKED_APIS, TritonProcess, TritonStartupError
from lama_serve.triton.published import PublishedTriton, published
from lama_serve.triton.secret_shim import SecretShimError
from lama_serve.up.keys import ensure_api_key
from lama_serve.up.provision import DEFAULT_ARCH, UpError, ensure_detectors, ensure_model
from lama_serve.up.supervisor import TritonSupervisor

if TYPE_CHECKING:  # the gateway (FastAPI, uvicorn) is imported only when it is started
    import uvicorn
    from fastapi import FastAPI

    from lama_serve.core.settings import Settings

LOGGER = logging.getLogger(__name__)
# Export-free start is seconds; warmup of big-lama at 512x512 on a small CPU takes longer.
READY_TIMEOUT_S = 600.0


class _StopRequested(Exception):
    """SIGINT/SIGTERM arrived: unwind (stopping Triton on the way) and exit 0."""


def run_up(settings: Settings, *, arch: str = DEFAULT_ARCH) -> int:
    """Serve until stopped. Returns the exit status (0 on a requested stop)."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, _request_stop)
    try:
        # A generated key is shown once the service is ready, after Triton's start-up tables.
        key_notice = io.StringIO()
        settings = ensure_api_key(settings, key_notice)
        if not settings.triton_url and settings.triton_admin_key is None:
            # One secret per start, known to the gateway too: it may reload a failed model.
            settings = settings.model_copy(update={"triton_admin_key": SecretStr(secrets.token_urlsafe(24))})
        app = _create_gateway(settings)  # before Triton: a misconfigured gateway fails at once
        if settings.triton_url:
            LOGGER.info("TRITON_URL=%s: using that Triton, starting only the gateway", settings.triton_url)
            return _serve_gateway(app, settings, None, key_notice.getvalue())
        if settings.model_name != MODEL_NAME:
            raise UpError(
                f"MODEL_NAME={settings.model_name}: the bundled Triton serves this project's repository, "
                f"whose inpainting model is `{MODEL_NAME}`. Unset MODEL_NAME, or serve your own model "
                "from your own Triton and point the gateway at it with TRITON_URL."
            )
        ensure_model(settings.model_repository, settings.lama_checkpoint, arch=arch, settings=settings)
        ensure_detectors(settings.model_repository)
        supervisor = _supervisor(settings)
        try:
            supervisor.start()
            with published(settings.up_info_path, _published_triton(settings)):
                return _serve_gateway(app, settings, supervisor, key_notice.getvalue())
        finally:
            supervisor.stop()
    except (UpError, TritonNotInstalledError, TritonStartupError, SecretShimError) as error:
        LOGGER.error("%s", error)
        return 1
    except _StopRequested:
        LOGGER.info("stop requested; gateway and Triton are stopped")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _request_stop(signum: int, _frame: FrameType | None) -> None:
    # A second Ctrl-C must not interrupt Triton's shutdown (stop() bounds it with SIGKILL).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise _StopRequested(signal.Signals(signum).name)


def _restore_rollout(settings: Settings, triton: TritonProcess) -> None:
    """Reload every version the rollout state routes traffic to: after a restart during a
    canary, Triton's version policy alone would load only the newest."""
    from lama_serve.rollout.operations import restore_serving_versions
    from lama_serve.traffic.state import StateError
    from lama_serve.triton.control import TritonControl
    from lama_serve.triton.errors import TritonError

    control = TritonControl(triton.http_url, triton.repository_api_headers, timeout_s=READY_TIMEOUT_S)
    try:
        restore_serving_versions(settings.rollout_state_path, control)
    except (TritonError, StateError) as error:
        raise UpError(f"cannot restore the rollout in {settings.rollout_state_path}: {error}") from error


def _published_triton(settings: Settings) -> PublishedTriton:
    """What `lama-serve rollout` needs to reach this Triton (UP_INFO_PATH)."""
    assert settings.triton_admin_key is not None  # run_up generates one
    return PublishedTriton(
        url=settings.effective_triton_url,
        admin_key=settings.triton_admin_key.get_secret_value(),
        rollout_state_path=str(settings.rollout_state_path.resolve()),
        pid=os.getpid(),
    )


def _supervisor(settings: Settings) -> TritonSupervisor:
    """Starts (and restarts) the bundled Triton with the same ports and secret."""
    admin_key = settings.triton_admin_key.get_secret_value() if settings.triton_admin_key else None
    return TritonSupervisor(
        lambda: TritonProcess(
            settings.model_repository,
            http_port=settings.triton_http_port,
            metrics_port=settings.triton_metrics_port,
            repository_api_key=admin_key,
            grpc_port=settings.triton_grpc_port or None,
            models=served_models(settings.model_repository, served_detectors(settings)),
            restricted_apis=LOCKED_APIS,
        ),
        ready_timeout_s=READY_TIMEOUT_S,
        attempts=settings.triton_restart_attempts,
        backoff=Backoff(settings.recovery_backoff_s, settings.recovery_backoff_max_s),
        on_ready=lambda triton: _restore_rollout(settings, triton),
    )


def _create_gateway(settings: Settings) -> FastAPI:
    from lama_serve.gateway.app import create_app  # FastAPI and friends load only when serving

    try:
        return create_app(settings)
    except ConfigurationError as error:
        raise UpError(f"gateway: {error}") from error


def _serve_gateway(app: FastAPI, settings: Settings, supervisor: TritonSupervisor | None, notice: str = "") -> int:
    """Run uvicorn in this thread; a watchdog restarts Triton when it exits and stops the
    gateway once restarts fail. `notice` (a generated key) is printed once Triton is ready,
    just before the gateway starts."""
    import uvicorn

    from lama_serve.gateway.serve import uvicorn_options

    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(settings)))
    gave_up = threading.Event()
    if supervisor is not None:
        threading.Thread(target=_watch, args=(supervisor, server, gave_up), name="triton-watchdog", daemon=True).start()
    if notice:  # after Triton's start-up tables, so it does not scroll away
        sys.stderr.write(notice)
        sys.stderr.flush()
    LOGGER.info(
        "gateway on http://%s:%d -> Triton %s",
        settings.gateway_host,
        settings.gateway_port,
        settings.effective_triton_url,
    )
    server.run()
    if gave_up.is_set():
        LOGGER.error("tritonserver could not be restarted; gateway stopped")
        return 1
    return 0  # a requested stop; uvicorn itself exits non-zero when it cannot start


def _watch(supervisor: TritonSupervisor, server: uvicorn.Server, gave_up: threading.Event) -> None:
    if not supervisor.watch(lambda: server.should_exit):
        gave_up.set()
        server.should_exit = True
