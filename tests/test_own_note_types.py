"""A deck's own note types (``note_types:`` and a card's ``note_type:`` with ``fields:``): what
Anki makes of the package, the lock's note type entries, the CSV and the printed pages, each
against the real thing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from anki.decks import DeckId
from anki.models import NotetypeId
from click.testing import CliRunner, Result

from cardpress.cli import cli
from cardpress.loader import load
from cardpress.notes import guid
from tests.conftest import (
    browser_dom,
    bucket_sizes,
    edit,
    fresh_collection,
    import_apkg,
    import_csv,
    notes_by_guid,
)

DECK = """\
format: 1
key: vocab
name: Vocab
topics:
  verbs: "Verbs::Irregular"
note_types:
  - name: Word
    id: 1700000000001
    fields: [Word, Meaning, {name: Example, id: 42}]
    templates:
      - name: Recognise
        id: 7
        front: "{{Word}}"
        back: "{{FrontSide}}<hr id=answer>{{Meaning}}{{#Example}}<br><i>{{Example}}</i>{{/Example}}"
      - name: Produce
        front: "{{#Example}}{{Meaning}}{{/Example}}"
        back: "{{FrontSide}}<hr id=answer>{{Word}}"
    css: ".card { color: navy; }"
    sort_field: Meaning
  - name: Gap
    cloze: true
    fields: [Text, Notes]
    templates:
      - name: Cloze
        front: "{{cloze:Text}}"
        back: "{{cloze:Text}}<br>{{Notes}}"
cards:
  - id: etre
    note_type: Word
    topic: verbs
    fields:
      Word: être
      Meaning: to **be**
      Example: Je suis là.
  - id: avoir
    note_type: Word
    fields:
      Word: avoir
      Meaning: to have
  - id: gap
    note_type: Gap
    tags: [grammar::articles]
    fields:
      Text: "{{c1::Le}} chat et {{c2::la::article}} souris"
  - id: plain
    topic: verbs
    front: A card of cardpress's own kinds
    back: beside them
