#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it:
# Debian's Chromium (browser tests) and Virtuoso (portability tests), and the package with its test extra (pytest,
# SPARQLWrapper, the Oxigraph server, Playwright) in the active virtual environment or in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_system.sh

if [ -z "${VIRTUAL_ENV:-}" ]; then
    python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[test]'
python -m pytest "$@"
