"""Note types version 2 (``note_type_version: 2``): the Card ID field, one note type for basic
and reversed cards, and the move from version 1, each imported into a real Anki collection.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from click.testing import CliRunner, Result

from cardpress.cli import cli
from cardpress.model import Kind
from cardpress.notes import NOTE_TYPE_SETS, NOTE_TYPES_V2, guid
from tests.conftest import (
    FIXTURES,
    VERSION_1,
    bucket_sizes,
    edit,
    fresh_collection,
    import_apkg,
    import_csv,
    notes_by_guid,
    snapshot,
)
from tests.test_changes import pinned as _pinned
from tests.test_changes import reported as _reported

EXPECTED = FIXTURES / "changes"
DECK = "cards/history.yaml"
KEY = "test-history"
V2 = ("format: 1\n", "note_type_version: 2\n")  # (a deck that does not say takes 2 too)


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _note(col: Collection, card_id: str) -> Any:
    return notes_by_guid(col)[guid(KEY, card_id)]


@pytest.fixture
def folder(good_deck: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder of a private copy of the good deck (cards/), as the working directory."""
    monkeypatch.chdir(good_deck.parent.parent)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795478400")
    return good_deck.parent.parent


@pytest.fixture
def v2_user(folder: Path) -> Iterator[Collection]:
    """The good deck with note types version 2, built and imported into a fresh collection."""
    edit(Path(DECK), *V2)
    assert _cli("build", DECK).exit_code == 0
    with fresh_collection(Path("anki")) as col:
        import_apkg(col, Path("dist/history.apkg"))
        yield col


def test_version_2_notes_carry_their_card_id_and_anki_finds_them_by_it(
    v2_user: Collection,
) -> None:
    col = v2_user
    notes = notes_by_guid(col)
    assert len(notes) == 8
    for note in notes.values():
        card_id = note["Card ID"]
        assert card_id.startswith(f"{KEY}/")
        # One search finds the note, from outside (what push and the user's search use).
        assert list(col.find_notes(f'"Card ID:{card_id}"')) == [note.id]
        assert note.guid == guid(KEY, card_id.split("/", 1)[1])
        for card in note.cards():  # never shown on a card
            assert card_id not in card.question() + card.answer()
    # Basic and reversed cards share one note type; its Add Reverse field makes the reverse.
    basic, reversed_ = _note(col, "general-secretary"), _note(col, "lenin-died")
    assert basic.mid == reversed_.mid == NOTE_TYPES_V2[Kind.BASIC].id
    assert (basic["Add Reverse"], len(basic.cards())) == ("", 1)
    assert (reversed_["Add Reverse"], len(reversed_.cards())) == ("y", 2)
    assert len(_note(col, "exile-route").cards()) == 3  # a cloze: a card per deletion
    assert not col.get_empty_cards().notes


def test_version_2_note_types_are_shaped_as_ankis_own(v2_user: Collection) -> None:
    """Anki keeps the stock kind, the fixed field and template ids, and the Card ID field's
    editor settings that the package gives it."""
    stock = {"cardpress Basic v2": 3, "cardpress Type v2": 4, "cardpress Cloze v2": 5}
    for name, kind in stock.items():
        model = v2_user.models.by_name(name)
        assert model is not None, name
        assert model["originalStockKind"] == kind
        assert all(isinstance(item["id"], int) for item in [*model["flds"], *model["tmpls"]])
        (card_id,) = [field for field in model["flds"] if field["name"] == "Card ID"]
        assert card_id["collapsed"] is True
        assert "do not edit" in card_id["description"]
    basic = v2_user.models.by_name("cardpress Basic v2")
    assert basic is not None
    assert [f["name"] for f in basic["flds"]] == list(NOTE_TYPE_SETS[2][Kind.BASIC].fields)
    assert "{{#Add Reverse}}" in basic["tmpls"][1]["qfmt"]


def test_the_same_build_gives_the_same_ids_and_bytes(folder: Path) -> None:
    edit(Path(DECK), *V2)
    assert _cli("build", DECK).exit_code == 0
    first = snapshot(Path("dist"))
    Path("cards/history.lock.json").unlink()
    assert _cli("build", DECK).exit_code == 0
    assert snapshot(Path("dist")) == first


