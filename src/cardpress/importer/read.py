"""Read what Anki exports into the typed model of ``importer.model``.

Packages (``.apkg``, ``.colpkg``, every format Anki has written) are read through Anki's own
code, never by parsing SQLite here: the backend's ``import_collection_package`` (what Anki runs
to restore a ``.colpkg``, rslib ``package/colpkg/import.rs``) picks the collection file that the
package's ``meta`` names, unpacks it (zstd for the current format), checks its integrity and
writes the media under their NFC names, rejecting unsafe ones; opening that collection with
``anki.collection.Collection`` upgrades a schema 11 collection to the current schema, so note
types and decks are read through Anki's API whatever their storage in the file was. An
``.apkg`` has the same layout as a ``.colpkg`` (rslib ``package/meta.rs``), so both take this
path. It all runs in a temporary folder: the file read is never written to.

Text files (Anki's "Notes in Plain Text" and CSV with Anki's ``#`` headers) are read here, with
the rules of Anki's text importer (rslib ``text/csv/metadata.rs`` and ``import.rs``), because
they name note types and decks that need not exist anywhere yet.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cardpress.importer.errors import ImportFileError
from cardpress.importer.model import (
    ImportedCard,
    ImportedCollection,
    ImportedDeck,
    ImportedField,
    ImportedNote,
    ImportedNoteType,
    ImportedTemplate,
    NoteTypeKind,
    SourceFormat,
)

# What a file begins with, for saying what a file that is no Anki export is instead.
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
_OTHER_SIGNATURES = (
    (b"SQLite format 3\x00", "an SQLite database (an Anki collection? export it as a package)"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
_SIGNATURE_LENGTH = 16

# The collection files a package may hold, by the ``meta`` version that names them (rslib
# package/meta.rs: Legacy1 collection.anki2, Legacy2 collection.anki21, Latest
# collection.anki21b); without ``meta`` a package is Legacy2 if it has collection.anki21.
_COLLECTION_FILES = {
    SourceFormat.LEGACY_1: "collection.anki2",
    SourceFormat.LEGACY_2: "collection.anki21",
    SourceFormat.LATEST: "collection.anki21b",
}


def read_file(path: Path) -> ImportedCollection:
    """Read ``path`` as a package if it is a zip archive (by its first bytes, whatever its
    name), else as a text export."""
    if _signature(path).startswith(_ZIP_SIGNATURES):
        return read_package(path)
    return read_text(path)


# -- packages ------------------------------------------------------------------------------


def read_package(path: Path) -> ImportedCollection:
    """The notes, note types, decks and media of an ``.apkg`` or ``.colpkg`` at ``path``.

    Raises ImportFileError for a file that is no package, a broken one, one without notes
    and one in which two notes share a GUID.
    """
    path = Path(path)
    head = _signature(path)
    if not head.startswith(_ZIP_SIGNATURES):
        raise ImportFileError(path, f"not an Anki package: {_what_it_is(head)}")
    try:
        from anki._backend import RustBackend
        from anki.collection import Collection
        from anki.errors import AnkiException
    except ImportError:
        raise ImportFileError(
            path, "reading Anki packages needs the anki package: pip install 'cardpress[anki]'"
        ) from None
    source_format = _package_format(path)
    with tempfile.TemporaryDirectory(
        prefix="cardpress-import-", ignore_cleanup_errors=True
    ) as folder:
        col_path = Path(folder) / "collection.anki2"
        media_folder = Path(folder) / "collection.media"
        backend = RustBackend()
        try:
            backend.import_collection_package(
                col_path=str(col_path),
                backup_path=str(path.resolve()),
                media_folder=str(media_folder),
                media_db=str(Path(folder) / "collection.media.db2"),
            )
            col = Collection(str(col_path), backend=backend)
        except AnkiException as exc:
            raise ImportFileError(path, f"Anki cannot read this package: {exc}") from None
        try:
            note_types, notes, decks = _read_collection(col)
        except AnkiException as exc:
            raise ImportFileError(path, f"Anki cannot read this package: {exc}") from None
        finally:
            col.close()
        # Anki stores media names NFC; a file system (HFS+) may hand them back decomposed.
        media = {
            unicodedata.normalize("NFC", entry.name): entry.read_bytes()
            for entry in sorted(media_folder.iterdir() if media_folder.is_dir() else ())
            if entry.is_file()
        }
    _check_notes(path, notes)
    return ImportedCollection(
        source=path,
        format=source_format,
        note_types=note_types,
        notes=notes,
        decks=decks,
        media=MappingProxyType(media),
    )


def _signature(path: Path) -> bytes:
    try:
        with Path(path).open("rb") as file:
            return file.read(_SIGNATURE_LENGTH)
    except IsADirectoryError:
        raise ImportFileError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise ImportFileError(exc.filename or path, f"cannot read: {exc.strerror or exc}") from None


def _what_it_is(head: bytes) -> str:
    if not head:
        return "the file is empty"
    for signature, name in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return f"it is {name}"
    return "it is not a zip archive"


def _package_format(path: Path) -> SourceFormat:
    """The package's format, as Anki decides it (rslib package/meta.rs ``from_archive``), and
    a check that the collection file it names is there."""
    from anki.import_export_pb2 import PackageMetadata
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            meta = archive.read("meta") if "meta" in names else None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ImportFileError(path, f"the zip archive is corrupt: {exc}") from None
    except OSError as exc:
        raise ImportFileError(path, f"cannot read: {exc.strerror or exc}") from None
    if meta is not None:
        try:
            version = PackageMetadata.FromString(meta).version
        except DecodeError:
            raise ImportFileError(path, "the package's meta file is corrupt") from None
        by_version = {
            PackageMetadata.VERSION_LEGACY_1: SourceFormat.LEGACY_1,
            PackageMetadata.VERSION_LEGACY_2: SourceFormat.LEGACY_2,
            PackageMetadata.VERSION_LATEST: SourceFormat.LATEST,
        }
        if version not in by_version:
            raise ImportFileError(path, "the package was made by a newer Anki than this one reads")
        source_format = by_version[version]
    elif "collection.anki21" in names:
        source_format = SourceFormat.LEGACY_2
    else:
        source_format = SourceFormat.LEGACY_1
    if _COLLECTION_FILES[source_format] not in names:
        raise ImportFileError(
            path,
            f"a zip archive, but not an Anki package: it holds no "
            f"{_COLLECTION_FILES[source_format]}",
        )
    return source_format


def _read_collection(
    col: Any,
) -> tuple[tuple[ImportedNoteType, ...], tuple[ImportedNote, ...], tuple[ImportedDeck, ...]]:
    """Note types, notes and decks of an open collection. The notes and cards tables have had
    the same columns in every schema; note types and decks come through Anki's API."""
    deck_names: dict[int, str] = {d.id: d.name for d in col.decks.all_names_and_ids()}
    cards: dict[int, list[ImportedCard]] = {}
    home_decks: set[int] = set()
    for card_id, note_id, ord_, deck_id, original_deck_id, reps in col.db.all(
        "select id, nid, ord, did, odid, reps from cards order by nid, ord, id"
    ):
        # A card in a filtered deck belongs to its original (home) deck.
        home = original_deck_id or deck_id
        home_decks.add(home)
        # Anki's Check Database moves a card whose deck is missing to Default (id 1).
        name = deck_names.get(home, deck_names.get(1, "Default"))
        cards.setdefault(note_id, []).append(ImportedCard(card_id, ord_, name, reps))
    note_type_names: dict[int, str] = {nt.id: nt.name for nt in col.models.all_names_and_ids()}
    notes = tuple(
        ImportedNote(
            id=note_id,
            guid=guid,
            note_type_id=note_type_id,
            note_type_name=note_type_names.get(note_type_id, ""),
            fields=tuple(fields.split("\x1f")),
            tags=tuple(col.tags.split(tags)),
            mtime=mtime,
            cards=tuple(cards.get(note_id, ())),
            deck=cards[note_id][0].deck if note_id in cards else None,
        )
        for note_id, guid, note_type_id, mtime, tags, fields in col.db.all(
            "select id, guid, mid, mod, tags, flds from notes order by id"
        )
    )
    used = sorted({note.note_type_id for note in notes if note.note_type_id is not None})
    note_types = tuple(_note_type(col.models.get(note_type_id)) for note_type_id in used)
    return note_types, notes, _decks(col, home_decks, deck_names)


