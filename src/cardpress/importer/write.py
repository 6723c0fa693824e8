"""Card files from an Anki package read into memory: what ``cardpress import`` writes.

The aim is that the next ``cardpress build`` gives Anki the *same notes*: each card keeps its
note's GUID (Anki knows a note by it), its note type is written exactly as the package defines
it (ids, field and template ids and names, templates and CSS byte for byte: Anki takes a
package's note type for its own only when the schema matches), its fields as text that renders
back to the same HTML (:func:`cardpress.importer.fields.field_text`), its tags as Anki has
them, and its deck as the topic of a card file.

- One card file per top-level deck, ``<deck key>.yaml``; its subdecks are topics whose title is
  the deck path below the top deck (``Top::A::B`` is the topic ``A::B``: deeper subdecks stay
  where they are). A card in the top deck itself has no topic.
- A note is one card, in the deck of its first card (lowest ordinal). Anki keeps every card
  where it is when it imports (an import never moves cards), so a note whose cards are in
  several decks is reported, not split.
- The media a deck's notes show (``<img src>``, ``[sound:…]``) go to ``<deck key>.media/``
  beside the card file, under their Anki names, and the fields name them by that path:
  ``keep_media_names: true`` tells the build to give them to Anki under those names again.
- A note of one of cardpress's own note types (a package cardpress built) is a card of its
  kind, as the card file it was built from had it: ``kind``, ``front``/``back``/``text``,
  ``extra``, ``source``, the deck's ``note_type_version``, its deck key and card id from a
  version 2 note's Card ID, its topic from its subdeck and ``topic::KEY`` tag (see
  :class:`_Own`). The loader refuses cardpress's ids under ``note_types:``, and rightly: the
  build makes these notes from cards of its kinds.
- What does not come back exactly is reported where the card file says it: a field whose text
  does not render back to the field (markup the sanitiser removes, media the package lacks),
  a template that runs scripts (kept as Anki has it: :func:`cardpress.templates.scripts_in`
  finds them), a note in several decks.

:func:`plan` decides everything and writes nothing (the YAML text is part of the plan, so
what is reported can name its line); :func:`write` puts the files in place, all or none.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote, unquote

import yaml

from cardpress import commit
from cardpress.errors import Diagnostic, ExportError, Severity
from cardpress.format import FORMAT_VERSION, GUID, ID, MAX_NAME_CHARS, SOUND
from cardpress.importer.errors import ImportFileError
from cardpress.importer.fields import FieldText, field_text, yaml_scalar
from cardpress.importer.model import (
    ImportedCollection,
    ImportedDeck,
    ImportedNote,
    ImportedNoteType,
    NoteTypeKind,
    SourceFormat,
)
from cardpress.importer.names import card_ids, deck_key, keys
from cardpress.model import Kind, Location
from cardpress.notes import ADD_REVERSE, CARD_ID, NOTE_TYPE_BY_ID, card_id_field, guid
from cardpress.templates import scripts_in

__all__ = ["ImportPlan", "PlannedCard", "PlannedDeck", "plan", "write"]


@dataclass(frozen=True, slots=True)
class PlannedCard:
    """One note as a card of a card file, with what the lock needs of it: the note's GUID and
    Anki's own modification time (the lock records it, so that the first build finds the note
    unchanged and the package does not update it)."""

    id: str
    guid: str
    mtime: int
    note_id: int
    note_type_id: int
    line: int  # where its ``- id:`` is in the card file


@dataclass(frozen=True, slots=True)
class PlannedDeck:
    """One card file: a top-level Anki deck, its text, its cards and the media beside it."""

    key: str
    name: str  # the top deck's name in Anki
    text: str  # the card file, YAML
    cards: tuple[PlannedCard, ...]
    media: Mapping[str, bytes]  # Anki name -> content, written to ``media_folder``
    note_type_ids: tuple[int, ...]  # the note types it defines, in its order

    @property
    def file_name(self) -> str:
        return f"{self.key}.yaml"

    @property
    def media_folder(self) -> str:
        return f"{self.key}.media"

    def card(self, card_id: str) -> PlannedCard:
        for card in self.cards:
            if card.id == card_id:
                return card
        raise KeyError(card_id)


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Everything an import writes, and what it reports.

    ``diagnostics`` name a card file by its file name (relative to the folder it is written
    to: :meth:`located` puts them there) and a problem of the package as a whole by the
    package's path. ``note_type_mtimes`` are Anki's modification times of the note types the
    card files define, by id.
    """

    source: Path
    decks: tuple[PlannedDeck, ...]
    note_type_mtimes: Mapping[int, int]
    diagnostics: tuple[Diagnostic, ...]

    def located(self, out: Path) -> tuple[Diagnostic, ...]:
        """The diagnostics with each card file's path under the folder ``out``."""
        files = {deck.file_name for deck in self.decks}
        return tuple(
            dataclasses.replace(
                d, location=dataclasses.replace(d.location, path=str(Path(out) / d.location.path))
            )
            if d.location.path in files
            else d
            for d in self.diagnostics
        )


# -- planning ------------------------------------------------------------------------------


