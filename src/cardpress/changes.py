"""Changes a package import cannot carry, found by comparing the cards with their lock.

An import (DESIGN §7) updates a note's fields and tags, and adds the cards of new cloze
numbers; it never moves a card to another deck, never changes a note's type (a note whose
GUID exists under another type is skipped as "conflicting"), never deletes a card or a note.
The lock remembers what Anki has of each card (lock.py); here each difference becomes a
message at the card's line, with the way out, until the user says Anki has it
(``--acknowledge``):

* the deck key changed: an error (every card would be a new note: the deck twice);
* a card's kind (note type) changed, a card moved to another deck (a topic or deck renamed),
  a cloze deletion removed: warnings;
* a card removed from its file: a note, which never fails ``--strict``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from cardpress.errors import Diagnostic, Severity
from cardpress.export import plural
from cardpress.format import card_clozes, is_generated_id
from cardpress.lock import Lock
from cardpress.model import Deck, Kind, Location, OwnNoteType
from cardpress.notes import (
    CARD_ID,
    NOTE_TYPE_BY_ID,
    NOTE_TYPE_SETS,
    card_id_field,
    guid,
    optional_cards,
    types_of,
)


class CardState(NamedTuple):
    """What a card gives Anki that an import cannot change, and where the card is in its
    deck's card file (made for every card of a big deck: no Location until reported)."""

    id: str
    kind: Kind
    note_type: int
    deck: str
    cards: tuple[int, ...]  # its cards that depend on its content (notes.optional_cards)
    topic: str  # its topic key ("" for none): the tag topic::KEY on its note
    line: int
    col: int
    guid: str = ""  # its own GUID ("" for the one made of the deck key and its id)


# A card's first field as Anki has it (HTML), by card id; "" where it is not known.
FirstField = Callable[[str], str]


def _unknown(card_id: str) -> str:
    return ""


def states(deck: Deck) -> Iterator[CardState]:
    """The state of every card of ``deck``."""
    decks: dict[str, str] = {}  # topic -> Anki deck
    types = types_of(deck)
    for card in deck.cards:
        name = decks.get(card.topic)
        if name is None:
            name = decks[card.topic] = deck.deck_name_for(card)
        note_type = types[card.note_type or card.kind]
        cards = optional_cards(note_type, card.kind, card_clozes(card), card.fields)
        yield CardState(
            card.id, card.kind, note_type.id, name, cards, card.topic, card.line, card.col,
            card.guid,
        )  # fmt: skip


def compare(
    deck: Deck,
    lock: Lock | None,
    current: Iterable[CardState],
    lock_file: Path,
    *,
    new_key: bool,
    first_field: FirstField = _unknown,
) -> list[Diagnostic]:
    """What the cards of ``deck`` would change that a package import cannot carry, compared
    with ``lock`` (None for a first build). ``first_field`` gives the first field of a note
    in Anki, for the searches that find it."""
    if lock is None:
        return []
    if lock.deck_key != deck.key and not new_key:
        return [_new_key(deck, lock.deck_key, lock_file)]
    if lock.deck_key != deck.key:
        return []
    found: list[Diagnostic] = []
    moves: dict[tuple[str, str], list[CardState]] = {}
    versions: dict[tuple[int, int], list[str]] = {}  # (old, new) note type -> old decks
    seen: set[str] = set()
    kept: set[str] = set()  # the cards' own GUIDs: a card renamed with its GUID is no removal
    for state in current:
        seen.add(state.id)
        if state.guid:
            kept.add(state.guid)
        entry = lock.entries.get(state.id)
        if entry is None:
            continue  # new
        if (entry.guid or state.guid) and entry.guid != state.guid:
            old, new = (g or guid(deck.key, state.id) for g in (entry.guid, state.guid))
            if old != new:
                found.append(_guid_changed(state, _at(deck, state), old, new))
        if not entry.note_type:
            continue  # unknown to a format 1 lock
        if entry.deck != state.deck:
            moves.setdefault((entry.deck, state.deck), []).append(state)
        if entry.note_type == state.note_type:
            gone = [n for n in entry.cards if n not in state.cards]
            if gone:
                found.append(_cloze_gone(state, _at(deck, state), gone))
        elif _same_kind(entry.note_type, state):  # only the deck's note_type_version changed
            versions.setdefault((entry.note_type, state.note_type), []).append(entry.deck)
        else:
            search = search_for(
                entry.note_type,
                entry.deck,
                first_field(state.id),
                card_id_field(deck.key, state.id),
            )
            own = {t.id: t.name for t in deck.note_types}
            found.append(_kind_changed(state, _at(deck, state), entry.note_type, search, own))
    if versions:
        found.insert(0, _new_version(deck, versions))
    found += _new_schemas(deck, lock)
    in_deck = Counter[str]()
    if moves:  # how many cards each deck has, to tell a whole deck renamed from a few moved
        in_deck.update(entry.deck for entry in lock.entries.values())
        in_deck.update(removed.deck for removed in lock.removed.values())
    for (old, new), moved in moves.items():
        where = _at(deck, moved[0])
        found.append(_moved(moved, where, old, new, whole=in_deck[old] == len(moved)))
    searches = removed_searches(lock, seen, first_field)
    searches.update((i, r.search) for i, r in lock.removed.items() if i not in seen)
    if kept:
        searches = {i: s for i, s in searches.items() if lock.guid_of(i) not in kept}
    found += [_removed(deck, card_id, search) for card_id, search in sorted(searches.items())]
    return found


