"""YAML card files -> typed model. The one place that judges input.

Each problem becomes a :class:`Diagnostic`; all of them, from every file, are raised at once
as :class:`InputError`. The stages, one module each: finding and reading files (files.py),
composing YAML (compose.py), judging values (values.py), images (media.py), cards (cards.py),
the deck (deck.py), and big files read by several processes (chunked.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cardpress.changes import CardState, compare, states
from cardpress.errors import Diagnostic, InputError, Severity, sort_diagnostics
from cardpress.format import KINDS
from cardpress.loader.chunked import read_in_chunks
from cardpress.loader.deck import FileRead, cross_file_checks, read_whole
from cardpress.loader.files import find_card_files, read_card_file
from cardpress.loader.values import error
from cardpress.lock import lock_path, note_type_version_of, read_lock
from cardpress.model import Deck, Location
from cardpress.notes import NOTE_TYPE_SETS, guid, optional_cards

__all__ = [
    "CheckResult",
    "LoadResult",
    "check",
    "find_card_files",
    "load",
    "load_bytes",
    "load_deck",
]


@dataclass
class LoadResult:
    """The decks of a successful load and its warnings."""

    decks: list[Deck]
    warnings: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True)
class CheckResult:
    """What ``cardpress check`` reports of card files that have no error."""

    decks: int
    cards: int
    warnings: list[Diagnostic]


def load(
    paths: Path | str | Sequence[Path | str],
    *,
    strict: bool = False,
    workers: int = 1,
    lock_folder: Path | str | None = None,
) -> LoadResult:
    """Load every card file under ``paths``; raise InputError listing all problems.

    With ``strict`` warnings count as errors. With ``workers`` > 1 a big file is read by that
    many processes where the system can fork (forked: call it only from a single-threaded
    program); the result is the same either way. ``lock_folder`` is where the decks' lock
    files live (default: beside each card file).
    """
    reads, warnings = _read_all(paths, strict, workers, keep_cards=True, locks=lock_folder)
    return LoadResult([read.deck for read in reads if read.deck], warnings)


def check(
    paths: Path | str | Sequence[Path | str],
    *,
    strict: bool = False,
    workers: int = 1,
    lock_folder: Path | str | None = None,
) -> CheckResult:
    """Check every card file under ``paths`` as :func:`load` does, without keeping the cards.

    Raises the same InputError and finds the same warnings. Cheaper than :func:`load`: the
    cards' HTML is made only where it can show a problem, and the cards of big files read by
    several workers are judged there and not sent back.
    """
    reads, warnings = _read_all(paths, strict, workers, keep_cards=False, locks=lock_folder)
    changes = [d for read in reads for d in _lock_changes(read)]
    warnings = _result([], [*warnings, *changes], strict).warnings
    return CheckResult(len(reads), sum(read.cards() for read in reads), warnings)


def _lock_changes(read: FileRead) -> list[Diagnostic]:
    """What the deck's cards would change that a package import cannot carry (see
    changes.py): what ``build`` reports too."""
    deck = read.deck
    if deck is None:
        return []
    lock_file = lock_path(deck)
    try:
        lock = read_lock(lock_file)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        return [error(Location(str(lock_file)), f"cannot read lock file: {reason}")]
    if lock is None:
        return []
    firsts: dict[str, str] = {}

    def first_field(card_id: str) -> str:  # as this deck's build makes it: its front
        if not firsts:
            firsts.update((card.id, card.front) for card in deck.cards)
            firsts.update((row[0], row[8]) for row in read.rows)
        return firsts.get(card_id, "")

    return compare(deck, lock, _states(read), lock_file, new_key=False, first_field=first_field)


def _states(read: FileRead) -> Iterator[CardState]:
    """The state of every card read, kept or only counted."""
    deck = read.deck
    assert deck is not None
    yield from states(deck)
    decks: dict[str, str] = {}  # topic -> Anki deck
    types = NOTE_TYPE_SETS[deck.note_type_version]
    for card_id, line, col, _, kind, topic, title, clozes, _, own_guid in read.rows:
        name = decks.get(topic)
        if name is None:
            name = decks[topic] = deck.deck_name_for_topic(topic, title)
        kind_ = KINDS[kind]
        note_type = types[kind_]
        cards = optional_cards(note_type, kind_, clozes)
        yield CardState(card_id, kind_, note_type.id, name, cards, topic, line, col, own_guid)


def load_bytes(
    data: bytes, path: Path | str, *, strict: bool = False, workers: int = 1
) -> LoadResult:
    """Load one card file's content as if it were read from ``path`` (images resolve there)."""
    read = _read(Path(path), data, workers, keep_cards=True)
    problems = read.diagnostics + guid_checks([read])
    if read.deck is not None:
        problems += cross_file_checks([(read.deck, read.entries(), read.topic_titles())])
    return _result([read.deck] if read.deck else [], problems, strict)