"""


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("cards").mkdir()
    path = Path("cards/vocab.yaml")
    path.write_text(DECK, encoding="utf-8")
    return path


def _note_type(col: Collection, note_type_id: int) -> dict[str, Any]:
    found = col.models.get(NotetypeId(note_type_id))
    assert found is not None, f"no note type {note_type_id} in the collection"
    return found


def _build(*args: str) -> Result:
    result = _cli("build", *args)
    assert result.exit_code == 0, result.output
    return result


def test_anki_takes_the_note_types_as_written_and_makes_the_cards_they_say(
    deck: Path, tmp_path: Path
) -> None:
    _build()
    with fresh_collection(tmp_path / "anki") as col:
        log = import_apkg(col, Path("dist/vocab.apkg"))
        assert bucket_sizes(log)["new"] == 4
        word = _note_type(col, 1700000000001)
        assert [f["name"] for f in word["flds"]] == ["Word", "Meaning", "Example"]
        assert word["flds"][2]["id"] == 42
        assert [t["name"] for t in word["tmpls"]] == ["Recognise", "Produce"]
        assert word["tmpls"][0]["id"] == 7
        assert word["tmpls"][1]["qfmt"] == "{{#Example}}{{Meaning}}{{/Example}}"
        assert word["css"] == ".card { color: navy; }"
        assert word["sortf"] == 1
        gap = col.models.by_name("Gap")
        assert gap is not None and gap["type"] == 1  # cloze
        notes = notes_by_guid(col)
        etre = notes[guid("vocab", "etre")]
        assert etre.mid == 1700000000001
        assert dict(etre.items()) == {
            "Word": "être",
            "Meaning": "to <strong>be</strong>",
            "Example": "Je suis là.",
        }
        assert etre.tags == ["topic::verbs"]
        assert {c.ord for c in etre.cards()} == {0, 1}
        assert {col.decks.name(c.did) for c in etre.cards()} == {"Vocab::Verbs::Irregular"}
        avoir = notes[guid("vocab", "avoir")]
        assert [c.ord for c in avoir.cards()] == [0]  # no Example: no Produce card
        assert col.decks.name(avoir.cards()[0].did) == "Vocab"  # no topic: the deck itself
        cloze = notes[guid("vocab", "gap")]
        assert sorted(c.ord for c in cloze.cards()) == [0, 1]
        assert cloze.tags == ["grammar::articles"]
        # The package's cards are the ones Anki itself makes of such notes.
        for note in (etre, avoir, cloze):
            fresh = col.new_note(note.note_type())
            for name, value in note.items():
                fresh[name] = value
            col.add_note(fresh, col.decks.id_for_name("Vocab") or DeckId(1))
            assert sorted(c.ord for c in note.cards()) == sorted(c.ord for c in fresh.cards())
        # The second import of the same package changes nothing.
        again = bucket_sizes(import_apkg(col, Path("dist/vocab.apkg")))
        assert again["new"] == again["updated"] == again["conflicting"] == 0


def test_a_topic_of_a_deck_with_topic_tags_false_adds_no_tag(deck: Path, tmp_path: Path) -> None:
    _build()
    with fresh_collection(tmp_path / "a") as col:
        import_apkg(col, Path("dist/vocab.apkg"))
        tagged = notes_by_guid(col)[guid("vocab", "etre")].tags
    assert tagged == ["topic::verbs"]
    edit(deck, "key: vocab\n", "key: vocab\ntopic_tags: false\n")
    _build()
    with fresh_collection(tmp_path / "b") as col:
        import_apkg(col, Path("dist/vocab.apkg"))
        assert notes_by_guid(col)[guid("vocab", "etre")].tags == []


def test_css_edited_updates_the_note_type_and_leaves_the_notes(deck: Path, tmp_path: Path) -> None:
    _build()
    with fresh_collection(tmp_path / "anki") as col:
        import_apkg(col, Path("dist/vocab.apkg"))
        before = json.loads(Path("cards/vocab.lock.json").read_text())["note_types"]
        edit(deck, ".card { color: navy; }", ".card { color: teal; }")
        _build()
        after = json.loads(Path("cards/vocab.lock.json").read_text())["note_types"]
        assert after["1700000000001"]["mtime"] > before["1700000000001"]["mtime"]
        assert after["1700000000001"]["schema"] == before["1700000000001"]["schema"]
        log = bucket_sizes(import_apkg(col, Path("dist/vocab.apkg")))
        assert log["updated"] == log["new"] == log["conflicting"] == 0
        assert _note_type(col, 1700000000001)["css"] == ".card { color: teal; }"


def test_a_changed_schema_is_a_warning_at_the_note_type_until_acknowledged(
    deck: Path, tmp_path: Path
) -> None:
    _build()
    with fresh_collection(tmp_path / "anki") as col:
        import_apkg(col, Path("dist/vocab.apkg"))
        edit(deck, "fields: [Word, Meaning, {name: Example, id: 42}]",
             "fields: [Word, Meaning, {name: Example, id: 42}, Plural]")  # fmt: skip
        edit(deck, "Meaning: to have", "Meaning: to own")
        warned = _build()
        # What the warning says: Anki adds the note type again and skips its notes.
        log = bucket_sizes(import_apkg(col, Path("dist/vocab.apkg")))
        assert log["conflicting"] == 2 and log["updated"] == 0
        assert len([m for m in col.models.all_names_and_ids() if m.name.startswith("Word")]) == 2
    # Still said while the lock says Anki has the old schema.
    edit(deck, "Plural]", "Plural, Gender]")
    result = _build()
    assert "changed its fields" in warned.output
    assert (
        "cards/vocab.yaml:7:5: warning: note type 'Word' changed its fields or templates since "
        "Anki got it (id 1700000000001): a package import adds it as a new note type and skips "
        "its 2 notes as conflicting"
    ) in result.output
    _build("--acknowledge")
    assert "changed its fields" not in _build().output


def test_the_csv_names_the_note_types_and_anki_matches_every_row(
    deck: Path, tmp_path: Path
) -> None:
    _build()
    with fresh_collection(tmp_path / "anki") as col:
        import_apkg(col, Path("dist/vocab.apkg"))
        before = {g: dict(n.items()) for g, n in notes_by_guid(col).items()}
        log = bucket_sizes(import_csv(col, Path("dist/vocab.csv")))
        # The deck's own note types match their notes; the card of cardpress's own kinds goes
        # to Anki's stock Basic, and conflicts with its note of the package by design (see the
        # README's CSV section).
        assert log["new"] == 0 and log["conflicting"] == 1
        assert {g: dict(n.items()) for g, n in notes_by_guid(col).items()} == before


def _printed_sides(dom: str) -> dict[tuple[str, str], str]:
    """The text of each printed side of the cards page, by its side and its number."""
    sides = {}
    card = r'<div class="card (front|back)[^"]*">(.*?)(?=<div class="card |</section>)'
    for side, body in re.findall(card, dom, re.S):
        number = re.search(r'class="no">#([^<]*)<', body)
        assert number is not None, body
        text = re.sub(r'<div class="deck">.*?</div>|<span class="topic">.*?</span>', " ", body)
        sides[side, number.group(1)] = (
            " ".join(re.sub(r"<[^>]+>", " ", text).split()).lstrip("#" + number.group(1)).strip()
        )
    return sides


def test_the_pages_print_every_card_of_a_note_from_its_templates(deck: Path) -> None:
    result = _build()
    # être makes two cards (its Example fills Produce), avoir one, the cloze note two (c1 and
    # c2), the card of a kind one: the cards Anki makes.
    assert "dist/vocab.cards.html: 6 printed cards" in result.output
    assert "dist/vocab.sheet.html: 4 rows" in result.output  # a row per note
    dom = browser_dom(Path("dist/vocab.cards.html"))
    assert "to <strong>be</strong>" in dom and "<i>Je suis là.</i>" in dom
    sides = _printed_sides(dom)
    assert sides == {
        # The answer leaves out what {{FrontSide}} repeats, and the <hr id=answer> after it.
        ("front", "1"): "être",
        ("back", "1"): "to be Je suis là.",
        ("front", "1·2"): "to be",
        ("back", "1·2"): "être",
        ("front", "2"): "avoir",
        ("back", "2"): "to have",
        ("front", "3"): "[...] chat et la souris",
        ("back", "3"): "Le chat et la souris",
        ("front", "3·2"): "Le chat et [article] souris",
        ("back", "3·2"): "Le chat et la souris",
        ("front", "4"): "A card of cardpress's own kinds",
        ("back", "4"): "beside them",
    }
    # Each printed card is one Anki makes, its question as Anki shows it.
    with fresh_collection(Path("anki")) as col:
        import_apkg(col, Path("dist/vocab.apkg"))
        anki = {}
        for card_id in col.find_cards("note:Word or note:Gap"):
            card = col.get_card(card_id)
            shown = re.sub(r"<style>.*?</style>|<[^>]+>", " ", card.question(), flags=re.S)
            anki[card.note().guid, card.ord] = " ".join(shown.split())
    notes = ((1, "etre", (0, 1)), (2, "avoir", (0,)), (3, "gap", (0, 1)))
    printed = {
        (guid("vocab", card_id), ord_): sides["front", f"{at}·{ord_ + 1}" if ord_ else str(at)]
        for at, card_id, ords in notes
        for ord_ in ords
    }
    assert printed == anki


def test_templates_that_run_or_refer_to_nothing_are_errors_all_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(
        """\
