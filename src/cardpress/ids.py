"""Identity: stable GUIDs, frozen note-type ids, and the modification-time policy.

Anki matches an imported note to an existing one by GUID and updates it only when the
package's note mtime is newer than the collection's. So a GUID must never depend on content or
time, and a note's mtime must change exactly when its content does. The lock file beside each
card file records, per card, a fingerprint of what was exported and the time it last changed:

* unchanged card: same fingerprint, the recorded mtime is reused (re-import changes nothing,
  and two builds of the same input are byte-identical);
* new or edited card: a new mtime, ``max(now, previous + 1)``, so it is always newer than
  anything a user imported before. ``now`` is ``SOURCE_DATE_EPOCH`` when that is set.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TextIO

_BASE91 = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)

_BASE91_PAIRS = [high + low for high in _BASE91 for low in _BASE91]

LOCK_FORMAT = 1


def guid(deck_key: str, card_id: str) -> str:
    """The Anki GUID of a card: a hash of the deck key and the card id, in Anki's base91."""
    hashed = hashlib.sha256(f"cardpress\x1f{deck_key}\x1f{card_id}".encode()).digest()
    number = int.from_bytes(hashed[:8], "big")
    # Base 91, most significant digit first, no leading zero ("a"): two digits a step.
    pairs = []
    while number:
        number, rest = divmod(number, 91 * 91)
        pairs.append(_BASE91_PAIRS[rest])
    return "".join(reversed(pairs)).removeprefix("a") or "a"


def stable_id(*parts: str) -> int:
    """A deterministic positive 31-bit-ish id (for deck ids, which Anki matches by name)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def fingerprint(values: object) -> str:
    """A content fingerprint of whatever a note exports (fields, tags, deck, note type)."""
    return digest(_CANONICAL.encode(values))  # json.dumps with these options, one encoder


def digest(text: str) -> str:
    """The fingerprint of a note's canonical JSON text."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def now() -> int:
    """The build time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else the clock."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value:
        try:
            return int(value)
        except ValueError:
            pass
    return int(time.time())


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

    @property
    def mtimes(self) -> Mapping[str, int]:
        """Per card id, its mtime: a view, not a copy."""
        return _Mtimes(self.entries)

    def to_json(self) -> str:
        """The lock file's text: sorted, stable, one card a line, so diffs stay readable."""
        out = io.StringIO()
        self.write_json(out)
        return out.getvalue()

    def write_json(self, out: TextIO) -> None:
        """Write :meth:`to_json`'s text to ``out`` a line at a time."""
        out.write(f'{{\n  "format": {LOCK_FORMAT},\n  "deck": {json.dumps(self.deck_key)},\n')
        out.write('  "cards": {')
        separator = "\n"
        for card_id, e in sorted(self.entries.items()):
            out.write(
                f"{separator}    {json.dumps(card_id)}: "
                f'{{"fingerprint": "{e.fingerprint}", "mtime": {e.mtime}}}'
            )
            separator = ",\n"
        out.write("\n  }\n}\n" if self.entries else "}\n}\n")

    @classmethod
    def from_json(cls, text: str) -> Lock:
        """Parse a lock file; raises ValueError when it is not one."""
        # Each card's object becomes its LockEntry as it is parsed: no dict per card, and
        # one int object per distinct mtime (a deck has few), not one per card.
        mtimes: dict[int, int] = {}
        data = json.loads(text, object_pairs_hook=functools.partial(_entry_or_dict, mtimes=mtimes))
        if not isinstance(data, dict) or data.get("format") != LOCK_FORMAT:
            raise ValueError("not a cardpress lock file of format 1")
        cards = data.get("cards")
        if not isinstance(cards, dict):
            raise ValueError("lock file has no 'cards' mapping")
        for card_id, entry in cards.items():
            if not isinstance(entry, LockEntry):
                raise ValueError(f"lock entry {card_id!r} is malformed")
        return cls(str(data.get("deck", "")), cards)


def _entry_or_dict(pairs: list[tuple[str, object]], mtimes: dict[int, int]) -> object:
    """A JSON object: a LockEntry when it has a text fingerprint and an integer mtime."""
    found = dict(pairs)
    fingerprint, mtime = found.get("fingerprint"), found.get("mtime")
    if isinstance(fingerprint, str) and isinstance(mtime, int):
        return LockEntry(fingerprint, mtimes.setdefault(mtime, mtime))
    return found


class _Mtimes(Mapping[str, int]):
    def __init__(self, entries: Mapping[str, LockEntry]) -> None:
        self.entries = entries

    def __getitem__(self, card_id: str) -> int:
        return self.entries[card_id].mtime

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def update_lock(
    previous: Lock | None,
    deck_key: str,
    fingerprints: Iterable[tuple[str, str]],
    published: Mapping[str, LockEntry] | None = None,
) -> Lock:
    """Apply the timestamp policy: keep mtimes of unchanged cards, stamp new and edited ones.

    ``fingerprints`` yields (card id, fingerprint) pairs as they are made: no table of them,
    and an unchanged card's new fingerprint is dropped at once. ``published`` holds, per card
    id, what the package in the output folder published where it is newer than the lock (a
    lock rolled back with ``git revert``): it then stands for the lock's entry, so an mtime
    once handed out is never handed out lower again.
    """
    old = previous.entries if previous is not None and previous.deck_key == deck_key else {}
    newer = published or {}
    stamp = now()
    entries: dict[str, LockEntry] = {}
    for card_id, fp in fingerprints:
        before = newer.get(card_id) or old.get(card_id)
        if before is not None and before.fingerprint == fp:
            entries[card_id] = before
        else:
            mtime = max(stamp, before.mtime + 1) if before is not None else stamp
            entries[card_id] = LockEntry(fp, mtime)
    return Lock(deck_key, entries)
