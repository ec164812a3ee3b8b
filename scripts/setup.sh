#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for the embedded default and the tests:
# system libraries (apt), a virtualenv in .venv, and this project with all its extras.
# Safe to re-run: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# libb64-0d: perf_analyzer (`lama-serve bench triton`) links against it.
# fonts-*: watermark text of the synthetic composites (lama_serve/detect/sources.py).
APT_PACKAGES=(libb64-0d fonts-dejavu-core fonts-liberation fonts-freefont-ttf)

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
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[export,embedded,dev,bench,detect]"
echo "setup: ready (.venv)"
