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


def _imports(path: Path) -> set[str]:
    """The kg modules a module imports when it runs (at any depth, not under TYPE_CHECKING)."""
    import ast

    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.module.split(".")[0] == "kg":
                names = [f"kg.{a.name}" for a in child.names] if child.module == "kg" else [child.module]
                found.update(names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_no_import_cycles() -> None:
    """No module imports, directly or through others, a module that imports it back, not even
    inside a function (where a cycle hides until the function runs)."""
    modules = {f"kg.{p.stem}": p for p in (ROOT / "kg").glob("*.py") if p.stem != "__init__"}
    graph = {name: _imports(path) & set(modules) - {name} for name, path in modules.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(graph[name])
        return False

    assert sorted(name for name in graph if reaches(name, name)) == []


INTERNAL_QUERIES = sorted((ROOT / "kg" / "sparql").glob("*.rq"))


@pytest.mark.parametrize("path", INTERNAL_QUERIES, ids=lambda p: p.stem)
def test_every_internal_query_is_used_and_says_what_it_is_for(path: Path) -> None:
    """The library's own SPARQL lives in kg/sparql/ (none is built in Python): each file opens with a
    comment saying what it is for, and some module loads it by name."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a comment first: what the query is for and what to bind"
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "kg").glob("*.py"))
    assert f'"{path.stem}"' in code, f"no module loads {path.name}"


EXAMPLED_MODULES = sorted(p.stem for p in (ROOT / "kg").glob("*.py") if ">>> " in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("module", EXAMPLED_MODULES)
def test_the_examples_in_docstrings_hold(module: str) -> None:
    """A docstring example is a claim about the code: every kg module's examples are run."""
    import doctest
    import importlib

    outcome = doctest.testmod(importlib.import_module(f"kg.{module}"))
    assert outcome.attempted > 0 and outcome.failed == 0
