"""The lock file: what each card looked like when it last changed, and when that was.

Anki matches an imported note to an existing one by GUID and updates it only when the
package's note mtime is newer than the collection's. So a note's mtime must change exactly
when its content does. The lock file beside each card file records, per card, a fingerprint
of its note and the time it last changed:

* unchanged card: same fingerprint, the recorded mtime is reused (re-import changes nothing,
  and two builds of the same input are byte-identical);
* new or edited card: a new mtime, ``max(now, previous + 1)``, so it is always newer than
  anything a user imported before. ``now`` is ``SOURCE_DATE_EPOCH`` when that is set.

The lock is versioned with the cards, so ``git revert`` can bring an old lock back with the
old text, and with it an mtime lower than the one Anki holds. The package the last build left
in the output folder remembers better: where its note is newer than the lock, it stands for
the lock's entry (``newer_than_lock``), so an mtime once handed out is never handed out lower.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from cardpress.commit import scratch
from cardpress.format import GUID, ID, card_clozes
from cardpress.model import Deck, OwnNoteType
from cardpress.notes import Note, Notes, fingerprint, guid, optional_cards

if TYPE_CHECKING:
    import sqlite3
    import zipfile

LOCK_FORMAT = 2
READABLE_FORMATS = (1, 2)  # a format 1 lock is read, and written again as format 2

# Times are whole seconds from 1970 up to the end of year 9999: what Anki's date handling
# and SQLite's 64-bit integers (which hold the time in milliseconds as ids) can both take.
MAX_TIME = 253_402_300_799
_FINGERPRINT = re.compile("[0-9a-f]{20}")
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LockEntry:
    """What the lock file remembers of one card: the fingerprint of its note and when that
    last changed; and what Anki has of it after importing the packages built so far, which
    an import cannot change: its note type, its deck, and the numbers of the cards it has
    that depend on its content (``notes.optional_cards``: a cloze's deletion numbers, 2 for
    an optional reverse card), in the file as "cards". ``note_type`` 0 means unknown (a
    format 1 lock): then nothing is compared."""

    fingerprint: str
    mtime: int
    note_type: int = 0
    deck: str = ""
    cards: tuple[int, ...] = ()
    guid: str = ""  # the card's own GUID (``guid:``); "" for the one made of key and id


@dataclass(frozen=True, slots=True)
class Removed:
    """A card that left its card file while Anki keeps its note (an import never deletes):
    reported by every build until the user says it is gone from Anki (``acknowledge``)."""

    guid: str
    note_type: int
    deck: str
    removed: int  # when it left
    search: str  # an Anki search that finds the note


@dataclass(frozen=True, slots=True)
class NoteTypeEntry:
    """What the lock remembers of one of the deck's own note types: the schema Anki has of it
    (its fields and templates, which an import cannot change: ``OwnNoteType.schema``), the
    fingerprint of what the package writes of it, and when that last changed (the note
    type's mtime in the package: Anki takes its templates and CSS only when it is newer)."""

    schema: str
    fingerprint: str
    mtime: int


@dataclass(frozen=True)
class Lock:
    """The lock file of one deck: per card id, what it remembers; and the removed cards."""

    deck_key: str
    entries: Mapping[str, LockEntry]
    removed: Mapping[str, Removed] = field(default_factory=dict)
    format: int = LOCK_FORMAT
    # The deck's own note types, by id.
    note_types: Mapping[int, NoteTypeEntry] = field(default_factory=dict)

    def guid_of(self, card_id: str) -> str:
        """The GUID Anki has for a card this lock remembers: a removed card's, a card's own,
        else the one made of the deck key and the id."""
        removed = self.removed.get(card_id)
        if removed is not None:
            return removed.guid
        entry = self.entries.get(card_id)
        return (entry.guid if entry is not None else "") or guid(self.deck_key, card_id)

    def mtimes(self) -> dict[str, int]:
        """Per card id, its mtime."""
        return {card_id: entry.mtime for card_id, entry in self.entries.items()}

    def write(self, out: TextIO) -> None:
        """The lock file's text: sorted, stable, one card a line, so diffs stay readable."""
        out.write(f'{{\n  "format": {LOCK_FORMAT},\n  "deck": {json.dumps(self.deck_key)},\n')
        out.write('  "cards": {')
        separator = "\n"
        for card_id, e in sorted(self.entries.items()):
            cards = f', "cards": [{", ".join(map(str, e.cards))}]' if e.cards else ""
            own = f', "guid": {json.dumps(e.guid)}' if e.guid else ""
            out.write(
                f'{separator}    {_key(card_id)}: {{"fingerprint": "{e.fingerprint}", '
                f'"mtime": {e.mtime}, "note_type": {e.note_type}, '
                f'"deck": {json.dumps(e.deck, ensure_ascii=False)}{cards}{own}}}'
            )
            separator = ",\n"
        out.write("\n  }" if self.entries else "}")
        if self.note_types:
            out.write(',\n  "note_types": {')
            separator = "\n"
            for type_id, t in sorted(self.note_types.items()):
                out.write(
                    f'{separator}    "{type_id}": {{"schema": "{t.schema}", '
                    f'"fingerprint": "{t.fingerprint}", "mtime": {t.mtime}}}'
                )
                separator = ",\n"
            out.write("\n  }")
        if self.removed:
            out.write(',\n  "removed": {')
            separator = "\n"
            for card_id, r in sorted(self.removed.items()):
                fields = json.dumps(
                    {"guid": r.guid, "note_type": r.note_type, "deck": r.deck,
                     "removed": r.removed, "search": r.search},
                    ensure_ascii=False,
                )  # fmt: skip
                out.write(f"{separator}    {_key(card_id)}: {fields}")
                separator = ",\n"
            out.write("\n  }")
        out.write("\n}\n")

    @classmethod
    def parse(cls, text: str) -> Lock:
        """Parse a lock file's text (format 1 or 2); raises ValueError when it is not one."""
        try:
            data = json.loads(text, object_hook=_Parser())
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ValueError(f"it is not valid JSON ({where}: {exc.msg})") from None
        except (ValueError, RecursionError):  # a number too long to read, nesting too deep
            raise ValueError("it is not a lock file cardpress can read") from None
        if not isinstance(data, dict) or data.get("format") not in READABLE_FORMATS:
            formats = " or ".join(map(str, READABLE_FORMATS))
            raise ValueError(f"it is not a cardpress lock file of format {formats}")
        cards, removed = data.get("cards"), data.get("removed", {})
        if not isinstance(cards, dict) or not isinstance(data.get("deck"), str):
            raise ValueError("it has no 'deck' key or no 'cards' mapping")
        for card_id, entry in cards.items():
            if not isinstance(entry, LockEntry):
                raise ValueError(
                    f"the entry of card {card_id!r} is not a fingerprint (20 hex digits) and "
                    f"an mtime (whole seconds from 0 to {MAX_TIME}), with its note type and "
                    "deck (format 2)"
                )
        if not isinstance(removed, dict) or not all(
            isinstance(r, Removed) for r in removed.values()
        ):
            raise ValueError("its 'removed' cards are not what cardpress writes there")
        return cls(data["deck"], cards, removed, data["format"], _note_types(data))


def _note_types(data: dict[str, Any]) -> dict[int, NoteTypeEntry]:
    """The lock's own note types (none in a lock from before them)."""
    found = data.get("note_types", {})
    types: dict[int, NoteTypeEntry] = {}
    if not isinstance(found, dict):
        raise ValueError("its 'note_types' are not what cardpress writes there")
    for type_id, entry in found.items():
        if not (
            type_id.isdigit()
            and isinstance(entry, dict)
            and entry.keys() == {"schema", "fingerprint", "mtime"}
            and all(
                isinstance(entry[k], str) and _FINGERPRINT.fullmatch(entry[k])
                for k in ("schema", "fingerprint")
            )
            and _is_time(entry["mtime"])
        ):
            raise ValueError(f"its entry of note type {type_id!r} is not what cardpress writes")
        types[int(type_id)] = NoteTypeEntry(entry["schema"], entry["fingerprint"], entry["mtime"])
    return types


def _key(card_id: str) -> str:
    # Card ids are ASCII letters, digits, '.', '_' and '-': JSON strings as they are.
    return f'"{card_id}"' if ID.fullmatch(card_id) else json.dumps(card_id)


_ENTRY_KEYS = frozenset(("fingerprint", "mtime", "note_type", "deck", "cards", "guid"))


class _Parser:
    """Makes each card's JSON object its LockEntry as it is parsed (the dict is dropped),
    with one object per distinct mtime, note type, deck name and cloze set (a deck has few),
    not one per card. A hundred thousand times for a big deck: kept lean."""

    def __init__(self) -> None:
        self.shared: dict[object, object] = {}

    def share(self, value: Any) -> Any:
        return self.shared.setdefault(value, value)

    def __call__(self, found: dict[str, object]) -> object:
        if "fingerprint" in found:
            return self.entry(found) or found
        if "removed" in found:
            return self.removed(found) or found
        return found

    def entry(self, found: dict[str, object]) -> LockEntry | None:
        fp, mtime = found["fingerprint"], found.get("mtime")
        if not (type(fp) is str and _FINGERPRINT.fullmatch(fp) and _is_time(mtime)):
            return None
        share = self.shared.setdefault
        if len(found) == 2:  # format 1
            return LockEntry(fp, share(mtime, mtime))  # type: ignore[arg-type]
        note_type, deck, cards = found.get("note_type"), found.get("deck"), found.get("cards")
        if not (
            found.keys() <= _ENTRY_KEYS
            and type(note_type) is int
            and note_type > 0
            and type(deck) is str
        ):
            return None
        if cards is None:
            numbers: tuple[int, ...] = ()
        elif type(cards) is list and all(type(n) is int and n > 0 for n in cards):
            numbers = tuple(cards)
        else:
            return None
        own = found.get("guid", "")
        if not (type(own) is str and (own == "" or GUID.fullmatch(own))):
            return None
        return LockEntry(
            fp, share(mtime, mtime), share(note_type, note_type), share(deck, deck),  # type: ignore[arg-type]
            share(numbers, numbers), own,  # type: ignore[arg-type]
        )  # fmt: skip

    def removed(self, found: dict[str, object]) -> Removed | None:
        guid, note_type, deck = found.get("guid"), found.get("note_type"), found.get("deck")
        when, search = found.get("removed"), found.get("search")
        if (
            len(found) == 5
            and isinstance(guid, str)
            and GUID.fullmatch(guid)
            and type(note_type) is int
            and isinstance(deck, str)
            and _is_time(when)
            and isinstance(search, str)
        ):
            return Removed(guid, note_type, deck, when, search)  # type: ignore[arg-type]
        return None


def _is_time(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_TIME  # type() is: not a bool


def note_type_version_of(path: Path) -> int:
    """The version of cardpress's note types a deck that does not say takes: 1 where its
    lock at ``path`` shows Anki has its notes under version 1 (a format 1 lock, from before
    version 2, or cards of a version 1 note type), else the newest. A look at the file's
    head, not a parse: a deck that does not say has all its cards in one version, so the
    first card's note type tells (the lock is read whole later; an unreadable one is judged
    there)."""
    from cardpress.format import NOTE_TYPE_VERSIONS
    from cardpress.notes import NOTE_TYPES

    try:
        with path.open("rb") as lock:
            head = lock.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return NOTE_TYPE_VERSIONS[-1]
    if '"format": 1' in head[:200]:
        return 1
    first = _NOTE_TYPE.search(head)
    if first is not None and int(first[1]) in {t.id for t in NOTE_TYPES.values()}:
        return 1
    return NOTE_TYPE_VERSIONS[-1]


_HEAD_BYTES = 1 << 14  # the lock's opening and its first cards
_NOTE_TYPE = re.compile(r'"note_type": (\d+)')


def lock_path(deck: Deck) -> Path:
    """Where a deck's lock file lives: beside its card file, or in the deck's lock folder
    (``--lock-folder``: for card files in a folder that cannot be written, or kept clean)."""
    source = Path(deck.location.path)
    name = source.stem + ".lock.json"
    return Path(deck.lock_folder) / name if deck.lock_folder else source.with_name(name)


def read_lock(path: Path) -> Lock | None:
    """The lock file at ``path``, or None when there is none (a first build).

    Raises OSError or ValueError when it cannot be read or is not a lock file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ValueError(f"it is not UTF-8 text; {_START_AFRESH}") from None
    # The regex only where a marker's characters are there at all: 16 MB at 100,000 cards.
    markers = "<<<<<<<" in text or "=======" in text or ">>>>>>>" in text
    if markers and _CONFLICT.search(text):
        raise ValueError(
            "it holds merge-conflict markers; take either side, or delete the file: either "
            "is safe (a card edited since gets a newer time than both)"
        )
    try:
        return Lock.parse(text)
    except ValueError as exc:
        raise ValueError(f"{exc}; {_START_AFRESH}") from None


_START_AFRESH = (
    "deleting the file starts afresh: every card then gets a new time, and the next import "
    "updates every note (review history is kept)"
)


def now() -> int:
    """The build time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else the clock.

    Raises ValueError when ``SOURCE_DATE_EPOCH`` is not a time cardpress can stamp.
    """
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return int(time.time())
    if not value.isdigit() or int(value) > MAX_TIME:  # isdigit: no sign, no fraction
        raise ValueError(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970, from 0 to {MAX_TIME}; "
            f"it is {value[:40]!r}"
        )
    return int(value)


def update_lock(
    previous: Lock | None,
    notes: Notes,
    published: Mapping[str, LockEntry] | None = None,
    *,
    acknowledge: bool = False,
    searches: Mapping[str, str] | None = None,
) -> Lock:
    """Apply the timestamp policy: keep mtimes of unchanged cards, stamp new and edited ones;
    and keep what Anki has of each card that an import cannot change.

    ``published`` holds, per card id, what the package in the output folder published where
    it is newer than the lock (see :func:`newer_than_lock`): it then stands for the lock's
    entry. A card's note type, deck and cloze cards stay what the lock says Anki has (a
    package import cannot change them), until ``acknowledge``: the user says Anki has what
    the cards say now (a card whose kind changed is then stamped anew: see below). Cards
    that left the file are kept as removed, each with its search from ``searches`` (by card
    id), until acknowledged too.
    """
    key = notes.deck.key
    same_deck = previous is not None and previous.deck_key == key
    old = previous.entries if previous is not None and same_deck else {}
    newer = published or {}
    stamp = now()
    entries: dict[str, LockEntry] = {}
    shared: dict[tuple[int, ...], tuple[int, ...]] = {}  # one tuple per distinct set
    # A card renamed with its own GUID is the same note: it takes its old entry.
    by_guid = {e.guid: e for e in old.values() if e.guid}
    for note in notes:
        card_id = note.card.id
        locked = old.get(card_id)
        if locked is None and note.card.guid:
            locked = by_guid.get(note.card.guid)
        before = newer.get(card_id) or locked
        fp = note.fingerprint
        # An acknowledged kind change: the user changed the note's type in Anki, which
        # stamped it then; a new time makes the next import bring its fields (a cloze's
        # text, the fields of the new type), which the conversion did not.
        converted = acknowledge and locked is not None and _converted(locked, note)
        if before is not None and before.fingerprint == fp and not converted:
            mtime = before.mtime
        else:
            mtime = max(stamp, before.mtime + 1) if before is not None else stamp
        anki = _anki_has(locked, note, acknowledge)
        anki_cards = shared.setdefault(anki[2], anki[2])
        own = note.card.guid
        if (
            locked is not None
            and (locked.fingerprint, locked.mtime) == (fp, mtime)
            and ((locked.note_type, locked.deck, locked.cards) == anki)
            and locked.guid == own
        ):
            entries[card_id] = locked  # the same entry: shared, not made again
        else:
            entries[card_id] = LockEntry(fp, mtime, anki[0], anki[1], anki_cards, own)
    old_types = previous.note_types if previous is not None and same_deck else {}
    types = {
        own.id: _note_type_entry(own, old_types.get(own.id), stamp, acknowledge)
        for own in notes.deck.note_types
    }
    removed: dict[str, Removed] = {}
    if not acknowledge and previous is not None and same_deck:
        # A card whose id changed while it kept its own GUID is the same note: not removed.
        kept = {card.guid for card in notes.deck.cards if card.guid}
        removed = {
            i: r for i, r in previous.removed.items() if i not in entries and r.guid not in kept
        }
        for card_id, entry in old.items():
            made = previous.guid_of(card_id)
            if card_id not in entries and entry.note_type and made not in kept:
                search = (searches or {}).get(card_id, "")
                removed[card_id] = Removed(made, entry.note_type, entry.deck, stamp, search)
    return Lock(key, entries, removed, note_types=types)


def _note_type_entry(
    own: OwnNoteType, before: NoteTypeEntry | None, stamp: int, acknowledge: bool
) -> NoteTypeEntry:
    """A deck's own note type's entry: its mtime kept while what the package writes of it
    stays the same, else stamped anew; the schema Anki has kept until ``acknowledge`` (an
    import cannot change it: see changes.py)."""
    fp = own.fingerprint
    if before is None:
        return NoteTypeEntry(own.schema, fp, stamp)
    mtime = before.mtime if before.fingerprint == fp else max(stamp, before.mtime + 1)
    schema = own.schema if acknowledge else before.schema
    if (schema, fp, mtime) == (before.schema, before.fingerprint, before.mtime):
        return before
    return NoteTypeEntry(schema, fp, mtime)


def _converted(locked: LockEntry, note: Note) -> bool:
    """Whether the lock says Anki has the note under another note type than ``note``'s."""
    return bool(locked.note_type) and locked.note_type != note.note_type.id


def _anki_has(
    locked: LockEntry | None, note: Note, acknowledge: bool
) -> tuple[int, str, tuple[int, ...]]:
    """The note type, deck and optional cards (cloze numbers, a reverse card) Anki has of a
    card once this build's package is imported: the card's own for a new card (or
    acknowledged, or unknown to a format 1 lock); else the lock's, with any new optional card
    added (an import adds the cards a note's new content asks for, not those of a note whose
    type changed)."""
    card = note.card
    cards = optional_cards(note.note_type, card.kind, card_clozes(card), note.fields)
    if locked is None or not locked.note_type or acknowledge:
        return note.note_type.id, note.deck, cards
    kept = locked.cards
    if locked.note_type == note.note_type.id and cards:
        kept = tuple(sorted({*kept, *cards}))
    return locked.note_type, locked.deck, kept


# -- what the last package published ---------------------------------------------------------

_COMMENT = b"cardpress mtimes sha256:"


def mtimes_comment(pairs: Iterable[tuple[str, int]]) -> bytes:
    """What a package records of its notes' mtimes (its zip comment): a digest of the sorted
    (card id, mtime) pairs. A lock with the same digest is the one the package was built
    with, so nothing in the package is newer than it (and the package need not be read)."""
    digest = hashlib.sha256()
    for card_id, mtime in sorted(pairs):
        digest.update(f"{card_id}\t{mtime}\n".encode())
    return _COMMENT + digest.hexdigest().encode()


def newer_than_lock(package: Path, lock: Lock | None, notes: Notes) -> dict[str, LockEntry]:
    """Per card id, the fingerprint and mtime of the package's note where it is newer than
    ``lock`` says (or the lock has no entry for it). A package that cannot be read is no
    memory: nothing is returned."""
    import sqlite3  # only for builds, never for `cardpress check`
    import zipfile

    known = lock.entries if lock is not None and lock.deck_key == notes.deck.key else {}
    try:
        with zipfile.ZipFile(package) as zf:
            pairs = ((card_id, entry.mtime) for card_id, entry in known.items())
            if known and zf.comment == mtimes_comment(pairs):
                return {}  # built with this very lock
            with _collection(zf, package) as db:
                mtimes = dict(db.execute("SELECT guid, mod FROM notes"))
                wanted: dict[str, str] = {}
                for card, note_guid in zip(notes.deck.cards, notes.guids, strict=True):
                    mtime = mtimes.get(note_guid)
                    entry = known.get(card.id)
                    if mtime is not None and (entry is None or mtime > entry.mtime):
                        wanted[note_guid] = card.id
                return {wanted[g]: entry for g, entry in _notes(db, wanted)}
    except (OSError, zipfile.BadZipFile, sqlite3.Error, KeyError, ValueError):
        return {}


def published_first_fields(package: Path) -> dict[str, str]:
    """Per GUID, the first field of each note of the package in the output folder, as Anki
    has it once imported: what an Anki search for a note of ours compares. Empty where there
    is no readable package."""
    return {g: flds.split("\x1f", 1)[0] for g, flds in _published(package, "flds")}


def published_tags(package: Path) -> dict[str, tuple[str, ...]]:
    """Per GUID, the tags of each note of the package in the output folder: the tags a
    package (or push) last wrote. Empty where there is no readable package."""
    return {g: tuple(text.split()) for g, text in _published(package, "tags")}


def _published(package: Path, column: Literal["flds", "tags"]) -> list[tuple[str, str]]:
    """Each note's GUID and ``column`` (flds or tags) in the package in the output folder;
    none where there is no readable package."""
    import sqlite3  # only for builds, never for `cardpress check`
    import zipfile

    rows: list[tuple[str, str]] = []
    unreadable = (OSError, zipfile.BadZipFile, sqlite3.Error, KeyError, ValueError)
    with (
        contextlib.suppress(*unreadable),
        zipfile.ZipFile(package) as zf,
        _collection(zf, package) as db,
    ):
        rows = db.execute(f"SELECT guid, {column} FROM notes").fetchall()
    return rows


def delivered(
    lock: Lock, notes: Notes, kept_removed: Iterable[str], pending: Iterable[str] = ()
) -> Lock:
    """The lock once push brought Anki in step with the cards: Anki has what every card says
    (its note type, deck and optional cards), but for the ``pending`` cards, whose entries
    stay (push could not carry their change: it is still reported); fingerprints and times
    stay as the build made them (its package was written with them); of the removed cards
    only ``kept_removed`` stay (their notes are still in Anki, tagged), until pruned or
    acknowledged."""
    entries: dict[str, LockEntry] = {}
    waiting = set(pending)
    for note in notes:
        card = note.card
        entry = lock.entries[card.id]
        if card.id in waiting:
            entries[card.id] = entry
            continue
        cards = optional_cards(note.note_type, card.kind, card_clozes(card), note.fields)
        entries[card.id] = LockEntry(
            entry.fingerprint, entry.mtime, note.note_type.id, note.deck, cards, card.guid
        )
    keep = set(kept_removed)
    removed = {card_id: r for card_id, r in lock.removed.items() if card_id in keep}
    # Anki has each of the deck's own note types as the package does (push reshaped those
    # whose fields or templates changed): the schema is the card file's.
    note_types = {
        own.id: dataclasses.replace(lock.note_types[own.id], schema=own.schema)
        for own in notes.deck.note_types
        if own.id in lock.note_types
    }
    return Lock(lock.deck_key, entries, removed, note_types=note_types)


@contextlib.contextmanager
def _collection(zf: zipfile.ZipFile, package: Path) -> Iterator[sqlite3.Connection]:
    """The package's collection, unpacked into a scratch file beside it."""
    import sqlite3

    with scratch(package) as copy_path:
        with zf.open("collection.anki2") as source, copy_path.open("wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        db = sqlite3.connect(f"{copy_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            yield db
        finally:
            db.close()


def _notes(db: sqlite3.Connection, guids: Mapping[str, str]) -> Iterator[tuple[str, LockEntry]]:
    """The notes with these GUIDs, fingerprinted as ``notes.fingerprint`` fingerprints."""
    if not guids:
        return
    (decks_json,) = db.execute("SELECT decks FROM col").fetchone()
    deck_names = {int(key): deck["name"] for key, deck in json.loads(decks_json).items()}
    rows = db.execute(
        "SELECT n.guid, n.mod, n.mid, n.flds, n.tags, c.did FROM notes n"
        " JOIN cards c ON c.nid = n.id AND c.ord = (SELECT min(ord) FROM cards WHERE nid = n.id)"
    )
    for note_guid, mtime, model, fields, tags, deck_id in rows:
        if note_guid in guids and type(mtime) is int and 0 <= mtime <= MAX_TIME:
            content = fingerprint(model, fields.split("\x1f"), tags.split(), deck_names[deck_id])
            yield note_guid, LockEntry(content, mtime)
