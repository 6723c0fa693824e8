"""Import of Anki's text exports: rows of Anki's stock note types, of cardpress's own, a plain
CSV and cardpress's own CSV become cards of cardpress's kinds; card files that load, keep
GUIDs, tags and decks, and a package built from them meets Anki's notes as the report says."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from anki.collection import Collection, ExportAnkiPackageOptions
from anki.decks import DeckId
from click.testing import CliRunner

from cardpress.cli import cli
from cardpress.errors import Diagnostic, Severity
from cardpress.importer import ImportFileError, read_file, read_text
from cardpress.importer.stock_names import TRANSLATED_NAMES, from_anki
from cardpress.importer.text import KNOWN_NOTE_TYPES, plan_text
from cardpress.importer.write import ImportPlan, PlannedDeck, write
from cardpress.loader import load
from cardpress.model import Card, Kind
from cardpress.notes import NOTE_TYPE_BY_ID, STOCK_NAMES
from tests.conftest import FIXTURES, bucket_sizes, fresh_collection, import_apkg

PNG = (FIXTURES / "outside.png").read_bytes()


def _deck(col: Collection, name: str) -> DeckId:
    deck_id = col.decks.id(name)
    assert deck_id is not None
    return deck_id


def _export(col: Collection, path: Path) -> Path:
    """Anki's own text export, every column it can write."""
    col.export_note_csv(
        out_path=str(path),
        limit=None,
        with_html=True,
        with_tags=True,
        with_deck=True,
        with_notetype=True,
        with_guid=True,
    )
    return path


def _planned(path: Path, out: Path, **options: Any) -> tuple[ImportPlan, dict[str, Card]]:
    """The plan of a text file, written to ``out`` and loaded: its cards by id."""
    result = plan_text(read_text(path), **options)
    write(result, out)
    loaded = load([out / deck.file_name for deck in result.decks])
    return result, {card.id: card for deck in loaded.decks for card in deck.cards}


def _data(deck: PlannedDeck) -> dict[str, Any]:
    data = yaml.safe_load(deck.text)
    assert yaml.load(deck.text, Loader=yaml.CSafeLoader) == data
    assert isinstance(data, dict)
    return data


def _said(result: ImportPlan, needle: str) -> Diagnostic:
    (found,) = [d for d in result.diagnostics if needle in d.message]
    return found


# -- Anki's stock note types -----------------------------------------------------------------


@dataclass(frozen=True)
class Stock:
    """A collection's notes of every stock note type (and one of the user's own), by their
    first field, and Anki's text export of them."""

    folder: Path
    notes: dict[str, Any]  # first field -> (guid, fields, tags)
    export: Path
    package: Path  # the whole collection, to import into a fresh profile


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stock]:
    folder = tmp_path_factory.mktemp("stock")
    with fresh_collection(folder / "profile") as col:
        picture = col.media.write_data("flag.png", PNG)
        models = col.models
        own = models.new("Vocabulary")
        for name in ("Word", "Meaning", "Example"):
            models.add_field(own, models.new_field(name))
        template = models.new_template("Recognise")
        template["qfmt"], template["afmt"] = "{{Word}}", "{{FrontSide}}<hr id=answer>{{Meaning}}"
        models.add_template(own, template)
        models.add(own)

        def add(note_type: str, deck: str, fields: list[str], tags: list[str]) -> None:
            kind = models.by_name(note_type)
            assert kind is not None
            note = col.new_note(kind)
            for i, value in enumerate(fields):
                note.fields[i] = value
            note.tags = tags
            col.add_note(note, _deck(col, deck))

        add("Basic", "Spanish::Verbs", ["<b>hablar</b>", "to speak"], ["spanish::verbs", "y1"])
        add("Basic (and reversed card)", "Spanish::Nouns", ["el perro", "the dog"], ["y1"])
        add("Basic (optional reversed card)", "Spanish::Nouns", ["el gato", "the cat", "y"], [])
        add("Basic (optional reversed card)", "Spanish::Nouns", ["la casa", "the house", ""], [])
        add("Basic", "Spanish", ["¿Qué tal?", "How are you?"], [])
        add("Vocabulary", "Spanish", ["hola", "hello", "¡Hola, Juan!"], ["own"])
        add("Basic (type in the answer)", "Geography", ["Capital of France", "Paris"], ["geo"])
        add(
            "Cloze",
            "Geography",
            ["{{c1::Paris}} is the capital of {{c2::France::country}}", "Since <i>508</i>"],
            ["geo::europe"],
        )
        add("Basic", "Geography", [f'Whose flag? <img src="{picture}">', "France's"], [])
        notes = {}
        for note_id in col.find_notes(""):
            note = col.get_note(note_id)
            notes[note.fields[0]] = (note.guid, list(note.fields), list(note.tags))
        package = folder / "notes.apkg"
        col.export_anki_package(
            out_path=str(package),
            options=ExportAnkiPackageOptions(with_scheduling=True, with_media=True),
            limit=None,
        )
        yield Stock(folder, notes, _export(col, folder / "notes.txt"), package)


