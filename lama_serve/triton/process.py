"""`TritonProcess`: one bundled tritonserver child process, started, awaited and stopped.

Used by `lama-serve up`, the test fixtures and anything else that needs a local Triton.

    with TritonProcess(repository, http_port=8000, metrics_port=8002) as triton:
        triton.wait_ready(timeout=120)   # raises TritonStartupError with Triton's log tail
        ...                              # talk to triton.http_url
    # stopped here: SIGTERM, then SIGKILL if it outlives its exit timeout

The model repository (admin), logging, trace and shared-memory APIs (and inference, with
`restricted_apis=LOCKED_APIS`) are restricted to callers sending the header in
`repository_api_headers`; its secret is generated per instance, never logged and never on
the command line (secret_shim.py).

The Python backend's shared-memory regions a crashed server leaves in /dev/shm are removed by
`stop()` and, for servers whose starter died too, by the next start (shared_memory.py).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from lama_serve.core.repository import served_models
from lama_serve.core.settings import REPOSITORY_API_HEADER
from lama_serve.triton import shared_memory
from lama_serve.triton.bundle import TritonBundle
from lama_serve.triton.client import server_ready
from lama_serve.triton.errors import TritonError
from lama_serve.triton.secret_shim import PLACEHOLDER, build_shim, with_secret

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

LOGGER = logging.getLogger(__name__)
TRITON_LOG = logging.getLogger("lama_serve.triton.tritonserver")
_LOG_TAIL_LINES = 60
# Triton APIs only the operator's tools may call; LOCKED_APIS: the gateway's inference too.
ADMIN_APIS = ("model-repository", "logging", "trace", "shared-memory")
LOCKED_APIS = (*ADMIN_APIS, "inference")


_HANDED_OUT: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now on `host` (the OS picks it), for Triton and test servers, and
    not handed out before by this process: nothing binds a port until its server starts, so
    two calls in a row may get the same one (Triton then refuses HTTP and metrics on one port)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


class TritonStartupError(TritonError):
    """Triton exited or did not become ready; the message ends with its log tail."""


class TritonProcess:
    """A tritonserver child serving `repository` in explicit mode with `models` loaded."""

    def __init__(
        self,
        repository: Path,
        *,
        http_port: int,
        metrics_port: int,
        grpc_port: int | None = None,
        model_config_name: str | None = "cpu",
        models: tuple[str, ...] | None = None,
        host: str = "127.0.0.1",
        log_verbose: int = 0,
        exit_timeout: int = 10,
        repository_api_key: str | None = None,
        restricted_apis: tuple[str, ...] = ADMIN_APIS,
    ) -> None:
        """`grpc_port=None` disables GRPC; `model_config_name=None` uses config.pbtxt;
        `models=None` loads `served_models(repository)` (lama plus present detectors).

        `repository_api_key`: the repository API's secret (TRITON_ADMIN_KEY), so that
        `lama-serve rollout` can reach a Triton started by `up`; None generates one.

        `restricted_apis`: Triton APIs that need the secret's header; `LOCKED_APIS` adds
        inference, so that only the gateway (which has the secret) can use this Triton.

        `exit_timeout`: seconds Triton waits on SIGTERM for in-flight requests and open
        client connections before it exits; `stop()` kills it 10 s after that.
        """
        self.repository = Path(repository).resolve()
        self.http_url = f"{host}:{http_port}"
        self.metrics_url = f"http://{host}:{metrics_port}/metrics"
        self.grpc_url = None if grpc_port is None else f"{host}:{grpc_port}"
        self._host, self._http_port, self._metrics_port, self._grpc_port = (host, http_port, metrics_port, grpc_port)
        self._model_config_name = model_config_name
        self._models = served_models(self.repository) if models is None else models
        self._log_verbose = log_verbose
        self._exit_timeout = exit_timeout
        self._secret = repository_api_key or secrets.token_urlsafe(24)
        self._restricted = ",".join(restricted_apis)
        self._log_tail: collections.deque[str] = collections.deque(maxlen=_LOG_TAIL_LINES)
        self._process: subprocess.Popen[str] | None = None
        self._workdir: Path | None = None
        self._reader: threading.Thread | None = None
        self._shm_prefix = shared_memory.new_prefix()

    @property
    def repository_api_headers(self) -> dict[str, str]:
        """Headers that authorise calls to /v2/repository/... (load, unload, index)."""
        return {REPOSITORY_API_HEADER: self._secret}

    @property
    def shm_prefix(self) -> str:
        """The name prefix of this server's Python backend shared-memory regions."""
        return self._shm_prefix

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        """None while running (or never started), else Triton's exit status."""
        return self._process.poll() if self._process else None

    def log_tail(self) -> str:
        """The last lines Triton printed (for error messages)."""
        return "".join(self._log_tail)

    def _command(self, backend_dir: Path, executable: Path) -> list[str]:
        command = [
            str(executable),
            f"--model-repository={self.repository}",
            "--model-control-mode=explicit",
            *(f"--load-model={name}" for name in self._models),
            "--strict-readiness=true",
            "--exit-on-error=true",
            f"--backend-directory={backend_dir}",
            f"--http-address={self._host}",
            f"--http-port={self._http_port}",
            f"--metrics-port={self._metrics_port}",
            "--allow-metrics=true",
            "--allow-gpu-metrics=false",
            f"--http-restricted-api={self._restricted}:{REPOSITORY_API_HEADER}={PLACEHOLDER}",
            f"--log-verbose={self._log_verbose}",
            f"--exit-timeout-secs={self._exit_timeout}",
            f"--backend-config=python,shm-region-prefix-name={self._shm_prefix}",
        ]
        if self._grpc_port is None:
            command.append("--allow-grpc=false")
        else:
            command += [
                f"--grpc-address={self._host}",
                f"--grpc-port={self._grpc_port}",
                f"--grpc-restricted-protocol={self._restricted}:{REPOSITORY_API_HEADER}={PLACEHOLDER}",
            ]
        if self._model_config_name:
            command.append(f"--model-config-name={self._model_config_name}")
        return command

    def start(self) -> Self:
        """Spawn tritonserver (returns at once; call `wait_ready`)."""
        if self._process is not None:
            raise RuntimeError("this TritonProcess was already started; create a new one")
        self._check_ports_free()
        shared_memory.remove_orphans()
        bundle = TritonBundle.locate()
        self._workdir = Path(tempfile.mkdtemp(prefix="lama-triton-"))
        backend_dir = bundle.build_backend_directory(self._workdir / "backends")
        LOGGER.info(
            "starting tritonserver: repository=%s http=%s metrics=%s config=%s",
            self.repository,
            self.http_url,
            self.metrics_url,
            self._model_config_name or "config.pbtxt",
        )
        shim = build_shim(self._workdir)
        self._process = subprocess.Popen(
            self._command(backend_dir, bundle.executable),
            env=with_secret(bundle.environment(), shim, self._secret),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,  # Ctrl-C goes to us; we stop Triton and its stubs ourselves
        )
        self._reader = threading.Thread(
            target=self._pump_log, args=(self._process.stdout,), name="tritonserver-log", daemon=True
        )
        self._reader.start()
        return self

    def _check_ports_free(self) -> None:
        """Fail now on a taken port: else another server's /v2/health/ready could pass for ours."""
        ports = {"HTTP": self._http_port, "metrics": self._metrics_port, "GRPC": self._grpc_port}
        for role, port in ports.items():
            if port is None:
                continue
            with socket.socket() as sock:
                # As Triton binds: a recent server's TIME_WAIT connections do not count.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self._host, port))
                except OSError as error:
                    raise TritonStartupError(
                        f"cannot use {self._host}:{port} for Triton {role}: {error.strerror}. "
                        "Stop what listens there or choose another port (TRITON_HTTP_PORT, "
                        "TRITON_METRICS_PORT, or the --triton-*-port flags)."
                    ) from error

    def _pump_log(self, stream: TextIO) -> None:
        for line in stream:
            self._log_tail.append(line)
            TRITON_LOG.info("%s", line.rstrip())

    def is_ready(self) -> bool:
        """True when /v2/health/ready answers 200 (all loaded models ready, warmup done)."""
        return server_ready(self.http_url, timeout_s=2.0)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until ready; raise TritonStartupError on early exit or after `timeout` s."""
        if self._process is None:
            raise RuntimeError("call start() before wait_ready()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.returncode is not None:
                self._join_reader()
                raise TritonStartupError(
                    f"tritonserver exited with status {self.returncode} before becoming ready "
                    f"(a model that fails to load stops it; see the log below and fix or "
                    f"re-export the model in {self.repository}).\n--- tritonserver log tail ---\n"
                    f"{self.log_tail()}"
                )
            if self.is_ready():
                LOGGER.info("tritonserver ready at %s", self.http_url)
                return
            time.sleep(0.2)
        tail = self.log_tail()
        self.stop()
        raise TritonStartupError(
            f"tritonserver did not become ready within {timeout:.0f} s (stopped it). Warmup of a "
            f"large model on CPU can be slow: raise the timeout, or check that ports "
            f"{self._http_port}/{self._metrics_port} are free.\n--- tritonserver log tail ---\n{tail}"
        )

    def stop(self) -> None:
        """SIGTERM the server (it unloads models and ends its stubs); SIGKILL its whole
        process group (stubs included) if it is still alive 10 s after its exit timeout.
        Idempotent."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            grace = self._exit_timeout + 10
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                LOGGER.warning("tritonserver still running %d s after SIGTERM; killing it", grace)
                os.killpg(process.pid, signal.SIGKILL)  # still unreaped: the group is ours
                process.wait()
        elif process is not None:  # it died: end the stubs it may have left behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        self._join_reader()
        if process is not None:  # gone now: what it left of its regions is garbage
            shared_memory.remove_regions(self._shm_prefix)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)

    def __enter__(self) -> Self:
        return self if self._process is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
