"""Find, run and read perf_analyzer, the load generator shipped in the tritonclient wheel.

The wheel puts the binary next to the interpreter (`.venv/bin/perf_analyzer`) but not the
shared libraries it links: libb64 comes from Debian (`libb64-0d`) and libcudart from the
`nvidia-cuda-runtime-cu12` wheel (it is linked even for CPU-only servers), whose lib dir
we put on LD_LIBRARY_PATH ourselves.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "install it with `apt-get install libb64-0d` and "
    "`pip install 'tritonclient[http]==2.51.0' nvidia-cuda-runtime-cu12` "
    "(scripts/setup.sh does both)"
)
_OUTPUT_TAIL_CHARS = 3000


class PerfAnalyzerError(RuntimeError):
    """perf_analyzer is missing, cannot start, or failed; the message says what to do."""


@dataclass(frozen=True)
class PerfAnalyzer:
    executable: Path
    env: dict[str, str]

    @classmethod
    def locate(cls) -> PerfAnalyzer:
        """The binary ($PERF_ANALYZER, next to this Python, or on PATH), checked to start."""
        candidates = [
            os.environ.get("PERF_ANALYZER"),
            str(Path(sys.executable).parent / "perf_analyzer"),
            shutil.which("perf_analyzer"),
        ]
        found = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
        if found is None:
            raise PerfAnalyzerError(f"perf_analyzer not found; {INSTALL_HINT}, or set PERF_ANALYZER")
        env = dict(os.environ)
        try:
            cudart = importlib.util.find_spec("nvidia.cuda_runtime")
        except ModuleNotFoundError:  # no nvidia.* wheel at all: the probe below says what to install
            cudart = None
        if cudart is not None and cudart.submodule_search_locations:
            lib_dir = Path(next(iter(cudart.submodule_search_locations))) / "lib"
            env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(lib_dir), env.get("LD_LIBRARY_PATH")) if p)
        probe = subprocess.run([str(found), "--version"], env=env, capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            raise PerfAnalyzerError(f"{found} cannot start ({(probe.stderr or probe.stdout).strip()}); {INSTALL_HINT}")
        return cls(found, env)

    def run(self, args: list[str], log: Path) -> None:
        """Run with `args`; its output goes to `log`. Raises with the output tail on failure."""
        with log.open("w") as out:
            status = subprocess.run(
                [str(self.executable), *args], env=self.env, stdout=out, stderr=subprocess.STDOUT, check=False
            ).returncode
        if status != 0:
            tail = log.read_text(errors="replace")[-_OUTPUT_TAIL_CHARS:]
            hint = (
                " Unstable measurements on a busy host: raise --request-count or --stability-percentage."
                if "stable measurement" in tail
                else ""
            )
            raise PerfAnalyzerError(
                f"perf_analyzer exited with status {status}.{hint} Full output: {log}\n--- tail ---\n{tail}"
            )


def read_csv(path: Path) -> list[dict[str, float]]:
    """perf_analyzer's `-f` CSV as rows of numbers (latencies in µs); empty cells dropped
    (its GPU metric columns stay empty on CPU-only servers)."""
    with path.open(newline="") as f:
        return [
            {key: float(value) for key, value in row.items() if value not in ("", None)} for row in csv.DictReader(f)
        ]
