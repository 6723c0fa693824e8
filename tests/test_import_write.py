"""Import: the card files (and media) written from a package that real Anki exported, in the
legacy and the current format: one file per top-level deck, every note with its GUID, note
type, tags, topic and fields as Anki has them, and a report of what does not come back."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from anki.collection import Collection, ExportAnkiPackageOptions
from anki.decks import DeckId
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cardpress import build
from cardpress.errors import ExportError, Severity
from cardpress.export import BuildOptions
from cardpress.importer import (
    ImportedCard,
    ImportedCollection,
    ImportedDeck,
    ImportedField,
    ImportedNote,
    ImportedNoteType,
    ImportedTemplate,
    ImportFileError,
    NoteTypeKind,
    SourceFormat,
    read_file,
)
from cardpress.importer.fields import field_text
from cardpress.importer.write import ImportPlan, PlannedDeck, plan, write
from cardpress.model import Kind
from cardpress.notes import NOTE_TYPES, guid
from tests.conftest import FIXTURES, examples, fresh_collection, import_apkg

PNG = (FIXTURES / "outside.png").read_bytes()
MP3 = (FIXTURES / "audio" / "clip.mp3").read_bytes()
FONT = b"wOF2 a font no note shows"

# Anki's export brings the media its note types name (files whose names begin with "_").
OWN_CSS = (
    ".card { font-family: 'PT Serif', serif; }\n.example { font-style: italic; }\n"
    '@font-face { font-family: own; src: url("_own.woff2"); }\n'
)
# A template that runs scripts: kept as it is, with a warning.
SCRIPTED_BACK = (
    '{{FrontSide}}<hr id=answer>{{Meaning}}<div onclick="reveal()">{{Example}}</div>\n'
    "<script>\nfunction reveal() {}\n</script>\n{{Picture}}"
)

FRENCH_DESCRIPTION = "Words <b>and</b> verbs"


@dataclass(frozen=True)
class Source:
    """What the collection held, read through Anki's own API, and its exports."""

    notes: dict[str, dict[str, Any]]  # guid -> what Anki has of the note
    note_types: dict[int, dict[str, Any]]  # id -> Anki's note type dict
    media: dict[str, bytes]
    files: dict[str, Path]


def _deck(col: Collection, name: str) -> DeckId:
    deck_id = col.decks.id(name)
    assert deck_id is not None
    return deck_id


def _own_note_type(col: Collection) -> dict[str, Any]:
    """The user's own note type: extra fields, a script in a template, its own CSS, a browser
    format, a sort field that is not the first."""
    models = col.models
    note_type = models.new("Vocabulary: FR")
    for name in ("Word", "Meaning", "Example", "Audio", "Picture"):
        models.add_field(note_type, models.new_field(name))
    recognition = models.new_template("Recognition")
    recognition["qfmt"] = "{{Word}}<br>{{Audio}}"
    recognition["afmt"] = SCRIPTED_BACK
    recognition["bqfmt"] = "{{Word}} ({{Meaning}})"
    recall = models.new_template("Recall")
    recall["qfmt"] = "{{Meaning}}"
    recall["afmt"] = "{{FrontSide}}<hr id=answer>{{Word}}<br>{{Audio}}"
    models.add_template(note_type, recognition)
    models.add_template(note_type, recall)
    note_type["css"] = OWN_CSS
    note_type["sortf"] = 1
    models.add(note_type)
    return note_type


def _fill(col: Collection) -> None:
    """Stock and own note types, subdecks two levels deep, cards in top decks, hierarchical
    tags, formatted HTML, an image and a sound, a cloze with a hint, a note in two decks."""
    image = col.media.write_data("eiffel tower.png", PNG)
    sound = col.media.write_data("être.mp3", MP3)
    col.media.write_data("_own.woff2", FONT)
    own = _own_note_type(col)

    def add(kind: Any, deck: str, fields: dict[str, str], tags: list[str]) -> Any:
        note = col.new_note(kind)
        for name, value in fields.items():
            note[name] = value
        note.tags = tags
        col.add_note(note, _deck(col, deck))
        return note

    basic = col.models.by_name("Basic")
    reversed_ = col.models.by_name("Basic (and reversed card)")
    cloze = col.models.by_name("Cloze")
    add(basic, "French", {"Front": "bonjour", "Back": "hello"}, ["french::greetings"])
    add(
        basic,
        "French::Verbs",
        {
            "Front": "<b>être</b> — to be",
            "Back": "<div>je suis</div><div>tu es</div><br><ul><li>irregular</li></ul>",
        },
        ["french::verbs", "leech"],
    )
    add(
        basic,
        "French::Verbs::Irregular",
        {"Front": "aller", "Back": "<ol><li>je vais</li><li>tu vas</li></ol>"},
        ["french::verbs::irregular"],
    )
    add(
        basic,
        "French::Verbs::Irregular",
        {"Front": 'avoir <font color="red">!</font>', "Back": 'to have<img src="missing.png">'},
        [],
    )
    add(basic, "French::Verbs", {"Front": "faire", "Back": "to do<br/>to make"}, [])
    both = add(reversed_, "French::Nouns", {"Front": "le chat", "Back": "the cat"}, ["french"])
    col.set_deck([both.cards()[1].id], _deck(col, "Geography"))
    add(
        own,
        "French",
        {
            "Word": "être",
            "Meaning": "to be",
            "Example": "<i>Je suis</i> ici.",
            "Audio": f"[sound:{sound}]",
            "Picture": f'<img src="{image}">',
        },
        ["french::verbs"],
    )
    add(
        cloze,
        "Geography::Europe",
        {"Text": "{{c1::Paris::city}} is the capital of {{c2::France}}", "Back Extra": ""},
        ["geography::europe"],
    )
    french = col.decks.get(_deck(col, "French"))
    assert french is not None
    french["desc"] = FRENCH_DESCRIPTION
    col.decks.save(french)
    nouns = col.decks.get(_deck(col, "French::Nouns"))
    assert nouns is not None
    nouns["desc"] = "Things"
    col.decks.save(nouns)


