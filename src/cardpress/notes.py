"""The notes: what every output writes for each card, made once per card.

A card becomes one Anki note: its note type, GUID, fields, tags, deck and a fingerprint of all
of these. The package, the CSV, the printable pages and the lock read the notes; none of them
works any of this out again. The lock stage then stamps each note with its modification time
(``Notes.stamped``).

The note types are ours, frozen and versioned: a change to their fields or templates needs a
new id (and a new version, which a deck asks for with ``note_type_version``), or Anki forks
the type and skips existing notes as "conflicting" (DESIGN §2). Their templates and CSS are
the package's (``export/apkg.py``).
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import json
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, overload

from cardpress.format import cloze_numbers
from cardpress.model import Card, Deck, Kind, OwnNoteType
from cardpress.templates import card_ords


@dataclass(frozen=True, slots=True)
class NoteType:
    """One of our note types: its frozen id, name and fields, and for version 2 the stock
    note type of Anki's it is shaped after (``originalStockKind`` in Anki's note type JSON).

    Version 1 has one note type per kind. Version 2 adds a ``Card ID`` field (the deck key
    and card id, never shown: a search such as ``"Card ID:deck/card"`` finds any note of
    ours), and one note type, shaped after Anki's "Basic (optional reversed card)", takes
    basic and reversed cards alike: its ``Add Reverse`` field makes the reverse card, so that
    turning a basic card into a reversed one is no longer a change of note type.
    """

    kind: Kind  # the kind it was made for (version 2's Basic takes reversed cards too)
    id: int
    name: str
    fields: tuple[str, ...]
    version: int = 1
    stock_kind: int = 0  # Anki's OriginalStockKind: 3 optional reversed, 4 typing, 5 cloze
    # For a deck's own note type (Kind.NOTE), its definition: templates, CSS, field ids.
    own: OwnNoteType | None = None
    # The index of the field that adds the reverse card, if the type has one.
    reverse_field: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if ADD_REVERSE in self.fields:
            object.__setattr__(self, "reverse_field", self.fields.index(ADD_REVERSE))

    def card_ords(self, fields: Sequence[str]) -> tuple[int, ...]:
        """The cards a note of this type gets (their ordinals), as Anki makes them: one per
        template whose first field is not empty (the loader makes sure it is not), and for a
        cloze one per deletion number, nested deletions too, c1 first."""
        own = self.own
        if own is not None:
            qfmts = [template.front for template in own.templates]
            return card_ords(qfmts, dict(zip(own.fields, fields, strict=True)), cloze=own.cloze)
        if self.kind is Kind.CLOZE:
            return tuple(n - 1 for n in cloze_numbers(fields[0]))
        reverse = self.reverse_field
        if reverse is not None:
            return (0, 1) if fields[reverse] else (0,)
        return (0, 1) if self.kind is Kind.REVERSED else (0,)


ADD_REVERSE = "Add Reverse"
CARD_ID = "Card ID"
_FRONT_BACK = ("Front", "Back", "Extra", "Topic", "Source")
_CLOZE = ("Text", "Extra", "Topic", "Source")

# Fixed ids; never reuse one for a different schema (fields or templates).
NOTE_TYPES = {
    Kind.BASIC: NoteType(Kind.BASIC, 1607392319, "cardpress Basic v1", _FRONT_BACK),
    Kind.REVERSED: NoteType(Kind.REVERSED, 1607392320, "cardpress Reversed v1", _FRONT_BACK),
    Kind.CLOZE: NoteType(Kind.CLOZE, 1607392321, "cardpress Cloze v1", _CLOZE),
    Kind.TYPE: NoteType(Kind.TYPE, 1607392322, "cardpress Type v1", _FRONT_BACK),
}
_BASIC_V2 = NoteType(
    Kind.BASIC, 1607392331, "cardpress Basic v2", (*_FRONT_BACK, ADD_REVERSE, CARD_ID), 2, 3
)
NOTE_TYPES_V2 = {
    Kind.BASIC: _BASIC_V2,
    Kind.REVERSED: _BASIC_V2,
    Kind.CLOZE: NoteType(Kind.CLOZE, 1607392333, "cardpress Cloze v2", (*_CLOZE, CARD_ID), 2, 5),
    Kind.TYPE: NoteType(Kind.TYPE, 1607392334, "cardpress Type v2", (*_FRONT_BACK, CARD_ID), 2, 4),
}
# Per version (a deck's note_type_version), the note type of each kind.
NOTE_TYPE_SETS = {1: NOTE_TYPES, 2: NOTE_TYPES_V2}
# Every note type of ours, by id.
NOTE_TYPE_BY_ID = {t.id: t for types in NOTE_TYPE_SETS.values() for t in types.values()}
# The stock note type of Anki's that the CSV uses for each kind (a CSV cannot bring note
# types of its own).
STOCK_NAMES = {
    Kind.BASIC: "Basic",
    Kind.REVERSED: "Basic (and reversed card)",
    Kind.CLOZE: "Cloze",
    Kind.TYPE: "Basic (type in the answer)",
}


def own_note_type(note_type: OwnNoteType) -> NoteType:
    """The NoteType of one of a deck's own note types."""
    return _own_note_type(note_type)


