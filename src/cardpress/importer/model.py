"""What an Anki export holds, as typed values: the reader's output, no I/O here.

Everything is kept as Anki stores it (field HTML, tags, template text, ids, mtimes), so that
whatever is written from it can give Anki back the very same notes and note types.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class NoteTypeKind(enum.Enum):
    """Anki's two kinds of note type: one card per template, or one card per cloze number."""

    BASIC = "basic"  # Anki's "standard" (type 0)
    CLOZE = "cloze"  # type 1


class SourceFormat(enum.Enum):
    """What kind of file the notes came from (a package's kind is its ``meta`` version)."""

    LEGACY_1 = "legacy-1"  # collection.anki2 (schema 11), JSON media map: genanki, Anki < 2.1.
    LEGACY_2 = "legacy-2"  # collection.anki21 (schema 11), JSON media map: Anki's "legacy" box.
    LATEST = "latest"  # meta + zstd collection.anki21b (schema 18), protobuf media map.
    TEXT = "text"  # Notes in Plain Text / CSV with Anki's '#' headers: no note types, no media.


@dataclass(frozen=True, slots=True)
class ImportedField:
    """A note type's field. ``id`` is Anki's own field id (None when the package's writer gave
    none, as genanki does): Anki matches fields by it, else by name, when it compares schemas."""

    name: str
    id: int | None


@dataclass(frozen=True, slots=True)
class ImportedTemplate:
    """A card template: ``qfmt``/``afmt`` are the question and answer sides; ``bqfmt``/``bafmt``
    the browser's; ``id`` as for fields."""

    name: str
    qfmt: str
    afmt: str
    id: int | None
    bqfmt: str = ""
    bafmt: str = ""


@dataclass(frozen=True, slots=True)
class ImportedNoteType:
    """A note type exactly as the package defines it.

    Anki sees an incoming note type as the same one when the id matches and the schema is
    equal: the same number of fields and templates, each pair matching by id, or by name where
    one side has no id (rslib ``notetype/merge.rs`` ``is_match``, ``apkg/import/notes.rs``
    ``equal_schema``); the rest (CSS, template text, field options) updates it when the
    incoming ``mtime`` is newer. ``legacy_json`` is Anki's whole note type dict (sorted keys),
    for what no attribute here names (field fonts, sticky fields, ``req``, ...).
    """

    id: int
    name: str
    kind: NoteTypeKind
    fields: tuple[ImportedField, ...]
    templates: tuple[ImportedTemplate, ...]
    css: str
    sort_field: int
    latex_pre: str
    latex_post: str
    mtime: int
    legacy_json: str

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def as_dict(self) -> dict[str, Any]:
        """Anki's own dict of this note type (a fresh copy)."""
        loaded: dict[str, Any] = json.loads(self.legacy_json)
        return loaded


@dataclass(frozen=True, slots=True)
class ImportedCard:
    """One card of a note: its template (or cloze) ordinal, its deck, and whether it has been
    studied. A card in a filtered deck is listed in its home deck."""

    id: int
    ord: int
    deck: str
    reps: int


@dataclass(frozen=True, slots=True)
class ImportedNote:
    """A note as Anki stores it: fields in the note type's order (HTML), tags as Anki splits
    them (hierarchical ``a::b`` intact), ``mtime`` in seconds (Anki's "update if newer" compares
    it). From a text file ``id`` is 0, ``note_type_id`` is None, ``cards`` is empty and
    ``deck`` is the row's deck (None when the file names none)."""

    id: int
    guid: str
    note_type_id: int | None
    note_type_name: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mtime: int
    cards: tuple[ImportedCard, ...]
    deck: str | None
    line: int = 0  # where a text file's row starts (1-based); 0 for a package

    @property
    def decks(self) -> tuple[str, ...]:
        """The decks its cards are in, in the order of their ordinals, each once."""
        return tuple(dict.fromkeys(card.deck for card in self.cards))


@dataclass(frozen=True, slots=True)
class ImportedDeck:
    """A deck that holds cards of the package, or is the parent of one (what Anki's own
    importer creates). ``name`` uses ``::`` between levels."""

    id: int
    name: str
    description: str
    filtered: bool


@dataclass(frozen=True, slots=True)
class ImportedCollection:
    """Everything read from one file."""

    source: Path
    format: SourceFormat
    note_types: tuple[ImportedNoteType, ...]
    notes: tuple[ImportedNote, ...]
    decks: tuple[ImportedDeck, ...]
    media: Mapping[str, bytes]  # NFC file name (as Anki stores it) -> content

    def note_type(self, note_type_id: int) -> ImportedNoteType:
        for note_type in self.note_types:
            if note_type.id == note_type_id:
                return note_type
        raise KeyError(note_type_id)

    def notes_by_guid(self) -> dict[str, ImportedNote]:
        return {note.guid: note for note in self.notes}