key: bad
name: Bad
note_types:
  - name: Word
    fields: [Word, Word]
    templates:
      - {name: One, front: "{{Word}}"}
  - name: Sneaky
    fields: [Front, "Ba:ck"]
    templates:
      - name: One
        front: "<script>alert(1)</script>{{Front}}"
        back: "<img src=x onerror=alert(1)>{{Frnt}}"
  - name: Gap
    cloze: true
    fields: [Text]
    templates:
      - {name: One, front: "{{Text}}"}
  - name: Fine
    fields: [Front, Back]
    templates:
      - {name: One, front: "{{Front}}", back: "{{Back}}"}
cards:
  - id: a
    note_type: Word
    fields: {Word: x}
  - id: b
    note_type: Fine
    kind: basic
    fields: {Front: x, Bakc: y}
  - id: c
    note_type: Fine
    fields: {Back: only the back}
  - id: d
    note_type: Missing
    fields: {Front: x}
""",
        encoding="utf-8",
    )
    result = _cli("check", "bad.yaml")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert errors == [
        "bad.yaml:5:20: error: field 'Word' is listed twice",
        "bad.yaml:9:21: error: field name 'Ba:ck' holds ':', which Anki's templates read as "
        "syntax (Anki would rename the field)",
        "bad.yaml:12:16: error: template front holds <script> element at line 1; templates "
        "cannot run scripts (cardpress never writes one into a package, a CSV or a page)",
        "bad.yaml:13:15: error: template back holds onerror handler on <img> at line 1; "
        "templates cannot run scripts (cardpress never writes one into a package, a CSV or a "
        "page)",
        "bad.yaml:18:28: error: template front uses no {{cloze:FIELD}}, so it makes no card",
        "bad.yaml:29:5: error: a card of a note type of the deck's own keeps its text in "
        "'fields', not 'kind'",
        "bad.yaml:30:24: error: note type 'Fine' has no field 'Bakc'; did you mean 'Back'?",
        "bad.yaml:33:13: error: this note makes no card: no template front of note type "
        "'Fine' shows a field it fills",
        "bad.yaml:35:16: error: unknown note type 'Missing'; the deck's note types are 'Fine'",
    ]


def test_an_imported_note_types_script_is_kept_for_anki_and_never_runs_on_a_page(
    deck: Path, tmp_path: Path
) -> None:
    script = "<script>document.title='ran'</script>"
    edit(
        deck,
        '        front: "{{Word}}"',
        f'        front: "{{{{Word}}}}{script}<img src=x onerror=\\"document.title=1\\">"',
    )
    edit(deck, "    id: 1700000000001\n", "    id: 1700000000001\n    imported: true\n")
    result = _build()
    assert "cards/vocab.yaml:14:16: warning: template front holds <script> element" in result.output
    assert "onerror handler on <img>" in result.output
    with fresh_collection(tmp_path / "anki") as col:
        import_apkg(col, Path("dist/vocab.apkg"))
        qfmt = _note_type(col, 1700000000001)["tmpls"][0]["qfmt"]
        assert qfmt == f'{{{{Word}}}}{script}<img src=x onerror="document.title=1">'
    for page in ("cards", "sheet"):
        html = Path(f"dist/vocab.{page}.html").read_text(encoding="utf-8")
        assert "<script" not in html and "onerror" not in html
        dom = browser_dom(Path(f"dist/vocab.{page}.html"))
        assert "<title>ran</title>" not in dom and "<title>1</title>" not in dom
        assert "être" in dom


def test_the_loaded_card_keeps_its_fields_in_the_note_types_order(deck: Path) -> None:
    loaded = load([deck])
    (vocab,) = loaded.decks
    avoir = next(card for card in vocab.cards if card.id == "avoir")
    assert avoir.note_type == "Word"
    assert avoir.fields == ("avoir", "to have", "")


def _pushed_once(tmp_path: Path) -> str:
    """A new profile's collection (closed: push opens it) with the deck pushed into it."""
    with fresh_collection(tmp_path / "anki"):
        pass
    collection = str(tmp_path / "anki" / "collection.anki2")
    pushed = _cli("push", "--collection", collection)
    assert pushed.exit_code == 0, pushed.output
    return collection