@functools.lru_cache(maxsize=256)
def _own_note_type(note_type: OwnNoteType) -> NoteType:
    return NoteType(Kind.NOTE, note_type.id, note_type.name, note_type.fields, 0, own=note_type)


def optional_cards(
    note_type: NoteType, kind: Kind, clozes: tuple[int, ...], fields: Sequence[str] = ()
) -> tuple[int, ...]:
    """The numbers of the cards of a note that exist because of what the note says, not its
    type alone: a cloze's deletion numbers (``clozes``), and 2 for the reverse card of a
    reversed card of a type that has ``Add Reverse``; for a note of a deck's own note type,
    every card its ``fields`` make (by its templates); () for the rest. An import adds such a
    card when it appears, and leaves it, empty, when it goes (lock.py, changes.py)."""
    if note_type.own is not None:
        return tuple(ord_ + 1 for ord_ in note_type.card_ords(fields))
    if kind is Kind.CLOZE:
        return clozes
    if kind is Kind.REVERSED and note_type.reverse_field is not None:
        return (2,)
    return ()


class Note(NamedTuple):
    """One card as an Anki note."""

    card: Card
    position: int  # 1-based place in the card file: new cards come in this order
    note_type: NoteType
    guid: str
    fields: tuple[str, ...]  # HTML, in the note type's field order
    tags: tuple[str, ...]
    deck: str  # the Anki deck the note's cards go to

    @property
    def fingerprint(self) -> str:
        """Of everything Anki stores of the note: see :func:`fingerprint`."""
        return fingerprint(self.note_type.id, self.fields, self.tags, self.deck)


class Notes(Sequence[Note]):
    """The notes of one deck, in authored order, and once stamped, their mtimes.

    A note is made from its card when it is read, each time: of what makes a note, only the
    GUIDs cost enough to keep (a hash each), and they are worked out once, when first
    needed. At 100,000 cards the notes kept whole took 41 MB of the build's 250; and a build's
    second process, which prints the pages from the deck's cards alone, never makes them.
    """

    __slots__ = ("_decks", "_guids", "_tags", "_types", "deck", "mtimes", "type_mtimes")

    def __init__(
        self,
        deck: Deck,
        guids: list[str] | None = None,
        mtimes: Sequence[int] = (),
        type_mtimes: Mapping[int, int] | None = None,
    ) -> None:
        self.deck = deck
        self.mtimes = mtimes
        # The mtimes of the deck's own note types, by id (the lock's), once stamped.
        self.type_mtimes: Mapping[int, int] = type_mtimes or {}
        self._guids = guids
        self._tags = _TagSets(deck)
        self._decks: dict[str, str] = {}  # topic -> Anki deck name
        self._types = types_of(deck)

    @property
    def guids(self) -> list[str]:
        """The GUID of each note, in order."""
        if self._guids is None:
            key = self.deck.key
            self._guids = [card.guid or guid(key, card.id) for card in self.deck.cards]
        return self._guids

    def _note(self, index: int, card: Card, guid: str) -> Note:
        deck = self._decks.get(card.topic)
        if deck is None:
            deck = self._decks[card.topic] = self.deck.deck_name_for(card)
        # tuple.__new__ skips NamedTuple's own __new__: a note is made every time it is read.
        note_type = self._types[card.note_type or card.kind]
        return _new_note(
            Note,
            (
                card,
                index + 1,
                note_type,
                guid,
                note_fields(card, note_type, self.deck.key),
                self._tags(card),
                deck,
            ),
        )

    @overload
    def __getitem__(self, index: int) -> Note: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Note]: ...
    def __getitem__(self, index: int | slice) -> Note | Sequence[Note]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return self._note(index, self.deck.cards[index], self.guids[index])

    def __len__(self) -> int:
        return len(self.deck.cards)

    def __iter__(self) -> Iterator[Note]:
        note = self._note
        return map(note, itertools.count(), self.deck.cards, self.guids)

    def select(self, indexes: Iterable[int]) -> Iterator[Note]:
        """The notes at ``indexes``, in that order."""
        note, cards, guids = self._note, self.deck.cards, self.guids
        return (note(index, cards[index], guids[index]) for index in indexes)

    def stamped(self, mtimes: Iterable[int], type_mtimes: Mapping[int, int] | None = None) -> Notes:
        """These notes with their mtimes (the lock's), one for each note in order, and the
        mtimes of the deck's own note types by id."""
        stamped = Notes(self.deck, self.guids, array("q", mtimes), type_mtimes)
        if len(stamped.mtimes) != len(self):
            raise ValueError(f"{len(stamped.mtimes)} mtimes for {len(self)} notes")
        return stamped

    def decks(self) -> dict[str, array[int]]:
        """The Anki decks of these notes, the deck itself first (it carries the description),
        then each subdeck as its first note reaches it; each with its notes' indexes (arrays:
        no int object per note)."""
        members: dict[str, array[int]] = {self.deck.name: array("l")}
        name_of = self.deck.deck_name_for
        names: dict[str, str] = {}
        for index, card in enumerate(self.deck.cards):
            name = names.get(card.topic)
            if name is None:
                name = names[card.topic] = name_of(card)
            found = members.get(name)
            if found is None:
                found = members[name] = array("l")
            found.append(index)
        return members


