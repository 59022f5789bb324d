#!/usr/bin/env bash
# README command 2: install the test extras (and Chromium, PostgreSQL) and run the whole test suite:
# unit, integration (real SQLite, Chroma on disk and as a server, PostgreSQL, the real llama.cpp model),
# evals, and browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[local,test,spark]'

# System packages the tests drive: Debian's Chromium (never a browser download), PostgreSQL, and the Java 17
# runtime of the Spark tests.
need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v chromium >/dev/null || need_apt+=(chromium)
{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

# Production mode: the store tests also run against a throwaway PostgreSQL on 127.0.0.1.
export SHOPGUIDE_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Layers, no cycles inside a package, evals/bench as leaves (pyproject [tool.importlinter]); then the package graph
# with function-level imports counted must be acyclic and lazy first-party imports few.
.venv/bin/lint-imports
.venv/bin/python scripts/import_graph.py --check
OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest -ra --slow "$@"
