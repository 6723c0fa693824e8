"""``cardpress import`` end to end, against real Anki: a collection made with the ``anki``
library (stock and own note types, subdecks two deep, hierarchical tags, formatted HTML, an
image, a cloze with a hint, reviews), exported by Anki's own exporter in the legacy and the
current format; imported, built, and the package imported back into that collection."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anki.collection import (
    Collection,
    DeckIdLimit,
    ExportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)
from anki.decks import DeckId
from click.testing import CliRunner, Result

from cardpress.cli import cli
from tests.conftest import FIXTURES, bucket_sizes, edit

FORMATS = ("legacy", "current")


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection with a deck of every sort of note, and its exports in both formats."""
    folder = tmp_path_factory.mktemp("source")
    col = Collection(str(folder / "collection.anki2"))
    try:
        _fill(col, folder)
        for name in FORMATS:
            col.export_anki_package(
                out_path=str(folder / f"French-{name}.apkg"),
                options=ExportAnkiPackageOptions(
                    with_scheduling=True, with_media=True, legacy=name == "legacy"
                ),
                limit=DeckIdLimit(_deck_id(col, "French")),
            )
        col.export_collection_package(
            str(folder / "French.colpkg"), include_media=True, legacy=False
        )
    finally:
        col.close()
    return folder


def _deck_id(col: Collection, name: str) -> DeckId:
    found = col.decks.id_for_name(name)
    assert found is not None, name
    return found


def _fill(col: Collection, folder: Path) -> None:
    models = col.models
    vocab = models.new("Vocab (mine)")
    for name in ("Word", "Meaning", "Example"):
        models.add_field(vocab, models.new_field(name))
    for name, front, back in (
        ("Recognise", "{{Word}}", "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Example}}"),
        ("Produce", "{{#Example}}{{Meaning}}{{/Example}}", "{{FrontSide}}<hr id=answer>{{Word}}"),
    ):
        template = models.new_template(name)
        template["qfmt"], template["afmt"] = front, back
        models.add_template(vocab, template)
    vocab["css"] = ".card { color: navy; font-family: serif; }"
    models.add(vocab)
    top = col.decks.id("French")
    verbs = col.decks.id("French::Verbs")
    deep = col.decks.id("French::Verbs::Irregular")
    assert top and verbs and deep
    shutil.copy(FIXTURES / "outside.png", folder / "cat.png")
    picture = col.media.add_file(str(folder / "cat.png"))
    basic, cloze = models.by_name("Basic"), models.by_name("Cloze")
    assert basic and cloze
    new_vocab = models.by_name("Vocab (mine)")
    assert new_vocab
    rows: list[tuple[Any, Any, list[str], dict[str, str]]] = [
        (basic, top, ["fr::basics", "leech"], {"Front": "bonjour", "Back": "<b>hello</b>"}),
        (basic, verbs, ["fr::verbs"], {"Front": "to be", "Back": "être<br>(irregular)"}),
        (cloze, deep, [], {"Text": "Je {{c1::suis::être}} là, tu {{c2::es}}",
                           "Back Extra": "present tense"}),
        (new_vocab, verbs, ["fr::vocab"], {"Word": "chat", "Meaning": f'cat <img src="{picture}">',
                                           "Example": "Le chat dort."}),
        (new_vocab, top, [], {"Word": "chien", "Meaning": "dog"}),
        (basic, top, [], {"Front": "<div>Lists:</div><ul><li>one</li><li>two</li></ul>",
                          "Back": "<i>ok</i><table><tr><td>a</td></tr></table>"}),
    ]  # fmt: skip
    for model, deck, tags, fields in rows:
        note = col.new_note(model)
        for name, value in fields.items():
            note[name] = value
        note.tags = tags
        col.add_note(note, deck)
    for card_id in col.find_cards("")[:3]:
        card = col.get_card(card_id)
        card.start_timer()
        col.sched.answerCard(card, 3)