def test_push_converts_a_card_made_a_note_of_an_own_note_type_with_its_history(
    deck: Path, tmp_path: Path
) -> None:
    collection = _pushed_once(tmp_path)
    col = Collection(collection)
    try:
        plain = notes_by_guid(col)[guid("vocab", "plain")]
        card = plain.cards()[0]
        card.start_timer()
        col.sched.answerCard(card, 3)
        old_id = plain.id
    finally:
        col.close()
    edit(
        deck,
        "    front: A card of cardpress's own kinds\n    back: beside them\n",
        "    note_type: Word\n    fields:\n      Word: plain\n      Meaning: a word\n",
    )
    warned = _build()
    assert "card 'plain' changed from basic to note type 'Word'" in warned.output
    pushed = _cli("push", "--collection", collection)
    assert pushed.exit_code == 0, pushed.output
    assert "1 converted" in pushed.output
    col = Collection(collection)
    try:
        note = notes_by_guid(col)[guid("vocab", "plain")]
        assert (note.id, note.mid) == (old_id, 1700000000001)
        assert dict(note.items()) == {"Word": "plain", "Meaning": "a word", "Example": ""}
        assert [c.reps for c in note.cards()] == [1]
    finally:
        col.close()


def test_a_further_card_too_long_to_print_is_warned_of_by_its_number(deck: Path) -> None:
    long_example = " ".join(["Une phrase bien trop longue pour une carte."] * 300)
    edit(deck, "      Example: Je suis là.", f"      Example: {long_example}")
    result = _build()
    # Recognise shows the example under the answer of card #1; Produce shows only the meaning.
    warned = [line for line in result.output.splitlines() if "does not fit on a card" in line]
    assert warned == [
        "cards/vocab.yaml:28:5: warning: card 'etre': the answer of printed card #1 does not "
        "fit on a card even at the smallest type and may be cut off; shorten it or split the card"
    ]
    edit(
        deck, '        front: "{{#Example}}{{Meaning}}{{/Example}}"', '        front: "{{Example}}"'
    )
    warned = [line for line in _build().output.splitlines() if "does not fit on a card" in line]
    assert [line.split(": ", 2)[2] for line in warned] == [
        "card 'etre': the answer of printed card #1 does not fit on a card even at the "
        "smallest type and may be cut off; shorten it or split the card",
        "card 'etre': the question of printed card #1·2 does not fit on a card even at the "
        "smallest type and may be cut off; shorten it or split the card",
    ]


