"""The card format: its keys, kinds, limits and patterns, defined once.

The loader judges input by these, the JSON Schema is made from them, and the writers read the
patterns (a cloze deletion, an image type) from here, so that no two places can disagree.
"""

from __future__ import annotations

import hashlib
import re

from cardpress.model import Card, Kind

FORMAT_VERSION = 1

CARD_FILE_SUFFIXES = (".yaml", ".yml")

# Keys of a deck and of a card: name -> required.
DECK_KEYS = {
    "format": False,
    "key": True,
    "name": True,
    "description": False,
    "tags": False,
    "source": False,
    "topics": False,
    "subdecks": False,
    "note_type_version": False,
    "note_types": False,
    "topic_tags": False,
    "keep_media_names": False,
    "cards": True,
}
# Keys of a deck's own note type, and of one of its card templates.
NOTE_TYPE_KEYS = {
    "name": True,
    "id": False,
    "imported": False,
    "cloze": False,
    "fields": True,
    "templates": True,
    "css": False,
    "sort_field": False,
}
TEMPLATE_KEYS = {
    "name": True,
    "id": False,
    "front": True,
    "back": False,
    "browser_front": False,
    "browser_back": False,
}
# Versions of cardpress's own note types a deck can ask for (notes.py). A deck that does not
# say takes the newest, unless its lock says Anki has its notes under version 1
# (lock.note_type_version_of): an upgrade of cardpress never changes a deck's note types.
NOTE_TYPE_VERSIONS = (1, 2)
CARD_KEYS = {
    "id": False,
    "topic": False,
    "kind": False,
    "front": False,
    "back": False,
    "text": False,
    "source": False,
    "extra": False,
    "tags": False,
    "leak_check": False,
    "guid": False,
    "note_type": False,
    "fields": False,
}
# Keys a card of the deck's own note type (``note_type:``) cannot have: its fields hold its text.
NOT_FOR_NOTE_TYPES = ("kind", "front", "back", "text", "source", "extra")
# The kinds a card's ``kind:`` names (a card of the deck's own note type names the note type).
KINDS = {kind.value: kind for kind in Kind if kind is not Kind.NOTE}

# Ids, keys and topic keys: ASCII letters and digits, then also '.', '_' and '-'.
ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
ID = re.compile(ID_PATTERN)
# A card's own Anki GUID (``guid:``, as `cardpress import` writes it for a note that Anki
# already has): printable ASCII without spaces, as Anki's own GUIDs (base91) and other
# tools' are. Without one, a card's GUID is a hash of its deck key and id (notes.guid).
GUID_PATTERN = "^[!-~]{1,64}$"
GUID = re.compile(GUID_PATTERN)

# The id of a card written without one: made from its first field, so it changes with it.
# Messages never show it (a user never wrote it): they name such a card by its line.
_GENERATED_ID = re.compile(r"auto-[0-9a-f]{12}")


def generated_id(first_field: str) -> str:
    """The id a card without one gets, from its first field as written."""
    return "auto-" + hashlib.sha256(first_field.encode()).hexdigest()[:12]


def is_generated_id(card_id: str) -> bool:
    """Whether ``card_id`` is one :func:`generated_id` made (as a lock file records it)."""
    return _GENERATED_ID.fullmatch(card_id) is not None


# A cloze deletion: {{cN::answer}} or {{cN::answer::hint}}. N is ASCII digits, as for Anki
# (a digit of another script, like ARABIC-INDIC DIGIT ONE, makes no deletion there).
CLOZE = re.compile(r"\{\{c([0-9]+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
# Where a deletion opens: a nested one ({{c1::Paris {{c2::France}}}}) opens inside another,
# and makes a card of its own in Anki.
CLOZE_OPENER = re.compile(r"\{\{c([0-9]+)::")


def cloze_numbers(text: str) -> tuple[int, ...]:
    """The numbers of the deletions in a cloze text, nested ones too, ascending and once each:
    the cards Anki makes of it (c1 is card 0)."""
    return tuple(sorted({int(n) for n in CLOZE_OPENER.findall(text)} - {0}))


def cloze_question(text: str) -> str:
    """A cloze text as the question its cards ask: every deletion hidden, shown as ``[...]``
    (or ``[hint]``)."""
    return CLOZE.sub(lambda m: f"[{m.group(3) or '...'}]", text)


def card_clozes(card: Card) -> tuple[int, ...]:
    """The cloze numbers of a card (:func:`cloze_numbers`); () for a card of another kind."""
    return cloze_numbers(card.front) if card.kind is Kind.CLOZE else ()


# Characters YAML does not allow in a file (C0 and C1 controls but tab, newlines and NEL), and
# that an image path may not hold either.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")

# Images: file suffix -> the bytes a file of that type starts with, and its MIME type. An SVG
# is text; loader/media.py judges it.
IMAGE_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".webp": (b"RIFF",),
    ".svg": (b"",),
}
IMAGE_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}

# Sound: ``[sound:FILE]`` in a field plays FILE from Anki's media folder. As in Anki (its
# AV_TAGS pattern): case-sensitive (Anki plays no ``[Sound:…]``), the name runs to the first
# ']', spaces included. loader/media.py judges the file by its content.
SOUND = re.compile(r"\[sound:([^\]]+)\]")
AUDIO_SUFFIXES = (".mp3", ".ogg", ".opus", ".wav", ".m4a", ".webm")


def is_sound(media_name: str) -> bool:
    """Whether a media file (by its name) is one a ``[sound:…]`` tag plays, not an image."""
    return media_name.lower().endswith(AUDIO_SUFFIXES)


# Limits: input beyond them is an error with its own message, never a hang.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FIELD_CHARS = 100_000
MAX_CARDS_PER_DECK = 100_000
# What every note repeats (its deck, topic and tags) is short, or a small file makes huge
# outputs: a deck's tags are written into each of its notes.
MAX_NAME_CHARS = 200  # ids, keys, topic keys and titles, each part of a deck name
MAX_TAG_CHARS = 200  # one tag
MAX_TAGS_CHARS = 1_000  # a deck's tags together, and a card's (with the spaces between)
# Aliases (*name) repeat what an anchor holds: what they add to a file is bounded too.
MAX_ALIASED_CHARS = MAX_FILE_BYTES
# How deep elements may nest in a field: deeper than any card needs, and far below what makes
# the sanitiser slow (its time grows with the square of the depth).
MAX_NESTING = 100
# Cloze numbers: Anki numbers a note's cards with 16 bits, c1 being card 0.
MAX_CLOZE_NUMBER = 65_535
MAX_PROBLEMS_PER_FILE = 100

# Warnings.
LONG_ANSWER_CHARS = 300
# An answer given away by another card's question (loader/leaks.py): answers of at most this
# many words are looked for, and words found in the questions of more than this share of a
# deck's cards (and of at least LEAK_COMMON_MIN cards: in a deck of ten cards, one question is
# a tenth) are too common to give anything away.
LEAK_ANSWER_WORDS = 3
LEAK_COMMON_SHARE = 0.1
LEAK_COMMON_MIN = 3