def _snapshot(col: Collection) -> tuple[dict[str, dict[str, Any]], dict[int, dict[str, Any]]]:
    notes: dict[str, dict[str, Any]] = {}
    note_types: dict[int, dict[str, Any]] = {}
    for note_id in col.find_notes(""):
        note = col.get_note(note_id)
        cards = sorted(note.cards(), key=lambda card: card.ord)
        notes[note.guid] = {
            "mid": note.mid,
            "fields": dict(note.items()),
            "tags": list(note.tags),
            "mod": note.mod,
            "decks": [col.decks.name(card.did) for card in cards],
        }
        kind = col.models.get(note.mid)
        assert kind is not None
        note_types[note.mid] = kind
    return notes, note_types


FORMATS = ("latest.apkg", "legacy.apkg")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    folder = tmp_path_factory.mktemp("anki")
    with fresh_collection(folder / "profile") as col:
        _fill(col)
        notes, note_types = _snapshot(col)
        media = {p.name: p.read_bytes() for p in Path(col.media.dir()).iterdir()}
        files = {name: folder / name for name in (*FORMATS, "notes.txt")}
        for name in FORMATS:
            col.export_anki_package(
                out_path=str(files[name]),
                options=ExportAnkiPackageOptions(
                    # Without scheduling Anki leaves out the tags "leech" and "marked".
                    with_scheduling=True,
                    with_deck_configs=True,
                    with_media=True,
                    legacy=name.startswith("legacy"),
                ),
                limit=None,
            )
        col.export_note_csv(
            out_path=str(files["notes.txt"]),
            limit=None,
            with_html=True,
            with_tags=True,
            with_deck=True,
            with_notetype=True,
            with_guid=True,
        )
    yield Source(notes, note_types, media, files)


@pytest.fixture(scope="module", params=FORMATS)
def planned(
    request: pytest.FixtureRequest, source: Source
) -> tuple[ImportedCollection, ImportPlan]:
    collection = read_file(source.files[request.param])
    return collection, plan(collection)


def _loaded(deck: PlannedDeck) -> dict[str, Any]:
    """The card file as YAML reads it, through PyYAML's parser and libyaml's (the loader's)."""
    data = yaml.safe_load(deck.text)
    assert yaml.load(deck.text, Loader=yaml.CSafeLoader) == data
    assert isinstance(data, dict)
    return data


def _decks(result: ImportPlan) -> dict[str, PlannedDeck]:
    return {deck.key: deck for deck in result.decks}


# -- the card files ------------------------------------------------------------------------


def test_one_card_file_per_top_level_deck(planned: tuple[ImportedCollection, ImportPlan]) -> None:
    _, result = planned
    decks = _decks(result)
    assert list(decks) == ["french", "geography"]
    french = _loaded(decks["french"])
    assert list(french) == [
        "format", "key", "name", "description", "subdecks", "topic_tags", "keep_media_names",
        "topics", "note_types", "cards",
    ]  # fmt: skip
    assert french["format"] == 1
    assert (french["key"], french["name"]) == ("french", "French")
    assert french["description"] == field_text(FRENCH_DESCRIPTION).text
    assert (french["subdecks"], french["topic_tags"], french["keep_media_names"]) == (
        True,
        False,
        True,
    )
    # Subdecks are topics titled by their path below the top deck; the top deck's cards have none.
    assert french["topics"] == {
        "nouns": "Nouns",
        "verbs": "Verbs",
        "verbs-irregular": "Verbs::Irregular",
    }
    assert decks["french"].text.startswith(
        f"# Imported from {result.source.name} by cardpress import: each card keeps its note's "
        "GUID and note type,\n# so Anki updates these notes in place.\nformat: 1\n"
    )
    geography = _loaded(decks["geography"])
    assert geography["topics"] == {"europe": "Europe"}
    assert "description" not in geography