def _note_type(legacy: dict[str, Any]) -> ImportedNoteType:
    return ImportedNoteType(
        id=int(legacy["id"]),
        name=str(legacy["name"]),
        kind=NoteTypeKind.CLOZE if legacy["type"] == 1 else NoteTypeKind.BASIC,
        fields=tuple(ImportedField(f["name"], f.get("id")) for f in legacy["flds"]),
        templates=tuple(
            ImportedTemplate(
                name=t["name"],
                qfmt=t["qfmt"],
                afmt=t["afmt"],
                id=t.get("id"),
                bqfmt=t.get("bqfmt") or "",
                bafmt=t.get("bafmt") or "",
            )
            for t in legacy["tmpls"]
        ),
        css=str(legacy["css"]),
        sort_field=int(legacy.get("sortf", 0)),
        latex_pre=str(legacy.get("latexPre", "")),
        latex_post=str(legacy.get("latexPost", "")),
        mtime=int(legacy.get("mod", 0)),
        legacy_json=json.dumps(legacy, sort_keys=True, ensure_ascii=False),
    )


def _decks(col: Any, home_decks: set[int], names: dict[int, str]) -> tuple[ImportedDeck, ...]:
    """The decks of the cards and their parents: what Anki's own importer creates (rslib
    import_export/gather.rs ``gather_decks``)."""
    wanted: dict[str, int] = {}
    for deck_id in home_decks:
        name = names.get(deck_id, names.get(1, "Default"))
        parts = name.split("::")
        for depth in range(1, len(parts) + 1):
            wanted.setdefault("::".join(parts[:depth]), 0)
        wanted[name] = deck_id
    by_name = {name: deck_id for deck_id, name in names.items()}
    decks = []
    for name in sorted(wanted):
        deck_id = wanted[name] or by_name.get(name, 0)
        legacy = col.decks.get(deck_id, default=False) if deck_id else None
        decks.append(
            ImportedDeck(
                id=deck_id,
                name=name,
                description=str(legacy.get("desc", "")) if legacy else "",
                filtered=bool(legacy.get("dyn", 0)) if legacy else False,
            )
        )
    return tuple(decks)


