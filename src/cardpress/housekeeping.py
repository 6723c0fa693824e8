"""What cardpress wrote, so that it can say what no card file makes any more.

Every build records the outputs it wrote, each with the card file it came from, in
``.cardpress.outputs.json`` in the output folder (the record of every build into that
folder: a build of one deck keeps the others' entries while their files are there). An
output whose card file is gone is an orphan: ``build --check`` reports it, ``build`` says
so, and ``build --clean`` removes it. Nothing else is ever removed: a file cardpress did
not record is not cardpress's, whatever its name.

A lock file whose card file is gone is reported too, but it is the record of what Anki has
of the deck's notes: ``--clean`` removes it only when it lists no card.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cardpress.format import CARD_FILE_SUFFIXES
from cardpress.lock import read_lock

RECORD = ".cardpress.outputs.json"
_LOCK_SUFFIX = ".lock.json"


def read_record(out: Path) -> dict[str, str]:
    """The outputs recorded in ``out`` (file name -> its card file, relative to ``out``);
    empty when there is no record or it is not one (a record is remade by every build)."""
    try:
        data = json.loads((out / RECORD).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    outputs = data.get("outputs") if isinstance(data, dict) else None
    if not isinstance(outputs, dict):
        return {}
    return {
        name: source
        for name, source in outputs.items()
        if isinstance(name, str) and isinstance(source, str) and _plain_name(name)
    }


def _plain_name(name: str) -> bool:
    """A file name in the output folder itself: a record never names anything elsewhere."""
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name


def record_text(outputs: Mapping[str, str]) -> str:
    """The record's content: sorted, with paths in forward slashes (the same bytes on every
    system, so that a committed output folder stays current)."""
    data = {"format": 1, "outputs": dict(sorted(outputs.items()))}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def source_of(card_file: Path, out: Path) -> str:
    """A card file as the record names it: relative to the output folder, forward slashes."""
    try:
        relative = os.path.relpath(card_file.absolute(), out.absolute())
    except ValueError:  # another drive, on Windows
        relative = str(card_file.absolute())
    return str(PurePosixPath(*Path(relative).parts))


def card_file_of(source: str, out: Path) -> Path:
    """The card file a record's entry names."""
    return Path(os.path.normpath(out / Path(*PurePosixPath(source).parts)))


@dataclass(frozen=True)
class Orphan:
    """An output (or a lock) whose card file is gone."""

    path: Path
    card_file: Path
    cards: int = 0  # a lock's: the cards it lists (Anki may have their notes)


def orphan_outputs(out: Path, recorded: Mapping[str, str]) -> list[Orphan]:
    """The recorded outputs in ``out`` that are there while their card file is not."""
    found = []
    for name, source in sorted(recorded.items()):
        card_file = card_file_of(source, out)
        if (out / name).is_file() and not card_file.exists():
            found.append(Orphan(out / name, card_file))
    return found


def orphan_locks(folders: Iterable[Path]) -> list[Orphan]:
    """The lock files in ``folders`` (card folders) with no card file of their name beside
    them. A --lock-folder is not looked at: its locks may belong to decks anywhere."""
    found = []
    for folder in dict.fromkeys(folders):
        try:
            locks = sorted(folder.glob(f"*{_LOCK_SUFFIX}"))
        except OSError:
            continue
        for lock in locks:
            stem = lock.name[: -len(_LOCK_SUFFIX)]
            cards = [folder / f"{stem}{suffix}" for suffix in CARD_FILE_SUFFIXES]
            if not any(card.exists() for card in cards):
                found.append(Orphan(lock, cards[0], _cards_listed(lock)))
    return found


def _cards_listed(lock: Path) -> int:
    """How many cards a lock lists, present or removed (-1: it cannot be read, so it is
    never removed)."""
    try:
        found = read_lock(lock)
    except (OSError, ValueError):
        return -1
    if found is None:
        return 0
    return len(found.entries) + len(found.removed)