def test_every_note_is_a_card_with_its_guid_note_type_tags_and_deck(
    planned: tuple[ImportedCollection, ImportPlan], source: Source
) -> None:
    _, result = planned
    seen: set[str] = set()
    for deck in result.decks:
        data = _loaded(deck)
        topics = data.get("topics", {})
        by_name = {nt["name"]: nt for nt in data["note_types"]}
        for card in data["cards"]:
            anki = source.notes[card["guid"]]
            seen.add(card["guid"])
            assert by_name[card["note_type"]]["id"] == anki["mid"]
            # Anki's own "leech" and "marked" say how a card is studied: left out, and said.
            assert card.get("tags", []) == [t for t in anki["tags"] if t not in {"leech", "marked"}]
            home = anki["decks"][0]  # the deck of its first card
            assert home.split("::")[0] == deck.name
            assert topics.get(card.get("topic"), None) == (
                home.split("::", 1)[1] if "::" in home else None
            )
            assert set(card) <= {"id", "guid", "note_type", "topic", "tags", "fields"}
    assert seen == set(source.notes)
    assert any(t == ["french::verbs", "leech"] for t in (n["tags"] for n in source.notes.values()))
    said = [d.message for d in result.diagnostics if "'leech' or 'marked'" in d.message]
    assert said == [
        "1 note carries Anki's own tag 'leech' or 'marked': the card files leave them out, as "
        "they say how a card is studied, not what it is (Anki keeps them; cardpress push keeps "
        "them too)"
    ]


def test_fields_are_the_text_that_renders_back_to_them(
    planned: tuple[ImportedCollection, ImportPlan], source: Source
) -> None:
    _, result = planned
    for deck in result.decks:
        paths = {name: f"{deck.key}.media/{name}" for name in source.media}
        for card in _loaded(deck)["cards"]:
            anki = source.notes[card["guid"]]["fields"]
            expected = {
                name: field_text(value, paths).text
                for name, value in anki.items()
                if field_text(value, paths).text  # empty fields are left out
            }
            assert card.get("fields", {}) == expected
    french = {card["id"]: card for card in _loaded(_decks(result)["french"])["cards"]}
    assert french["etre-to-be"]["fields"]["Back"].startswith("<div>je suis</div>")
    assert french["etre"]["fields"]["Audio"] == "[sound:french.media/être.mp3]"
    assert "french.media/eiffel%20tower.png" in french["etre"]["fields"]["Picture"]
    geography = _loaded(_decks(result)["geography"])["cards"]
    assert geography[0]["fields"] == {
        "Text": "{{c1::Paris::city}} is the capital of {{c2::France}}"
    }


def test_note_types_are_written_exactly_as_the_package_defines_them(
    planned: tuple[ImportedCollection, ImportPlan], source: Source
) -> None:
    _, result = planned
    for deck in result.decks:
        data = _loaded(deck)
        used = {source.notes[card["guid"]]["mid"] for card in data["cards"]}
        assert [nt["id"] for nt in data["note_types"]] == sorted(used)  # only those used
        for written in data["note_types"]:
            anki = source.note_types[written["id"]]
            assert written["name"] == anki["name"]
            assert list(written)[:3] == ["name", "id", "imported"] and written["imported"] is True
            assert written.get("cloze", False) == (anki["type"] == 1)
            assert written["fields"] == [{"name": f["name"], "id": f["id"]} for f in anki["flds"]]
            assert written["css"] == anki["css"]  # byte for byte
            for template, theirs in zip(written["templates"], anki["tmpls"], strict=True):
                assert template["name"] == theirs["name"]
                assert template["id"] == theirs["id"]
                assert template["front"] == theirs["qfmt"]
                assert template["back"] == theirs["afmt"]
                assert template.get("browser_front", "") == theirs["bqfmt"]
                assert template.get("browser_back", "") == theirs["bafmt"]
            sort_field = anki["flds"][anki["sortf"]]["name"]
            assert written.get("sort_field", anki["flds"][0]["name"]) == sort_field
    french = {nt["name"]: nt for nt in _loaded(_decks(result)["french"])["note_types"]}
    assert set(french) == {"Basic", "Basic (and reversed card)", "Vocabulary: FR"}
    assert french["Vocabulary: FR"]["sort_field"] == "Meaning"
    assert "sort_field" not in french["Basic"]
    # A CSS with its final newline is a literal block, as it reads.
    assert "    css: |\n      .card { font-family: 'PT Serif', serif; }\n      .example" in (
        _decks(result)["french"].text
    )


def test_the_plan_carries_what_the_lock_needs(
    planned: tuple[ImportedCollection, ImportPlan], source: Source
) -> None:
    _, result = planned
    for deck in result.decks:
        data = _loaded(deck)
        assert [card.id for card in deck.cards] == [card["id"] for card in data["cards"]]
        lines = deck.text.split("\n")
        for card in deck.cards:
            assert card.guid == data["cards"][[c.id for c in deck.cards].index(card.id)]["guid"]
            assert card.mtime == source.notes[card.guid]["mod"]
            assert card.note_type_id == source.notes[card.guid]["mid"]
            assert lines[card.line - 1] == f"  - id: {card.id}"
    assert dict(result.note_type_mtimes) == {
        mid: kind["mod"]
        for mid, kind in source.note_types.items()
        if any(note["mid"] == mid for note in source.notes.values())
    }


