"""Errors a user can cause, each with the exit code scripts can rely on (0 ok, 1 failure, 2 usage)."""

from __future__ import annotations

from collections.abc import Sequence


class KgError(Exception):
    """Base of the errors the CLI reports as a message instead of a traceback."""

    exit_code = 1


class UsageError(KgError):
    """The command was asked for something that cannot be done as asked."""

    exit_code = 2


class UnknownTherapy(UsageError):
    """A therapy name matched nothing; carries close names to suggest."""

    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"Unknown therapy '{name}'.{hint} Run 'kg list' to see all therapies.")


class BuildError(KgError):
    """Ontology or data could not be built into a graph: syntax errors or validation findings."""

    def __init__(self, message: str, report: str = "") -> None:
        self.report = report
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.args[0]}\n{self.report}" if self.report else self.args[0]


class QueryError(KgError):
    """A SPARQL query is malformed or not allowed."""