def load_deck(path: Path | str, *, strict: bool = False) -> Deck:
    """Load one card file."""
    result = load([path], strict=strict)
    if len(result.decks) != 1:
        raise InputError([error(Location(str(path)), "expected exactly one card file")])
    return result.decks[0]


def _read_all(
    paths: Path | str | Sequence[Path | str],
    strict: bool,
    workers: int,
    keep_cards: bool,
    locks: Path | str | None = None,
) -> tuple[list[FileRead], list[Diagnostic]]:
    """Every card file under ``paths`` read (those without errors) and the warnings."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, problems = find_card_files([Path(p) for p in paths])
    reads: list[FileRead] = []
    for path in files:
        read = _read(path, None, workers, keep_cards, locks)
        problems.extend(read.diagnostics)
        if read.deck is not None:
            reads.append(read)
    problems.extend(guid_checks(reads))
    if len(reads) > 1:  # card ids shared between files (one file checks its own)
        problems.extend(
            cross_file_checks(
                [(read.deck, read.entries(), read.topic_titles()) for read in reads if read.deck]
            )
        )
    return reads, _result([], problems, strict).warnings


def _read(
    path: Path, data: bytes | None, workers: int, keep_cards: bool, locks: Path | str | None = None
) -> FileRead:
    """One card file read: by several processes where it pays, else whole, here."""
    content = read_card_file(path, data)
    if isinstance(content, Diagnostic):
        return FileRead(None, [content])
    read = read_in_chunks(path, content, workers, keep_cards=keep_cards) or read_whole(
        path, content, keep_html=keep_cards
    )
    if read.deck is not None and locks is not None:
        read.deck = dataclasses.replace(read.deck, lock_folder=str(locks))
    if read.deck is not None and not read.deck.note_type_version:  # the deck does not say
        version = note_type_version_of(lock_path(read.deck))
        read.deck = dataclasses.replace(read.deck, note_type_version=version)
    return read


def guid_checks(reads: Sequence[FileRead]) -> list[Diagnostic]:
    """Two cards with one Anki GUID, in a deck or across the decks read together: Anki would
    take them for one note. Only a card's own ``guid:`` can make one: the GUIDs cardpress makes
    are a hash of a deck key and a card id, both unique. So nothing is hashed unless a card
    has one."""
    if not any(
        any(card.guid for card in read.deck.cards) or any(row[9] for row in read.rows)
        for read in reads
        if read.deck is not None
    ):
        return []
    first: dict[str, Location] = {}
    problems = []
    for read in reads:
        deck = read.deck
        if deck is None:
            continue
        path = deck.location.path
        cards = [(c.id, c.guid, c.line, c.col) for c in deck.cards]
        cards += [(row[0], row[9], row[1], row[2]) for row in read.rows]
        for card_id, own, line, col in sorted(cards, key=lambda c: (c[2], c[3])):
            where = Location(path, line, col)
            made = own or guid(deck.key, card_id)
            if made in first:
                other = first[made]
                problems.append(
                    error(
                        where,
                        f"card guid {made!r} is that of the card at {other} too: Anki would "
                        "take them for one note",
                    )
                )
            else:
                first[made] = where
    return problems


def _result(decks: list[Deck], problems: list[Diagnostic], strict: bool) -> LoadResult:
    """The decks and warnings, or the InputError of every problem if one is an error."""
    if strict:  # warnings become errors; notes stay notes
        problems = [
            Diagnostic(d.location, Severity.ERROR, d.message)
            if d.severity is Severity.WARNING
            else d
            for d in problems
        ]
    errors = [d for d in problems if d.severity is Severity.ERROR]
    warnings = [d for d in problems if d.severity is not Severity.ERROR]
    if errors:
        raise InputError(problems)
    return LoadResult(decks, sort_diagnostics(warnings))
