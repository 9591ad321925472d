#!/usr/bin/env bash
# Install the Debian packages the test suite drives: headless Chromium for the browser tests of
# the HTML views (Python's playwright drives it; its own browser downloads are never used) and
# Virtuoso, the second real SPARQL store the portability tests push to and query.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
[ -x /usr/bin/virtuoso-t ] && [ -x /usr/bin/isql-vt ] || missing+=(virtuoso-opensource)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
