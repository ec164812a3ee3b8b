"""Locate the tritonserver bundled in the PyTriton wheel and prepare what it needs to run.

The wheel ships Triton 2.51.0 with its Python backend, but not in a directly runnable
layout: the stub for our Python version lives apart from the backend, the shared libraries
sit in `nvidia_pytriton.libs`, and our own Python-based backend must sit next to `python/`
in one backend directory. This module builds that layout (outside the venv, which stays
untouched) and the environment the server and its Python stubs need.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from lama_serve.triton.errors import TritonError

PYTRITON_REQUIREMENT = "nvidia-pytriton==0.7.0"
# Our Python-based backend: `backend: "lama_cpu"` in configs/cpu.pbtxt.
BACKENDS_SOURCE = Path(__file__).resolve().parent.parent / "backend"
# Folder holding the `lama_serve` package: makes `lama_serve.core` importable inside the stub.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class TritonNotInstalledError(TritonError):
    """The bundled tritonserver (or a piece of it) is missing."""


@dataclass(frozen=True)
class TritonBundle:
    """Paths inside an installed `nvidia-pytriton` wheel."""

    executable: Path
    libs_dir: Path
    python_backend_dir: Path
    stub: Path

    @classmethod
    def locate(cls) -> TritonBundle:
        """Find the bundle for the running interpreter, or say how to install it."""
        spec = importlib.util.find_spec("pytriton")
        if spec is None or spec.origin is None:
            raise TritonNotInstalledError(
                "The embedded Triton server is not installed. Install it with "
                f"`pip install {PYTRITON_REQUIREMENT}` (or `pip install 'lama-serve[embedded]'`), "
                "or point TRITON_URL at a running Triton."
            )
        server_dir = Path(spec.origin).parent / "tritonserver"
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        bundle = cls(
            executable=server_dir / "bin" / "tritonserver",
            libs_dir=server_dir.parent.parent / "nvidia_pytriton.libs",
            python_backend_dir=server_dir / "backends" / "python",
            stub=server_dir / "python_backend_stubs" / version / "triton_python_backend_stub",
        )
        missing = [
            str(p)
            for p in (bundle.executable, bundle.libs_dir, bundle.python_backend_dir, bundle.stub)
            if not p.exists()
        ]
        if missing:
            raise TritonNotInstalledError(
                f"The nvidia-pytriton install is incomplete or does not support Python {version}; "
                f"missing: {', '.join(missing)}. Reinstall it with "
                f"`pip install --force-reinstall {PYTRITON_REQUIREMENT}`."
            )
        return bundle

    def build_backend_directory(self, dest: Path) -> Path:
        """Create `dest` as a `--backend-directory`: python/ (with our stub) + our backends.

        Real files (Triton rejects backend libraries that resolve outside the backend
        directory), hard-linked when possible so a per-run build stays cheap; the wheel is
        never modified.
        """
        python_dir = dest / "python"
        python_dir.mkdir(parents=True, exist_ok=True)
        for item in self.python_backend_dir.iterdir():
            if item.is_file():
                _link(python_dir / item.name, item)
        _link(python_dir / self.stub.name, self.stub)
        for backend in BACKENDS_SOURCE.iterdir():
            if (backend / "model.py").is_file():
                (dest / backend.name).mkdir(exist_ok=True)
                _link(dest / backend.name / "model.py", backend / "model.py")
        return dest

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for tritonserver and the Python stubs it spawns.

        The stub embeds libpython; putting this interpreter's bin dir first on PATH makes it
        resolve the same prefix (and so the same site-packages, venv included), and
        PYTHONPATH makes this project importable by our backend even when not pip-installed.
        """
        env = dict(os.environ if base is None else base)
        lib_dirs = [str(self.libs_dir)]
        libpython_dir = sysconfig.get_config_var("LIBDIR")
        if libpython_dir:
            lib_dirs.append(libpython_dir)
        env["LD_LIBRARY_PATH"] = os.pathsep.join([*lib_dirs, *_split(env.get("LD_LIBRARY_PATH"))])
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), *_split(env.get("PATH"))])
        env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *_split(env.get("PYTHONPATH"))])
        return env


def _split(value: str | None) -> list[str]:
    return [part for part in (value or "").split(os.pathsep) if part]


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        link.hardlink_to(target)
    except OSError:  # another filesystem, or hard links not allowed
        shutil.copy2(target, link)
