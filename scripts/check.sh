#!/usr/bin/env bash
# Every quality gate, in the order a contributor would fix them; the first failure stops.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
step() { printf '\n== %s\n' "$*"; }

step "ruff check (lint rules: pyproject.toml [tool.ruff.lint])"
"$BIN/ruff" check .
step "ruff format --check"
"$BIN/ruff" format --check .
step "mypy --strict src/yuyin"
"$BIN/mypy"
step "mypy tests and bench (relaxed)"
"$BIN/mypy" --config-file tests/mypy.ini
step "import-linter (layers contract)"
"$BIN/lint-imports"
step "pytest: unit, integration, e2e and slow tests, with coverage"
rm -f .coverage
"$BIN/pytest" --cov --cov-report= -p no:cacheprovider "$@"
step "coverage (least-covered modules first; floor in pyproject.toml)"
"$BIN/coverage" report
