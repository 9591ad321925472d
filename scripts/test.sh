#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
# Uses the active virtual environment, or creates .venv in the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
    python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[test]'
python -m pytest "$@"
