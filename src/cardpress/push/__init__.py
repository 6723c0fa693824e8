"""``push``: bring an Anki collection in step with the cards.

A package import cannot move a card, change a note's type or delete anything (DESIGN §7);
push can, because it works on the collection itself. It runs in two steps, the same for
every way into Anki:

1. **The plan** (this module): each deck's notes, as a build makes them (``builder.stage``),
   compared with what the collection holds of them (``InAnki``, found by GUID): which notes
   to add, update, convert to another note type, which cards to move to another deck, which
   cards have become empty (a cloze deletion or a reverse card removed), which notes left
   the card file, which of the deck's own note types changed their fields or templates
   (reshaped in Anki before the import). ``--dry-run`` prints it and stops.
2. **Carrying it out**, by a backend: ``push.collection`` (the ``anki`` library, on a
   collection Anki desktop does not have open).

Push only touches notes of ours (their GUIDs are the deck's), and keeps the tags it did not
write (Anki's ``leech`` and ``marked``, the user's own). A note edited in Anki since its card
last changed keeps Anki's text, as an import does ("kept").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cardpress.changes import changed_schemas
from cardpress.lock import Lock, lock_path, read_lock
from cardpress.model import Deck, OwnNoteType
from cardpress.notes import NOTE_TYPE_BY_ID, Note, Notes, make_notes
from cardpress.render import sanitise

REMOVED_TAG = "cardpress::removed"


@dataclass(frozen=True)
class InAnki:
    """What a collection holds of one note of ours."""

    note_id: int
    note_type: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mtime: int  # the note's modification time, in seconds
    cards: tuple[tuple[int, int, str], ...]  # (card id, ordinal, deck name) of each card


@dataclass
class DeckPlan:
    """What push does to the notes of one deck."""

    deck: Deck
    notes: Notes  # stamped: as the build publishes them
    lock: Lock  # as the build writes it
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited in Anki since: Anki's text stays
    converted: list[tuple[str, int, int]] = field(default_factory=list)  # id, from, to
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # id, from deck(s), to
    emptied: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)  # id, ordinals
    removed: list[str] = field(default_factory=list)  # ids of notes that left the file
    # The deck's own note types whose fields or templates changed since Anki got them: push
    # makes the change in Anki (as Tools > Manage Note Types would) before the import.
    reshaped: list[OwnNoteType] = field(default_factory=list)
    unchanged: int = 0
    # What this way into Anki cannot do: the card ids, and a line each with the way out.
    waiting: dict[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        """Whether carrying out the plan changes the collection."""
        return any(
            (self.added, self.updated, self.converted, self.moved, self.emptied, self.removed,
             self.reshaped)
        )  # fmt: skip

    def lines(self, *, prune: bool) -> list[str]:
        """One line per change, as ``push`` prints it (a change that waits, once)."""
        converted = [c for c in self.converted if c[0] not in self.waiting]
        emptied = [e for e in self.emptied if e[0] not in self.waiting]
        lines = [
            f"  reshape  note type {own.name!r}: fields {', '.join(own.fields)}; templates "
            f"{', '.join(t.name for t in own.templates)} (its notes and their history kept)"
            for own in self.reshaped
        ]
        lines += [f"  add      {card_id}" for card_id in self.added]
        lines += [f"  update   {card_id}" for card_id in self.updated]
        lines += [
            f"  keep     {card_id}: edited in Anki since the card last changed; Anki's text stays"
            for card_id in self.kept
        ]
        lines += [
            f"  convert  {card_id}: {self._type_name(old)} -> {self._type_name(new)} "
            "(review history kept)"
            for card_id, old, new in converted
        ]
        lines += [f"  move     {card_id}: {old} -> {new}" for card_id, old, new in self.moved]
        lines += [
            f"  empty    {card_id}: delete its card{'s' if len(ords) > 1 else ''} "
            + ", ".join(str(o + 1) for o in ords)
            + " (no longer in the card)"
            for card_id, ords in emptied
        ]
        action = "delete its note" if prune else f"tag its note {REMOVED_TAG}"
        lines += [f"  remove   {card_id}: {action}" for card_id in self.removed]
        lines += [f"  wait     {card_id}: {why}" for card_id, why in self.waiting.items()]
        return lines

    def _type_name(self, note_type: int) -> str:
        """A note type's name: cardpress's, or the deck's own (an imported deck's Basic)."""
        found = NOTE_TYPE_BY_ID.get(note_type)
        if found is not None:
            return found.name
        own = next((t.name for t in self.deck.note_types if t.id == note_type), None)
        return repr(own) if own is not None else f"note type {note_type}"

    def summary(self, *, prune: bool) -> str:
        """The counts, in one line."""
        removed = "deleted" if prune else f"tagged {REMOVED_TAG}"
        counts = [
            (
                len(self.reshaped),
                "note types reshaped" if len(self.reshaped) > 1 else "note type reshaped",
            ),
            (len(self.added), "added"),
            (len(self.updated), "updated"),
            (sum(c[0] not in self.waiting for c in self.converted), "converted"),
            (len(self.moved), "moved"),
            (sum(e[0] not in self.waiting for e in self.emptied), "with empty cards deleted"),
            (len(self.removed), f"removed ({removed})"),
            (len(self.kept), "kept as edited in Anki"),
            (len(self.waiting), "waiting"),
            (self.unchanged, "unchanged"),
        ]
        said = [f"{n} {what}" for n, what in counts if n or what == "unchanged"]
        return ", ".join(said)


def as_built(deck: Deck) -> tuple[Path, Lock, Notes]:
    """The lock file a build just wrote for ``deck``, the lock, and the deck's notes stamped
    with it: what the package the build wrote holds, which push carries into Anki."""
    lock_file = lock_path(deck)
    lock = read_lock(lock_file)
    assert lock is not None, "the build wrote it"
    stamped = make_notes(deck).stamped(
        (lock.entries[c.id].mtime for c in deck.cards),
        {type_id: entry.mtime for type_id, entry in lock.note_types.items()},
    )
    return lock_file, lock, stamped


def guid_of(notes: Notes, lock: Lock) -> Callable[[str], str]:
    """The GUID of a card of the deck, by its id: a card's as the deck has it now (its own,
    or the one made of the deck key and its id), else the one the lock remembers (a removed
    card's)."""
    current = dict(zip((card.id for card in notes.deck.cards), notes.guids, strict=True))

    def of(card_id: str) -> str:
        found = current.get(card_id)
        return found if found is not None else lock.guid_of(card_id)

    return of


def guids_of(notes: Notes, lock: Lock) -> dict[str, str]:
    """Per GUID, the card id of every note of ours a collection may hold: the deck's cards,
    and the cards the lock remembers (removed ones too)."""
    found = dict(zip(notes.guids, (card.id for card in notes.deck.cards), strict=True))
    of = guid_of(notes, lock)
    for card_id in (*lock.entries, *lock.removed):
        found.setdefault(of(card_id), card_id)
    return found


def make_plan(
    notes: Notes, lock: Lock, in_anki: Mapping[str, InAnki], *, prune: bool = False
) -> DeckPlan:
    """The plan for one deck: its ``notes`` (stamped) against what the collection holds of
    them (``in_anki``, by GUID). The notes of removed cards are to be tagged (once), or with
    ``prune`` deleted."""
    plan = DeckPlan(notes.deck, notes, lock, reshaped=changed_schemas(notes.deck, lock))
    current: set[str] = set()
    for note in notes:
        card_id = note.card.id
        current.add(card_id)
        have = in_anki.get(note.guid)
        if have is None:
            plan.added.append(card_id)
            continue
        changed = _plan_note(plan, note, have)
        if not changed:
            plan.unchanged += 1
    of, kept = guid_of(notes, lock), set(notes.guids)
    for card_id in sorted({*lock.entries, *lock.removed} - current):
        if of(card_id) in kept:  # renamed, with its own GUID: the note is a current card's
            continue
        have = in_anki.get(of(card_id))
        if have is not None and (prune or not _has_tags(have.tags, [REMOVED_TAG])):
            plan.removed.append(card_id)
    return plan


def _plan_note(plan: DeckPlan, note: Note, have: InAnki) -> bool:
    """Add what push does to one note that the collection holds; whether it does anything."""
    card_id = note.card.id
    changed = False
    if have.note_type != note.note_type.id:
        plan.converted.append((card_id, have.note_type, note.note_type.id))
        changed = True
    elif not same_fields(have.fields, note.fields) or not _has_tags(have.tags, note.tags):
        # An import updates a note only where the package's is newer (DESIGN §2).
        if note_mtime(plan.notes, note) > have.mtime:
            plan.updated.append(card_id)
            changed = True
        else:
            plan.kept.append(card_id)
            changed = True  # counted as kept, not as unchanged
    elsewhere = sorted({deck for _, _, deck in have.cards if deck != note.deck})
    if elsewhere:
        plan.moved.append((card_id, ", ".join(elsewhere), note.deck))
        changed = True
    # (A reshaped note type's cards are renumbered by the reshape: Anki's own empty-cards
    # check, after the import, is what deletes them; the plan does not guess.)
    if have.note_type == note.note_type.id and all(
        own.id != have.note_type for own in plan.reshaped
    ):
        wanted = set(note.note_type.card_ords(note.fields))
        empty = tuple(sorted({ord_ for _, ord_, _ in have.cards} - wanted))
        if empty and wanted:
            plan.emptied.append((card_id, empty))
            changed = True
    return changed


def same_fields(have: Sequence[str], ours: Sequence[str]) -> bool:
    """Whether Anki's fields are ours: equal, or equal once cardpress's sanitiser writes
    Anki's HTML its own way (a note imported from Anki keeps ``<table><tr>`` where the build
    writes ``<table><tbody><tr>``: the same field, not an edit made in Anki)."""
    if len(have) != len(ours):
        return False
    return all(
        theirs == mine or sanitise(theirs, _same_src) == mine
        for theirs, mine in zip(have, ours, strict=True)
    )


def _same_src(src: str) -> str:
    return src


def note_mtime(notes: Notes, note: Note) -> int:
    """The modification time a stamped note is published with."""
    return notes.mtimes[note.position - 1]


def _has_tags(have: Sequence[str], ours: Sequence[str]) -> bool:
    """Whether a note's tags include ours (Anki compares tags ignoring case)."""
    folded = {tag.casefold() for tag in have}
    return all(tag.casefold() in folded for tag in ours)


def merged_tags(have: Sequence[str], ours: Sequence[str], written: Sequence[str]) -> list[str]:
    """A note's tags once push writes ``ours``: ours, then those of ``have`` that push did not
    write before (``written``, the tags of the note push or a package last gave it)."""
    before = {tag.casefold() for tag in written} | {tag.casefold() for tag in ours}
    kept = [tag for tag in have if tag.casefold() not in before]
    return [*ours, *kept]


__all__ = [
    "REMOVED_TAG", "DeckPlan", "InAnki", "as_built", "guids_of", "make_plan", "merged_tags",
]  # fmt: skip
