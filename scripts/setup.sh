#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine: system libraries (apt), a virtualenv in .venv and
# this project. `setup.sh` installs what running the service needs (export, embedded Triton,
# detection); `setup.sh --test` adds what the tests, linters and benchmarks need.
# Safe to re-run: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
EXTRAS="export,embedded,detect"
if [ "${1:-}" = "--test" ]; then
  EXTRAS="$EXTRAS,dev,bench"
fi
# libb64-0d: perf_analyzer (`lama-serve bench triton`) links against it.
# fonts-*: watermark text of the synthetic composites; opencv-doc, mate-backgrounds: photos of
# their training split (lama_serve/detect/sources.py).
# redis-server: tests of JOBS_BACKEND=redis start a real one on a loopback port.
# gcc, libc6-dev: `up` compiles the tiny shim that keeps Triton's secret off its command line.
APT_PACKAGES=(libb64-0d fonts-dejavu-core fonts-liberation fonts-freefont-ttf opencv-doc mate-backgrounds redis-server gcc libc6-dev)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]"
echo "setup: ready (.venv)"