def plan(collection: ImportedCollection) -> ImportPlan:
    """The card files of ``collection``'s notes, one per top-level deck (see the module's
    docstring). Raises ImportFileError for a collection that cannot be written as card files
    that give Anki the same notes: one without notes, with two notes of one GUID, a text
    export (no note types), a top-level deck no file name can be made of."""
    source = collection.source
    if collection.format is SourceFormat.TEXT:
        raise ImportFileError(
            source,
            "cardpress import reads Anki packages (.apkg, .colpkg); text exports: not yet",
        )
    if not collection.notes:
        raise ImportFileError(source, "the file holds no notes")
    _check_guids(collection)
    note_types = {note_type.id: note_type for note_type in collection.note_types}
    collection, diagnostics = without_anki_state_tags(collection)
    by_top: dict[str, list[tuple[ImportedNote, str]]] = {}
    for note in collection.notes:
        if note.note_type_id not in note_types:
            raise ImportFileError(
                source,
                f"note {note.guid!r} is of note type {note.note_type_id}, which the file does "
                "not hold",
            )
        if not note.cards:
            diagnostics.append(
                Diagnostic(
                    Location(str(source)),
                    Severity.WARNING,
                    f"note {note.guid!r} ({_excerpt(note.fields[0] if note.fields else '')}) "
                    "has no cards, so no deck: it is left out (Anki's Check Database would "
                    "delete it)",
                )
            )
            continue
        home = min(note.cards, key=lambda card: (card.ord, card.id)).deck
        by_top.setdefault(home.split("::")[0], []).append((note, home))
    deck_keys = _deck_keys(
        source, by_top, {top: _own_key(entries, note_types) for top, entries in by_top.items()}
    )
    decks_by_name = {deck.name: deck for deck in collection.decks}
    planned: list[PlannedDeck] = []
    for top in sorted(by_top, key=lambda name: deck_keys[name]):
        deck, found = _plan_deck(
            collection, deck_keys[top], top, by_top[top], note_types, decks_by_name
        )
        planned.append(deck)
        diagnostics += found
    diagnostics += _unused_media(collection, planned)
    used_types = dict.fromkeys(i for deck in planned for i in deck.note_type_ids)
    return ImportPlan(
        source=source,
        decks=tuple(planned),
        note_type_mtimes=MappingProxyType({i: note_types[i].mtime for i in used_types}),
        diagnostics=tuple(diagnostics),
    )


# Tags Anki sets itself, for a note's study state (rslib's export without scheduling leaves
# them out for that reason: import_export/gather.rs SYSTEM_TAGS).
ANKI_STATE_TAGS = frozenset({"leech", "marked"})


def without_anki_state_tags(
    collection: ImportedCollection,
) -> tuple[ImportedCollection, list[Diagnostic]]:
    """``collection`` without Anki's own tags ``leech`` and ``marked`` on its notes, and a
    note saying how many notes had them. They are Anki's record of how a card is studied,
    not the card's content: written into a card file they would come back whenever the card
    is pushed, after the user unmarked the note or reset the leech in Anki."""
    notes = []
    had = 0
    for note in collection.notes:
        kept = tuple(tag for tag in note.tags if tag.casefold() not in ANKI_STATE_TAGS)
        if len(kept) != len(note.tags):
            had += 1
            note = dataclasses.replace(note, tags=kept)
        notes.append(note)
    if not had:
        return collection, []
    said = Diagnostic(
        Location(str(collection.source)),
        Severity.NOTE,
        f"{had} note{'s carry' if had > 1 else ' carries'} Anki's own tag 'leech' or "
        "'marked': the card files leave them out, as they say how a card is studied, not what "
        "it is (Anki keeps them; cardpress push keeps them too)",
    )
    return dataclasses.replace(collection, notes=tuple(notes)), [said]


def _check_guids(collection: ImportedCollection) -> None:
    """Anki knows a note by its GUID: a note without one, or two notes with one, cannot come
    back as the notes they are (read_package checks this too; a collection may be made
    otherwise)."""
    seen: set[str] = set()
    for note in collection.notes:
        if not note.guid:
            raise ImportFileError(collection.source, f"note {note.id} has no GUID")
        if note.guid in seen:
            raise ImportFileError(
                collection.source,
                f"GUID {note.guid!r} is shared by two or more notes (Anki would import each of "
                "them as a separate note)",
            )
        seen.add(note.guid)


# Names Windows keeps for devices, with any suffix: "con.yaml" cannot be a file there.
_DEVICE_NAMES = re.compile(r"(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?", re.IGNORECASE)


def _deck_keys(
    source: Path, names: Iterable[str], wanted: Mapping[str, str | None]
) -> dict[str, str]:
    """The key (and file name) of each top-level deck: :func:`names.deck_key`, told apart by
    :func:`names.keys` where two decks would share one (``Français`` and ``Francais`` are two
    decks to Anki and one key; keys are compared without regard to case, as file systems that
    ignore case compare file names).

    A deck of cardpress's notes takes the key its notes' Card IDs name (``wanted``), where no
    other deck has it and it can name a file: every card then keeps its GUID without a
    ``guid:`` and its Card ID as it is."""
    names = sorted(names)
    made = keys(names, prefix="deck")
    taken: set[str] = set()
    chosen: dict[str, str] = {}
    for name in names:
        key = wanted.get(name)
        if key and key.casefold() not in taken and not _DEVICE_NAMES.fullmatch(key):
            chosen[name] = key
            taken.add(key.casefold())
    for name in names:
        if name in chosen:
            made[name] = chosen[name]
            continue
        try:
            alone = deck_key(name)
        except ValueError as exc:
            raise ImportFileError(source, f"deck {name!r}: no card file name: {exc}") from None
        key = made[name] if alone.casefold() != made[name].casefold() else alone
        if key.casefold() in taken:  # a key a deck of cardpress's notes took
            key = next(
                f"{key}-{n}" for n in itertools.count(2) if f"{key}-{n}".casefold() not in taken
            )
        taken.add(key.casefold())
        why = ""
        if not ID.fullmatch(key) or len(key) > MAX_NAME_CHARS:
            why = "it is no key of the card format"
        elif _DEVICE_NAMES.fullmatch(key):
            why = "Windows keeps the name for a device"
        if why:
            raise ImportFileError(
                source,
                f"deck {name!r}: its key {key!r} cannot name a card file ({why}); rename the "
                "deck in Anki and export it again",
            )
        made[name] = key
    return made