def test_push_reshapes_a_note_type_in_anki_keeping_its_notes_and_history(
    deck: Path, tmp_path: Path
) -> None:
    collection = _pushed_once(tmp_path)
    # The lock push writes remembers the note types Anki has (a build compares with them).
    assert set(json.loads(Path("cards/vocab.lock.json").read_text())["note_types"]) == {
        "1700000000001",
        str(load([deck]).decks[0].note_types[1].id),
    }
    col = Collection(collection)
    try:
        etre = notes_by_guid(col)[guid("vocab", "etre")]
        card = etre.cards()[0]
        card.start_timer()
        col.sched.answerCard(card, 3)
        before = (etre.id, [c.id for c in etre.cards()])
    finally:
        col.close()
    # Example renamed under its Anki id (42): the same field to Anki. Gender added: a new
    # schema, which an import would fork into a note type "Word+".
    text = deck.read_text(encoding="utf-8").replace("Example", "Sentence")
    text = text.replace("{name: Sentence, id: 42}]", "{name: Sentence, id: 42}, Gender]")
    deck.write_text(
        text.replace("Sentence: Je suis là.", "Sentence: Je suis là.\n      Gender: verb")
    )
    warned = _build()  # what a build says, and push does
    assert "note type 'Word' changed its fields or templates since Anki got it" in warned.output
    pushed = _cli("push", "--collection", collection)
    assert pushed.exit_code == 0, pushed.output
    assert "1 note type reshaped, 2 updated, 2 unchanged" in pushed.output
    assert "  reshape  note type 'Word': fields Word, Meaning, Sentence, Gender" in pushed.output
    col = Collection(collection)
    try:
        assert [m["name"] for m in col.models.all() if m["name"].startswith("Word")] == ["Word"]
        word = _note_type(col, 1700000000001)
        assert [(f["name"], f["id"]) for f in word["flds"][:3]] == [
            ("Word", word["flds"][0]["id"]),
            ("Meaning", word["flds"][1]["id"]),
            ("Sentence", 42),
        ]
        assert word["flds"][3]["name"] == "Gender"
        assert "{{Sentence}}" in word["tmpls"][0]["afmt"]
        etre = notes_by_guid(col)[guid("vocab", "etre")]
        assert (etre.id, [c.id for c in etre.cards()]) == before
        assert dict(etre.items()) == {
            "Word": "être", "Meaning": "to <strong>be</strong>", "Sentence": "Je suis là.",
            "Gender": "verb",
        }  # fmt: skip
        assert [c.reps for c in etre.cards()] == [1, 0]
    finally:
        col.close()
    again = _cli("push", "--collection", collection)
    assert "cards/vocab.yaml: 4 unchanged" in again.output
    assert "warning" not in _build().output  # the lock has Anki's new schema
    # A template removed: its cards go, as in Manage Note Types; the first card's review stays.
    edit(deck, '      - name: Produce\n        front: "{{#Sentence}}{{Meaning}}{{/Sentence}}"\n'
         '        back: "{{FrontSide}}<hr id=answer>{{Word}}"\n', "")  # fmt: skip
    pushed = _cli("push", "--collection", collection)
    assert "1 note type reshaped, 4 unchanged" in pushed.output, pushed.output
    assert "  reshape  note type 'Word': fields Word, Meaning, Sentence, Gender; templates " \
        "Recognise (" in pushed.output  # fmt: skip
    col = Collection(collection)
    try:
        etre = notes_by_guid(col)[guid("vocab", "etre")]
        assert [(c.id, c.ord, c.reps) for c in etre.cards()] == [(before[1][0], 0, 1)]
    finally:
        col.close()


def test_push_refuses_a_note_type_turned_from_cloze_to_standard_and_changes_nothing(
    deck: Path, tmp_path: Path
) -> None:
    collection = _pushed_once(tmp_path)
    before = Path(collection).read_bytes()
    text = deck.read_text(encoding="utf-8").replace("    cloze: true\n", "")
    deck.write_text(text.replace("{{cloze:Text}}", "{{Text}}"), encoding="utf-8")
    refused = _cli("push", "--collection", collection)
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-2:] == [
        "cards/vocab.yaml:20:5: error: note type 'Gap' is a cloze note type in Anki, which "
        "cannot change its kind: put 'cloze' back, or give the note type a new id (a note "
        "type Anki adds beside the old one)",
        f"{collection}: nothing was pushed",
    ]
    assert Path(collection).read_bytes() == before
