"""cardpress: YAML flashcards to Anki packages, Anki-ready CSV and printable pages.

The library behind the ``cardpress`` command::

    from cardpress import build, check, load

    result = build("cards", "dist")          # every output of every deck, all or nothing
    loaded = load(["cards/history.yaml"])    # typed, frozen decks, and the warnings
    summary = check("cards", strict=True)    # what `cardpress check` reports

Every problem in the input is raised at once as :class:`InputError`, whose ``diagnostics``
carry file, line and column; an output that cannot be written raises :class:`ExportError`.
Both are :class:`CardpressError`. The library runs in one process unless asked
(``workers``), never prints, and never exits.
"""

from cardpress.builder import BuildResult, Changes, Output, build
from cardpress.errors import CardpressError, Diagnostic, ExportError, InputError, Severity
from cardpress.export import BuildOptions
from cardpress.loader import CheckResult, LoadResult, check, load, load_bytes, load_deck
from cardpress.model import Card, Deck, Kind, Location, Media

__version__ = "0.1.0"

__all__ = [
    "BuildOptions",
    "BuildResult",
    "Card",
    "CardpressError",
    "Changes",
    "CheckResult",
    "Deck",
    "Diagnostic",
    "ExportError",
    "InputError",
    "Kind",
    "LoadResult",
    "Location",
    "Media",
    "Output",
    "Severity",
    "__version__",
    "build",
    "check",
    "load",
    "load_bytes",
    "load_deck",
]