def _plan_deck(
    collection: ImportedCollection,
    key: str,
    name: str,
    entries: Sequence[tuple[ImportedNote, str]],
    note_types: Mapping[int, ImportedNoteType],
    decks_by_name: Mapping[str, ImportedDeck],
) -> tuple[PlannedDeck, list[Diagnostic]]:
    """One card file: the top deck ``name`` and the notes whose home deck is it or below it.
    Notes of cardpress's own note types become cards of their kinds (:class:`_Own`); the others
    cards of their note type, which the file defines."""
    file_name = f"{key}.yaml"
    notes = [note for note, _ in entries]
    own = _Own(collection.source, key, name, entries, note_types)
    ids = own.ids
    topic_keys = own.topic_keys
    used = dict.fromkeys(
        note.note_type_id
        for note in notes
        if note.note_type_id is not None and note.note_type_id not in NOTE_TYPE_BY_ID
    )
    types = [nt for nt in collection.note_types if nt.id in used]
    out = _Lines()
    diagnostics: list[Diagnostic] = list(own.diagnostics)

    def report(line: int, col: int, severity: Severity, message: str) -> None:
        diagnostics.append(Diagnostic(Location(file_name, line, col), severity, message))

    # The fields first: whether the deck shows media decides a line above the cards.
    media: dict[str, bytes] = {}
    texts_of: list[list[tuple[str, FieldText, str]]] = []
    for note in notes:
        note_type = note_types[note.note_type_id or 0]
        texts: list[tuple[str, FieldText, str]] = []
        for field_name, value in zip(note_type.field_names, note.fields, strict=False):
            if note.note_type_id in NOTE_TYPE_BY_ID and field_name not in _OWN_FIELDS:
                continue  # Topic, Add Reverse, Card ID: the card file says them otherwise
            names = _media_names(value, collection.media)
            paths = {n: f"{key}.media/{n}" for n in names if _safe_media_name(n)}
            text = field_text(value, paths)
            for used_name in _media_names(text.html, paths):
                media[used_name] = collection.media[used_name]
            texts.append((field_name, text, value))
        texts_of.append(texts)

    out.add(
        f"# Imported from {_comment_safe(collection.source.name)} by cardpress import: each card "
        "keeps its note's GUID and note type,"
    )
    out.add("# so Anki updates these notes in place.")
    out.add(f"format: {FORMAT_VERSION}")
    out.add(f"key: {key}")
    line = out.add(f"name: {yaml_scalar(name)}")
    top = decks_by_name.get(name)
    if len(name) > MAX_NAME_CHARS:
        report(line, 1, Severity.WARNING, f"deck name is {len(name)} characters; card files "
               f"take at most {MAX_NAME_CHARS}: rename the deck in Anki")  # fmt: skip
    if top is not None and top.description:
        said, source = _deck_source(top.description)
        description = field_text(said)
        line = 1
        if description.text:
            line = out.add(f"description: {yaml_scalar(description.text)}")
        change = _field_change(description, said)
        if change is not None:
            report(line, 1, change[0], f"deck description: {change[1]}")
        if source:
            out.add(f"source: {yaml_scalar(source)}")
    if own.version:
        out.add(f"note_type_version: {own.version}")
    if own.others or not own.subdecks:
        out.add(f"subdecks: {'true' if own.subdecks else 'false'}")
    if not own.topic_tags:
        out.add("topic_tags: false")
    if own.others or media:
        out.add("keep_media_names: true")
    topic_lines: dict[str, int] = {}
    if own.titles:
        out.add("topics:")
        for title in own.titles:
            topic_lines[title] = out.add(f"  {topic_keys[title]}: {yaml_scalar(title, 4)}")
    for sub in collection.decks:
        if sub.name.startswith(f"{name}::") and sub.description:
            title = sub.name.split("::", 1)[1]
            report(
                topic_lines.get(title, 1),
                3 if title in topic_lines else 0,
                Severity.NOTE,
                f"the description of deck {sub.name!r} is not kept: a card file describes its "
                "top deck only (Anki keeps the description it has)",
            )
    if types:
        out.add("note_types:")
        defined: dict[str, int] = {}
        for note_type in types:
            diagnostics += _write_note_type(out, note_type, file_name, defined)

    cards: list[PlannedCard] = []
    out.add("cards:")
    for (note, home), card_id, texts in zip(entries, ids, texts_of, strict=True):
        note_type = note_types[note.note_type_id or 0]
        card_line = out.add(f"  - id: {card_id}")
        if note.note_type_id in NOTE_TYPE_BY_ID:
            diagnostics += own.write_card(out, note, card_id, card_line, texts, file_name)
        else:
            _write_note(out, note, note_type, card_id, home, name, topic_keys, texts, report)
        if len(note.decks) > 1:
            listed = ", ".join(repr(deck) for deck in note.decks)
            report(
                card_line, 5, Severity.WARNING,
                f"card {card_id!r}: the note's cards are in {len(note.decks)} decks ({listed}); "
                f"the card file has it in {home!r}, its first card's. Importing the package "
                "leaves each card where it is (an import never moves cards); a build for "
                f"another collection puts them all in {home!r}",
            )  # fmt: skip
        if len(note.fields) != len(note_type.fields):
            report(
                card_line, 5, Severity.WARNING,
                f"card {card_id!r}: the note has {len(note.fields)} fields, its note type "
                f"{note_type.name!r} {len(note_type.fields)}: the card file has the note type's",
            )  # fmt: skip
        cards.append(
            PlannedCard(card_id, note.guid, note.mtime, note.id, note.note_type_id or 0, card_line)
        )
    deck = PlannedDeck(
        key=key,
        name=name,
        text=out.text(),
        cards=tuple(cards),
        media=MappingProxyType(dict(sorted(media.items()))),
        note_type_ids=tuple(nt.id for nt in types),
    )
    return deck, diagnostics


