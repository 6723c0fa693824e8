"""Anki package export. The only module that imports genanki.

Note types are ours, frozen and versioned: a change to their fields or templates needs a new
model id (see ``NOTE_TYPE_VERSION``), or Anki forks the type and skips existing notes as
"conflicting". Styling (CSS) may change freely under the same id.
"""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
import sqlite3
import zipfile
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import genanki

from cardpress import ids
from cardpress.commit import temp_beside
from cardpress.model import Card, Deck, Kind

NOTE_TYPE_VERSION = 1

# Fixed ids; never reuse one for a different schema (fields or templates).
MODEL_IDS = {
    Kind.BASIC: 1607392319,
    Kind.REVERSED: 1607392320,
    Kind.CLOZE: 1607392321,
    Kind.TYPE: 1607392322,
}

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


_FRONT_BACK_FIELDS = ["Front", "Back", "Extra", "Topic", "Source"]


MODEL_NAMES = {kind: f"cardpress {kind.value.capitalize()} v{NOTE_TYPE_VERSION}" for kind in Kind}


def _model(kind: Kind) -> genanki.Model:
    model_id = MODEL_IDS[kind]
    name = MODEL_NAMES[kind]
    if kind is Kind.CLOZE:
        return genanki.Model(
            model_id,
            name,
            fields=[{"name": n} for n in ["Text", "Extra", "Topic", "Source"]],
            templates=[
                {
                    "name": "Cloze",
                    "qfmt": '<div class="cp-front">{{cloze:Text}}</div>',
                    "afmt": f'<div class="cp-front">{{{{cloze:Text}}}}</div>\n{_EXTRA}\n{_META}',
                }
            ],
            css=CSS,
            model_type=genanki.Model.CLOZE,
        )
    templates = [
        {
            "name": "Card 1",
            "qfmt": '<div class="cp-front">{{Front}}</div>',
            "afmt": _answer("{{Front}}", "{{Back}}"),
        }
    ]
    if kind is Kind.REVERSED:
        templates.append(
            {
                "name": "Card 2",
                "qfmt": '<div class="cp-front">{{Back}}</div>',
                "afmt": _answer("{{Back}}", "{{Front}}"),
            }
        )
    if kind is Kind.TYPE:
        templates = [
            {
                "name": "Card 1",
                "qfmt": '<div class="cp-front">{{Front}}</div>\n\n{{type:Back}}',
                "afmt": (
                    '<div class="cp-front">{{Front}}</div>\n<hr id="answer">\n{{type:Back}}\n'
                    f"{_EXTRA}\n{_META}"
                ),
            }
        ]
    return genanki.Model(
        model_id,
        name,
        fields=[{"name": n} for n in _FRONT_BACK_FIELDS],
        templates=templates,
        css=CSS,
    )


def note_fields(card: Card) -> list[str]:
    """The Anki field values of a card, in its note type's field order."""
    topic = _escaped(card.topic_title)  # a title is plain text, fields are HTML
    if card.kind is Kind.CLOZE:
        return [card.front, card.extra, topic, card.source]
    return [card.front, card.back, card.extra, topic, card.source]


@functools.lru_cache(maxsize=1024)
def _escaped(title: str) -> str:
    return html.escape(title, quote=False)


def note_tags(deck: Deck, card: Card) -> list[str]:
    """The tags of a card's note: deck tags, card tags, then ``topic::<topic>``."""
    tags = list(dict.fromkeys([*deck.tags, *card.tags]))
    if card.topic:
        tags.append(f"topic::{card.topic}")
    return tags


def note_contents(deck: Deck) -> dict[str, object]:
    """Per card id, everything its exported note carries: the input of its fingerprint."""
    return {
        card.id: {
            "model": MODEL_IDS[card.kind],
            "fields": note_fields(card),
            "tags": note_tags(deck, card),
            "deck": deck.deck_name_for(card),
        }
        for card in deck.cards
    }