def test_the_csv_and_the_pages_are_the_same_in_either_version(folder: Path) -> None:
    """Only the package carries note types: the CSV uses Anki's stock ones either way."""
    edit(Path(DECK), *VERSION_1)
    assert _cli("build", DECK).exit_code == 0
    version_1 = snapshot(Path("dist"))
    Path("cards/history.lock.json").unlink()
    edit(Path(DECK), "note_type_version: 1", "note_type_version: 2")
    assert _cli("build", DECK).exit_code == 0
    version_2 = snapshot(Path("dist"))
    assert version_1.keys() == version_2.keys()
    for name in version_1:
        same = version_1[name] == version_2[name]
        assert same is (not name.endswith(".apkg")), name


def test_turning_a_card_reversed_is_no_change_of_note_type(v2_user: Collection) -> None:
    col = v2_user
    card = _note(col, "general-secretary").cards()[0]
    card.start_timer()
    col.sched.answerCard(card, 3)
    edit(Path(DECK), "  - id: general-secretary\n    topic: people\n",
         "  - id: general-secretary\n    topic: people\n    kind: reversed\n")  # fmt: skip

    with fresh_collection(Path("anki-csv")) as csv_user:  # one that took the CSV before
        import_csv(csv_user, Path("dist/history.csv"))
        result = _cli("build", DECK)

        assert result.exit_code == 0, result.output
        assert _reported(result) == []
        assert _cli("check", "--strict", DECK).exit_code == 0
        log = import_apkg(col, Path("dist/history.apkg"))
        assert (bucket_sizes(log)["updated"], bucket_sizes(log)["conflicting"]) == (1, 0)
        note = _note(col, "general-secretary")
        assert len(note.cards()) == 2  # the import added the reverse card
        assert col.get_card(card.id).reps == 1  # and kept the first card's history
        # A CSV can only name Anki's stock types: Basic, then Basic (and reversed card).
        assert bucket_sizes(import_csv(csv_user, Path("dist/history.csv")))["conflicting"] == 1


def test_a_card_no_longer_reversed_leaves_an_empty_card_until_acknowledged(
    v2_user: Collection,
) -> None:
    col = v2_user
    with fresh_collection(Path("anki-csv")) as csv_user:
        import_csv(csv_user, Path("dist/history.csv"))
        edit(Path(DECK), "    kind: reversed\n    front: Year", "    front: Year")
        result = _cli("build", DECK)
        assert bucket_sizes(import_csv(csv_user, Path("dist/history.csv")))["conflicting"] == 1

    assert result.exit_code == 0, result.output
    _pinned("reverse", result)
    log = import_apkg(col, Path("dist/history.apkg"))
    assert bucket_sizes(log)["updated"] == 1
    (empty,) = col.get_empty_cards().notes
    assert empty.note_id == _note(col, "lenin-died").id  # as the warning says
    assert _reported(_cli("build", DECK)) == _reported(result)  # until acknowledged
    assert _cli("build", "--acknowledge", DECK).exit_code == 0
    assert _reported(_cli("check", DECK)) == []


