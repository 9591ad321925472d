"""The code is checked whenever it is tested: ruff (lint and format) and mypy find nothing.
Their settings are in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKS = {
    "ruff check": ["ruff", "check", "kg", "scripts", "tests"],
    "ruff format": ["ruff", "format", "--check", "kg", "scripts", "tests"],
    "mypy": ["mypy"],
}


@pytest.mark.parametrize("check", CHECKS)
def test_no_findings(check: str) -> None:
    done = subprocess.run([sys.executable, "-m", *CHECKS[check]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