def changed_schemas(deck: Deck, lock: Lock) -> list[OwnNoteType]:
    """The deck's own note types whose fields or templates changed since Anki got them (the
    lock keeps the schema Anki has until the change is acknowledged, or push makes it)."""
    return [
        own
        for own in deck.note_types
        if own.id in lock.note_types and lock.note_types[own.id].schema != own.schema
    ]


def _new_schemas(deck: Deck, lock: Lock) -> list[Diagnostic]:
    """A warning for each of the deck's own note types whose fields or templates changed since
    Anki got it (the lock's schema): a package that brings it under the same id makes Anki add
    it as a new note type, and skip every note it has of the old one as conflicting."""
    found = []
    for own in changed_schemas(deck, lock):
        count = sum(1 for card in deck.cards if card.note_type == own.name)
        found.append(
            Diagnostic(
                Location(deck.location.path, own.line, 5),
                Severity.WARNING,
                f"note type {own.name!r} changed its fields or templates since Anki got it "
                f"(id {own.id}): a package import adds it as a new note type and skips its "
                f"{plural(count, 'note')} as conflicting. Make the same change in Anki (Tools "
                "> Manage Note Types, which keeps the notes and their history), then build "
                "with --acknowledge; or cardpress push makes it for you; or put the fields "
                "and templates back",
            )
        )
    return found


def _guid_changed(state: CardState, where: Location, old: str, new: str) -> Diagnostic:
    return Diagnostic(
        where,
        Severity.ERROR,
        f"{_this(state.id)} changed its GUID from {old!r} to {new!r}: Anki would take it for a "
        f"new note beside the old one, without its review history; put back guid: {old}, or "
        "give the card a new id to make it a new card on purpose",
    )


def removed_searches(lock: Lock, current: Iterable[str], first_field: FirstField) -> dict[str, str]:
    """Per card id, for each card of the lock that is not among the ``current`` ids (it left
    the card file since the last build), the Anki search that finds its note."""
    ids = current if isinstance(current, set | frozenset) else set(current)
    return {
        card_id: search_for(
            entry.note_type, entry.deck, first_field(card_id), card_id_field(lock.deck_key, card_id)
        )
        for card_id, entry in lock.entries.items()
        if card_id not in ids and entry.note_type
    }