_new_note = tuple.__new__


def make_notes(deck: Deck) -> Notes:
    """The notes of every card of ``deck``."""
    return Notes(deck)


def types_of(deck: Deck) -> dict[Kind | str, NoteType]:
    """The note type of each kind (cardpress's own, in the deck's version) and of each of the
    deck's own note types, by name: what ``card.note_type or card.kind`` looks up."""
    ours = NOTE_TYPE_SETS[deck.note_type_version]
    types: dict[Kind | str, NoteType] = {kind: note_type for kind, note_type in ours.items()}
    for own in deck.note_types:
        types[own.name] = own_note_type(own)
    return types


def note_type_of(deck: Deck, card: Card) -> NoteType:
    """The note type of one card of ``deck``."""
    if card.note_type:
        return own_note_type(deck.own_note_type(card.note_type))
    return NOTE_TYPE_SETS[deck.note_type_version][card.kind]


def note_fields(card: Card, note_type: NoteType, deck_key: str) -> tuple[str, ...]:
    """The Anki field values of a card, in the field order of ``note_type`` (its kind's, in
    its deck's version; a deck's own note type's); ``deck_key`` makes the Card ID of version
    2."""
    if card.kind is Kind.NOTE:
        return card.fields
    topic = _escaped(card.topic_title)  # a title is plain text, fields are HTML
    if card.kind is Kind.CLOZE:
        fields: tuple[str, ...] = (card.front, card.extra, topic, card.source)
    else:
        fields = (card.front, card.back, card.extra, topic, card.source)
    if note_type.version == 1:
        return fields
    if note_type.reverse_field is not None:
        fields += ("y" if card.kind is Kind.REVERSED else "",)
    return (*fields, card_id_field(deck_key, card.id))


def card_id_field(deck_key: str, card_id: str) -> str:
    """What the Card ID field of a version 2 note holds: ``deck-key/card-id`` (both are
    letters, digits, '.', '_' and '-': the same text in HTML)."""
    return f"{deck_key}/{card_id}"


@functools.lru_cache(maxsize=1024)
def _escaped(title: str) -> str:
    return html.escape(title, quote=False)


class _TagSets(dict[tuple[tuple[str, ...], str], tuple[str, ...]]):
    """A note's tags: the deck's, the card's, then ``topic::<topic>``; one shared tuple per
    distinct set (a deck has few)."""

    def __init__(self, deck: Deck) -> None:
        super().__init__()
        self.deck_tags = deck.tags
        self.topic_tags = deck.topic_tags

    def __call__(self, card: Card) -> tuple[str, ...]:
        key = (card.tags, card.topic)
        found = self.get(key)
        if found is None:
            tags = dict.fromkeys([*self.deck_tags, *card.tags])
            if card.topic and self.topic_tags:
                tags[f"topic::{card.topic}"] = None
            found = self[key] = tuple(tags)
        return found


_STRING = json.encoder.encode_basestring  # json's own string encoder (non-ASCII kept)


def fingerprint(model: int, fields: Sequence[str], tags: Sequence[str], deck: str) -> str:
    """The fingerprint of a note: a hash of its canonical JSON (sorted keys, no spaces, text
    as written), ``{"deck":…,"fields":[…],"model":…,"tags":[…]}``, as lock files hold it."""
    text = (
        f'{{"deck":{_STRING(deck)},"fields":[{",".join(map(_STRING, fields))}],'
        f'"model":{model},"tags":[{",".join(map(_STRING, tags))}]}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


_BASE91 = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)
_BASE91_PAIRS = [high + low for high in _BASE91 for low in _BASE91]


def guid(deck_key: str, card_id: str) -> str:
    """The Anki GUID of a card: a hash of the deck key and the card id, in Anki's base91.

    Never of the text or the time: an edited card must stay the same note (DESIGN §2).
    """
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