def test_media_go_beside_the_card_file_under_their_anki_names(
    planned: tuple[ImportedCollection, ImportPlan], source: Source, tmp_path: Path
) -> None:
    collection, result = planned
    decks = _decks(result)
    assert dict(decks["french"].media) == {
        "eiffel tower.png": source.media["eiffel tower.png"],
        "être.mp3": source.media["être.mp3"],
    }
    assert dict(decks["geography"].media) == {}
    written = write(result, tmp_path / "cards")
    assert sorted(str(p.relative_to(tmp_path / "cards")) for p in written) == [
        "french.media/eiffel tower.png",
        "french.media/être.mp3",
        "french.yaml",
        "geography.yaml",
    ]
    for name in ("eiffel tower.png", "être.mp3"):
        assert (tmp_path / "cards" / "french.media" / name).read_bytes() == source.media[name]
    assert (tmp_path / "cards" / "french.yaml").read_text(encoding="utf-8") == decks["french"].text
    # The package's media file no note shows is not written, and said so; the note type
    # that names it too.
    assert collection.media["_own.woff2"] == FONT
    (note,) = [d for d in result.diagnostics if "no note shows" in d.message]
    assert note.severity is Severity.NOTE and "'_own.woff2'" in note.message
    assert str(note.location) == str(collection.source)
    (font,) = [d for d in result.diagnostics if "a build does not pack it" in d.message]
    assert font.severity is Severity.WARNING
    assert font.message.startswith("note type 'Vocabulary: FR' uses '_own.woff2' in its")


# -- what is reported ----------------------------------------------------------------------


def _at(result: ImportPlan, needle: str) -> tuple[Any, str]:
    """The one diagnostic whose message holds ``needle``, and the card file line it names."""
    (found,) = [d for d in result.diagnostics if needle in d.message]
    deck = next(d for d in result.decks if d.file_name == found.location.path)
    return found, deck.text.split("\n")[found.location.line - 1]


def test_fields_that_do_not_come_back_exactly_are_reported_at_their_line(
    planned: tuple[ImportedCollection, ImportPlan],
) -> None:
    _, result = planned
    font, line = _at(result, "field 'Front': the build leaves out <font>")
    assert font.severity is Severity.WARNING
    assert font.message.startswith("card 'avoir'")
    assert line.startswith("      Front: avoir") and font.location.col == 7
    missing, line = _at(result, "the picture 'missing.png' (not among the media)")
    assert missing.message.startswith("card 'avoir', field 'Back'")
    assert line.startswith("      Back: to have")
    rewritten, line = _at(result, "card 'faire', field 'Back'")
    assert rewritten.severity is Severity.NOTE  # the same field, its HTML written our way
    assert "'to do<br/>to make' as 'to do<br>to make'" in rewritten.message
    assert line.startswith("      Back:")
    # The rest come back byte for byte: nothing said of them.
    assert not [
        d for d in result.diagnostics if re.search(r"card '(bonjour|etre|aller)'", d.message)
    ]


def test_a_note_in_several_decks_is_reported(
    planned: tuple[ImportedCollection, ImportPlan],
) -> None:
    _, result = planned
    found, line = _at(result, "decks ('French::Nouns', 'Geography')")
    assert found.severity is Severity.WARNING
    assert line == "  - id: le-chat"
    assert "an import never moves cards" in found.message
    assert found.location.path == "french.yaml"


def test_scripts_in_templates_are_reported_and_kept(
    planned: tuple[ImportedCollection, ImportPlan],
) -> None:
    _, result = planned
    found, line = _at(result, "runs scripts")
    assert found.severity is Severity.WARNING
    assert "'Vocabulary: FR', template 'Recognition': the back side" in found.message
    assert "(onclick handler on <div> at line 1, <script> element at line 2)" in found.message
    assert line.startswith("        back: ")


def test_a_subdeck_description_is_said_to_be_left_out(
    planned: tuple[ImportedCollection, ImportPlan],
) -> None:
    _, result = planned
    found, line = _at(result, "description of deck 'French::Nouns'")
    assert found.severity is Severity.NOTE
    assert line == "  nouns: Nouns"


def test_located_puts_card_files_under_the_output_folder(
    planned: tuple[ImportedCollection, ImportPlan], tmp_path: Path
) -> None:
    collection, result = planned
    located = result.located(tmp_path)
    assert {d.location.path for d in located} == {
        str(tmp_path / "french.yaml"),
        str(collection.source),
    }


# -- errors --------------------------------------------------------------------------------


def test_duplicate_guids_and_no_notes(planned: tuple[ImportedCollection, ImportPlan]) -> None:
    collection, _ = planned
    first = collection.notes[0]
    twin = dataclasses.replace(collection.notes[1], guid=first.guid)
    shared = dataclasses.replace(collection, notes=(first, twin, *collection.notes[2:]))
    with pytest.raises(ImportFileError) as raised:
        plan(shared)
    assert str(raised.value).startswith(f"{collection.source}: error: GUID {first.guid!r} is ")
    with pytest.raises(ImportFileError, match="holds no notes"):
        plan(dataclasses.replace(collection, notes=()))


