#!/usr/bin/env bash
# README command 1: install everything, load the demo shop and start ShopGuide on embedded defaults
# (SQLite, embedded Chroma, the local llama.cpp model) in demo mode, on loopback only. Re-running skips what is
# already done. For a public server use `shopguide serve` without --demo (README: Security).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "ShopGuide needs Python 3.11"'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# llama.cpp is compiled from source; the portable flags avoid -march=native (it crashes with SIGILL on some CPUs).
# pip caches the built wheel, so only the first install pays the ~5-8 minutes.
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[local]'

.venv/bin/shopguide setup
exec .venv/bin/shopguide serve --demo "$@"
