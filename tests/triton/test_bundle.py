"""serving.bundle: the wheel's tritonserver is found, laid out and given its environment."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lama_serve.triton.bundle import (
    PROJECT_ROOT,
    PYTRITON_REQUIREMENT,
    TritonBundle,
    TritonNotInstalledError,
)


def test_backend_directory_holds_real_files(tmp_path: Path) -> None:
    backend_dir = TritonBundle.locate().build_backend_directory(tmp_path / "backends")
    for name in ("libtriton_python.so", "triton_python_backend_stub", "triton_python_backend_utils.py"):
        path = backend_dir / "python" / name
        # Triton refuses a backend library that resolves outside the backend directory.
        assert path.is_file() and not path.is_symlink(), name
    assert (backend_dir / "lama_cpu" / "model.py").is_file()


def test_environment_puts_bundle_libs_and_this_project_first() -> None:
    bundle = TritonBundle.locate()
    env = bundle.environment({"PATH": "/usr/bin", "LD_LIBRARY_PATH": "/opt/lib"})
    assert env["LD_LIBRARY_PATH"].split(":")[0] == str(bundle.libs_dir)
    assert env["LD_LIBRARY_PATH"].endswith(":/opt/lib")
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert env["PYTHONPATH"].split(":")[0] == str(PROJECT_ROOT)


def test_missing_wheel_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(TritonNotInstalledError, match=f"pip install {PYTRITON_REQUIREMENT}"):
        TritonBundle.locate()