_JSON_STRING = json.encoder.encode_basestring  # json.dumps's string encoder (ensure_ascii off)


def note_fingerprints(deck: Deck) -> dict[str, str]:
    """Per card id, ``ids.fingerprint(note_contents(deck)[card_id])``, five times faster.

    The canonical JSON (sorted keys, no spaces) of a note's contents is written directly, with
    json's own string encoder; ``tests/test_apkg.py`` checks it equals the general definition.
    """
    return dict(iter_fingerprints(deck))


def iter_fingerprints(deck: Deck) -> Iterator[tuple[str, str]]:
    """:func:`note_fingerprints` as (card id, fingerprint) pairs, one card at a time."""
    for card in deck.cards:
        data = (
            '{"deck":' + _JSON_STRING(deck.deck_name_for(card))
            + ',"fields":[' + ",".join(map(_JSON_STRING, note_fields(card)))
            + '],"model":' + str(MODEL_IDS[card.kind])
            + ',"tags":[' + ",".join(map(_JSON_STRING, note_tags(deck, card))) + "]}"
        )  # fmt: skip
        yield card.id, ids.digest(data)


@dataclass(frozen=True)
class ApkgSummary:
    """What a package holds."""

    notes: int
    cards: int
    decks: int
    media: int

    def __str__(self) -> str:
        return (
            f"{self.notes} notes, {self.cards} cards, {self.decks} decks, {self.media} media files"
        )


def write_apkg(deck: Deck, path: Path, *, mtimes: Mapping[str, int]) -> ApkgSummary:
    """Write ``deck`` as an Anki package to ``path``.

    ``mtimes`` maps card id to note mtime.

    genanki writes the collection: its schema, our note types and the decks. The notes and
    cards are genanki's rows too (same columns, same values, the same card generation as
    ``genanki.Note.cards``), written in two ``executemany`` calls instead of one Python
    ``Note`` object and one INSERT per row: at 100,000 notes that is seconds.
    """
    models = {kind: _model(kind) for kind in Kind}
    models_by_id = {MODEL_IDS[kind]: model for kind, model in models.items()}
    anki_decks: dict[str, genanki.Deck] = {}
    # Each Anki deck's cards, as indexes into deck.cards: no tuple (and no int) per card.
    members: dict[str, array[int]] = {}
    for index, card in enumerate(deck.cards):
        members.setdefault(deck.deck_name_for(card), array("l")).append(index)
    # The deck itself first (it carries the description), then each subdeck as cards reach it.
    for name in dict.fromkeys([deck.name, *members]):
        description = deck.description if name == deck.name else ""
        anki_decks[name] = genanki.Deck(ids.stable_id(deck.key, name), name, description)
        kinds = dict.fromkeys(deck.cards[i].kind for i in members.get(name, ()))
        for model_id in dict.fromkeys(MODEL_IDS[kind] for kind in kinds):
            anki_decks[name].add_model(models_by_id[model_id])

    stamp = max(mtimes.values(), default=ids.now())

    package = genanki.Package(list(anki_decks.values()))
    # The collection is a scratch file beside the package (a build's sweep removes it if the
    # build is killed): in memory it would be held twice, once more to serialise it.
    scratch = temp_beside(path)
    try:
        conn = sqlite3.connect(scratch)
        try:
            cursor = conn.cursor()
            # A scratch file: no journal, no waiting for the disk.
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            package.write_to_db(cursor, stamp, _id_gen(stamp))  # schema, note types, decks
            # genanki's indexes on notes and cards, built once after the rows instead of
            # updated row by row (half the insert time); the same statements, the same schema.
            indexes = cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'index' AND tbl_name IN ('notes', 'cards') ORDER BY rowid"
            ).fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            card_count = _insert_notes(cursor, deck, models, anki_decks, members, mtimes, stamp)
            for _, sql in indexes:
                cursor.execute(sql)
            conn.commit()
        finally:
            conn.close()
        with zipfile.ZipFile(path, "w") as zf:
            _add_file(zf, "collection.anki2", scratch)
            media = {str(i): m.name for i, m in enumerate(deck.media)}
            _add(zf, "media", json.dumps(media, ensure_ascii=False, sort_keys=True).encode())
            for i, item in enumerate(deck.media):
                _add(zf, str(i), item.path.read_bytes())
    finally:
        scratch.unlink(missing_ok=True)
    return ApkgSummary(len(deck.cards), card_count, len(anki_decks), len(deck.media))


