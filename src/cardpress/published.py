"""What the package already in the output folder published: the memory a lock can lose.

The lock file is versioned with the cards, so ``git revert`` (or ``git checkout old --
cards/``) brings back an old lock with the old text: the card's old mtime returns, the build
calls the card unchanged, and Anki, which imported the newer text with a newer mtime, keeps
it. The package written by the last build still holds every note's mtime and content. Where
it is newer than the lock for a card, it is the better memory (see ``ids.update_lock``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from cardpress import ids
from cardpress.commit import temp_beside


def newer_than_lock(
    package: Path, lock: Mapping[str, int], guids: Iterable[tuple[str, str]]
) -> dict[str, ids.LockEntry]:
    """Per card id, the fingerprint and mtime of the package's note where it is newer than
    ``lock`` says (or the lock has no entry for it). ``lock`` maps card id to mtime;
    ``guids`` yields (card id, GUID) of the cards being built. A package that cannot be read
    is no memory: nothing is returned.
    """
    try:
        with _collection(package) as db:
            mtimes = dict(db.execute("SELECT guid, mod FROM notes"))
            wanted: dict[str, str] = {}
            for card_id, guid in guids:
                mtime = mtimes.get(guid)
                if mtime is not None and mtime > lock.get(card_id, -1):
                    wanted[guid] = card_id
            if not wanted:
                return {}
            return {wanted[guid]: note for guid, note in _notes(db, wanted)}
    except (OSError, zipfile.BadZipFile, sqlite3.Error, KeyError, ValueError):
        return {}


@contextlib.contextmanager
def _collection(package: Path) -> Iterator[sqlite3.Connection]:
    """The package's collection, unpacked into a scratch file beside it."""
    if not package.is_file():
        raise FileNotFoundError(package)
    with zipfile.ZipFile(package) as zf:
        scratch = temp_beside(package)
        try:
            with zf.open("collection.anki2") as source, scratch.open("wb") as copy:
                shutil.copyfileobj(source, copy, 1 << 20)
            db = sqlite3.connect(f"{scratch.resolve().as_uri()}?mode=ro", uri=True)
            try:
                yield db
            finally:
                db.close()
        finally:
            scratch.unlink(missing_ok=True)


def _notes(db: sqlite3.Connection, guids: Mapping[str, str]) -> Iterator[tuple[str, ids.LockEntry]]:
    """The notes with these GUIDs, fingerprinted as ``export.apkg`` fingerprints a note."""
    (decks_json,) = db.execute("SELECT decks FROM col").fetchone()
    deck_names = {int(key): deck["name"] for key, deck in json.loads(decks_json).items()}
    rows = db.execute(
        "SELECT n.guid, n.mod, n.mid, n.flds, n.tags, c.did FROM notes n"
        " JOIN cards c ON c.nid = n.id AND c.ord = (SELECT min(ord) FROM cards WHERE nid = n.id)"
    )
    for guid, mtime, model, fields, tags, deck_id in rows:
        if guid in guids:
            content = {
                "deck": deck_names[deck_id],
                "fields": fields.split("\x1f"),
                "model": model,
                "tags": tags.split(),
            }
            yield guid, ids.LockEntry(ids.fingerprint(content), mtime)