def test_a_note_without_cards_is_left_out_and_said(
    planned: tuple[ImportedCollection, ImportPlan],
) -> None:
    collection, result = planned
    lone = dataclasses.replace(collection.notes[0], cards=(), deck=None)
    without = plan(dataclasses.replace(collection, notes=(lone, *collection.notes[1:])))
    assert sum(len(deck.cards) for deck in without.decks) == len(collection.notes) - 1
    assert lone.guid not in {card.guid for deck in without.decks for card in deck.cards}
    (said,) = [d for d in without.diagnostics if "has no cards" in d.message]
    assert said.severity is Severity.WARNING
    assert said.message.startswith(f"note {lone.guid!r} ('bonjour') has no cards")
    assert len(without.diagnostics) == len(result.diagnostics) + 1


def test_note_types_the_build_would_refuse_are_said(
    planned: tuple[ImportedCollection, ImportPlan],
) -> None:
    collection, _ = planned
    twin = tuple(
        dataclasses.replace(nt, name="basic") if nt.name == "Basic (and reversed card)" else nt
        for nt in collection.note_types
    )
    result = plan(dataclasses.replace(collection, note_types=twin))
    found, line = _at(result, "two note types are named 'basic'")
    assert found.severity is Severity.WARNING and line == "  - name: basic"


def test_a_note_type_with_the_id_of_cardpress_s_own_is_cardpress_s(
    planned: tuple[ImportedCollection, ImportPlan],
) -> None:
    """Notes of a note type that has the id of cardpress's Basic v1 (but Anki's Basic's two
    fields) are cards of kind basic: cardpress's note type is never written as a deck's own
    (the loader refuses its id there); that the fields differ is said at each card."""
    collection, _ = planned
    basic = next(nt for nt in collection.note_types if nt.name == "Basic")
    ours = dataclasses.replace(basic, id=NOTE_TYPES[Kind.BASIC].id)
    notes = tuple(
        dataclasses.replace(note, note_type_id=ours.id) if note.note_type_id == basic.id else note
        for note in collection.notes
    )
    note_types = tuple(ours if nt is basic else nt for nt in collection.note_types)
    result = plan(dataclasses.replace(collection, note_types=note_types, notes=notes))
    french = _loaded(_decks(result)["french"])
    assert ours.id not in [nt["id"] for nt in french["note_types"]]
    assert french["note_type_version"] == 1
    cards = {card["id"]: card for card in french["cards"]}
    assert cards["bonjour"] == {
        "id": "bonjour",
        "guid": cards["bonjour"]["guid"],
        "topic": "nouns",
        "front": "bonjour",
        "back": "hello",
        "tags": ["french::greetings"],
    }
    # It is in the top deck, which has topics: a card of cardpress's kinds there needs one.
    found, line = _at(result, "card 'bonjour': the note is in the deck 'French' itself")
    assert found.severity is Severity.WARNING and line == "    topic: nouns"
    assert found.message.endswith("a build for another collection puts it in 'French::Nouns'")
    found, line = _at(result, "card 'bonjour': its note type has the id of")
    assert found.severity is Severity.WARNING and line == "  - id: bonjour"
    assert "fields Front, Back; the build gives Anki 'cardpress Basic v1'" in found.message


def test_text_exports_are_not_yet_taken(source: Source) -> None:
    collection = read_file(source.files["notes.txt"])
    assert collection.format is SourceFormat.TEXT
    with pytest.raises(ImportFileError, match="text exports: not yet"):
        plan(collection)


def _package(folder: Path, decks: list[str]) -> Path:
    """A package with one Basic note in each deck of ``decks``."""
    with fresh_collection(folder / "profile") as col:
        basic = col.models.by_name("Basic")
        assert basic is not None
        for i, deck in enumerate(decks):
            note = col.new_note(basic)
            note["Front"], note["Back"] = f"question {i}", "answer"
            col.add_note(note, _deck(col, deck))
        path = folder / "decks.apkg"
        col.export_anki_package(
            out_path=str(path),
            options=ExportAnkiPackageOptions(with_media=False, legacy=False),
            limit=None,
        )
    return path


@pytest.mark.parametrize("name", ["Con", "aux::Sub", "LPT1"])
def test_a_deck_no_card_file_can_be_named_after(tmp_path: Path, name: str) -> None:
    collection = read_file(_package(tmp_path, ["Fine", name]))
    with pytest.raises(ImportFileError) as raised:
        plan(collection)
    top = name.split("::")[0]
    assert f"deck {top!r}: its key {top.lower()!r} cannot name a card file" in str(raised.value)


def test_decks_whose_keys_would_be_one_file_get_two(tmp_path: Path) -> None:
    collection = read_file(_package(tmp_path, ["Français", "Francais", "日本語::漢字", "!!!"]))
    decks = {deck.name: deck for deck in plan(collection).decks}
    keys = {name: deck.key for name, deck in decks.items()}
    assert len({key.casefold() for key in keys.values()}) == 4
    assert keys["日本語"] == "ri-ben-yu"
    assert re.fullmatch(r"deck-[0-9a-f]{6}", keys["!!!"])
    assert sorted([keys["Français"], keys["Francais"]])[0] == "francais"
    assert _loaded(decks["日本語"])["topics"] == {"han-zi": "漢字"}