@pytest.fixture
def work(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the source collection (the test imports into it) in a fresh folder."""
    shutil.copy(source / "collection.anki2", tmp_path / "collection.anki2")
    for name in FORMATS:
        shutil.copy(source / f"French-{name}.apkg", tmp_path / f"French-{name}.apkg")
    shutil.copy(source / "French.colpkg", tmp_path / "French.colpkg")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _state(col: Collection) -> dict[str, Any]:
    notes = (col.get_note(note_id) for note_id in col.find_notes(""))
    assert col.db is not None
    return {
        "notes": {n.guid: (n.mid, list(n.fields), sorted(n.tags), n.mod) for n in notes},
        "cards": sorted(col.db.all("SELECT nid, ord, did, ivl, reps FROM cards")),
        "revlog": col.db.scalar("SELECT count() FROM revlog"),
        "note types": sorted(m.id for m in col.models.all_names_and_ids()),
    }


def _import_back(package: Path) -> tuple[dict[str, int], dict[str, Any], dict[str, Any]]:
    col = Collection("collection.anki2")
    try:
        before = _state(col)
        options = col._backend.get_import_anki_package_presets()
        log = col.import_anki_package(
            ImportAnkiPackageRequest(package_path=str(package.resolve()), options=options)
        ).log
        return bucket_sizes(log), before, _state(col)
    finally:
        col.close()


@pytest.mark.parametrize("name", FORMATS)
def test_import_then_build_gives_anki_the_same_notes(work: Path, name: str) -> None:
    imported = _cli("import", f"French-{name}.apkg")
    assert imported.exit_code == 0, imported.output
    assert "cards/french.yaml: 6 cards, 3 note types, 1 media file" in imported.output
    built = _cli("build")
    assert built.exit_code == 0, built.output
    assert "cards/french.lock.json: 6 cards (unchanged)" in built.output
    log, before, after = _import_back(Path("dist/french.apkg"))
    assert (log["new"], log["updated"], log["conflicting"]) == (0, 0, 0)
    assert after == before  # every note, card, review and note type as it was


@pytest.mark.parametrize("name", FORMATS)
def test_an_edited_card_updates_exactly_its_note_with_its_history(work: Path, name: str) -> None:
    assert _cli("import", f"French-{name}.apkg").exit_code == 0
    edit(Path("cards/french.yaml"), "Back: <b>hello</b>", "Back: <b>hello</b> (good day)")
    assert _cli("build").exit_code == 0
    log, before, after = _import_back(Path("dist/french.apkg"))
    assert (log["new"], log["updated"], log["conflicting"]) == (0, 1, 0)
    changed = {g for g in before["notes"] if before["notes"][g] != after["notes"][g]}
    assert len(changed) == 1
    (guid,) = changed
    assert after["notes"][guid][1] == ["bonjour", "<b>hello</b> (good day)"]
    assert after["revlog"] == before["revlog"] == 3
    assert after["note types"] == before["note types"]


@pytest.mark.parametrize("name", FORMATS)
def test_push_after_import_changes_nothing_and_then_carries_an_edit(work: Path, name: str) -> None:
    """The deck adopted, push into the collection it came from finds every note as it is:
    a field the build writes its own way (<table><tbody>) is no edit made in Anki."""
    imported = _cli("import", f"French-{name}.apkg")
    assert imported.exit_code == 0, imported.output
    before = _state_of("collection.anki2")
    pushed = _cli("push", "--collection", "collection.anki2")
    assert pushed.exit_code == 0, pushed.output
    assert "cards/french.yaml: 6 unchanged" in pushed.output
    assert _state_of("collection.anki2") == before
    edit(Path("cards/french.yaml"), "Back: <b>hello</b>", "Back: <b>hello</b> (good day)")
    pushed = _cli("push", "--collection", "collection.anki2")
    assert "cards/french.yaml: 1 updated, 5 unchanged" in pushed.output, pushed.output
    after = _state_of("collection.anki2")
    assert after["revlog"] == before["revlog"] == 3
    assert after["cards"] == before["cards"]
    changed = [g for g in before["notes"] if before["notes"][g] != after["notes"][g]]
    assert [after["notes"][g][1] for g in changed] == [["bonjour", "<b>hello</b> (good day)"]]
    # Anki's own "leech" is no card-file tag (the import says so), and push keeps it on the
    # note it updated (an import of the package alone would replace the note's tags).
    assert "Anki's own tag 'leech' or 'marked'" in imported.output
    assert "leech" not in Path("cards/french.yaml").read_text(encoding="utf-8")
    assert [after["notes"][g][2] for g in changed] == [["fr::basics", "leech"]]


def test_push_turns_an_adopted_note_into_a_card_of_cardpress_s_kinds_on_request(
    work: Path,
) -> None:
    """Written with ``front``/``back`` instead of its note type's fields, an adopted note
    becomes a basic card: push converts it with Anki's Change Note Type, keeping its id and
    reviews."""
    assert _cli("import", "French-current.apkg").exit_code == 0
    before = _state_of("collection.anki2")
    edit(
        Path("cards/french.yaml"),
        "    note_type: Basic\n    topic: verbs\n    tags: [fr::verbs]\n    fields:\n"
        "      Front: to be\n      Back: être<br>(irregular)\n",
        "    topic: verbs\n    tags: [fr::verbs]\n"
        "    front: to be\n    back: être<br>(irregular)\n",
    )
    pushed = _cli("push", "--collection", "collection.anki2")
    assert pushed.exit_code == 0, pushed.output
    assert "1 converted, 5 unchanged" in pushed.output
    assert "  convert  to-be: 'Basic' -> cardpress Basic v2 (review history kept)" in pushed.output
    after = _state_of("collection.anki2")
    (changed,) = [g for g in before["notes"] if before["notes"][g] != after["notes"][g]]
    col = Collection("collection.anki2")
    try:
        (note_id,) = col.find_notes('"note:cardpress Basic v2"')
        note = col.get_note(note_id)
        assert note.guid == changed and note["Front"] == "to be"
        assert note.fields[:2] == before["notes"][changed][1]
    finally:
        col.close()
    assert after["cards"] == before["cards"]  # the same cards: note, deck, interval, reviews
    assert after["revlog"] == before["revlog"] == 3


def _state_of(path: str) -> dict[str, Any]:
    col = Collection(path)
    try:
        return _state(col)
    finally:
        col.close()


def test_a_collection_backup_comes_in_the_same_way(work: Path) -> None:
    imported = _cli("import", "French.colpkg")
    assert imported.exit_code == 0, imported.output
    assert "cards/french.yaml: 6 cards, 3 note types, 1 media file" in imported.output
    assert _cli("build").exit_code == 0
    log, before, after = _import_back(Path("dist/french.apkg"))
    assert (log["new"], log["updated"], log["conflicting"]) == (0, 0, 0)
    assert after == before


def test_the_first_build_changes_no_file_the_import_wrote(work: Path) -> None:
    assert _cli("import", "French-current.apkg").exit_code == 0
    written = {p: p.read_bytes() for p in Path("cards").rglob("*") if p.is_file()}
    assert _cli("build").exit_code == 0
    assert {p: p.read_bytes() for p in Path("cards").rglob("*") if p.is_file()} == written


def _nothing_written(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not Path("cards").exists() or not any(Path("cards").iterdir())


def test_a_corrupt_package_is_an_error_naming_it_and_nothing_is_written(work: Path) -> None:
    data = Path("French-current.apkg").read_bytes()
    Path("broken.apkg").write_bytes(data[: len(data) // 2])
    _nothing_written(_cli("import", "broken.apkg"), "broken.apkg: error: ")


def test_a_file_of_another_kind_is_an_error_naming_it(work: Path) -> None:
    shutil.copy(FIXTURES / "outside.png", "picture.apkg")
    _nothing_written(_cli("import", "picture.apkg"), "picture.apkg: error: ")


def test_a_package_without_notes_is_an_error(work: Path) -> None:
    col = Collection(str(work / "blank.anki2"))
    try:
        col.export_anki_package(
            out_path=str(work / "empty.apkg"),
            options=ExportAnkiPackageOptions(with_scheduling=False, with_media=False),
            limit=DeckIdLimit(_deck_id(col, "Default")),
        )
    finally:
        col.close()
    _nothing_written(_cli("import", "empty.apkg"), "empty.apkg: error: ")


def test_a_bad_file_among_good_ones_writes_nothing(work: Path) -> None:
    Path("notes.txt").write_text("#separator:tab\n#html:true\nfront\tback\n", encoding="utf-8")
    Path("broken.apkg").write_bytes(b"PK\x03\x04 not really a zip")
    result = _cli("import", "French-current.apkg", "broken.apkg")
    _nothing_written(result, "broken.apkg: error: ")


def test_files_in_the_way_are_not_replaced_without_replace(work: Path) -> None:
    assert _cli("import", "French-current.apkg").exit_code == 0
    edit(Path("cards/french.yaml"), "Back: <b>hello</b>", "Back: <b>hi</b>")
    mine = Path("cards/french.yaml").read_bytes()
    again = _cli("import", "French-current.apkg")
    assert again.exit_code == 1
    assert "cards/french.yaml: error: is there already" in again.output
    assert Path("cards/french.yaml").read_bytes() == mine
    assert _cli("import", "--replace", "French-current.apkg").exit_code == 0
    assert b"Back: <b>hello</b>" in Path("cards/french.yaml").read_bytes()


def test_a_text_export_becomes_cards_of_cardpress_kinds_and_says_so(work: Path) -> None:
    col = Collection("collection.anki2")
    try:
        col.export_note_csv(
            out_path=str(work / "notes.txt"),
            limit=DeckIdLimit(_deck_id(col, "French")),
            with_html=True,
            with_tags=True,
            with_deck=True,
            with_notetype=True,
            with_guid=True,
        )
    finally:
        col.close()
    result = _cli("import", "notes.txt")
    assert result.exit_code == 0, result.output
    assert "stamped as new (no times)" in result.output
    assert "notes.txt: note: " in result.output  # what a build then does with these notes
    text = Path("cards/french.yaml").read_text(encoding="utf-8")
    assert "kind: cloze" in text and "note_types:" not in text
    assert _cli("build").exit_code == 0
    log, before, after = _import_back(Path("dist/french.apkg"))
    # The rows' GUIDs meet their notes under Anki's own note types: skipped, nothing doubled.
    assert log["new"] == 0 and log["updated"] == 0
    assert after["notes"] == before["notes"]
