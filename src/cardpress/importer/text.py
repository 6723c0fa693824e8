"""Card files from an Anki text export ("Notes in Plain Text", CSV with Anki's ``#`` headers,
a plain CSV): each row a card of one of cardpress's kinds.

A text export carries no note type definitions and no media, only each row's note type *name*
(or none), its fields in order, its tags, deck and GUID where the file has those columns. So a
row can only become a card of a kind whose fields cardpress knows by that name:

- Anki's stock note types, by the English names Anki's exporter writes: ``Basic`` (basic),
  ``Basic (and reversed card)`` (reversed), ``Basic (optional reversed card)`` (reversed where
  its ``Add Reverse`` field is not empty, as Anki decides it, else basic), ``Basic (type in
  the answer)`` (type) and ``Cloze`` (cloze; ``Back Extra`` is the card's ``extra``).
- cardpress's own note types (``cardpress Basic v2`` and the rest, :data:`notes.NOTE_TYPE_BY_ID`),
  whose Extra and Source are the card's, whose Topic names its topic, whose Add Reverse makes it
  reversed and whose Card ID (version 2) names its deck key and card id, as write.py reads them
  from a package.
- a row without a note type name (a plain two-column CSV): basic, its first two fields.

Anki names its stock note types in the language of the profile that made them (``Einfach``,
``Lückentext``); such a name, like any note type of the user's own, is a note type the file
does not define: its rows are reported at their lines and left out (renaming the note type in
Anki to its English name, or exporting a package, which carries note types, brings them in).
Fields past those a kind holds are reported, never dropped without a word; a row whose card
would be refused by the build (an empty front, a cloze without deletions, a GUID card files do
not take) is reported and left out, so that every card file written loads.

cardpress's own CSV (``dist/NAME.csv``) writes its basic and cloze cards' extra and source into
the stock note types' last field, as ``<div class="cp-extra">`` and ``<div class="cp-meta">``
(topic title, then source); those come back as ``extra`` and ``source``, so that such a deck
builds back to the same notes.

Decks are as write.py makes them for a package: one card file per top-level deck, its subdecks
topics titled by their path below it; rows without a deck go to the deck the caller names, or
one named after the file. A text export holds no modification times: every
:class:`~cardpress.importer.write.PlannedCard` has ``mtime`` 0, which means "no time known"
(the lock then stamps the card like a new one), ``note_id`` 0, and the id of the note type of
cardpress's that the build gives it; ``note_type_mtimes`` is empty (the card files define no
note type).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from cardpress.errors import Diagnostic, Severity
from cardpress.format import CLOZE, FORMAT_VERSION, GUID, ID, MAX_CLOZE_NUMBER, MAX_NAME_CHARS
from cardpress.importer.errors import ImportFileError
from cardpress.importer.fields import FieldText, field_text, yaml_scalar
from cardpress.importer.model import ImportedCollection, ImportedNote, SourceFormat
from cardpress.importer.names import card_ids, deck_key, keys
from cardpress.importer.stock_names import TRANSLATED_NAMES
from cardpress.importer.write import (
    ImportPlan,
    PlannedCard,
    PlannedDeck,
    without_anki_state_tags,
)
from cardpress.model import Kind, Location
from cardpress.notes import (
    ADD_REVERSE,
    CARD_ID,
    NOTE_TYPE_BY_ID,
    NOTE_TYPE_SETS,
    card_id_field,
    guid,
)
from cardpress.render import plain_text

__all__ = ["KNOWN_NOTE_TYPES", "plan_text"]


@dataclass(frozen=True, slots=True)
class _Shape:
    """A note type a text row may name: its fields in column order and the kind it gives;
    ``version`` is the version of cardpress's note types it is one of, 0 for Anki's."""

    name: str
    kind: Kind
    fields: tuple[str, ...]
    version: int = 0


_STOCK = (
    _Shape("Basic", Kind.BASIC, ("Front", "Back")),
    _Shape("Basic (and reversed card)", Kind.REVERSED, ("Front", "Back")),
    _Shape("Basic (optional reversed card)", Kind.BASIC, ("Front", "Back", ADD_REVERSE)),
    _Shape("Basic (type in the answer)", Kind.TYPE, ("Front", "Back")),
    _Shape("Cloze", Kind.CLOZE, ("Text", "Back Extra")),
)
_SHAPES = {
    shape.name: shape
    for shape in (
        *_STOCK,
        *(_Shape(t.name, t.kind, t.fields, t.version) for t in NOTE_TYPE_BY_ID.values()),
    )
}
# A row that names no note type: a plain CSV of questions and answers.
_PLAIN = _Shape("", Kind.BASIC, ("Front", "Back"))
# The note type names whose rows become cards, in the order a message lists them.
KNOWN_NOTE_TYPES = tuple(_SHAPES)


def _shape(name: str) -> _Shape | None:
    """The shape of rows of the note type ``name``: cardpress's, one of Anki's stock note
    types by its English name or by the one Anki gives it in another language, or None."""
    if not name:
        return _PLAIN
    return _SHAPES.get(name) or _SHAPES.get(TRANSLATED_NAMES.get(name, ""))


# What each field of those note types is to a card: a card key (front, back, text, extra,
# source), or what the card file says otherwise (topic, reverse, card_id).
_ROLES = {
    "Front": "front",
    "Back": "back",
    "Text": "text",
    "Extra": "extra",
    "Back Extra": "extra",
    "Source": "source",
    "Topic": "topic",
    ADD_REVERSE: "reverse",
    CARD_ID: "card_id",
}
# The card keys, in the order a card file writes them, with the field names messages use.
_CARD_KEYS = {
    "front": "Front",
    "text": "Text",
    "back": "Back",
    "extra": "Extra",
    "source": "Source",
}
_TOPIC_TAG = "topic::"

# Anki's test for an empty field (rslib template.rs ``field_is_empty``): whitespace and empty
# <br>/<div> tags only. It decides whether Add Reverse makes the reverse card.
_EMPTY_FIELD = re.compile(r"(?:\s|</?(?:br|div) ?/?>)*", re.IGNORECASE)
# What cardpress's CSV appends to a basic card's back or a cloze card's Back Extra
# (export/csv.py ``_extra_and_meta``): its extra, then its topic title and source.
_CP_TAIL = re.compile(
    r'(?:<div class="cp-extra">(?P<extra>.*?)</div>)?'
    r'(?:<div class="cp-meta">(?P<meta>.*?)</div>)?\Z',
    re.DOTALL,
)
_META_SEPARATOR = " · "
_PICTURE = re.compile(r"<img\b[^>]*\ssrc=", re.IGNORECASE)
# Names Windows keeps for devices, with any suffix: "con.yaml" cannot be a file there.
_DEVICE_NAMES = re.compile(r"(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?", re.IGNORECASE)


@dataclass(slots=True)
class _Row:
    """A row that makes a card: its kind, deck, the text of each card key, and what the row
    says of its topic and Card ID."""

    note: ImportedNote
    shape: _Shape
    kind: Kind
    deck: str
    texts: dict[str, tuple[FieldText, str]]  # card key -> its text, and the field it is from
    title: str = ""  # a topic title the row carries: a Topic field, cardpress's CSV meta
    named: tuple[str, str] | None = None  # the deck key and card id its Card ID names
    card_id_value: str = ""
    topic_value: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def top(self) -> str:
        return self.deck.split("::")[0]

    @property
    def subdeck(self) -> str:
        """The deck path below the top deck ("" for the top deck itself)."""
        return self.deck.partition("::")[2]


def plan_text(collection: ImportedCollection, *, deck_name: str | None = None) -> ImportPlan:
    """The card files of a text export's rows (see the module's docstring), one per top-level
    deck; ``deck_name`` is the deck of the rows that name none (default: the file's name
    without its suffix).

    Raises ImportFileError for a collection that is no text export, and for one in which no
    row makes a card (every row of a note type the file does not define, or unusable).
    """
    source = collection.source
    if collection.format is not SourceFormat.TEXT:
        raise ImportFileError(source, "an Anki package, not a text export: plan it with plan()")
    if not collection.notes:
        raise ImportFileError(source, "the file holds no notes")
    collection, diagnostics = without_anki_state_tags(collection)
    default_deck = _deck_name(deck_name if deck_name is not None else source.stem) or "Imported"
    rows: list[_Row] = []
    unknown: dict[str, int] = {}  # note type name -> the line of its first row
    for note in collection.notes:
        shape = _shape(note.note_type_name)
        if shape is None:
            diagnostics.append(_unknown(source, note, unknown))
            continue
        row = _read_row(source, note, shape, default_deck, diagnostics)
        if row is not None:
            rows.append(row)
    if not rows:
        named = ", ".join(repr(name) for name in unknown)
        raise ImportFileError(
            source,
            "no row makes a card: "
            + (
                f"the rows are of note types a text export does not define ({named}); "
                "cardpress reads rows of Anki's stock note types by their English names and "
                "of its own; export a package (.apkg), which carries note types"
                if unknown
                else "every row is left out (see the warnings)"
            ),
        )
    by_top: dict[str, list[_Row]] = {}
    for row in rows:
        by_top.setdefault(row.top, []).append(row)
    deck_keys = _deck_keys(source, by_top)
    planned: list[PlannedDeck] = []
    for top in sorted(by_top, key=lambda name: deck_keys[name]):
        deck, found = _plan_deck(source, deck_keys[top], top, by_top[top])
        planned.append(deck)
        diagnostics += found
    diagnostics.append(_promise(source, rows))
    return ImportPlan(
        source=source,
        decks=tuple(planned),
        note_type_mtimes=MappingProxyType({}),
        diagnostics=tuple(diagnostics),
    )


# -- rows ------------------------------------------------------------------------------------


def _deck_name(name: str) -> str:
    """A deck name as Anki stores it (NFC, each ``::`` part trimmed); "" if a part is empty."""
    parts = [part.strip() for part in unicodedata.normalize("NFC", name).split("::")]
    return "::".join(parts) if all(parts) else ""


def _at(source: Path, note: ImportedNote, severity: Severity, message: str) -> Diagnostic:
    return Diagnostic(Location(str(source), note.line), severity, message)


def _unknown(source: Path, note: ImportedNote, unknown: dict[str, int]) -> Diagnostic:
    """The report of a row of a note type the file does not define: in full at its first row,
    briefly at the others."""
    name = note.note_type_name
    first = unknown.setdefault(name, note.line)
    if first != note.line:
        return _at(
            source,
            note,
            Severity.WARNING,
            f"row of note type {name!r}: left out (see line {first})",
        )
    return _at(
        source,
        note,
        Severity.WARNING,
        f"row of note type {name!r}, which a text export does not define: left out. cardpress "
        "takes rows of Anki's stock note types (Basic, Basic (and reversed card), Basic "
        "(optional reversed card), Basic (type in the answer), Cloze, under these names or "
        "those Anki gives them in its other languages) and of its own; for a note type of "
        "your own, or one renamed, export a package (.apkg), which carries its definition",
    )


def _read_row(
    source: Path, note: ImportedNote, shape: _Shape, default_deck: str, found: list[Diagnostic]
) -> _Row | None:
    """The row as a card, or None (reported) where it cannot make one the build takes."""
    called = f"row of note type {shape.name!r}" if shape.name else "row"

    def leave_out(why: str) -> None:
        found.append(_at(source, note, Severity.WARNING, f"{called}: {why}: left out"))

    deck = _deck_name(note.deck) if note.deck else default_deck
    if not deck:
        leave_out(f"its deck {note.deck!r} has an empty part between '::'")
        return None
    if note.guid and not GUID.fullmatch(note.guid):
        leave_out(
            f"its GUID {note.guid!r} is not one card files take (1 to 64 printable ASCII "
            "characters, no spaces)"
        )
        return None
    fields = {
        name: note.fields[i] if i < len(note.fields) else "" for i, name in enumerate(shape.fields)
    }
    values = {_ROLES[name]: value for name, value in fields.items()}
    past = [
        (i, v)
        for i, v in enumerate(note.fields, start=1)
        if i > len(shape.fields) and not _EMPTY_FIELD.fullmatch(v)
    ]
    if past:
        # Anki pads every row to the widest note type's fields: empty ones are no loss.
        listed = ", ".join(f"field {i} ({_excerpt(v)})" for i, v in past)
        holds = ", ".join(shape.fields)
        found.append(
            _at(
                source,
                note,
                Severity.WARNING,
                f"{called}: {listed} {'is' if len(past) == 1 else 'are'} more than "
                f"{'its note type' if shape.name else 'a card'} holds ({holds}): left out of "
                "the card",
            )
        )
    kind = shape.kind
    if "reverse" in values and not _EMPTY_FIELD.fullmatch(values["reverse"]):
        kind = Kind.REVERSED
    row = _Row(note, shape, kind, deck, {}, tags=list(dict.fromkeys(note.tags)))
    if shape.version == 0 and shape.name in ("Basic", "Cloze"):
        _cardpress_csv(row, values)
    if "topic" in values:
        row.topic_value = values["topic"]
        row.title = html.unescape(values["topic"]).strip()
    if "card_id" in values:
        row.card_id_value = values["card_id"]
        deck_part, slash, card_part = values["card_id"].partition("/")
        if slash and _is_key(deck_part) and _is_key(card_part):
            row.named = (deck_part, card_part)
    for card_key, name in _CARD_KEYS.items():
        if card_key not in values:
            continue
        text = field_text(values[card_key])
        required = card_key in ("front", "back", "text")
        if not required and not text.text:
            continue
        if required:
            why = _unusable(kind, card_key, values[card_key], text)
            if why:
                what = (
                    name
                    if shape.name
                    else ("first field" if card_key == "front" else "second field")
                )
                leave_out(f"its {what} {why}, and a {kind.value} card needs one")
                return None
        row.texts[card_key] = (text, values[card_key])
    return row


def _unusable(kind: Kind, card_key: str, value: str, text: FieldText) -> str:
    """Why the build would refuse a card side of this text ("" where it takes it), as the
    loader judges it (loader/cards.py ``_side``, ``_check_cloze``)."""
    # A picture the export does not carry is left as an <img> without a source: no picture.
    shows = bool(text.text) and (bool(plain_text(text.built)) or bool(_PICTURE.search(text.built)))
    if not shows:
        if not value.strip():
            return "is empty"
        if text.removed:
            return f"shows nothing once the build leaves out {'; '.join(text.removed)}"
        return "shows nothing"
    if kind is Kind.CLOZE and card_key == "text":
        deletions = list(CLOZE.finditer(text.text))
        if not deletions or not CLOZE.search(text.built):
            return "has no cloze deletion"
        for m in deletions:
            number = int(m.group(1))
            if not m.group(2).strip() or number == 0 or number > MAX_CLOZE_NUMBER:
                return f"has the cloze deletion {m.group(0)[:40]!r}, which Anki makes no card of"
    return ""


def _cardpress_csv(row: _Row, values: dict[str, str]) -> None:
    """A row of cardpress's own CSV: the extra and the topic title and source that it wrote
    after a basic card's back or in a cloze card's Back Extra, taken back out of it."""
    key = "extra" if row.shape.kind is Kind.CLOZE else "back"
    value = values.get(key, "")
    tail = _CP_TAIL.search(value)
    if tail is None or tail.start() == len(value):
        return
    extra, meta = tail.group("extra"), tail.group("meta")
    values[key] = value[: tail.start()]
    if row.shape.kind is Kind.CLOZE:
        values["extra"] = ""
    if extra:
        values["extra"] = extra
    if not meta:
        return
    source = meta
    if row.subdeck:  # the topic's title is the subdeck's path
        title = html.escape(row.subdeck, quote=False)
        if meta == title:
            source = ""
        elif meta.startswith(title + _META_SEPARATOR):
            source = meta[len(title + _META_SEPARATOR) :]
    elif _topic_tag(row.tags):  # a deck without subdecks: the title comes first
        title, _, source = meta.partition(_META_SEPARATOR)
        row.title = html.unescape(title).strip()
    if source:
        values["source"] = source


def _excerpt(value: str) -> str:
    text = " ".join(html.unescape(re.sub(r"<[^>]*>", " ", value)).split())
    return repr(text[:30] + ("…" if len(text) > 30 else ""))


def _is_key(text: str) -> bool:
    return bool(ID.fullmatch(text)) and len(text) <= MAX_NAME_CHARS


def _topic_tag(tags: Sequence[str]) -> str:
    """The key of the last tag ``topic::KEY`` (a build puts it after the others); ""."""
    if tags and tags[-1].startswith(_TOPIC_TAG) and _is_key(tags[-1][len(_TOPIC_TAG) :]):
        return tags[-1][len(_TOPIC_TAG) :]
    return ""


# -- decks -----------------------------------------------------------------------------------


def _deck_keys(source: Path, by_top: Mapping[str, Sequence[_Row]]) -> dict[str, str]:
    """The key (and file name) of each top-level deck: the one its rows' Card IDs agree on
    (cardpress's notes then keep their GUIDs without a ``guid:``), where no other deck takes
    it, else :func:`names.deck_key`, told apart by :func:`names.keys` where two would be one
    (compared without regard to case, as some file systems compare names)."""
    names = sorted(by_top)
    made = keys(names, prefix="deck")
    chosen: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        wanted = {row.named[0] for row in by_top[name] if row.named is not None}
        if len(wanted) == 1:
            key = wanted.pop()
            if key.casefold() not in taken and not _DEVICE_NAMES.fullmatch(key):
                chosen[name] = key
                taken.add(key.casefold())
    for name in names:
        if name in chosen:
            continue
        alone = deck_key(name)
        key = made[name] if alone.casefold() != made[name].casefold() else alone
        base, n = key, 2
        while key.casefold() in taken:
            key, n = f"{base}-{n}", n + 1
        if not _is_key(key) or _DEVICE_NAMES.fullmatch(key):
            raise ImportFileError(
                source,
                f"deck {name!r}: its key {key!r} cannot name a card file; rename the deck in "
                "the file (or in Anki) and import again",
            )
        chosen[name] = key
        taken.add(key.casefold())
    return chosen


class _Topics:
    """The topics of one card file, as write.py makes them of cardpress's notes: each subdeck
    one, titled by its path below the top deck; or, where no row is in a subdeck and rows
    carry topic titles (a Topic field, cardpress's CSV of a deck without subdecks), those
    titles, with ``subdecks: false``. A topic's key is the topic tag its rows share, else one
    made from its title; ``tags`` whether every card's topic tag is the one a build makes."""

    def __init__(self, rows: Sequence[_Row]) -> None:
        in_subdeck = any(row.subdeck for row in rows)
        self.subdecks = in_subdeck or not any(row.title for row in rows)
        title_of: dict[int, str] = {}
        for i, row in enumerate(rows):
            if self.subdecks and row.subdeck:
                title_of[i] = row.subdeck
            elif not self.subdecks and row.title:
                title_of[i] = row.title
        self.titles = sorted(set(title_of.values()))
        tagged: dict[str, set[str]] = {}
        for i, title in title_of.items():
            tagged.setdefault(title, set()).add(_topic_tag(rows[i].tags))
        self.key_of: dict[str, str] = {}
        claimed: set[str] = set()
        for title in self.titles:
            (tag, *more) = tagged[title]
            if tag and not more and tag.casefold() not in claimed:
                self.key_of[title] = tag
                claimed.add(tag.casefold())
        for title, made in sorted(keys(t for t in self.titles if t not in self.key_of).items()):
            key, n = made, 2
            while key.casefold() in claimed:
                key, n = f"{made}-{n}", n + 1
            self.key_of[title] = key
            claimed.add(key.casefold())
        # In a deck of topics every card of cardpress's kinds needs one: a row without one
        # gets its tag's, or its own title's, or the first (said where it is written).
        self.homeless: set[int] = set()
        if self.titles:
            by_key = {key: title for title, key in self.key_of.items()}
            for i, row in enumerate(rows):
                if i not in title_of:
                    title_of[i] = by_key.get(
                        _topic_tag(row.tags),
                        row.title if row.title in self.key_of else self.titles[0],
                    )
                    self.homeless.add(i)
        self.title_of = title_of
        self.tags = bool(self.titles) and all(
            _topic_tag(rows[i].tags) == self.key_of[title] for i, title in title_of.items()
        )


def _plan_deck(
    source: Path, key: str, name: str, rows: Sequence[_Row]
) -> tuple[PlannedDeck, list[Diagnostic]]:
    """One card file: the top deck ``name`` and the rows in it or below it, in file order."""
    file_name = f"{key}.yaml"
    diagnostics: list[Diagnostic] = []

    def report(line: int, col: int, severity: Severity, message: str) -> None:
        diagnostics.append(Diagnostic(Location(file_name, line, col), severity, message))

    topics = _Topics(rows)
    ids = card_ids([row.note for row in rows], _kept_ids(rows))
    versions = {row.shape.version for row in rows if row.shape.version}
    version = 1 if versions == {1} else 0
    types = NOTE_TYPE_SETS[version or 2]

    out = _Lines()
    out.add(
        f"# Imported from {_comment_safe(source.name)} by cardpress import: a text export has "
        "no note types,"
    )
    out.add("# so these are cards of cardpress's kinds, with their notes' GUIDs where it has them.")
    out.add(f"format: {FORMAT_VERSION}")
    out.add(f"key: {key}")
    line = out.add(f"name: {yaml_scalar(name)}")
    if len(name) > MAX_NAME_CHARS:
        report(
            line,
            1,
            Severity.WARNING,
            f"deck name is {len(name)} characters; card files "
            f"take at most {MAX_NAME_CHARS}: rename the deck",
        )
    if version:
        out.add(f"note_type_version: {version}")
    if topics.titles and not topics.subdecks:
        out.add("subdecks: false")
    if topics.titles and not topics.tags:
        out.add("topic_tags: false")
    if topics.titles:
        out.add("topics:")
        for title in topics.titles:
            out.add(f"  {topics.key_of[title]}: {yaml_scalar(title, 4)}")
    out.add("cards:")
    cards: list[PlannedCard] = []
    for i, (row, card_id) in enumerate(zip(rows, ids, strict=True)):
        card_line = out.add(f"  - id: {card_id}")
        if row.note.guid and row.note.guid != guid(key, card_id):
            out.add(f"    guid: {yaml_scalar(row.note.guid, 6)}")
        if row.kind is not Kind.BASIC:
            out.add(f"    kind: {row.kind.value}")
        title = topics.title_of.get(i, "")
        if title:
            topic_key = topics.key_of[title]
            line = out.add(f"    topic: {topic_key}")
            if i in topics.homeless:
                moved = (
                    ""
                    if not topics.subdecks
                    else (
                        f"; a build puts it in {name + '::' + title!r} (cardpress push moves it "
                        "there)"
                    )
                )
                report(
                    line,
                    5,
                    Severity.WARNING,
                    f"card {card_id!r}: the row is in the deck {row.deck!r} itself, but in a "
                    "deck of topics every card has one: the card file gives it the topic "
                    f"{topic_key!r}{moved}",
                )
        for card_key, (text, value) in row.texts.items():
            line = out.add(f"    {card_key}: {yaml_scalar(text.text, 6)}")
            change = _field_change(text, value)
            if change:
                report(
                    line,
                    5,
                    Severity.WARNING,
                    f"card {card_id!r}, field {_CARD_KEYS[card_key]!r}: {change}",
                )
        tags = list(row.tags)
        if topics.tags and title:
            tags.pop()  # the topic's tag: the build makes it from the topic
        if tags:
            out.add(f"    tags: [{', '.join(_flow(tag) for tag in tags)}]")
        note_type = types[row.kind]
        _compare_made(row, key, card_id, title, note_type.version, card_line, report)
        cards.append(
            PlannedCard(card_id, row.note.guid or guid(key, card_id), 0, 0, note_type.id, card_line)
        )
    deck = PlannedDeck(
        key=key,
        name=name,
        text=out.text(),
        cards=tuple(cards),
        media=MappingProxyType({}),
        note_type_ids=(),
    )
    return deck, diagnostics


def _kept_ids(rows: Sequence[_Row]) -> dict[str, str]:
    """The card ids the rows' Card IDs name, by GUID: the first row's, where two name one."""
    kept: dict[str, str] = {}
    taken: set[str] = set()
    for row in rows:
        if row.named is not None and row.note.guid and row.named[1].casefold() not in taken:
            kept[row.note.guid] = row.named[1]
            taken.add(row.named[1].casefold())
    return kept


def _compare_made(
    row: _Row,
    key: str,
    card_id: str,
    title: str,
    version: int,
    line: int,
    report: Callable[[int, int, Severity, str], None],
) -> None:
    """For a row of cardpress's note types: what the build makes of its topic, kind and id
    (the Topic, Add Reverse and Card ID fields) against what the row holds."""
    if not row.shape.version:
        return
    held = {"Topic": row.topic_value}
    made = {"Topic": html.escape(title, quote=False)}
    if row.shape.version == version and version >= 2:
        held[CARD_ID] = row.card_id_value
        made[CARD_ID] = card_id_field(key, card_id)
    elif row.shape.version != version:
        report(
            line,
            5,
            Severity.WARNING,
            f"card {card_id!r}: the row's note type is {row.shape.name!r}, the deck's "
            f"cardpress note types are version {version} (other rows): the build gives Anki "
            "the note under another note type (cardpress push converts it)",
        )
    for name, value in made.items():
        if held[name] != value:
            report(
                line,
                5,
                Severity.WARNING,
                f"card {card_id!r}: the build makes its field "
                f"{name!r} {value!r}, the row has {held[name]!r}",
            )


def _field_change(text: FieldText, original: str) -> str:
    """What a field loses or changes on its way into the card file ("" where nothing does,
    or only how the same HTML is written). A text export has no media: a picture or sound it
    names is not in it."""
    said: list[str] = []
    if text.removed:
        media = any(r.startswith(("the picture ", "the sound ")) for r in text.removed)
        said.append(
            "the build leaves out "
            + "; ".join(text.removed)
            + (
                ": a text export carries no media; put the file beside the card file and "
                "name it in the text, or export a package (.apkg)"
                if media
                else ""
            )
        )
    if not text.exact:
        said.append(f"the card file's text renders {text.built[:60]!r}, not {text.html[:60]!r}")
    return "; ".join(said)


def _promise(source: Path, rows: Sequence[_Row]) -> Diagnostic:
    """The note for the whole file: what a build of these card files gives Anki."""
    converted = sum(1 for row in rows if row.note.guid and not row.shape.version)
    fresh = sum(1 for row in rows if not row.note.guid)
    said = [
        "a text export names no note types of its own, so its rows are cards of cardpress's kinds"
    ]
    if converted:
        said.append(
            f"{converted} of them {'keeps its' if converted == 1 else 'keep their'} GUID from "
            "a note of another note type: a build's package meets such a note under cardpress's "
            "note type and Anki's import skips it as conflicting; cardpress push converts it "
            "(Anki's Change Note Type, review history kept)"
        )
    if fresh:
        said.append(
            f"{fresh} row{' has' if fresh == 1 else 's have'} no GUID: a build gives Anki a "
            "new note for each (a note Anki made of the row before stays beside it)"
        )
    return Diagnostic(Location(str(source)), Severity.NOTE, "; ".join(said))


# -- YAML ------------------------------------------------------------------------------------


class _Lines:
    """The card file's text, a line (or a block scalar's lines) at a time, counting lines so
    that a report can name where each card is."""

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


@functools.lru_cache(maxsize=4096)
def _flow(text: str) -> str:
    """A tag in a flow sequence (``[a, b]``): plain where that reads back as itself there
    (``lang::ru``), else double-quoted."""
    plain = yaml_scalar(text)
    if "\n" not in plain and not plain.startswith(("|", ">")) and _reads_back(f"[{plain}]", [text]):
        return plain
    dumped = yaml.dump(
        {"k": text}, Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True, width=1 << 30
    )
    return dumped[len('"k": ') : -1]


# The card loader reads with libyaml where PyYAML has it: what is written must read back the
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
