"""YAML card files -> typed model. The one place that judges input."""

from cardpress.loader.legacy import (
    CheckResult,
    LoadResult,
    check,
    find_card_files,
    load,
    load_bytes,
    load_deck,
)

__all__ = [
    "CheckResult",
    "LoadResult",
    "check",
    "find_card_files",
    "load",
    "load_bytes",
    "load_deck",
]
