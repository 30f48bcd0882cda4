#!/usr/bin/env bash
# Set up (first time) and start the app: bash scripts/run.sh [streamlit options]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q -r requirements.txt
exec .venv/bin/streamlit run app.py "$@"