def test_rows_of_stock_note_types_become_cards_of_their_kinds(stock: Stock, tmp_path: Path) -> None:
    result, cards = _planned(stock.export, tmp_path / "cards")
    decks = {deck.key: deck for deck in result.decks}
    assert set(decks) == {"spanish", "geography"}
    assert {deck.name for deck in result.decks} == {"Spanish", "Geography"}
    assert _data(decks["spanish"])["topics"] == {"nouns": "Nouns", "verbs": "Verbs"}
    assert "topics" not in _data(decks["geography"])
    for deck in result.decks:
        data = _data(deck)
        assert data["format"] == 1 and data["key"] == deck.key
        assert not {"note_types", "keep_media_names", "note_type_version"} & set(data)
        assert data["topic_tags"] is False if "topics" in data else "topic_tags" not in data
    by_front = {html.unescape(card.front): card for card in cards.values()}
    want = {
        "<b>hablar</b>": (Kind.BASIC, "verbs", "to speak"),  # Anki's <b> stays <b>
        "el perro": (Kind.REVERSED, "nouns", "the dog"),
        "el gato": (Kind.REVERSED, "nouns", "the cat"),  # Add Reverse: y
        "la casa": (Kind.BASIC, "nouns", "the house"),  # Add Reverse empty
        "Capital of France": (Kind.TYPE, "", "Paris"),
    }
    for first, (kind, topic, back) in want.items():
        guid, _, tags = stock.notes[first]
        card = next(c for c in cards.values() if c.guid == guid)
        got = (card.kind, card.topic, card.front, card.back, card.tags)
        assert got == (kind, topic, first, back, tuple(tags))
    cloze_guid, (text, extra), tags = stock.notes[
        "{{c1::Paris}} is the capital of {{c2::France::country}}"
    ]
    cloze = next(c for c in cards.values() if c.guid == cloze_guid)
    assert (cloze.kind, cloze.front, cloze.extra, cloze.tags) == (
        Kind.CLOZE, text, extra, ("geo::europe",)
    )  # fmt: skip
    assert "spanish::verbs" in by_front["<b>hablar</b>"].tags  # hierarchical tags intact
    # Every card keeps its note's GUID; the note of the user's own note type is left out.
    assert {card.guid for card in cards.values()} == {
        guid for first, (guid, _, _) in stock.notes.items() if first != "hola"
    }


def test_what_does_not_come_across_is_reported_where_it_is(stock: Stock, tmp_path: Path) -> None:
    result, cards = _planned(stock.export, tmp_path / "cards")
    decks = {deck.file_name: deck for deck in result.decks}
    # The row of a note type the file does not define: at its line in the export.
    own = _said(result, "'Vocabulary'")
    assert own.severity is Severity.WARNING and own.location.path == str(stock.export)
    line = stock.export.read_text(encoding="utf-8").splitlines()[own.location.line - 1]
    assert "hola" in line and "Vocabulary" in line
    assert "other languages" in own.message and "package" in own.message
    # The picture a text export does not carry: at the card's field in the card file.
    picture = _said(result, "'flag.png'")
    assert picture.severity is Severity.WARNING and "no media" in picture.message
    text = decks[picture.location.path].text.splitlines()
    assert text[picture.location.line - 1].startswith("    front: Whose flag?")
    # The row in the top deck of a deck of topics: given one, said at its topic line.
    homeless = _said(result, "in the deck 'Spanish' itself")
    assert (
        decks["spanish.yaml"]
        .text.splitlines()[homeless.location.line - 1]
        .startswith("    topic: ")
    )
    assert any(card.front == "¿Qué tal?" and card.topic for card in cards.values())
    # Anki pads every row to the widest note type's fields: empty ones are no loss, said
    # nowhere; the note for the whole file says what a build does with the GUIDs.
    assert not [d for d in result.diagnostics if "more than" in d.message]
    (note,) = [d for d in result.diagnostics if d.severity is Severity.NOTE]
    assert note.location.path == str(stock.export) and note.location.line == 0
    assert "conflicting" in note.message and "push" in note.message
    assert [d.location.path for d in result.diagnostics].count(str(stock.export)) == 2


