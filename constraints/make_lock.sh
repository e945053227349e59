#!/usr/bin/env bash
# Writes constraints/lock.txt: one resolution of the project with all its extras, from PyPI wheels only, for Linux
# x86-64 and aarch64, macOS on Apple silicon and Windows, Python 3.11-3.13 ([tool.uv] environments in pyproject.toml),
# holding the versions the recorded outputs come from (constraints/recorded.txt: torch 2.13.0 has wheels on all four
# platforms). Run it after changing a dependency in pyproject.toml; tests/test_install.py checks the lock against
# pyproject.toml and resolves the install with it for each platform and Python.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(command -v uv || echo .venv/bin/uv)
# Apple silicon Macs run macOS 14 or newer: without this uv assumes an older macOS, for which torch has no wheel.
MACOSX_DEPLOYMENT_TARGET=14.0 "$uv" pip compile pyproject.toml --universal --all-extras --python-version 3.11 \
    --only-binary :all: --constraint constraints/recorded.txt --no-header --quiet -o constraints/lock.txt
