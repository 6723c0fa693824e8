"""Keys and ids for what an import writes: a deck key from a deck's name, topic keys from its
subdecks' names, and card ids from the notes' text.

Every result matches the card format's ID pattern and fits MAX_NAME_CHARS. Names are
transliterated to ASCII by anyascii (ISC; Unidecode and text-unidecode, the other common
tables, are GPL or Artistic/GPL), so ``Испанский`` gives ``ispanskiy`` and ``日本語`` gives
``ri-ben-yu``; a name that gives no ASCII letter or digit at all (``…``, ``!!!``, an empty
first field) gets a short hash instead. Ids are unique within a deck, compared without
regard to case (``Paris`` and ``paris`` are two ids), and stable: the same note gives the
same id on every import.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from anyascii import anyascii

from cardpress.format import CLOZE, ID, MAX_NAME_CHARS, SOUND
from cardpress.importer.model import ImportedNote
from cardpress.render import plain_text, sanitise

__all__ = ["card_ids", "deck_key", "keys", "note_seed", "slug"]

# A card id is the first words of the note's first field: enough to know the card by.
ID_WORDS = 6
ID_CHARS = 40
# A key is a deck's or subdeck's whole name, which is short anyway.
KEY_CHARS = 60
# Hex digits of a hash that tells two notes with the same first words apart, or names a note
# whose first field has no letter or digit; longer only where the short one is taken.
HASH_CHARS = 6

# Words of transliterated text: a capitalised syllable of CJK (anyascii writes 日本 as
# "RiBen"), a run of capitals, lowercase letters, digits.
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


def slug(text: str, *, max_words: int | None = None, max_chars: int = KEY_CHARS) -> str:
    """``text`` as lowercase ASCII words joined by ``-`` (at most ``max_words`` of them and
    ``max_chars`` characters, cut between words where one fits); ``""`` when it has none."""
    words: list[str] = []
    for token in unicodedata.normalize("NFC", text).split():
        if token.isascii():
            words += _ASCII_WORD.findall(token)
        else:  # transliterated syllables run together ("RiBen"): capitals split them
            words += _WORD.findall(anyascii(token))
    if max_words is not None:
        words = words[:max_words]
    out = ""
    for word in (w.lower() for w in words):
        joined = f"{out}-{word}" if out else word
        if len(joined) > max_chars:
            out = out or word[:max_chars]
            break
        out = joined
    return out


def _hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def deck_key(name: str) -> str:
    """The key of a deck named ``name`` (its levels, ``::``, joined by ``-``):
    ``Spanish::Verbs`` is ``spanish-verbs``; ``deck-`` and a hash of the name when it has no
    letter or digit even transliterated."""
    return slug(name.replace("::", " ")) or f"deck-{_hash(name)[:HASH_CHARS]}"


def keys(names: Iterable[str], *, prefix: str = "topic") -> dict[str, str]:
    """A key for each of ``names`` (subdecks' names: topics), unique among them: as
    :func:`deck_key` makes them, with a hash of the name after a key that is taken (names
    that differ only in case or punctuation), ``prefix`` before the hash of a name without
    letters or digits."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(names), key=lambda n: (slug(n.replace("::", " ")), n)):
        base = slug(name.replace("::", " "))
        out[name] = _unique(base or prefix, _hash(name), taken, hashed=not base)
    return out


def note_seed(note: ImportedNote) -> str:
    """What a note's id is made stable by: its GUID, or (a text file without a GUID column)
    its fields."""
    return note.guid or "\x1f".join(note.fields)


def card_ids(
    notes: Sequence[ImportedNote], kept: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """An id for each note of one deck (in the order given): the first words of its first
    field, as plain text (cloze deletions as their answers, no sound tags), slugged.

    ``kept`` maps GUIDs to the ids an earlier import gave (the card file being updated): those
    notes keep them. Where two notes would get the same id, the older note (Anki's note id is
    its creation time; a text file's line) keeps it and the other gets a hash of its GUID
    after it, so a note keeps its id when notes are added to its deck. A note whose first field
    has no letter or digit is ``note-`` and that hash.
    """
    kept = kept or {}
    taken = {card_id.casefold() for card_id in kept.values()}
    ids: dict[int, str] = {}
    order = sorted(
        range(len(notes)), key=lambda i: (notes[i].id, notes[i].line, note_seed(notes[i]))
    )
    for i in order:
        note = notes[i]
        if note.guid and note.guid in kept:
            ids[i] = kept[note.guid]
            continue
        base = slug(
            _first_words(note.fields[0] if note.fields else ""),
            max_words=ID_WORDS,
            max_chars=ID_CHARS,
        )
        ids[i] = _unique(base or "note", _hash(note_seed(note)), taken, hashed=not base)
    return tuple(ids[i] for i in range(len(notes)))


def _first_words(field: str) -> str:
    """A field's visible text: no tags, no sound tags, cloze deletions as their answers."""
    # Lines and cells are words apart; plain_text runs "<div>a</div><div>b</div>" together.
    text = plain_text(_BLOCK_BOUNDARY.sub(" ", sanitise(field)))
    text = SOUND.sub(" ", text)
    return CLOZE.sub(lambda m: m.group(2), text)


_BLOCK_BOUNDARY = re.compile(
    r"<(?:br|/?(?:div|p|li|tr|td|th|h[1-6]|blockquote|ul|ol|table|hr))\b[^>]*>"
)


def _unique(base: str, digest: str, taken: set[str], *, hashed: bool) -> str:
    """``base`` (with ``digest``'s first digits after it when ``hashed``, or when ``base`` is
    taken), made unique in ``taken`` and added to it."""
    found = None
    if not hashed and base.casefold() not in taken:
        found = base
    else:
        for length in range(HASH_CHARS, len(digest) + 1, 2):
            candidate = f"{base}-{digest[:length]}"
            if candidate.casefold() not in taken:
                found = candidate
                break
        else:  # the same seed twice (two text rows alike): a count tells them apart
            n = 2
            while f"{base}-{digest[:HASH_CHARS]}-{n}".casefold() in taken:
                n += 1
            found = f"{base}-{digest[:HASH_CHARS]}-{n}"
    assert ID.fullmatch(found) and len(found) <= MAX_NAME_CHARS, found
    taken.add(found.casefold())
    return found