def _write_note(
    out: _Lines,
    note: ImportedNote,
    note_type: ImportedNoteType,
    card_id: str,
    home: str,
    name: str,
    topic_keys: Mapping[str, str],
    texts: Sequence[tuple[str, FieldText, str]],
    report: Callable[[int, int, Severity, str], None],
) -> None:
    """A note of a note type the card file defines (its ``- id:`` line written): its GUID,
    note type, topic (its subdeck), tags as Anki has them, and each field by name."""
    card_line = out.next_line - 1
    guid_line = out.add(f"    guid: {yaml_scalar(note.guid, 6)}")
    if not GUID.fullmatch(note.guid):
        report(
            guid_line, 5, Severity.WARNING,
            f"card {card_id!r}: its GUID {note.guid!r} is not one card files take (1 to 64 "
            "printable ASCII characters, no spaces): the build will refuse it",
        )  # fmt: skip
    out.add(f"    note_type: {yaml_scalar(note_type.name, 6)}")
    if home != name:
        out.add(f"    topic: {topic_keys[home.split('::', 1)[1]]}")
    if note.tags:
        out.add(f"    tags: [{', '.join(_flow(tag) for tag in dict.fromkeys(note.tags))}]")
    if any(text.text for _, text, _ in texts):
        out.add("    fields:")
    for field_name, text, value in texts:
        line = card_line
        if text.text:
            line = _add_entry(out, 6, _flow(field_name), _scalar(text.text, 8))
        change = _field_change(text, value)
        if change is not None:
            report(
                line,
                7 if text.text else 5,
                change[0],
                f"card {card_id!r}, field {field_name!r}: {change[1]}",
            )


# -- cardpress's own notes -------------------------------------------------------------------

# The fields of cardpress's note types a card file writes, by the card key that holds each.
# Topic (the topic's title), Add Reverse (the kind) and Card ID (the deck key and card id)
# are made by the build from what the card file says otherwise.
_OWN_KEYS = {"Front": "front", "Text": "text", "Back": "back", "Extra": "extra", "Source": "source"}
_OWN_FIELDS = frozenset(_OWN_KEYS)
_REQUIRED = {"front", "back", "text"}
_TOPIC_TAG = "topic::"
# What a build writes under a deck's description for its source (export/apkg.py).
_DECK_SOURCE = re.compile(r'(?:\A|\n)<p class="cp-source">Source: ([^<]*)</p>\Z')


def _deck_source(description: str) -> tuple[str, str]:
    """A deck's description in Anki, as its own description and the deck's ``source``, where
    it ends as a cardpress build writes a deck's source under its description (a paragraph of
    the class ``cp-source``, which is cardpress's)."""
    found = _DECK_SOURCE.search(description)
    if found is None:
        return description, ""
    source = html.unescape(found.group(1))
    if html.escape(source) != found.group(1) or not source.strip():
        return description, ""
    return description[: found.start()], source


def _value(note: ImportedNote, names: Sequence[str], field_name: str) -> str:
    """The note's field of that name ("" where the note or its note type has none)."""
    if field_name in names:
        index = names.index(field_name)
        if index < len(note.fields):
            return note.fields[index]
    return ""


def _is_key(text: str) -> bool:
    return bool(ID.fullmatch(text)) and len(text) <= MAX_NAME_CHARS


def _card_id_of(note: ImportedNote, names: Sequence[str]) -> tuple[str, str] | None:
    """The deck key and card id a version 2 note's Card ID names, where it names them."""
    deck, slash, card = _value(note, names, CARD_ID).partition("/")
    return (deck, card) if slash and _is_key(deck) and _is_key(card) else None


def _own_key(
    entries: Sequence[tuple[ImportedNote, str]], note_types: Mapping[int, ImportedNoteType]
) -> str | None:
    """The deck key the Card IDs of a deck's notes of cardpress's name, if they agree."""
    found = {
        named[0]
        for note, _ in entries
        if note.note_type_id in NOTE_TYPE_BY_ID
        and (named := _card_id_of(note, note_types[note.note_type_id].field_names)) is not None
    }
    return found.pop() if len(found) == 1 else None


