"""The exceptions cardpress raises. The CLI catches CardpressError once, at the top."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cardpress.model import Location


class Severity(enum.Enum):
    """How bad a diagnostic is."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"  # something to know and to act on, never a failure, not even with --strict


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the input, at a position."""

    location: Location
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.severity.value}: {self.message}"


class CardpressError(Exception):
    """Base class of every error cardpress reports to its user."""


class InputError(CardpressError):
    """The card files have problems; ``diagnostics`` lists every one of them."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=_sort_key)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class ExportError(CardpressError):
    """An output (or a lock file) could not be read or written: ``path: error: message``."""

    def __init__(self, path: object, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: error: {message}")

    def __reduce__(self) -> tuple[type[ExportError], tuple[str, str]]:
        # From a worker process back to the parent, with both arguments.
        return (type(self), (self.path, self.message))

    @classmethod
    def from_os_error(cls, exc: OSError, path: object, doing: str = "cannot write") -> ExportError:
        """The error for an OSError on the way: the file it names (else ``path``) and why."""
        return cls(exc.filename or path, f"{doing}: {exc.strerror or exc}")


def _sort_key(d: Diagnostic) -> tuple[str, int, int]:
    # Stable: problems at one position keep the order in which they were found.
    loc = d.location
    return (loc.path, loc.line, loc.col)


def sort_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics ordered by file, line, column."""
    return sorted(diagnostics, key=_sort_key)
