"""The typed card model that every exporter reads. No I/O here."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A position in an input file; line and column are 1-based, 0 when unknown."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line and self.col:
            return f"{self.path}:{self.line}:{self.col}"
        if self.line:
            return f"{self.path}:{self.line}"
        return self.path


class Kind(enum.Enum):
    """How a card asks its question."""

    BASIC = "basic"
    REVERSED = "reversed"
    CLOZE = "cloze"
    TYPE = "type"
    # A note of one of the deck's own note types (``note_type:``): its fields by name, its
    # cards from the note type's templates. Never written as a ``kind:``.
    NOTE = "note"

    # Members are singletons: identity hashing, in C, instead of Enum's hash of the name in
    # Python (a kind is looked up for every note, several times a build).
    __hash__ = object.__hash__


@dataclass(frozen=True, slots=True)
class Media:
    """An image referenced by a card, stored under a collision-free name."""

    name: str
    path: Path


@dataclass(frozen=True, slots=True)
class Card:
    """One authored note. Text fields hold sanitised HTML, rendered from Markdown.

    For cloze cards ``front`` holds the cloze text and ``back`` is empty.
    """

    id: str
    kind: Kind
    front: str
    back: str
    topic: str
    topic_title: str
    tags: tuple[str, ...]
    source: str
    extra: str
    # Where the card starts (see ``location``), kept as plain values: a Location object per
    # card would cost 5 MB at 100,000 cards, twice over when a build forks.
    path: str
    line: int
    col: int
    media: tuple[str, ...] = ()
    generated_id: bool = False
    guid: str = ""  # its own Anki GUID, where the card file gives one (else: notes.guid)
    # A card of one of its deck's own note types (Kind.NOTE): the note type's name, and each
    # field's HTML in the note type's order ("" for a field the card leaves out).
    note_type: str = ""
    fields: tuple[str, ...] = ()

    @property
    def location(self) -> Location:
        """Where the card starts in its card file."""
        return Location(self.path, self.line, self.col)


@dataclass(frozen=True, slots=True)
class Template:
    """A card template of a deck's own note type, in Anki's template syntax: ``front`` and
    ``back`` are Anki's question and answer formats (qfmt, afmt); ``id`` is Anki's template id
    (None: none given); the browser's formats are kept where a note type has them."""

    name: str
    front: str
    back: str
    id: int | None = None
    browser_front: str = ""
    browser_back: str = ""


@dataclass(frozen=True, slots=True)
class OwnNoteType:
    """One of a deck's own note types (``note_types:``), as Anki will have it.

    Anki knows a note type by its id and compares its *schema* (its fields and templates, by
    id where both sides have one, else by name) when a package brings it again: another
    schema under a known id makes Anki add the package's as a new note type and skip the
    notes it already has (DESIGN §2). ``field_ids`` are Anki's own field ids (None: not
    given). ``sort_field`` indexes ``fields``.
    """

    name: str
    id: int
    cloze: bool
    fields: tuple[str, ...]
    field_ids: tuple[int | None, ...]
    templates: tuple[Template, ...]
    css: str
    sort_field: int = 0
    line: int = 0  # where the card file defines it

    @property
    def schema(self) -> str:
        """What Anki compares of a note type it has: a digest of its kind and of its fields
        and templates, in order, each by its id, or its name where it has no id (a field
        renamed under its id is the same schema to Anki)."""
        named = zip(self.fields, self.field_ids, strict=True)
        parts = [
            "cloze" if self.cloze else "standard",
            *(f"f{name if id_ is None else id_}" for name, id_ in named),
            *(f"t{t.name if t.id is None else t.id}" for t in self.templates),
        ]
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:20]

    @property
    def fingerprint(self) -> str:
        """A digest of everything a package writes of it: its schema, name, template text and
        CSS. When this changes, the package stamps the note type anew, so that Anki takes it."""
        parts = [
            self.schema, self.name, self.css, str(self.sort_field),
            *(f"{t.front}\x1f{t.back}\x1f{t.browser_front}\x1f{t.browser_back}"
              for t in self.templates),
        ]  # fmt: skip
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Deck:
    """One card file: a named deck of cards."""

    key: str
    name: str
    description: str
    tags: tuple[str, ...]
    source: str
    topics: tuple[tuple[str, str], ...]
    subdecks: bool
    cards: tuple[Card, ...]
    location: Location
    media: tuple[Media, ...] = field(default=())
    # Which of cardpress's note types its notes use (notes.py): 1, or 2 (with a Card ID).
    note_type_version: int = 1
    # Where its lock file lives (lock.lock_path): a folder, or "" for beside the card file.
    lock_folder: str = ""
    # The deck's own note types (``note_types:``), for cards that name one.
    note_types: tuple[OwnNoteType, ...] = ()
    # Whether each note gets the tag ``topic::KEY`` of its topic (``topic_tags:``; an imported
    # deck's notes carry no such tag).
    topic_tags: bool = True
    # Whether media keep their file names in Anki (``keep_media_names:``, as an imported deck
    # names them in its fields) instead of names made from their content.
    keep_media_names: bool = False

    def own_note_type(self, name: str) -> OwnNoteType:
        """The deck's own note type of that name."""
        for note_type in self.note_types:
            if note_type.name == name:
                return note_type
        raise KeyError(name)

    @property
    def file_stem(self) -> str:
        """The base name of every output file of this deck."""
        return Path(self.location.path).stem

    def deck_name_for(self, card: Card) -> str:
        """The Anki deck a card lands in: a subdeck per topic unless disabled."""
        return self.deck_name_for_topic(card.topic, card.topic_title)

    def deck_name_for_topic(self, topic: str, title: str) -> str:
        """The Anki deck of the cards of a topic (and its title)."""
        if self.subdecks and topic:
            return f"{self.name}::{title}"
        return self.name