def _topic_tag(note: ImportedNote) -> str:
    """The key of the note's topic tag (the last ``topic::KEY``: a build puts it after the
    deck's and the card's tags); "" without one."""
    for tag in reversed(note.tags):
        if tag.startswith(_TOPIC_TAG) and _is_key(tag[len(_TOPIC_TAG) :]):
            return tag[len(_TOPIC_TAG) :]
    return ""


class _Own:
    """What a card file says of a deck's notes of cardpress's note types, decided for the deck
    as a whole: ``note_type_version``, the topics (keys, titles, subdecks), whether topics make
    the tags (``topic_tags``) and every card's id.

    A build makes such a note from its card: its note type from the kind and the version, its
    Topic field from its topic's title, its tag ``topic::KEY`` from its topic, Add Reverse from
    the kind and Card ID from the deck key and card id; each of these is read back from the
    note so that the build makes them again, and said where it cannot."""

    def __init__(
        self,
        source: Path,
        key: str,
        name: str,
        entries: Sequence[tuple[ImportedNote, str]],
        note_types: Mapping[int, ImportedNoteType],
    ) -> None:
        self.key = key
        self.name = name
        self.diagnostics: list[Diagnostic] = []
        self.names = {
            note.guid: note_types[note.note_type_id or 0].field_names for note, _ in entries
        }
        ours = [(note, home) for note, home in entries if note.note_type_id in NOTE_TYPE_BY_ID]
        self.others = len(ours) < len(entries)
        versions = sorted({NOTE_TYPE_BY_ID[note.note_type_id or 0].version for note, _ in ours})
        if len(versions) > 1:
            raise ImportFileError(
                source,
                f"deck {name!r} holds notes of cardpress's note types version 1 and version 2; "
                "a card file has one version (note_type_version): convert the notes of one "
                "version in Anki (Notes > Change Note Type) and export the deck again",
            )
        self.version = versions[0] if versions else 0
        self.ids = self._ids([note for note, _ in entries])
        self._topics(name, entries, ours)

    def _ids(self, notes: Sequence[ImportedNote]) -> tuple[str, ...]:
        """Each note's card id: the one its Card ID names, where no older note took it; else
        one made from its first field (:func:`names.card_ids`)."""
        kept: dict[str, str] = {}
        taken: set[str] = set()
        for note in sorted(notes, key=lambda n: (n.id, n.guid)):
            if note.note_type_id not in NOTE_TYPE_BY_ID:
                continue
            named = _card_id_of(note, self.names[note.guid])
            if named is not None and named[1].casefold() not in taken:
                kept[note.guid] = named[1]
                taken.add(named[1].casefold())
        return card_ids(notes, kept)

    def _topics(
        self,
        name: str,
        entries: Sequence[tuple[ImportedNote, str]],
        ours: Sequence[tuple[ImportedNote, str]],
    ) -> None:
        """The topics: each subdeck one, titled by its path below the top deck; or, where no
        note is in a subdeck and cardpress's notes name topics (a deck of ``subdecks: false``),
        the titles their Topic fields hold."""
        in_subdeck = any(home != name for _, home in entries)
        carry = {note.guid for note, _ in ours if _value(note, self.names[note.guid], "Topic")}
        self.subdecks = in_subdeck or not carry
        title_of: dict[str, str] = {}
        for note, home in entries:
            if home != name:
                title_of[note.guid] = home.split("::", 1)[1]
            elif not self.subdecks and note.guid in carry:
                field = _value(note, self.names[note.guid], "Topic")
                title_of[note.guid] = html.unescape(field)
        self.titles = sorted(set(title_of.values()))
        # A title's key is the topic tag its notes of cardpress's share, else one made from it.
        tagged: dict[str, set[str]] = {}
        for note, _ in ours:
            if note.guid in title_of:
                tagged.setdefault(title_of[note.guid], set()).add(_topic_tag(note))
        self.topic_keys: dict[str, str] = {}
        claimed: set[str] = set()
        for title in self.titles:
            (tag, *more) = tagged.get(title, {""})
            if tag and not more and tag.casefold() not in claimed:
                self.topic_keys[title] = tag
                claimed.add(tag.casefold())
        made = keys(t for t in self.titles if t not in self.topic_keys)
        for title, made_key in sorted(made.items()):
            topic_key = made_key
            n = 2
            while topic_key.casefold() in claimed:
                topic_key, n = f"{made_key}-{n}", n + 1
            self.topic_keys[title] = topic_key
            claimed.add(topic_key.casefold())
        # A card of cardpress's in a deck of topics needs one: a note in the top deck itself
        # gets its tag's topic, or the first (said where it is written).
        self.homeless: set[str] = set()
        if self.titles:
            by_key = {topic_key: title for title, topic_key in self.topic_keys.items()}
            for note, _ in ours:
                if note.guid not in title_of:
                    title_of[note.guid] = by_key.get(_topic_tag(note), self.titles[0])
                    self.homeless.add(note.guid)
        self.title_of = title_of
        self.topic_tags = not self.others and all(
            _topic_tag(note) == self.topic_keys[title_of[note.guid]]
            for note, _ in ours
            if note.guid in title_of
        )

    def write_card(
        self,
        out: _Lines,
        note: ImportedNote,
        card_id: str,
        card_line: int,
        texts: Sequence[tuple[str, FieldText, str]],
        file_name: str,
    ) -> list[Diagnostic]:
        """A note of cardpress's as a card of its kind (its ``- id:`` line written)."""
        found: list[Diagnostic] = []

        def report(line: int, col: int, severity: Severity, message: str) -> None:
            found.append(Diagnostic(Location(file_name, line, col), severity, message))

        own = NOTE_TYPE_BY_ID[note.note_type_id or 0]
        names = self.names[note.guid]
        kind = own.kind
        add_reverse = _value(note, names, ADD_REVERSE)
        if own.reverse_field is not None and add_reverse.strip():
            kind = Kind.REVERSED
        if note.guid != guid(self.key, card_id):
            line = out.add(f"    guid: {yaml_scalar(note.guid, 6)}")
            if not GUID.fullmatch(note.guid):
                report(
                    line, 5, Severity.WARNING,
                    f"card {card_id!r}: its GUID {note.guid!r} is not one card files take (1 "
                    "to 64 printable ASCII characters, no spaces): the build will refuse it",
                )  # fmt: skip
        if kind is not Kind.BASIC:
            out.add(f"    kind: {kind.value}")
        title = self.title_of.get(note.guid, "")
        topic_key = self.topic_keys[title] if title else ""
        if topic_key:
            line = out.add(f"    topic: {topic_key}")
            if note.guid in self.homeless:
                deck = self.name
                report(
                    line, 5, Severity.WARNING,
                    f"card {card_id!r}: the note is in the deck {deck!r} itself, but in a deck "
                    "with topics every card of cardpress's kinds has one: the card file gives "
                    f"it the topic {topic_key!r}. Importing the package leaves the card where "
                    f"it is (an import never moves cards); a build for another collection puts "
                    f"it in {deck + '::' + title!r}",
                )  # fmt: skip
        for field_name, text, value in texts:
            card_key = _OWN_KEYS[field_name]
            line = card_line
            if text.text or card_key in _REQUIRED:
                line = out.add(f"    {card_key}: {_scalar(text.text, 6)}")
                if not text.text:
                    report(
                        line, 5, Severity.WARNING,
                        f"card {card_id!r}: its {field_name} is empty, and a card of kind "
                        f"{kind.value} needs one: the build refuses the card until it has text",
                    )  # fmt: skip
            change = _field_change(text, value)
            if change is not None:
                report(line, 5, change[0], f"card {card_id!r}, field {field_name!r}: {change[1]}")
        tags = list(dict.fromkeys(note.tags))
        topic_tag = _TOPIC_TAG + topic_key
        # The build makes the topic's tag from the topic, after the card's tags: where the note
        # has it elsewhere, it is left out only if the note's tags are in the order Anki sorts
        # them into (Anki sorts a note's tags when it imports it: that order is lost anyway).
        if (
            self.topic_tags
            and topic_key
            and topic_tag in tags
            and (tags[-1] == topic_tag or tags == sorted(tags, key=str.casefold))
        ):
            tags.remove(topic_tag)
        if tags:
            out.add(f"    tags: [{', '.join(_flow(tag) for tag in tags)}]")
        # What the build makes of the topic, kind and id, against what the note holds.
        made = {"Topic": html.escape(title, quote=False)}
        if own.reverse_field is not None:
            made[ADD_REVERSE] = "y" if kind is Kind.REVERSED else ""
        if own.version >= 2:
            made[CARD_ID] = card_id_field(self.key, card_id)
        for field_name, value in made.items():
            held = _value(note, names, field_name)
            if held != value:
                report(
                    card_line, 5, Severity.WARNING,
                    f"card {card_id!r}: its field {field_name!r} comes back "
                    f"{_difference(held, value)}",
                )  # fmt: skip
        wanted = own.fields
        if tuple(names) != wanted:
            report(
                card_line, 5, Severity.WARNING,
                f"card {card_id!r}: its note type has the id of {own.name!r} but the fields "
                f"{', '.join(names)}; the build gives Anki {own.name!r} as cardpress defines it "
                f"({', '.join(wanted)})",
            )  # fmt: skip
        return found