# -- writing -------------------------------------------------------------------------------


def test_write_replaces_nothing_and_writes_again_what_is_the_same(
    planned: tuple[ImportedCollection, ImportPlan], tmp_path: Path
) -> None:
    _, result = planned
    out = tmp_path / "cards"
    assert write(result, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert write(result, out) == ()  # the same files: nothing to do
    (out / "geography.yaml").write_text("edited\n", encoding="utf-8")
    with pytest.raises(ExportError, match="is there already"):
        write(result, out)
    assert (out / "geography.yaml").read_text(encoding="utf-8") == "edited\n"
    assert write(result, out, replace=True) == (out / "geography.yaml",)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_write_is_all_or_nothing(
    planned: tuple[ImportedCollection, ImportPlan], tmp_path: Path
) -> None:
    _, result = planned
    out = tmp_path / "cards"
    (out / "french.media" / "être.mp3").mkdir(parents=True)  # a folder where a file goes
    with pytest.raises(ExportError):
        write(result, out, replace=True)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "french.media",
        "french.media/être.mp3",
    ]


# -- the YAML, for any text ----------------------------------------------------------------

# Text that YAML reads as something else unless written with care.
NASTY = [
    "", " ", "-", "- x", "? x", ": x", "a: b", "a #b", "#", "[x]", "{x}", "&a", "*a", "!x",
    "'", '"', "|", ">", "%", "@", "`", ",", "yes", "no", "null", "~", "1", "0x1", "1e3", "1:2",
    "...", "---", "\t", "\n", "\r", "\x85", "\u2028", "\ufeff", "\x00", "é", "e\u0301", "::",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(NASTY) | st.text(max_size=6), max_size=6).map("".join)
NAME = TEXT.filter(lambda s: bool(s.strip()))
TAG = NAME.map(lambda s: "".join(s.split())).filter(bool)


@st.composite
def collections(draw: st.DrawFn) -> ImportedCollection:
    """A collection of a few notes of one note type, every name and text drawn."""
    # A deck name's part holds no "::", nor ":" at either end ("a:" and "b" would be "a:::b").
    part = NAME.filter(lambda s: "::" not in s and not s.startswith(":") and not s.endswith(":"))
    top = draw(part.filter(lambda s: s == s.strip()))
    subdecks = draw(st.lists(part, max_size=2, unique=True))
    field_names = draw(st.lists(NAME, min_size=1, max_size=3, unique=True))
    templates = tuple(
        ImportedTemplate(draw(NAME), draw(TEXT), draw(TEXT), draw(st.none() | st.integers()),
                         draw(TEXT), draw(TEXT))
        for _ in range(draw(st.integers(1, 2)))
    )  # fmt: skip
    note_type = ImportedNoteType(
        id=1700000000000,
        name=draw(NAME),
        kind=draw(st.sampled_from(NoteTypeKind)),
        fields=tuple(ImportedField(n, draw(st.none() | st.integers())) for n in field_names),
        templates=templates,
        css=draw(TEXT),
        sort_field=draw(st.integers(0, len(field_names) - 1)),
        latex_pre="",
        latex_post="",
        mtime=5,
        legacy_json="{}",
    )
    notes = []
    for i in range(draw(st.integers(1, 3))):
        below = draw(st.lists(st.sampled_from(subdecks), max_size=2)) if subdecks else []
        deck = "::".join([top, *below])
        notes.append(
            ImportedNote(
                id=1000 + i,
                guid=f"g{i}{draw(st.text(st.characters(min_codepoint=33, max_codepoint=126)))}",
                note_type_id=note_type.id,
                note_type_name=note_type.name,
                fields=tuple(draw(TEXT) for _ in field_names),
                tags=tuple(draw(st.lists(TAG, max_size=3, unique_by=str.casefold))),
                mtime=100 + i,
                cards=(ImportedCard(2000 + i, 0, deck, 0),),
                deck=deck,
            )
        )
    return ImportedCollection(
        source=Path("nasty:\n#name.apkg"),
        format=SourceFormat.LATEST,
        note_types=(note_type,),
        notes=tuple(notes),
        decks=(ImportedDeck(1, top, draw(TEXT), False),),
        media={},
    )


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(collections())
def test_the_yaml_reads_back_as_exactly_what_was_meant(collection: ImportedCollection) -> None:
    top = collection.decks[0].name
    try:
        result = plan(collection)
    except ImportFileError as exc:  # a deck named like a Windows device: said, not written
        assume("Windows keeps the name" not in str(exc))
        raise
    (deck,) = result.decks
    data = _loaded(deck)
    note_type = collection.note_types[0]
    description = field_text(collection.decks[0].description).text
    titles = sorted(
        {n.deck.split("::", 1)[1] for n in collection.notes if n.deck and n.deck != top}
    )
    assert data["name"] == top
    assert data.get("description") == (description or None)
    assert sorted(data.get("topics", {}).values()) == titles
    (written,) = data["note_types"]
    template_keys = ("front", "back", "browser_front", "browser_back")
    assert written == {
        "name": note_type.name,
        "id": note_type.id,
        "imported": True,
        **({"cloze": True} if note_type.kind is NoteTypeKind.CLOZE else {}),
        "fields": [
            {"name": f.name, **({"id": f.id} if f.id is not None else {})} for f in note_type.fields
        ],
        "templates": [
            {
                "name": t.name,
                **({"id": t.id} if t.id is not None else {}),
                **{
                    key: value
                    for key, value in zip(
                        template_keys, (t.qfmt, t.afmt, t.bqfmt, t.bafmt), strict=True
                    )
                    if value or key == "front"
                },
            }
            for t in note_type.templates
        ],
        **({"css": note_type.css} if note_type.css else {}),
        **(
            {"sort_field": note_type.field_names[note_type.sort_field]}
            if note_type.sort_field
            else {}
        ),
    }
    topics = {title: key for key, title in data.get("topics", {}).items()}
    for card, note in zip(data["cards"], collection.notes, strict=True):
        texts = dict(zip(note_type.field_names, map(field_text, note.fields), strict=True))
        home = note.cards[0].deck
        assert card == {
            "id": card["id"],
            "guid": note.guid,
            "note_type": note_type.name,
            **({"topic": topics[home.split("::", 1)[1]]} if home != top else {}),
            **({"tags": list(note.tags)} if note.tags else {}),
            **(
                {"fields": {n: t.text for n, t in texts.items() if t.text}}
                if any(t.text for t in texts.values())
                else {}
            ),
        }
    lines = deck.text.split("\n")
    for diagnostic in result.diagnostics:
        assert diagnostic.location.path == deck.file_name
        assert 1 <= diagnostic.location.line <= len(lines)