def _insert_notes(
    cursor: sqlite3.Cursor,
    deck: Deck,
    models: dict[Kind, genanki.Model],
    anki_decks: dict[str, genanki.Deck],
    members: dict[str, array[int]],
    mtimes: Mapping[str, int],
    stamp: int,
) -> int:
    """Insert every note and card, deck by deck, a few thousand rows at a time.

    The rows are genanki's: ``genanki.Note.write_to_db`` and ``genanki.Card.write_to_db``
    write these columns with these values. Note and card ids come from one counter, each
    note's cards right after it, as genanki numbers them. Returns the number of cards.
    """
    ords = {kind: _card_ords(models[kind]) for kind in Kind}
    next_id = _id_gen(stamp)
    notes: list[tuple[object, ...]] = []
    cards: list[tuple[object, ...]] = []
    count = 0

    def flush() -> None:
        cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?);", notes)
        cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);", cards)
        notes.clear()
        cards.clear()

    cards_of_deck = deck.cards
    for name, anki_deck in anki_decks.items():
        deck_id = anki_deck.deck_id
        for index in members.get(name, ()):
            card = cards_of_deck[index]
            position = index + 1
            fields = note_fields(card)
            note_id = next(next_id)
            mtime = mtimes[card.id]
            guid = ids.guid(deck.key, card.id)
            tags = " " + " ".join(note_tags(deck, card)) + " "
            flds = "\x1f".join(fields)
            # The sort field is the first field; bound as a slice of flds, not as the card's
            # own string: sqlite3 keeps a UTF-8 copy inside every str it binds (4 MB at 100k
            # that would stay with the deck).
            sfld = flds[: len(fields[0])]
            # id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data
            notes.append((note_id, guid, MODEL_IDS[card.kind], mtime, -1, tags,
                          flds, sfld, 0, 0, ""))  # fmt: skip
            for ord_ in ords[card.kind](fields):
                # id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses,
                # left, odue, odid, flags, data
                cards.append((next(next_id), note_id, deck_id, ord_, mtime, -1, 0, 0, position,
                              0, 0, 0, 0, 0, 0, 0, 0, ""))  # fmt: skip
            if len(notes) == 5000:
                count += len(cards)
                flush()
    count += len(cards)
    flush()
    return count


_CLOZE_NUMBER = re.compile(r"{{c(\d+)::.+?}}", re.DOTALL)  # genanki's Note._cloze_cards


def _card_ords(model: genanki.Model) -> Callable[[list[str]], list[int]]:
    """The card ordinals a note of ``model`` gets: genanki's ``Note.cards``, as a function."""
    if model.model_type == genanki.Model.CLOZE:

        def cloze(fields: list[str]) -> list[int]:
            # Ascending; genanki iterates a set, which only changes the order of card ids.
            return sorted({int(n) - 1 for n in _CLOZE_NUMBER.findall(fields[0]) if int(n) > 0})

        return cloze
    req = [
        (card_ord, all if mode == "all" else any, needed) for card_ord, mode, needed in model._req
    ]

    def front_back(fields: list[str]) -> list[int]:
        return [card_ord for card_ord, test, needed in req if test(fields[i] for i in needed)]

    return front_back


def _id_gen(stamp: int) -> Iterator[int]:
    # Note and card ids inside the package only need to be unique; Anki maps notes by GUID.
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