def _write_note_type(
    out: _Lines, note_type: ImportedNoteType, file_name: str, defined: dict[str, int]
) -> list[Diagnostic]:
    """A note type exactly as the package defines it, marked ``imported: true`` (the build
    then keeps a template that runs scripts, as Anki has it, with a warning, where it refuses
    one written by hand); a warning here too for each template side that runs scripts, and for
    what the build will refuse: a name that ``defined`` (the card file's note types so far, by
    folded name) has already. cardpress's own note types are never written here: their notes
    are cards of cardpress's kinds."""
    diagnostics: list[Diagnostic] = []
    line = out.add(f"  - name: {yaml_scalar(note_type.name, 6)}")
    out.add(f"    id: {note_type.id}")
    out.add("    imported: true")
    first = defined.setdefault(note_type.name.casefold(), note_type.id)
    if first != note_type.id:
        diagnostics.append(
            Diagnostic(
                Location(file_name, line, 5),
                Severity.WARNING,
                f"two note types are named {note_type.name!r} (ids {first} and {note_type.id}): "
                "cards name their note type, so the build refuses the second; rename one in "
                "Anki (Tools > Manage Note Types) and export again",
            )
        )
    if note_type.kind is NoteTypeKind.CLOZE:
        out.add("    cloze: true")
    out.add("    fields:")
    for field in note_type.fields:
        id_part = "" if field.id is None else f", id: {field.id}"
        out.add(f"      - {{name: {_flow(field.name)}{id_part}}}")
    out.add("    templates:")
    for template in note_type.templates:
        out.add(f"      - name: {yaml_scalar(template.name, 10)}")
        if template.id is not None:
            out.add(f"        id: {template.id}")
        for key, text in (
            ("front", template.qfmt),
            ("back", template.afmt),
            ("browser_front", template.bqfmt),
            ("browser_back", template.bafmt),
        ):
            if not text and key != "front":
                continue
            line = out.add(f"        {key}: {_scalar(text, 10)}")
            found = scripts_in(text)
            if found:
                diagnostics.append(
                    Diagnostic(
                        Location(file_name, line, 9),
                        Severity.WARNING,
                        f"note type {note_type.name!r}, template {template.name!r}: the "
                        f"{key.replace('_', ' ')} side runs scripts ({', '.join(found)}); it is "
                        "kept as Anki has it: read it before you share the deck",
                    )
                )
    if note_type.css:
        out.add(f"    css: {_scalar(note_type.css, 6)}")
    if note_type.sort_field and note_type.sort_field < len(note_type.fields):
        out.add(f"    sort_field: {yaml_scalar(note_type.fields[note_type.sort_field].name, 6)}")
    return diagnostics