def search_for(note_type: int, deck: str, first: str, card_id: str = "") -> str:
    """An Anki search (Browse) that finds a note of ours: by its Card ID (``card_id``, the
    field's value) where its note type has one (version 2); else by its note type, its deck
    and its first field (as HTML, which is what Anki's field search compares)."""
    note_type_ = NOTE_TYPE_BY_ID.get(note_type)
    if note_type_ is not None and CARD_ID in note_type_.fields and card_id:
        return f'"{CARD_ID}:{escape_search(card_id)}"'
    if note_type_ is None:  # a deck's own note type: by its id, and its deck
        return f'mid:{note_type} "deck:{escape_search(deck)}"'
    field = note_type_.fields[0]
    parts = [f'"note:{_name(note_type)}"', f'"deck:{escape_search(deck)}"']
    if first:
        parts.append(f'"{field}:{escape_search(first)}"')
    return " ".join(parts)


def escape_search(text: str) -> str:
    """Text for a quoted term of Anki's search: its wildcards and quotes taken literally."""
    for char in ("\\", '"', "*", "_"):
        text = text.replace(char, "\\" + char)
    return text


def _name(note_type: int) -> str:
    found = NOTE_TYPE_BY_ID.get(note_type)
    return found.name if found else str(note_type)


def _kind(note_type: int) -> str:
    found = NOTE_TYPE_BY_ID.get(note_type)
    return found.kind.value if found else f"note type {note_type}"


def _same_kind(old: int, state: CardState) -> bool:
    """Whether note type ``old`` is the one of the card's kind in another version."""
    note_type = NOTE_TYPE_BY_ID.get(old)
    return note_type is not None and NOTE_TYPE_SETS[note_type.version].get(state.kind) is note_type


def _common_parent(decks: Iterable[str]) -> str:
    """The deepest Anki deck that holds every one of ``decks`` (a deck holds its subdecks)."""
    names = iter(set(decks))
    common = next(names).split("::")
    for name in names:
        parts = name.split("::")
        same = 0
        while same < min(len(common), len(parts)) and common[same] == parts[same]:
            same += 1
        common = common[:same]
    return "::".join(common)


def _new_version(deck: Deck, versions: dict[tuple[int, int], list[str]]) -> Diagnostic:
    """The deck's note_type_version changed: one warning, with a conversion per note type."""
    notes = sum(len(decks) for decks in versions.values())
    old_version = NOTE_TYPE_BY_ID[next(iter(versions))[0]].version
    steps = []
    for (old, new), decks in versions.items():
        top = _common_parent(decks)
        search = f'"note:{_name(old)}"' + (f' "deck:{escape_search(top)}"' if top else "")
        steps.append(f"Browse {search}, select all, Notes > Change Note Type to {_name(new)!r}")
    version = deck.note_type_version
    return Diagnostic(
        deck.location,
        Severity.WARNING,
        f"the deck now uses cardpress's note types version {version} (note_type_version: "
        f"{version}) and Anki has its {notes} notes under version {old_version}: a package "
        f"import skips each as conflicting. In Anki, {'; '.join(steps)} (review history is "
        "kept); then build with --acknowledge, and the next import brings each note's new "
        f"fields. Or let cardpress push convert them; or set note_type_version back to "
        f"{old_version}",
    )


def _new_key(deck: Deck, old: str, lock_file: Path) -> Diagnostic:
    return Diagnostic(
        deck.location,
        Severity.ERROR,
        f"deck key changed from {old!r} to {deck.key!r} (the lock file {lock_file.name} was "
        f"made with {old!r}): every card would be a new note in Anki, beside the old ones, "
        f"the whole deck twice. Put the key back to {old!r}; or, to start a new deck on "
        "purpose, build with --new-key",
    )


def _at(deck: Deck, state: CardState) -> Location:
    return Location(deck.location.path, state.line, state.col)


def _kind_changed(
    state: CardState, where: Location, old: int, search: str, own: Mapping[int, str]
) -> Diagnostic:
    """A card's note type changed (its kind, or a note type of the deck's own, ``own``)."""
    new = state.note_type

    def kind(note_type: int) -> str:
        return f"note type {own[note_type]!r}" if note_type in own else _kind(note_type)

    new_name = own.get(new) or _name(new)
    kept = f"the note of note type {own[old]!r}" if old in own else f"the {_kind(old)} note"
    return Diagnostic(
        where,
        Severity.WARNING,
        f"{_this(state.id)} changed from {kind(old)} to {kind(new)}: a package "
        f"import skips its note as conflicting, and Anki keeps {kept}. In "
        f"Anki, Browse {search}{_among(search, state.id)}, Notes > "
        f"Change Note Type to {new_name!r} (review history is kept), then build with "
        "--acknowledge; or let cardpress push convert it; or give the card a new id (a new "
        "note; the old one keeps its history)",
    )


