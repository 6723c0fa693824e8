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
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cardpress.commit import scratch
from cardpress.format import ID
from cardpress.model import Deck
from cardpress.notes import Notes, fingerprint

if TYPE_CHECKING:
    import sqlite3
    import zipfile

LOCK_FORMAT = 1

# Times are whole seconds from 1970 up to the end of year 9999: what Anki's date handling
# and SQLite's 64-bit integers (which hold the time in milliseconds as ids) can both take.
MAX_TIME = 253_402_300_799
_FINGERPRINT = re.compile("[0-9a-f]{20}")
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LockEntry:
    """What the lock file remembers of one card."""

    fingerprint: str
    mtime: int


@dataclass(frozen=True)
class Lock:
    """The lock file of one deck: per card id, its fingerprint and last-change time."""

    deck_key: str
    entries: Mapping[str, LockEntry]

    def mtimes(self) -> dict[str, int]:
        """Per card id, its mtime."""
        return {card_id: entry.mtime for card_id, entry in self.entries.items()}

    def write(self, out: TextIO) -> None:
        """The lock file's text: sorted, stable, one card a line, so diffs stay readable."""
        out.write(f'{{\n  "format": {LOCK_FORMAT},\n  "deck": {json.dumps(self.deck_key)},\n')
        out.write('  "cards": {')
        separator = "\n"
        for card_id, e in sorted(self.entries.items()):
            # Card ids are ASCII letters, digits, '.', '_' and '-': JSON strings as they are.
            key = f'"{card_id}"' if ID.fullmatch(card_id) else json.dumps(card_id)
            out.write(
                f'{separator}    {key}: {{"fingerprint": "{e.fingerprint}", "mtime": {e.mtime}}}'
            )
            separator = ",\n"
        out.write("\n  }\n}\n" if self.entries else "}\n}\n")

    @classmethod
    def parse(cls, text: str) -> Lock:
        """Parse a lock file's text; raises ValueError when it is not one."""
        # Each card's object becomes its LockEntry as it is parsed (no dict per card), with
        # one int object per distinct mtime (a deck has few), not one per card.
        mtimes: dict[int, int] = {}

        def entry_or_dict(pairs: list[tuple[str, object]]) -> object:
            found = dict(pairs)
            fp, mtime = found.get("fingerprint"), found.get("mtime")
            if (
                len(found) == 2
                and isinstance(fp, str)
                and _FINGERPRINT.fullmatch(fp)
                and type(mtime) is int  # not a bool
                and 0 <= mtime <= MAX_TIME
            ):
                return LockEntry(fp, mtimes.setdefault(mtime, mtime))
            return found

        try:
            data = json.loads(text, object_pairs_hook=entry_or_dict)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ValueError(f"it is not valid JSON ({where}: {exc.msg})") from None
        except (ValueError, RecursionError):  # a number too long to read, nesting too deep
            raise ValueError("it is not a lock file cardpress can read") from None
        if not isinstance(data, dict) or data.get("format") != LOCK_FORMAT:
            raise ValueError(f"it is not a cardpress lock file of format {LOCK_FORMAT}")
        cards = data.get("cards")
        if not isinstance(cards, dict) or not isinstance(data.get("deck"), str):
            raise ValueError("it has no 'deck' key or no 'cards' mapping")
        for card_id, entry in cards.items():
            if not isinstance(entry, LockEntry):
                raise ValueError(
                    f"the entry of card {card_id!r} is not a fingerprint (20 hex digits) and "
                    f"an mtime (whole seconds from 0 to {MAX_TIME})"
                )
        return cls(data["deck"], cards)


def lock_path(deck: Deck) -> Path:
    """Where a deck's lock file lives: beside its card file."""
    source = Path(deck.location.path)
    return source.with_name(source.stem + ".lock.json")


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
    if _CONFLICT.search(text):
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
    previous: Lock | None, notes: Notes, published: Mapping[str, LockEntry] | None = None
) -> Lock:
    """Apply the timestamp policy: keep mtimes of unchanged cards, stamp new and edited ones.

    ``published`` holds, per card id, what the package in the output folder published where
    it is newer than the lock (see :func:`newer_than_lock`): it then stands for the lock's
    entry.
    """
    key = notes.deck.key
    old = previous.entries if previous is not None and previous.deck_key == key else {}
    newer = published or {}
    stamp = now()
    entries: dict[str, LockEntry] = {}
    for note in notes:
        card_id = note.card.id
        before = newer.get(card_id) or old.get(card_id)
        fp = note.fingerprint
        if before is not None and before.fingerprint == fp:
            entries[card_id] = before
        else:
            mtime = max(stamp, before.mtime + 1) if before is not None else stamp
            entries[card_id] = LockEntry(fp, mtime)
    return Lock(key, entries)


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
                for card, guid in zip(notes.deck.cards, notes.guids, strict=True):
                    mtime = mtimes.get(guid)
                    entry = known.get(card.id)
                    if mtime is not None and (entry is None or mtime > entry.mtime):
                        wanted[guid] = card.id
                return {wanted[guid]: entry for guid, entry in _notes(db, wanted)}
    except (OSError, zipfile.BadZipFile, sqlite3.Error, KeyError, ValueError):
        return {}


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
    for guid, mtime, model, fields, tags, deck_id in rows:
        if guid in guids and type(mtime) is int and 0 <= mtime <= MAX_TIME:
            content = fingerprint(model, fields.split("\x1f"), tags.split(), deck_names[deck_id])
            yield guid, LockEntry(content, mtime)