def _unused_media(collection: ImportedCollection, decks: Sequence[PlannedDeck]) -> list[Diagnostic]:
    """Media of the package that no card file's field shows: said once, and for each note
    type whose templates or CSS name one (fonts, pictures: ``_font.woff`` and the like), that
    a build does not pack it."""
    used = {name for deck in decks for name in deck.media}
    unused = [name for name in sorted(collection.media) if name not in used]
    if not unused:
        return []
    where = Location(str(collection.source))
    found: list[Diagnostic] = []
    defined = {i for deck in decks for i in deck.note_type_ids}
    for note_type in collection.note_types:
        if note_type.id not in defined:
            continue
        text = "\n".join(
            [note_type.css, *(t.qfmt + t.afmt + t.bqfmt + t.bafmt for t in note_type.templates)]
        )
        named = [name for name in unused if name in text or quote(name) in text]
        if named:
            found.append(
                Diagnostic(
                    where,
                    Severity.WARNING,
                    f"note type {note_type.name!r} uses {_listed(named)} in its templates or "
                    "CSS: a build does not pack it (Anki keeps the copy it has; copy it into "
                    "the media folder of another collection by hand)",
                )
            )
    found.append(
        Diagnostic(
            where,
            Severity.NOTE,
            f"{len(unused)} media file{'s' if len(unused) > 1 else ''} that no note shows "
            f"{'are' if len(unused) > 1 else 'is'} not written: {_listed(unused)}",
        )
    )
    return found


def _listed(names: Sequence[str], most: int = 5) -> str:
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(repr(name) for name in names[:most]) + more


# -- fields and media ----------------------------------------------------------------------


def _media_names(field: str, media: Mapping[str, object]) -> list[str]:
    """The names in ``media`` that ``field`` shows: an ``<img>``'s source (as it is, or
    percent-decoded, as Anki's editor may write it) and ``[sound:…]`` tags, in order, once."""
    field = unicodedata.normalize("NFC", field)
    found: dict[str, None] = {}
    if "<img" in field.lower():
        parser = _ImageSources()
        parser.feed(field)
        parser.close()
        for src in parser.sources:
            for name in (src, unquote(src)):
                if name in media:
                    found[name] = None
                    break
    if "[sound:" in field:
        for m in SOUND.finditer(field):
            name = html.unescape(m.group(1))
            if name in media:
                found[name] = None
    return list(found)


class _ImageSources(HTMLParser):
    """The sources of a fragment's ``<img>`` elements, character references resolved."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources += [value for key, value in attrs if key == "src" and value]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _safe_media_name(name: str) -> bool:
    """Whether a media name is one file name, safe to write in the media folder (Anki's
    importer refuses the others already; a collection made otherwise may hold them)."""
    return (
        name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and name == name.strip()
    )


def _field_change(text: FieldText, original: str) -> tuple[Severity, str] | None:
    """What a field loses or changes on its way through the card file, if anything: a warning
    when the build leaves something out or renders something else, a note when it only writes
    the same HTML its own way (``<br/>`` as ``<br>``)."""
    if text.exact and text.unchanged:
        return None
    said: list[str] = []
    if text.removed:
        said.append("the build leaves out " + "; ".join(text.removed))
    if not text.exact:
        said.append(f"the card file's text renders {_difference(text.html, text.built)}")
    if said:
        return Severity.WARNING, "; ".join(said)
    return Severity.NOTE, (
        "the build gives Anki the same field written as cardpress writes HTML: "
        + _difference(unicodedata.normalize("NFC", original), text.html)
        if unicodedata.normalize("NFC", original) != text.html
        else "the build gives Anki the field NFC-normalised, as Anki stores it"
    )


_CONTEXT = 20


def _difference(before: str, after: str) -> str:
    """Where ``before`` and ``after`` first differ, as ``'…x…' as '…y…'``."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while (
        end < min(len(before), len(after)) - start
        and before[len(before) - 1 - end] == after[len(after) - 1 - end]
    ):
        end += 1

    def cut(text: str) -> str:
        left = max(0, start - _CONTEXT)
        right = min(len(text), max(len(text) - end, start) + _CONTEXT)
        return ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")

    return f"{cut(before)!r} as {cut(after)!r}"