# -- notes cardpress built -----------------------------------------------------------------

HISTORY = """\
key: history
name: History
note_type_version: {version}
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
    source: "§1"
  - id: exile
    topic: people
    kind: cloze
    text: "Exile took Trotsky to {{{{c1::Turkey::a country}}}} and {{{{c2::Mexico}}}}."
    extra: Via France and Norway.
    tags: [exile::routes]
  - id: assassin
    topic: people
    kind: type
    front: Family name of the agent who killed Trotsky
    back: Mercader
"""


def _built(folder: Path, files: dict[str, str]) -> list[Path]:
    """The packages cardpress builds from the card files ``files`` (name -> YAML)."""
    cards = folder / "cards"
    cards.mkdir(parents=True)
    for name, text in files.items():
        (cards / name).write_text(text, encoding="utf-8")
    result = build(cards, folder / "dist", options=BuildOptions(only=("apkg",)))
    return [output.path for output in result.outputs if output.path.suffix == ".apkg"]


def _exported(folder: Path, packages: list[Path], extra: dict[str, str] | None = None) -> Path:
    """A package real Anki exports after importing ``packages``, with a stock Basic note added
    in each deck ``extra`` names (deck -> its front)."""
    with fresh_collection(folder / "profile") as col:
        for package in packages:
            import_apkg(col, package)
        basic = col.models.by_name("Basic")
        assert basic is not None
        for deck, front in (extra or {}).items():
            note = col.new_note(basic)
            note["Front"], note["Back"] = front, "an answer"
            note.tags = ["mine"]
            col.add_note(note, _deck(col, deck))
        path = folder / "exported.apkg"
        col.export_anki_package(
            out_path=str(path),
            options=ExportAnkiPackageOptions(with_scheduling=True, with_media=True, legacy=False),
            limit=None,
        )
    return path


def _notes_of(package: Path) -> dict[str, tuple[Any, ...]]:
    """What Anki keeps of each note of a package, by GUID: note type id, fields, tags, and
    the deck of each card. Tags sorted: Anki sorts a note's tags when it imports it (the
    notes it exports have them so), and the build puts a topic's tag last."""
    return {
        note.guid: (
            note.note_type_id,
            note.fields,
            sorted(note.tags, key=str.casefold),
            sorted((card.ord, card.deck) for card in note.cards),
        )
        for note in read_file(package).notes
    }