def test_a_build_meets_the_notes_under_another_note_type(stock: Stock, tmp_path: Path) -> None:
    """The promise of the note: a package built from the card files gives Anki every kept
    GUID under cardpress's note types, and Anki's import of it into the collection the export
    came from skips them as conflicting (nothing duplicated, nothing changed)."""
    _, cards = _planned(stock.export, tmp_path / "cards")
    _build(tmp_path / "cards", tmp_path / "dist", "apkg")
    packages = sorted((tmp_path / "dist").glob("*.apkg"))
    assert len(packages) == 2
    with fresh_collection(tmp_path / "anki") as col:
        import_apkg(col, stock.package)  # the collection the export came from

        def notes() -> dict[str, tuple[Any, ...]]:
            found = map(col.get_note, col.find_notes(""))
            return {n.guid: (n.mid, list(n.fields), list(n.tags)) for n in found}

        before = notes()
        sizes = [bucket_sizes(import_apkg(col, package)) for package in packages]
        after = notes()
    assert sum(s["conflicting"] for s in sizes) == len(cards) == len(before) - 1
    assert sum(s["new"] + s["updated"] for s in sizes) == 0
    assert after == before


# -- cardpress's own decks -------------------------------------------------------------------

HISTORY = """\
format: 1
key: history
name: History
note_type_version: {version}
subdecks: {subdecks}
tags: [year-11]
topics:
  dates: Dates
  people: People & Places
cards:
  - id: lenin
    topic: dates
    kind: reversed
    front: Year of Lenin's *death*
    back: "1924"
  - id: deutscher
    topic: dates
    front: Who wrote *The Prophet Armed*?
    back: Isaac Deutscher
    extra: "*Context:* the first of three."
    source: "§2 · Deutscher (1954)"
    tags: [historians]
  - id: exile
    topic: people
    kind: cloze
    text: "Exile took Trotsky to {{{{c1::Turkey::a country}}}} and {{{{c2::Mexico}}}}."
    extra: Via France and Norway.
    source: §3
    tags: [exile::routes]
  - id: assassin
    topic: people
    kind: type
    front: Family name of the agent who killed Trotsky
    back: Mercader
"""


def _build(cards: Path, out: Path, only: str) -> None:
    run = CliRunner().invoke(cli, ["build", str(cards), "-o", str(out), "--only", only])
    assert run.exit_code == 0, run.output


def _history(folder: Path, version: int, subdecks: str = "true") -> Path:
    cards = folder / "cards"
    cards.mkdir(parents=True)
    text = HISTORY.format(version=version, subdecks=subdecks)
    (cards / "history.yaml").write_text(text, encoding="utf-8")
    _build(cards, folder / "dist", "apkg,csv")
    return folder / "dist"


def _notes_of(package: Path, *, card_id: bool = True) -> dict[str, tuple[Any, ...]]:
    """What Anki keeps of each note of a package, by GUID (tags sorted, as Anki sorts them
    when it imports); without the Card ID field where ``card_id`` is false."""
    found = {}
    for note in read_file(package).notes:
        fields = note.fields
        own = NOTE_TYPE_BY_ID[note.note_type_id or 0]
        if not card_id and "Card ID" in own.fields:
            fields = tuple(f for f, n in zip(fields, own.fields, strict=True) if n != "Card ID")
        found[note.guid] = (
            note.note_type_id,
            fields,
            sorted(note.tags, key=str.casefold),
            sorted((card.ord, card.deck) for card in note.cards),
        )
    return found


