"""Exporters: each a pure function of a deck and a path, returning an ExportSummary."""

from __future__ import annotations

from dataclasses import dataclass

from cardpress.errors import Diagnostic


@dataclass(frozen=True)
class ExportSummary:
    """One line saying what an output holds, and warnings the export found."""

    text: str
    warnings: tuple[Diagnostic, ...] = ()

    def __str__(self) -> str:
        return self.text