def _check_notes(path: Path, notes: tuple[ImportedNote, ...]) -> None:
    if not notes:
        raise ImportFileError(path, "the file holds no notes")
    shared = sorted(
        guid for guid, count in Counter(n.guid for n in notes if n.guid).items() if count > 1
    )
    if shared:
        listed = ", ".join(repr(guid) for guid in shared[:5])
        more = f" and {len(shared) - 5} more" if len(shared) > 5 else ""
        raise ImportFileError(
            path,
            f"{len(shared)} GUID{'s' if len(shared) > 1 else ''} shared by two or more notes: "
            f"{listed}{more} (Anki would import each of them as a separate note)",
        )


# -- text ----------------------------------------------------------------------------------

# Anki's delimiters in the order it tries them when the file names none (the proto enum's
# order; rslib text/csv/metadata.rs ``delimiter_from_reader``), with the names ``#separator:``
# takes.
_DELIMITERS = (
    ("tab", "\t"),
    ("pipe", "|"),
    ("semicolon", ";"),
    ("colon", ":"),
    ("comma", ","),
    ("space", " "),
)
# Anki's test for "this text is HTML" (rslib text.rs ``HTML``): any tag or comment.
_HTML = re.compile(
    r"(<!--.*?-->)|(<style.*?>.*?</style>)|(<script.*?>.*?</script>)|(<.*?>)",
    re.IGNORECASE | re.DOTALL,
)
_PREVIEW_RECORDS = 5  # Anki guesses "is HTML" from the first five records
_DELIMITER_SNIFF = 8 * 1024  # and the delimiter from the first 8 KiB after the headers


class _Header:
    """What a text file's ``#key:value`` lines say (rslib metadata.rs ``parse_meta_value``)."""

    def __init__(self) -> None:
        self.delimiter: str | None = None
        self.is_html: bool | None = None
        self.tags: tuple[str, ...] = ()
        self.notetype: str = ""
        self.deck: str | None = None
        self.notetype_column = 0
        self.deck_column = 0
        self.tags_column = 0
        self.guid_column = 0
        self.columns: tuple[str, ...] = ()

    def meta_columns(self) -> set[int]:
        columns = (self.notetype_column, self.deck_column, self.tags_column, self.guid_column)
        return {c for c in columns if c > 0}

    def read(self, key: str, value: str) -> None:
        trimmed = _trim_value(value)
        key = key.strip().lower()
        if key == "separator":
            normed = trimmed.lower()
            for name, char in _DELIMITERS:
                if normed.strip() == name or normed == char:
                    self.delimiter = char
                    break
        elif key == "html":
            if trimmed.lower() in ("true", "false"):
                self.is_html = trimmed.lower() == "true"
        elif key == "tags":
            self.tags = tuple(value.split())
        elif key == "columns":
            self.columns = tuple(next(csv.reader([value], delimiter=self.delimiter or "\t"), []))
        elif key == "notetype":
            self.notetype = value
        elif key == "deck":
            self.deck = value or None
        elif key in ("notetype column", "deck column", "tags column", "guid column"):
            try:
                number = int(trimmed.strip())
            except ValueError:
                return
            setattr(self, key.replace(" ", "_"), number)


def _trim_value(value: str) -> str:
    """Anki cuts a header's value at the first character past the first that is not an ASCII
    letter or digit, for a header line exported as a record (``#html:true,,,``)."""
    for index, char in enumerate(value[1:], start=1):
        if not (char.isascii() and char.isalnum()):
            return value[:index]
    return value