@pytest.mark.parametrize("subdecks", ["true", "false"])
def test_cardpress_csv_builds_back_to_the_same_notes(tmp_path: Path, subdecks: str) -> None:
    """cardpress's own CSV (stock note types, extra and source in the last field): imported,
    each card of its kind with its extra, source, topic and tags (a deck without subdecks:
    the topic titles from that field); built again, the same notes but for the Card ID, which
    names the card ids the import made (the CSV has none)."""
    dist = _history(tmp_path / "a", 2, subdecks)
    result, cards = _planned(dist / "history.csv", tmp_path / "imported")
    (deck,) = result.decks
    data = _data(deck)
    assert data["topics"] == {"dates": "Dates", "people": "People & Places"}
    assert data.get("subdecks", True) is (subdecks == "true")
    assert "topic_tags" not in data  # the topic tags are the ones a build makes
    by_kind = {card.kind: card for card in cards.values()}
    assert by_kind[Kind.BASIC].extra == "<em>Context:</em> the first of three."
    assert by_kind[Kind.BASIC].source == "§2 · Deutscher (1954)"
    assert by_kind[Kind.BASIC].tags == ("year-11", "historians")
    assert (by_kind[Kind.CLOZE].extra, by_kind[Kind.CLOZE].source) == (
        "Via France and Norway.",
        "§3",
    )
    assert by_kind[Kind.CLOZE].topic_title == "People & Places"
    assert {card.kind for card in cards.values()} == {
        Kind.BASIC,
        Kind.REVERSED,
        Kind.CLOZE,
        Kind.TYPE,
    }
    _build(tmp_path / "imported", tmp_path / "b", "apkg")
    built = _notes_of(tmp_path / "b" / "history.apkg", card_id=False)
    assert built == _notes_of(dist / "history.apkg", card_id=False)


@pytest.mark.parametrize("version", [1, 2])
def test_anki_text_export_of_cardpress_notes_builds_back_to_the_same_notes(
    tmp_path: Path, version: int
) -> None:
    """cardpress's notes in Anki, exported as text: each a card of its kind (its note type's
    name), version 2's deck key and card ids from the Card IDs; built again, the same notes."""
    dist = _history(tmp_path / "a", version)
    with fresh_collection(tmp_path / "profile") as col:
        assert bucket_sizes(import_apkg(col, dist / "history.apkg"))["new"] == 4
        export = _export(col, tmp_path / "notes.txt")
    result, cards = _planned(export, tmp_path / "imported")
    (deck,) = result.decks
    data = _data(deck)
    assert data.get("note_type_version") == (1 if version == 1 else None)
    assert data["key"] == "history"
    if version == 2:
        assert set(cards) == {"lenin", "deutscher", "exile", "assassin"}
        assert all("guid" not in card for card in data["cards"])  # guid(key, id) is theirs
    assert [d for d in result.diagnostics if d.severity is not Severity.NOTE] == []
    # The notes keep their note types: the note says so, nothing to convert.
    (note,) = result.diagnostics
    assert "conflicting" not in note.message
    _build(tmp_path / "imported", tmp_path / "b", "apkg")
    assert _notes_of(tmp_path / "b" / "history.apkg") == _notes_of(dist / "history.apkg")


# -- plain CSV and bad input -----------------------------------------------------------------


def _file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_a_plain_csv_is_basic_cards_in_a_deck_named_after_it(tmp_path: Path) -> None:
    path = _file(tmp_path, "Spanish words.csv", "hablar,to speak\ncomer,to eat,with a fork\n")
    result, cards = _planned(path, tmp_path / "a")
    (deck,) = result.decks
    assert (deck.name, deck.key) == ("Spanish words", "spanish-words")
    assert {(c.kind, c.front, c.back, c.guid) for c in cards.values()} == {
        (Kind.BASIC, "hablar", "to speak", ""),
        (Kind.BASIC, "comer", "to eat", ""),
    }
    extra = _said(result, "field 3")
    assert (extra.location.path, extra.location.line) == (str(path), 2)
    assert "'with a fork'" in extra.message and "left out" in extra.message
    assert "2 rows have no GUID" in _said(result, "new note").message
    named, _ = _planned(path, tmp_path / "b", deck_name="Languages::Spanish")
    (deck,) = named.decks
    assert deck.name == "Languages" and _data(deck)["topics"] == {"spanish": "Spanish"}


def test_rows_that_make_no_card_are_left_out_and_said(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "rows.txt",
        "#separator:tab\n#html:true\n#notetype column:1\n"
        "Basic\tfront only\n"
        "Basic\t<br>\tback only\n"
        "Cloze\tno deletion here\n"
        "Basic\tkept\tanswer\n"
        "Basic-1a2b3\trenamed\tcopy\n"
        'Basic\t<img src="only.png">\ta picture\n',
    )
    result, cards = _planned(path, tmp_path / "a")
    assert [c.front for c in cards.values()] == ["kept"]
    said = {
        d.location.line: d.message for d in result.diagnostics if d.severity is Severity.WARNING
    }
    assert set(said) == {4, 5, 6, 8, 9}
    assert "Back is empty" in said[4] and "Front" in said[5] and "no cloze deletion" in said[6]
    assert "'Basic-1a2b3'" in said[8] and "export a package" in said[8]
    assert "Front shows nothing once the build leaves out the picture 'only.png'" in said[9]


