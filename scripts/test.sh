#!/usr/bin/env bash
# Set up (first time) and run every check: lint, format, then the tests.
# Usage: bash scripts/test.sh              the whole suite (unit, app, process, browser)
#        bash scripts/test.sh unit|app|process|browser [pytest args]   one tier alone
#        bash scripts/test.sh [pytest args]                            e.g. -k tokens
# Tiers by cost: unit (gpt/ and project rules, seconds), app (AppTest of every page),
# process (real worker and server processes, injected faults), browser (Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -r requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/ruff format --check .
targets=()
case "${1:-}" in
  unit|app|process|browser) targets=("tests/$1"); shift ;;
esac
# pytest exits 5 when it collected no test: set -e turns that into a failure too.
.venv/bin/python -m pytest "${targets[@]}" "$@"