def read_text(path: Path) -> ImportedCollection:
    """The notes of a "Notes in Plain Text" export or a CSV file with Anki's ``#`` headers.

    Such a file carries no note types and no media: each note names its note type (or none)
    and gives its field values in column order, as HTML the way Anki would store them (a file
    that is not HTML is escaped, newlines become ``<br>``, as Anki's importer does). Columns
    past a note type's fields cannot be told apart from fields here; Anki maps them when it
    knows the note type.
    """
    path = Path(path)
    head = _signature(path)
    if head.startswith(_ZIP_SIGNATURES):
        raise ImportFileError(path, "an Anki package (a zip archive), not a text export")
    for signature, name in _OTHER_SIGNATURES:
        if head.startswith(signature):
            raise ImportFileError(path, f"not a text export: it is {name}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(exc.filename or path, f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise ImportFileError(path, "not a text export: it is a binary file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(path, "not UTF-8 text, which Anki's importer needs", line) from None
    header, body, first_line = _read_header(text)
    delimiter = header.delimiter or _sniff_delimiter(body)
    records = list(_records(path, body, delimiter, first_line))
    is_html = header.is_html
    if is_html is None:
        is_html = any(_HTML.search(cell) for _, row in records[:_PREVIEW_RECORDS] for cell in row)
    notes = tuple(_text_note(header, line, row, is_html) for line, row in records)
    _check_notes(path, notes)
    return ImportedCollection(
        source=path,
        format=SourceFormat.TEXT,
        note_types=(),
        notes=notes,
        decks=_text_decks(notes),
        media=MappingProxyType({}),
    )


def _read_header(text: str) -> tuple[_Header, str, int]:
    """The header, the text after a leading ``tags:`` line (an old form Anki still reads) and
    the line number the rest begins on. Header lines are also comments to the CSV reader, so
    they stay in the text."""
    header = _Header()
    first_line = 1
    lines = text.split("\n")
    if lines and lines[0].startswith("tags:"):
        header.tags = tuple(lines[0][len("tags:") :].split())
        text = text[len(lines[0]) + 1 :]
        lines = lines[1:]
        first_line = 2
    for line in lines:
        if not line.startswith("#"):
            break
        key, colon, value = line[1:].partition(":")
        if colon:
            header.read(key, value.removesuffix("\r"))
    return header, text, first_line


def _sniff_delimiter(body: str) -> str:
    lines = body.split("\n")
    start = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    sample = "\n".join(lines[start:])[:_DELIMITER_SNIFF]
    for _, char in _DELIMITERS:
        if char in sample:
            return char
    return " "


def _records(
    path: Path, body: str, delimiter: str, first_line: int
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of each record; a line that begins a record with ``#`` is a comment, as in
    Anki's reader (the ``csv`` crate with ``comment(b'#')``), blank lines are skipped."""
    state = {"line": first_line - 1, "record_start": True, "start_line": first_line}

    def lines() -> Iterator[str]:
        for line in io.StringIO(body, newline=""):
            state["line"] += 1
            if state["record_start"]:
                if line.startswith("#"):
                    continue
                state["start_line"] = state["line"]
                state["record_start"] = False
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(path, f"not readable as CSV: {exc}", state["line"]) from None
        state["record_start"] = True
        if row:
            yield state["start_line"], row


def _text_note(header: _Header, line: int, row: list[str], is_html: bool) -> ImportedNote:
    def cell(column: int) -> str:
        return row[column - 1] if 0 < column <= len(row) else ""

    meta = header.meta_columns()
    values = [value for index, value in enumerate(row, start=1) if index not in meta]
    if not is_html:
        # Anki's importer escapes plain text (htmlescape::encode_minimal) and keeps line breaks.
        values = [html.escape(value).replace("\n", "<br>") for value in values]
    deck = cell(header.deck_column) if header.deck_column else header.deck
    tags = header.tags + tuple(cell(header.tags_column).split())
    return ImportedNote(
        id=0,
        guid=cell(header.guid_column),
        note_type_id=None,
        note_type_name=cell(header.notetype_column) if header.notetype_column else header.notetype,
        fields=tuple(values),
        tags=tuple(dict.fromkeys(tags)),
        mtime=0,
        cards=(),
        deck=deck or None,
        line=line,
    )


def _text_decks(notes: tuple[ImportedNote, ...]) -> tuple[ImportedDeck, ...]:
    names: set[str] = set()
    for note in notes:
        if note.deck:
            parts = note.deck.split("::")
            names.update("::".join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return tuple(ImportedDeck(0, name, "", False) for name in sorted(names))
