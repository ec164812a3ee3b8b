"""The README's two quick-start commands are the contract with new users: CI runs the test
one verbatim, and the service one names real entry points."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_quick_start_commands() -> None:
    run_cmd, test_cmd = quick_start_commands()
    assert run_cmd.startswith("./scripts/setup.sh && ") and "lama-serve up" in run_cmd
    assert test_cmd.startswith("./scripts/setup.sh --test && ") and "pytest" in test_cmd


def test_ci_runs_the_readme_test_command() -> None:
    _, test_cmd = quick_start_commands()
    ci = (ROOT / ".ci/run").read_text()
    setup_step, run_step = test_cmd.split(" && ")
    assert [setup_step, run_step] == [line for line in ci.splitlines() if line in (setup_step, run_step)]


def test_setup_script_installs_every_extra_the_commands_need() -> None:
    setup = (ROOT / "scripts/setup.sh").read_text()
    # running needs export, embedded Triton and detection; `--test` adds test, lint and bench tools
    assert 'EXTRAS="export,embedded,detect"' in setup and 'EXTRAS="$EXTRAS,dev,bench"' in setup
    assert '-e ".[$EXTRAS]"' in setup
    assert (ROOT / "scripts/setup.sh").stat().st_mode & 0o111


def test_lama_serve_lists_its_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lama_serve.cli", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for command in ("export", "detector", "up", "bench"):
        assert command in out