def test_moving_a_deck_to_version_2_is_one_warning_and_its_way_out_works(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(Path(DECK), *VERSION_1)
    assert _cli("build", DECK).exit_code == 0
    with fresh_collection(Path("anki")) as col:
        import_apkg(col, Path("dist/history.apkg"))
        old = {card_id: _note(col, card_id) for card_id in _card_ids()}
        card = old["lenin-died"].cards()[1]  # the reverse card of a version 1 reversed note
        card.start_timer()
        col.sched.answerCard(card, 3)
        edit(Path(DECK), "note_type_version: 1", "note_type_version: 2")

        result = _cli("build", DECK)

        assert result.exit_code == 0, result.output
        _pinned("version", result)
        assert _reported(_cli("check", DECK)) == _reported(result)
        log = import_apkg(col, Path("dist/history.apkg"))
        assert bucket_sizes(log)["conflicting"] == 8  # as the warning says

        # The way out: each search of the warning, then Change Note Type, by field name.
        (message,) = _reported(result)
        steps = re.findall(r"Browse (.+?), select all, Notes > Change Note Type to '([^']+)'",
                           message)  # fmt: skip
        assert len(steps) == 4  # basic, reversed, cloze and type, each to its version 2
        for search, new_name in steps:
            found = list(col.find_notes(search))
            assert found
            new = col.models.by_name(new_name)
            assert new is not None
            info = col.models.change_notetype_info(
                old_notetype_id=col.get_note(found[0]).mid, new_notetype_id=new["id"]
            )
            request = info.input
            request.note_ids.extend(found)
            col.models.change_notetype_of_notes(request)
        time.sleep(1.1)  # the acknowledging build comes after the conversion
        monkeypatch.delenv("SOURCE_DATE_EPOCH")
        assert _cli("build", "--acknowledge", DECK).exit_code == 0
        assert _reported(_cli("check", DECK)) == []

        log = import_apkg(col, Path("dist/history.apkg"))
        assert (bucket_sizes(log)["updated"], bucket_sizes(log)["conflicting"]) == (8, 0)
        for card_id, before in old.items():
            note = _note(col, card_id)
            assert note.id == before.id
            assert note["Card ID"] == f"{KEY}/{card_id}"
        assert col.get_card(card.id).reps == 1  # the review history is kept
        assert len(_note(col, "lenin-died").cards()) == 2
        assert not col.get_empty_cards().notes


def _card_ids() -> list[str]:
    text = Path(DECK).read_text(encoding="utf-8")
    return re.findall(r"^  - id: (\S+)$", text, re.MULTILINE)


@pytest.mark.parametrize("value", ["3", "two", "[2]", "0"])
def test_an_unknown_version_is_an_error_at_its_line(folder: Path, value: str) -> None:
    edit(Path(DECK), "name: Test History\n", f"name: Test History\nnote_type_version: {value}\n")
    before = snapshot(Path("cards"))

    result = _cli("check", DECK)

    assert result.exit_code == 1
    assert f"{DECK}:5:20: error: note_type_version must be 1 or 2" in result.stderr
    assert snapshot(Path("cards")) == before


def test_a_removed_version_2_card_is_found_by_its_card_id(v2_user: Collection) -> None:
    text = Path(DECK).read_text(encoding="utf-8")
    start, end = text.index("  - id: math\n"), text.index("  - id: maps\n")
    Path(DECK).write_text(text[:start] + text[end:], encoding="utf-8")

    result = _cli("build", DECK)

    assert result.exit_code == 0, result.output
    (message,) = _reported(result)
    assert f'Browse "Card ID:{KEY}/math" in Anki' in message
    assert list(v2_user.find_notes(f'"Card ID:{KEY}/math"')) == [_note(v2_user, "math").id]


def test_a_version_2_card_made_a_cloze_is_found_by_its_card_id(v2_user: Collection) -> None:
    edit(
        Path(DECK),
        "    front: |\n      Stalin's post that controlled **party appointments**\n"
        "    back: General Secretary\n",
        "    kind: cloze\n    text: The {{c1::General Secretary}} controlled appointments\n",
    )

    result = _cli("check", DECK)

    (message,) = _reported(result)
    assert "changed from basic to cloze" in message
    search = f'"Card ID:{KEY}/general-secretary"'
    assert f"Browse {search}, Notes > Change Note Type to 'cardpress Cloze v2'" in message
    old = _note(v2_user, "general-secretary")
    assert list(v2_user.find_notes(f'"Card ID:{KEY}/general-secretary"')) == [old.id]


def test_a_new_deck_takes_version_2_and_a_deck_anki_has_under_version_1_keeps_it(
    folder: Path,
) -> None:
    from cardpress import load_deck

    assert load_deck(DECK).note_type_version == 2  # no lock: a new deck
    edit(Path(DECK), *VERSION_1)
    assert _cli("build", DECK).exit_code == 0  # Anki gets version 1 notes
    edit(Path(DECK), "note_type_version: 1\n", "format: 1\n")  # the deck no longer says

    assert load_deck(DECK).note_type_version == 1
    assert _reported(_cli("check", "--strict", DECK)) == []
    assert _cli("build", "--check", DECK).exit_code == 0  # nothing changes for such a deck


def test_a_format_1_lock_means_version_1(folder: Path) -> None:
    from cardpress import load_deck

    Path("cards/history.lock.json").write_text(
        '{\n  "format": 1,\n  "deck": "test-history",\n  "cards": {}\n}\n', encoding="utf-8"
    )
    assert load_deck(DECK).note_type_version == 1
