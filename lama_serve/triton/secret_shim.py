"""Keeps Triton's restricted-API key off its command line, which any local user can read.

tritonserver takes the key only as an argument value (no file or environment option in
2.51). So the command line carries `PLACEHOLDER`, the key goes in the environment (owner-
only readable), and a tiny preloaded library (secret_argv.c, compiled here at start with the
system's C compiler) swaps it in before Triton's main() runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lama_serve.triton.errors import TritonError

PLACEHOLDER = "@LAMA_TRITON_SECRET@"
SECRET_ENV = "LAMA_TRITON_SECRET"
_SOURCE = Path(__file__).with_name("secret_argv.c")


class SecretShimError(TritonError):
    """The preload library cannot be built; the message says what to install."""


def build_shim(directory: Path) -> Path:
    """Compile secret_argv.c into `directory`; returns the shared library's path."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SecretShimError(
            "no C compiler (cc/gcc) to build the library that keeps Triton's "
            "admin key off its command line: install gcc (scripts/setup.sh does)"
        )
    library = directory / "libsecret_argv.so"
    try:
        subprocess.run(
            [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(_SOURCE)],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as error:
        raise SecretShimError(
            f"{compiler} failed to build {_SOURCE.name}: {error.stderr.strip()} (install gcc and libc6-dev)"
        ) from error
    return library


def with_secret(env: dict[str, str], library: Path, secret: str) -> dict[str, str]:
    """`env` plus what makes `library` put `secret` in place of `PLACEHOLDER` in argv."""
    preload = os.pathsep.join(filter(None, [str(library), env.get("LD_PRELOAD")]))
    return {**env, "LD_PRELOAD": preload, SECRET_ENV: secret}