def test_rows_of_both_versions_of_cardpress_s_note_types(tmp_path: Path) -> None:
    """A deck takes one version: the rows of the other are said to change note type."""
    path = _file(
        tmp_path,
        "mixed.txt",
        "#separator:tab\n#html:true\n#notetype column:1\n#deck:Mixed\n"
        "cardpress Basic v1\tone\tuno\t\t\t\n"
        "cardpress Basic v2\ttwo\tdos\t\t\t\t\tmixed/two\n",
    )
    result, cards = _planned(path, tmp_path / "a")
    assert set(cards) == {"one", "two"} and "guid" not in result.decks[0].text
    (said,) = [d for d in result.diagnostics if d.severity is Severity.WARNING]
    assert "'cardpress Basic v1'" in said.message and "version 2" in said.message
    text = result.decks[0].text.splitlines()
    assert text[said.location.line - 1] == "  - id: one"


def test_a_file_of_unknown_note_types_only_is_an_error(tmp_path: Path) -> None:
    path = _file(tmp_path, "own.txt", "#notetype:Vocabulary\n#separator:tab\nhola\thello\n")
    with pytest.raises(ImportFileError) as caught:
        plan_text(read_text(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: error: ") and "'Vocabulary'" in message


def test_only_text_exports(stock: Stock, tmp_path: Path) -> None:
    path = _history(tmp_path / "a", 2) / "history.apkg"
    with pytest.raises(ImportFileError, match="not a text export"):
        plan_text(read_file(path))


def test_the_names_it_knows_are_anki_s_and_cardpress_s() -> None:
    assert set(STOCK_NAMES.values()) < set(KNOWN_NOTE_TYPES)
    assert {t.name for t in NOTE_TYPE_BY_ID.values()} < set(KNOWN_NOTE_TYPES)
    assert "Basic (optional reversed card)" in KNOWN_NOTE_TYPES


def test_the_table_of_translated_names_is_anki_s_own() -> None:
    """Every name Anki gives a stock note type in another language, read from the anki
    package's translations (after an update of anki: python -m
    cardpress.importer.stock_names prints the table again)."""
    assert dict(TRANSLATED_NAMES) == from_anki()
    assert TRANSLATED_NAMES["Einfach"] == "Basic" and TRANSLATED_NAMES["穴埋め問題"] == "Cloze"


@pytest.mark.parametrize("lang", ["de_DE", "ja_JP", "ru_RU"])
def test_an_export_from_an_anki_in_another_language_comes_in(tmp_path: Path, lang: str) -> None:
    """A collection made by an Anki in another language names its stock note types in that
    language; its text export's rows become cards of their kinds all the same."""
    from anki._backend import RustBackend

    tmp_path.joinpath("anki").mkdir()
    col = Collection(str(tmp_path / "anki" / "c.anki2"), backend=RustBackend(langs=[lang]))
    try:
        names = [m.name for m in col.models.all_names_and_ids()]
        assert "Basic" not in names  # the stock note types have that language's names
        deck = _deck(col, "Wörter")
        by_kind = {}
        for english, fields in (
            ("Basic", ["Haus", "house"]),
            ("Basic (and reversed card)", ["Hund", "dog"]),
            ("Basic (type in the answer)", ["Katze", "cat"]),
            ("Cloze", ["Der {{c1::Baum}} ist grün", "Natur"]),
        ):
            (name,) = [n for n in names if TRANSLATED_NAMES.get(n) == english]
            model = col.models.by_name(name)
            assert model is not None
            note = col.new_note(model)
            for i, value in enumerate(fields):
                note.fields[i] = value
            col.add_note(note, deck)
            by_kind[fields[0]] = note.guid
        export = _export(col, tmp_path / "notes.txt")
    finally:
        col.close()
    result, cards = _planned(export, tmp_path / "cards")
    assert not [d for d in result.diagnostics if d.severity is Severity.WARNING]
    got = {card.front: (card.kind, card.guid) for card in cards.values()}
    assert got == {
        "Haus": (Kind.BASIC, by_kind["Haus"]),
        "Hund": (Kind.REVERSED, by_kind["Hund"]),
        "Katze": (Kind.TYPE, by_kind["Katze"]),
        "Der {{c1::Baum}} ist grün": (Kind.CLOZE, by_kind["Der {{c1::Baum}} ist grün"]),
    }
