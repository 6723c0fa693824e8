"""Anki package export. The only module that imports genanki.

genanki writes what is the same in every package: the collection's schema and the JSON of the
note types and decks. The notes and cards are written here, row by row in the columns
genanki's ``Note`` and ``Card`` write, because genanki stamps every note of a package with one
time, and each note needs its own (the lock's: see lock.py). Which cards a note gets is its
note type's rule (``NoteType.card_ords``). The templates and CSS of our note types are here;
their ids, names and fields in notes.py. CSS may change freely under the same id; fields and
templates may not.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import genanki
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA

from cardpress.commit import scratch
from cardpress.export import BuildOptions, ExportSummary, plural
from cardpress.lock import mtimes_comment, now
from cardpress.model import Deck, Kind, OwnNoteType
from cardpress.notes import ADD_REVERSE, CARD_ID, Notes, NoteType, stable_id, types_of

# 1980-01-01, the earliest time a zip entry can hold: the package's bytes never depend on a clock.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

CSS = """\
.card {
  font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 22px;
  line-height: 1.45;
  text-align: center;
  color: #1d1d1f;
  background: #fbfaf7;
  padding: 1em 0.75em;
  max-width: 34em;
  margin: 0 auto;
  overflow-wrap: anywhere;
}
.cp-front { font-weight: 500; }
.cp-back { font-size: 1.1em; }
.cp-extra {
  margin-top: 1em; padding-top: 0.6em;
  border-top: 1px dashed #c8c4bb;
  font-size: 0.8em; color: #4a4a4f; text-align: left;
}
.cp-meta { margin-top: 1.4em; font-size: 0.62em; color: #6e6e73; }
.cp-topic {
  display: inline-block; padding: 0.1em 0.6em; margin: 0 0.3em;
  border-radius: 1em; background: #ebe7de; text-transform: uppercase; letter-spacing: 0.05em;
}
.cp-source { font-style: italic; margin: 0 0.3em; }
.cloze { font-weight: 700; color: #0a58ca; }
input#typeans { font-size: 0.9em; }
img { max-width: 100%; height: auto; }
ul, ol { display: inline-block; text-align: left; margin: 0.3em 0; }
hr#answer { border: 0; border-top: 1px solid #d5d1c8; margin: 0.9em 0; }
.nightMode.card, .night_mode .card { color: #e8e6e3; background: #1e1f22; }
.nightMode .cp-extra, .night_mode .cp-extra { color: #c5c3bf; border-top-color: #4a4b50; }
.nightMode .cp-meta, .night_mode .cp-meta { color: #a1a1a6; }
.nightMode .cp-topic, .night_mode .cp-topic { background: #34363b; }
.nightMode .cloze, .night_mode .cloze { color: #7ab4ff; }
.nightMode hr#answer, .night_mode hr#answer { border-top-color: #4a4b50; }
@media (max-width: 480px) { .card { font-size: 19px; padding: 0.6em 0.4em; } }
"""

_META = (
    '<div class="cp-meta">{{#Topic}}<span class="cp-topic">{{Topic}}</span>{{/Topic}}'
    '{{#Source}}<span class="cp-source">{{Source}}</span>{{/Source}}</div>'
)
_EXTRA = '{{#Extra}}<div class="cp-extra">{{Extra}}</div>{{/Extra}}'


def _answer(question: str, answer: str) -> str:
    return (
        f'<div class="cp-front">{question}</div>\n<hr id="answer">\n'
        f'<div class="cp-back">{answer}</div>\n{_EXTRA}\n{_META}'
    )


@functools.cache
def model(note_type: NoteType) -> genanki.Model:
    """The genanki model of one of our note types: its fields, templates and CSS."""
    fields: list[dict[str, Any]] = [{"name": name} for name in note_type.fields]
    if note_type.kind is Kind.CLOZE:
        cloze = '<div class="cp-front">{{cloze:Text}}</div>'
        templates = [{"name": "Cloze", "qfmt": cloze, "afmt": f"{cloze}\n{_EXTRA}\n{_META}"}]
    elif note_type.kind is Kind.TYPE:
        front = '<div class="cp-front">{{Front}}</div>'
        templates = [
            {
                "name": "Card 1",
                "qfmt": f"{front}\n\n{{{{type:Back}}}}",
                "afmt": f'{front}\n<hr id="answer">\n{{{{type:Back}}}}\n{_EXTRA}\n{_META}',
            }
        ]
    else:
        templates = [_card_1()]
        if note_type.kind is Kind.REVERSED or note_type.reverse_field is not None:
            templates.append(_card_2(note_type))
    if note_type.version >= 2:
        _version_2(note_type, fields, templates)
    kind = genanki.Model.CLOZE if note_type.kind is Kind.CLOZE else genanki.Model.FRONT_BACK
    return genanki.Model(
        note_type.id, note_type.name, fields=fields, templates=templates, css=CSS,
        model_type=kind,
    )  # fmt: skip


def _card_1() -> dict[str, Any]:
    front = '<div class="cp-front">{{Front}}</div>'
    return {"name": "Card 1", "qfmt": front, "afmt": _answer("{{Front}}", "{{Back}}")}


def _card_2(note_type: NoteType) -> dict[str, Any]:
    """The reverse card; with an Add Reverse field, only where that field is not empty (as
    Anki's "Basic (optional reversed card)")."""
    question = '<div class="cp-front">{{Back}}</div>'
    if note_type.reverse_field is not None:
        question = f"{{{{#{ADD_REVERSE}}}}}{question}{{{{/{ADD_REVERSE}}}}}"
    return {"name": "Card 2", "qfmt": question, "afmt": _answer("{{Back}}", "{{Front}}")}


def _version_2(
    note_type: NoteType, fields: list[dict[str, Any]], templates: list[dict[str, Any]]
) -> None:
    """What version 2 adds to a note type's JSON, as Anki's own note types carry it: fixed
    ids for fields and templates (Anki matches them by id when note types are merged), and
    the Card ID field folded away in the editor, with a word on what it is for."""
    for item in (*fields, *templates):
        item["id"] = _signed_id(str(note_type.id), item["name"])
    for item in fields:
        if item["name"] == CARD_ID:
            item["collapsed"] = True
            item["description"] = (
                "cardpress: this note's deck key and card id, which find it; do not edit"
            )


def _signed_id(*parts: str) -> int:
    """A fixed id in the range of Anki's field and template ids (signed 64-bit)."""
    digest = hashlib.sha256("\x1f".join(("cardpress", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def deck_description(deck: Deck) -> str:
    """The description Anki shows on the deck's overview: the deck's own, then the work it
    is written from (``source``), which no other place in Anki shows."""
    source = f'<p class="cp-source">Source: {html.escape(deck.source)}</p>' if deck.source else ""
    return "\n".join(filter(None, (deck.description, source)))


def write_apkg(notes: Notes, path: Path, options: BuildOptions | None = None) -> ExportSummary:
    """Write ``notes`` (stamped with their mtimes) as an Anki package to ``path``."""
    deck = notes.deck
    members = notes.decks()
    description = deck_description(deck)
    decks = {
        name: genanki.Deck(
            stable_id(deck.key, name), name, description if name == deck.name else ""
        )
        for name in members
    }
    stamp = max(notes.mtimes, default=now())
    # The collection is a scratch file beside the package (a build's sweep removes it if the
    # build is killed): in memory it would be held twice, once more to serialise it.
    with scratch(path) as collection:
        db = sqlite3.connect(collection)
        try:
            cursor = db.cursor()
            # A scratch file: no journal, no waiting for the disk.
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cards = _write_collection(cursor, notes, decks, members, stamp)
            db.commit()
        finally:
            db.close()
        with zipfile.ZipFile(path, "w") as zf:
            _add_file(zf, "collection.anki2", collection)
            media = {str(i): m.name for i, m in enumerate(deck.media)}
            _add(zf, "media", json.dumps(media, ensure_ascii=False, sort_keys=True).encode())
            for i, item in enumerate(deck.media):
                _add(zf, str(i), item.path.read_bytes())
            ids = (card.id for card in deck.cards)
            zf.comment = mtimes_comment(zip(ids, notes.mtimes, strict=True))
    return ExportSummary(
        f"{plural(len(notes), 'note')}, {plural(cards, 'card')}, {plural(len(decks), 'deck')}, "
        f"{plural(len(deck.media), 'media file')}"
    )


def _write_collection(
    cursor: sqlite3.Cursor,
    notes: Notes,
    decks: dict[str, genanki.Deck],
    members: dict[str, Any],
    stamp: int,
) -> int:
    """The collection: genanki's schema, note types and decks, then every note and card.
    Returns the number of cards."""
    cursor.executescript(APKG_SCHEMA)
    cursor.executescript(APKG_COL)
    # genanki's indexes on notes and cards, built once after the rows instead of updated row
    # by row (half the insert time); the same statements, the same schema.
    indexes = cursor.execute(
        "SELECT name, sql FROM sqlite_master"
        " WHERE type = 'index' AND tbl_name IN ('notes', 'cards') ORDER BY rowid"
    ).fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    (decks_json,) = cursor.execute("SELECT decks FROM col").fetchone()
    all_decks = json.loads(decks_json)
    all_decks.update({str(d.deck_id): d.to_json() for d in decks.values()})
    cursor.execute(
        "UPDATE col SET decks = ?, models = ?",
        (json.dumps(all_decks), _models_json(notes, decks, members, stamp)),
    )
    cards = _insert_notes(cursor, notes, decks, members)
    for _, sql in indexes:
        cursor.execute(sql)
    return cards


def _models_json(
    notes: Notes, decks: dict[str, genanki.Deck], members: dict[str, Any], stamp: int
) -> str:
    """The note types' JSON as genanki's ``Package.write_to_db`` leaves it, in one pass.

    genanki reads, updates and writes the JSON of decks and note types once per deck: work
    that grows with the square of the number of decks (10,000 topics took minutes). The
    decks' JSON is written once instead; the note types' is rebuilt here as genanki's loop
    would leave it, byte for byte, packages stay the same: each round trip through JSON turns
    the ids of the note types of earlier decks into text keys, so that the last deck's note
    types appear twice (Anki reads the later one).
    """
    state: dict[Any, Any] = {}
    cards = notes.deck.cards
    types = types_of(notes.deck)
    for name, deck in decks.items():
        kinds = dict.fromkeys(types[cards[i].note_type or cards[i].kind] for i in members[name])
        normalised: dict[Any, Any] = {}
        for key, value in state.items():  # json.loads(json.dumps(state)), without the text
            normalised[str(key)] = value
        state = normalised
        for note_type in kinds:
            if note_type.own is not None:
                mtime = notes.type_mtimes.get(note_type.id, stamp)
                state[note_type.id] = own_model_json(note_type.own, mtime, deck.deck_id)
                continue
            state[note_type.id] = model(note_type).to_json(stamp, deck.deck_id)
            if note_type.stock_kind:
                state[note_type.id]["originalStockKind"] = note_type.stock_kind
    return json.dumps(state)


def own_model_json(own: OwnNoteType, mtime: int, deck_id: int) -> dict[str, Any]:
    """The JSON of one of a deck's own note types, as genanki writes a note type's (the keys
    of Anki's schema 11), with its own ids for fields and templates where it has them, and
    the mtime the lock gives it: Anki takes its templates and CSS only when that is newer
    than its own. No ``req``: Anki works out which cards a template makes itself (since
    2.1.28), and genanki's way of working it out renders templates with another engine."""
    fields = []
    for ord_, (name, field_id) in enumerate(zip(own.fields, own.field_ids, strict=True)):
        field: dict[str, Any] = {
            "name": name, "ord": ord_, "font": "Arial", "media": [], "rtl": False,
            "size": 20, "sticky": False,
        }  # fmt: skip
        if field_id is not None:
            field["id"] = field_id
        fields.append(field)
    templates = []
    for ord_, template in enumerate(own.templates):
        item: dict[str, Any] = {
            "name": template.name, "ord": ord_, "qfmt": template.front, "afmt": template.back,
            "bqfmt": template.browser_front, "bafmt": template.browser_back, "bfont": "",
            "bsize": 0, "did": None,
        }  # fmt: skip
        if template.id is not None:
            item["id"] = template.id
        templates.append(item)
    return {
        "css": own.css or CSS, "did": deck_id, "flds": fields, "id": str(own.id),
        "latexPost": genanki.Model.DEFAULT_LATEX_POST, "latexPre": genanki.Model.DEFAULT_LATEX_PRE,
        "latexsvg": False, "mod": mtime, "name": own.name, "req": [],
        "sortf": own.sort_field, "tags": [], "tmpls": templates,
        "type": genanki.Model.CLOZE if own.cloze else genanki.Model.FRONT_BACK, "usn": -1,
        "vers": [],
    }  # fmt: skip


def _insert_notes(
    cursor: sqlite3.Cursor, notes: Notes, decks: dict[str, genanki.Deck], members: dict[str, Any]
) -> int:
    """Insert every note and card, deck by deck, a few thousand rows at a time.

    The rows are genanki's: ``genanki.Note.write_to_db`` and ``genanki.Card.write_to_db``
    write these columns with these values. Note and card ids come from one counter, each
    note's cards right after it, as genanki numbers them; they only need to be unique (Anki
    maps notes by GUID).
    """
    counter = _ids(max(notes.mtimes, default=0))
    rows: list[tuple[object, ...]] = []
    cards: list[tuple[object, ...]] = []
    count = 0
    mtimes = notes.mtimes
    for name, deck in decks.items():
        deck_id = deck.deck_id
        for note in notes.select(members[name]):
            mtime = mtimes[note.position - 1]
            note_id = next(counter)
            fields = note.fields
            flds = "\x1f".join(fields)
            # The sort field is the first field; bound as a slice of flds, not as the card's
            # own string: sqlite3 keeps a UTF-8 copy inside every str it binds (4 MB at 100k
            # that would stay with the deck).
            # id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data
            rows.append((note_id, note.guid, note.note_type.id, mtime, -1,
                         " " + " ".join(note.tags) + " ", flds, flds[: len(fields[0])], 0, 0,
                         ""))  # fmt: skip
            for ord_ in note.note_type.card_ords(fields):
                # id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses,
                # left, odue, odid, flags, data
                cards.append((next(counter), note_id, deck_id, ord_, mtime, -1, 0, 0,
                              note.position, 0, 0, 0, 0, 0, 0, 0, 0, ""))  # fmt: skip
            if len(rows) == 5000:
                count += len(cards)
                _flush(cursor, rows, cards)
    count += len(cards)
    _flush(cursor, rows, cards)
    return count


def _flush(cursor: sqlite3.Cursor, notes: list[tuple[object, ...]], cards: list[Any]) -> None:
    cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?);", notes)
    cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);", cards)
    notes.clear()
    cards.clear()


def _ids(stamp: int) -> Iterator[int]:
    counter = stamp * 1000
    while True:
        counter += 1
        yield counter


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    zf.writestr(_entry(name), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)


def _add_file(zf: zipfile.ZipFile, name: str, source: Path) -> None:
    """Deflate a file into the zip a megabyte at a time, at level 1.

    The collection is most of a package; level 1 deflates it 3.4 times faster than the
    default 6 for 10% more bytes (100k cards: 0.2 s and 9.8 MB against 0.68 s and 8.9 MB).
    """
    info = _entry(name)
    # ZipInfo's level: `compress_level` from Python 3.13, `_compresslevel` before.
    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 1)
    info.file_size = source.stat().st_size  # tells zipfile whether the entry needs ZIP64
    with source.open("rb") as src, zf.open(info, "w") as dest:
        shutil.copyfileobj(src, dest, 1 << 20)
