#!/usr/bin/env bash
# Install what the browser tests of the HTML views need: Debian's headless Chromium.
# Python's playwright drives it (pip extra `test`); its own browser downloads are never used.
# Idempotent: does nothing when /usr/bin/chromium already exists. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