def _excerpt(field: str) -> str:
    text = re.sub(r"<[^>]*>", " ", field)
    text = " ".join(html.unescape(text).split())
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


# -- YAML ------------------------------------------------------------------------------------


class _Lines:
    """The card file's text, a line (or a block scalar's lines) at a time, counting lines so
    that a report can name where each card and field is."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.next_line = 1

    def add(self, text: str) -> int:
        """Add ``text`` and a newline; the line it starts on."""
        line = self.next_line
        self.parts.append(text)
        self.next_line += text.count("\n") + 1
        return line

    def text(self) -> str:
        return "\n".join(self.parts) + "\n"


def _add_entry(out: _Lines, indent: int, key: str, value: str) -> int:
    """``key: value`` at column ``indent``; a key too long for YAML's implicit keys (1024
    characters) as an explicit one (``? key`` then ``: value``)."""
    pad = " " * indent
    if len(key) < _IMPLICIT_KEY_CHARS:
        return out.add(f"{pad}{key}: {value}")
    return out.add(f"{pad}? {key}\n{pad}: {value}")


_IMPLICIT_KEY_CHARS = 1000


def _scalar(text: str, indent: int) -> str:
    """``text`` as :func:`yaml_scalar` writes it, but text with one final newline (CSS, a
    template, a field) as a literal block that keeps it (``|``) rather than one quoted line,
    where that reads back as the same text."""
    if not text.endswith("\n") or text.endswith("\n\n"):
        return yaml_scalar(text, indent)
    body = yaml_scalar(text[:-1], indent)
    head, newline, rest = body.partition("\n")
    if newline and head.startswith("|") and head.endswith("-"):
        candidate = head[:-1] + newline + rest
        if _reads_back(f"{' ' * (indent - 2)}k: {candidate}\n", {"k": text}):
            return candidate
    return yaml_scalar(text, indent)


@functools.lru_cache(maxsize=8192)
def _flow(text: str) -> str:
    """``text`` as a scalar in a flow collection (``[a, b]``, ``{name: x}``) or as a mapping
    key: as :func:`yaml_scalar` writes it where that is one line and reads back as itself
    there (``french::verbs``), else double-quoted (``"a, b"``, ``"[x]"``)."""
    plain = yaml_scalar(text)
    if (
        "\n" not in plain
        and not plain.startswith(("|", ">"))
        and _reads_back(f"[{plain}]", [text])
        and _reads_back(f"{plain}: 0", {text: 0})
        and _reads_back(f"{{k: {plain}}}", {"k": text})
    ):
        return plain
    dumped = yaml.dump(
        {"k": text}, Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True, width=1 << 30
    )
    return dumped[len('"k": ') : -1]


# The card loader reads with libyaml where PyYAML has it; what is written must read back the
# same through both parsers.
_LOADERS: tuple[type, ...] = tuple(
    dict.fromkeys([getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml.SafeLoader])
)


def _reads_back(document: str, expected: object) -> bool:
    for loader in _LOADERS:
        try:
            if yaml.load(document, Loader=loader) != expected:
                return False
        except yaml.YAMLError:
            return False
    return True


def _comment_safe(text: str) -> str:
    """A file name fit for a YAML comment: one line, UTF-8 (a name may hold any byte)."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]", "?", text)


# -- writing ---------------------------------------------------------------------------------


def write(plan: ImportPlan, out: Path, *, replace: bool = False) -> tuple[Path, ...]:
    """Write the plan's card files and media into the folder ``out`` (made if missing): all of
    them or, on a failure, none. A file that is there already is left as it is when it holds
    the same bytes; with other bytes it is an error (ExportError, before anything is written)
    unless ``replace``. Returns the files written."""
    out = Path(out)
    targets: list[tuple[Path, bytes]] = []
    for deck in plan.decks:
        targets.append((out / deck.file_name, deck.text.encode("utf-8")))
        folder = out / deck.media_folder
        targets += [(folder / name, data) for name, data in deck.media.items()]
    wanted: list[tuple[Path, bytes]] = []
    for path, data in targets:
        try:
            same = path.is_file() and path.read_bytes() == data
        except OSError as exc:
            raise ExportError.from_os_error(exc, path, "cannot read") from None
        if same:
            continue
        if not replace and (path.exists() or path.is_symlink()):
            raise ExportError(
                path, "is there already (with other content); cardpress import replaces no file"
            )
        wanted.append((path, data))
    staged: list[tuple[Path, Path]] = []
    made: list[Path] = []  # folders this write made, removed again if it fails
    try:
        for path, data in wanted:
            _make_folder(path.parent, made)
            temp = commit.temp_name(path)
            staged.append((temp, path))
            commit.create(temp, path)
            temp.write_bytes(data)
        commit.commit(staged)
    except BaseException as exc:
        for temp, _ in staged:
            commit.remove(temp)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        if isinstance(exc, OSError):
            raise ExportError.from_os_error(exc, out) from None
        raise
    return tuple(path for path, _ in wanted)


def _make_folder(folder: Path, made: list[Path]) -> None:
    """Make ``folder`` and its missing parents, noting each one made."""
    missing: list[Path] = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir(exist_ok=True)
        made.append(candidate)
