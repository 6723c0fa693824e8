"""Exporters: each writes the notes of one deck to one file.

Every writer has the same shape, ``write_x(notes, path, options) -> ExportSummary``: it reads
the notes (notes.py) and the build's options, writes ``path``, and says in one line what the
file holds. No writer imports another, and nothing passes between them but their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardpress.errors import Diagnostic


@dataclass(frozen=True)
class BuildOptions:
    """Choices that shape the outputs (the CLI's build options)."""

    csv_dialect: str = "anki"
    paper: str = "a4"
    duplex: str = "long"
    # Millimetres every back of the cut-out cards moves, right and down as the back is seen:
    # a printer's own misplacement of the second side, read off the calibration page.
    back_offset: tuple[float, float] = (0.0, 0.0)
    pdf: bool = False  # also NAME.cards.pdf and NAME.sheet.pdf (export/pdf.py)
    worksheet: bool = False  # the study sheet with an empty, lined answer column
    # The outputs to write (build --only): of OUTPUTS; empty means all but the PDFs, which
    # only ``pdf`` (or "pdf" here) asks for. The lock is always written.
    only: tuple[str, ...] = ()
    browser: str | None = None  # the browser that prints them; None: the first found


OUTPUTS = ("apkg", "csv", "cards", "sheet", "pdf")


@dataclass(frozen=True)
class ExportSummary:
    """One line saying what an output holds, and warnings the export found."""

    text: str
    warnings: tuple[Diagnostic, ...] = ()

    def __str__(self) -> str:
        return self.text


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: "1 note", "2 notes"."""
    return f"{n} {word}" + ("" if n == 1 else "s")
