"""cardpress: YAML flashcards to Anki packages, Anki-ready CSV and printable pages."""

from cardpress.build import BuildResult, build
from cardpress.errors import CardpressError, Diagnostic, ExportError, InputError, Severity
from cardpress.load import LoadResult, load, load_deck
from cardpress.model import Card, Deck, Kind, Location, Media

__version__ = "0.1.0"

__all__ = [
    "BuildResult",
    "Card",
    "CardpressError",
    "Deck",
    "Diagnostic",
    "ExportError",
    "InputError",
    "Kind",
    "LoadResult",
    "Location",
    "Media",
    "Severity",
    "__version__",
    "build",
    "load",
    "load_deck",
]
