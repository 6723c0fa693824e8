"""The typed card model that every exporter reads. No I/O here."""

from __future__ import annotations

import enum
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

    @property
    def location(self) -> Location:
        """Where the card starts in its card file."""
        return Location(self.path, self.line, self.col)


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