def move_search(old: str, topics: Iterable[str], *, whole: bool) -> str:
    """An Anki search for the cards to move out of deck ``old`` (not its subdecks): all of
    them (``whole``), or those whose note has the tag of one of ``topics``, which a card
    moved to another topic has once the package is imported."""
    deck = escape_search(old)
    search = f'"deck:{deck}" -"deck:{deck}::*"'
    if whole:
        return search
    tags = [
        f'"tag:topic::{escape_search(topic)}"' if topic else '-"tag:topic::*"' for topic in topics
    ]
    return f"{search} {tags[0]}" if len(tags) == 1 else f"{search} ({' OR '.join(tags)})"


def _moved(
    moved: list[CardState], where: Location, old: str, new: str, *, whole: bool
) -> Diagnostic:
    first = moved[0]
    more = f" (and {len(moved) - 1} more: {_ids(moved[1:])})" if len(moved) > 1 else ""
    search = move_search(old, sorted({state.topic for state in moved}), whole=whole)
    return Diagnostic(
        where,
        Severity.WARNING,
        f"{_this(first.id)}{more} moved from deck {old!r} to {new!r}: a package import leaves "
        f"its cards in {old!r}. Import the package, then in Anki Browse {search}, select all, "
        f"Cards > Change Deck to {new!r}, then build with --acknowledge; or let cardpress "
        f"push move {'them' if len(moved) > 1 else 'it'}",
    )


def _ids(states: list[CardState], most: int = 5) -> str:
    ids = ", ".join(repr(s.id) for s in states[:most])
    return ids + (", ..." if len(states) > most else "")


def _cloze_gone(state: CardState, where: Location, gone: list[int]) -> Diagnostic:
    note_type = NOTE_TYPE_BY_ID.get(state.note_type)
    if note_type is not None and note_type.kind is not Kind.CLOZE:  # 2: the reverse card
        what = f"{_this(state.id)} is no longer reversed: Anki keeps its reverse card, now "
        what += "empty (Tools > Empty Cards deletes it)"
    else:
        numbers = ", ".join(f"c{n}" for n in gone)
        what = f"{_this(state.id)} no longer has {numbers}: Anki keeps the card it made for "
        what += "each, now empty (Tools > Empty Cards deletes them)"
    return Diagnostic(
        where,
        Severity.WARNING,
        f"{what}, then build with --acknowledge; or let cardpress push delete it",
    )


def _among(search: str, card_id: str) -> str:
    """Where a search finds the note among others (note type and deck only: its first field
    is not known), which of them it is."""
    exact = search.count('" "') >= 2 or f'"{CARD_ID}:' in search
    if exact:
        return ""
    if is_generated_id(card_id):
        return " (its note is one of them: a card without an id has no name to tell it by)"
    return f" (its note is the one of card {card_id!r} among them)"


def _this(card_id: str) -> str:
    """A card as a message at its line names it: by its id, or, for a card written without
    one, as "this card" (the id cardpress made for it is no name the user knows)."""
    return "this card" if is_generated_id(card_id) else f"card {card_id!r}"


def _removed(deck: Deck, card_id: str, search: str) -> Diagnostic:
    if is_generated_id(card_id):
        what = (
            "a card without an id was removed from this file, or its first field changed (a "
            "card without an id is known by it: edited, it is a new note)"
        )
    else:
        what = f"card {card_id!r} was removed from this file"
    return Diagnostic(
        deck.location,
        Severity.NOTE,
        f"{what}; Anki keeps its note (an import never "
        f"deletes): Browse {search}{_among(search, card_id)} in Anki and delete it there, then "
        "build with --acknowledge; or cardpress push --prune deletes it",
    )
