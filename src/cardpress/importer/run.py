"""``cardpress import``: Anki exports in, card files, media and locks out, or nothing.

Each file is read (read.py) and planned (write.py) before anything is written, so a bad file
writes nothing. The card files written are then loaded by the loader, as any build loads them:
a file the loader would refuse is taken back out with everything written with it (a defect of
the writer, reported as one). Each deck then gets its lock, made here rather than by a build:
every note's entry holds the fingerprint of the note a build makes and the *Anki* note's own
modification time, and every note type's the note type's. The first build therefore finds
every note unchanged and reuses those times, and Anki, which updates a note only when the
package's is newer, takes every note as it has it: no update, no duplicate, no conflict.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cardpress import commit
from cardpress.errors import Diagnostic, ExportError, InputError, Severity
from cardpress.format import card_clozes
from cardpress.importer.errors import ImportFileError
from cardpress.importer.model import ImportedCollection, SourceFormat
from cardpress.importer.read import read_file
from cardpress.importer.text import plan_text
from cardpress.importer.write import ImportPlan, plan, write
from cardpress.loader import load
from cardpress.lock import Lock, LockEntry, NoteTypeEntry, lock_path, now
from cardpress.model import Deck, Location
from cardpress.notes import make_notes, optional_cards


@dataclass(frozen=True)
class ImportedDeckFile:
    """One card file an import wrote: where, and what it holds."""

    path: Path
    source: Path
    cards: int
    note_types: int
    media: int
    lock: Path
    text: bool = False  # from a text export: no note types, no times


@dataclass(frozen=True)
class ImportResult:
    """What ``import_files`` wrote, and what it reports of the notes (warnings, notes)."""

    decks: tuple[ImportedDeckFile, ...]
    diagnostics: tuple[Diagnostic, ...]


def import_files(
    paths: Sequence[Path], out: Path, *, replace: bool = False, deck_name: str | None = None
) -> ImportResult:
    """Import each of ``paths`` into card files in ``out``: all of them, or nothing.

    Raises ImportFileError for a file that is no Anki export (or a broken one), ExportError
    for a file in the way (unless ``replace``) or one that cannot be written, and InputError
    where the card files written cannot be loaded (then they are removed again). A text
    export's rows become cards of cardpress's kinds (text.py); ``deck_name`` is the deck of
    its rows that name none.
    """
    plans = [_plan(read_file(Path(path)), deck_name) for path in paths]
    _one_file_per_deck(plans, out)
    if not replace:  # a card file or a lock in the way: nothing is written
        for each in plans:
            for deck in each.decks:
                for path in (out / deck.file_name, out / f"{deck.key}.lock.json"):
                    if path.exists() or path.is_symlink():
                        raise ExportError(
                            path,
                            "is there already; cardpress import replaces no file (--replace "
                            "does: the card file, its media and its lock)",
                        )
    written: list[Path] = []
    try:
        for each in plans:
            written += write(each, out, replace=replace)
        decks = load([out / deck.file_name for p in plans for deck in p.decks]).decks
        files = _write_locks(plans, decks, out)
        written += files
    except InputError as exc:
        _remove(written)
        raise InputError(
            [
                *exc.diagnostics,
                Diagnostic(
                    Location(str(out)),
                    Severity.ERROR,
                    "cardpress import wrote card files that cardpress cannot load (a bug: "
                    "please report it with the file); nothing was kept",
                ),
            ]
        ) from None
    except BaseException:
        _remove(written)
        raise
    by_key = {deck.key: deck for deck in decks}
    done = [
        ImportedDeckFile(
            out / planned.file_name,
            each.source,
            len(by_key[planned.key].cards),
            len(by_key[planned.key].note_types),
            len(planned.media),
            lock_path(by_key[planned.key]),
            not each.note_type_mtimes and all(card.mtime == 0 for card in planned.cards),
        )
        for each in plans
        for planned in each.decks
    ]
    diagnostics = tuple(d for each in plans for d in each.located(out))
    return ImportResult(tuple(done), diagnostics)


def _plan(collection: ImportedCollection, deck_name: str | None) -> ImportPlan:
    if collection.format is SourceFormat.TEXT:
        return plan_text(collection, deck_name=deck_name)
    return plan(collection)


def _one_file_per_deck(plans: Sequence[ImportPlan], out: Path) -> None:
    """Two files that would write one card file (the same top deck in two exports)."""
    seen: dict[str, Path] = {}
    for each in plans:
        for deck in each.decks:
            other = seen.setdefault(deck.file_name, each.source)
            if other != each.source:
                raise ImportFileError(
                    each.source,
                    f"its deck {deck.name!r} would be written to {out / deck.file_name}, as a "
                    f"deck of {other} is: import them one at a time, each into its own folder",
                )


def _write_locks(plans: Sequence[ImportPlan], decks: Sequence[Deck], out: Path) -> list[Path]:
    """Each deck's lock: its notes as a build makes them, stamped with Anki's own times."""
    planned = {deck.key: (p, deck) for p in plans for deck in p.decks}
    staged: list[tuple[Path, Path]] = []
    try:
        for deck in decks:
            each, planned_deck = planned[deck.key]
            # A text export has no times (0): its cards are stamped as new ones are.
            stamp = now()
            mtimes = {card.id: card.mtime or stamp for card in planned_deck.cards}
            entries = {}
            for note in make_notes(deck):
                card = note.card
                cards = optional_cards(note.note_type, card.kind, card_clozes(card), note.fields)
                entries[card.id] = LockEntry(
                    note.fingerprint, mtimes[card.id], note.note_type.id, note.deck, cards,
                    card.guid,
                )  # fmt: skip
            types = {
                own.id: NoteTypeEntry(
                    own.schema, own.fingerprint, each.note_type_mtimes.get(own.id) or now()
                )
                for own in deck.note_types
            }
            text = io.StringIO()
            Lock(deck.key, entries, note_types=types).write(text)
            target = lock_path(deck)
            temp = commit.temp_name(target)
            staged.append((temp, target))
            commit.create(temp, target)
            temp.write_text(text.getvalue(), encoding="utf-8")
        commit.commit(staged)
    except BaseException:
        for temp, _ in staged:
            commit.remove(temp)
        raise
    return [target for _, target in staged]


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
    for folder in {path.parent for path in paths}:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: a media folder the import made