@pytest.mark.parametrize("version", [1, 2])
def test_notes_of_cardpress_come_back_as_cards_of_their_kinds(tmp_path: Path, version: int) -> None:
    """A deck cardpress built, imported into Anki and exported by Anki: each note a card of its
    kind, the topics from the subdecks and topic tags, the deck's tags on each card; built
    again, the same notes."""
    exported = _exported(
        tmp_path, _built(tmp_path / "a", {"h.yaml": HISTORY.format(version=version)})
    )
    result = plan(read_file(exported))
    assert result.diagnostics == ()
    (deck,) = result.decks
    data = _loaded(deck)
    v2 = version == 2
    assert data["note_type_version"] == version
    assert data["topics"] == {"dates": "Dates", "people": "People & Places"}
    assert not {"topic_tags", "keep_media_names", "subdecks", "note_types", "tags"} & set(data)
    cards = {card.get("kind", "basic"): card for card in data["cards"]}
    # Version 2: the deck key and card ids from the Card IDs, so no guid:. Version 1 has no
    # Card ID: ids made from the first field, each card with its guid:.
    ids = [c["id"] for c in data["cards"]]
    assert ids == (["lenin", "exile", "assassin"] if v2 else ["year-of-lenin-s-death",
                   "exile-took-trotsky-to-turkey-and", "family-name-of-the-agent-who"])  # fmt: skip
    assert all(("guid" in card) is not v2 for card in data["cards"])
    assert data["key"] == "history"  # the Card IDs', or the name's
    written = {
        k: {key: v for key, v in c.items() if key not in ("id", "guid")} for k, c in cards.items()
    }
    assert written == {
        "reversed": {"kind": "reversed", "topic": "dates", "front": "Year of Lenin's *death*",
                     "back": "1924", "source": "§1", "tags": ["year-11"]},
        "cloze": {"kind": "cloze", "topic": "people",
                  "text": "Exile took Trotsky to {{c1::Turkey::a country}} and {{c2::Mexico}}.",
                  "extra": "Via France and Norway.", "tags": ["exile::routes", "year-11"]},
        "type": {"kind": "type", "topic": "people",
                 "front": "Family name of the agent who killed Trotsky", "back": "Mercader",
                 "tags": ["year-11"]},
    }  # fmt: skip
    write(result, tmp_path / "imported")
    (again,) = _built(tmp_path / "b", {deck.file_name: deck.text})
    assert _notes_of(again) == _notes_of(exported)


def test_a_deck_of_cardpress_notes_and_others_keeps_the_topic_tags_as_tags(tmp_path: Path) -> None:
    packages = _built(tmp_path / "a", {"h.yaml": HISTORY.format(version=2)})
    exported = _exported(
        tmp_path, packages, {"History::Dates": "Added in Anki", "History": "In the top deck"}
    )
    result = plan(read_file(exported))
    (deck,) = result.decks
    data = _loaded(deck)
    assert (data["key"], data["note_type_version"]) == ("history", 2)
    assert (data["subdecks"], data["topic_tags"], data["keep_media_names"]) == (True, False, True)
    assert [nt["name"] for nt in data["note_types"]] == ["Basic"]
    assert data["note_types"][0]["imported"] is True
    by_id = {card["id"]: card for card in data["cards"]}
    assert by_id["lenin"]["tags"] == ["topic::dates", "year-11"]  # as Anki has them
    assert by_id["lenin"]["topic"] == "dates"
    assert by_id["added-in-anki"]["note_type"] == "Basic"
    assert by_id["added-in-anki"]["topic"] == "dates"
    assert "topic" not in by_id["in-the-top-deck"]
    write(result, tmp_path / "imported")
    (again,) = _built(tmp_path / "b", {deck.file_name: deck.text})
    assert _notes_of(again) == _notes_of(exported)


def test_a_deck_of_both_versions_is_refused(tmp_path: Path) -> None:
    one = HISTORY.format(version=1)
    two = (
        HISTORY.format(version=2)
        .replace("key: history", "key: more")
        .replace("name: History", "name: History::More")
        .replace("topics:\n  dates: Dates\n  people: People & Places\n", "")
        .replace("    topic: dates\n", "")
        .replace("    topic: people\n", "")
    )
    exported = _exported(tmp_path, _built(tmp_path / "a", {"h.yaml": one, "m.yaml": two}))
    with pytest.raises(ImportFileError) as raised:
        plan(read_file(exported))
    assert str(raised.value) == (
        f"{exported}: error: deck 'History' holds notes of cardpress's note types version 1 and "
        "version 2; a card file has one version (note_type_version): convert the notes of one "
        "version in Anki (Notes > Change Note Type) and export the deck again"
    )


def test_card_ids_that_collide_are_made_anew_and_keep_their_notes_by_guid(
    tmp_path: Path,
) -> None:
    """Two cardpress decks below one top deck (History, History::More) of the same card ids:
    the Card IDs name two deck keys and one card id twice."""
    two = HISTORY.format(version=2)
    more = two.replace("key: history", "key: more").replace("name: History", "name: History::More")
    more = more.replace("  people: People & Places\n", "").replace("topic: people", "topic: dates")
    exported = _exported(tmp_path, _built(tmp_path / "a", {"h.yaml": two, "m.yaml": more}))
    result = plan(read_file(exported))
    (deck,) = result.decks
    data = _loaded(deck)
    assert data["key"] == "history"  # the Card IDs do not agree: the name's
    ids = [card["id"] for card in data["cards"]]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert set(ids) >= {"lenin", "exile", "assassin"}
    # Each card keeps its note by its GUID, where the deck key and id no longer make it.
    assert {card.get("guid") or guid("history", card["id"]) for card in data["cards"]} == set(
        _notes_of(exported)
    )
    # The notes of History::More get Card IDs of this deck key: said at each.
    moved = [d for d in result.diagnostics if "its field 'Card ID' comes back" in d.message]
    assert len(moved) == 3 and all(d.severity is Severity.WARNING for d in moved)
    assert "'more/lenin' as 'history/year-of-lenin-s-death'" in "".join(d.message for d in moved)
