"""Changes a package import cannot carry: each is built, reported (messages pinned in
tests/fixtures/changes), imported into a real Anki collection, and its way out taken there.

Every test starts as a user does: a build, imported into Anki; then one edit of the cards.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from anki.collection import Collection
from click.testing import CliRunner, Result

from cardpress import check
from cardpress.changes import search_for
from cardpress.cli import cli
from cardpress.loader import chunked as chunked_reading
from cardpress.model import Kind
from cardpress.notes import NOTE_TYPES, guid
from tests.conftest import (
    FIXTURES,
    VERSION_1,
    bucket_sizes,
    decks_of,
    edit,
    fresh_collection,
    import_apkg,
    import_csv,
    notes_by_guid,
    snapshot,
)

EXPECTED = FIXTURES / "changes"
DECK = "cards/history.yaml"
KEY = "test-history"

# One edit of the good deck for each change the lock knows of.
EDITS: dict[str, list[tuple[str, str]]] = {
    "key": [("key: test-history", "key: test-history-2")],
    "kind": [
        ("  - id: general-secretary\n    topic: people\n",
         "  - id: general-secretary\n    topic: people\n    kind: reversed\n"),
    ],
    "topic": [("  - id: assassin\n    topic: people", "  - id: assassin\n    topic: places")],
    "topic-title": [("  people: People", "  people: Persons")],
    "deck-name": [("name: Test History", "name: Test Story")],
    "removed": [("  - id: math\n", "  - id: math\n    removed: here\n")],
    "cloze": [("{{c3::Mexico}}", "Mexico")],
}  # fmt: skip


@pytest.fixture
def users(good_deck: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Users]:
    """In the folder of a private copy of the good deck (cards/), built into dist/: two
    fresh Anki collections, one that imported the package, one the CSV."""
    monkeypatch.chdir(good_deck.parent.parent)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795478400")
    edit(Path(DECK), *VERSION_1)  # the messages pinned here name the note types of version 1
    assert _cli("build", DECK).exit_code == 0
    with fresh_collection(Path("anki-apkg")) as apkg, fresh_collection(Path("anki-csv")) as csv:
        import_apkg(apkg, Path("dist/history.apkg"))
        import_csv(csv, Path("dist/history.csv"))
        yield Users(apkg, csv)


@pytest.fixture
def user(users: Users) -> Collection:
    """The collection that imported the package (see ``users``)."""
    return users.apkg


class Users(NamedTuple):
    apkg: Collection
    csv: Collection

    def imported(self) -> Iterator[tuple[str, Collection, Any]]:
        """Import the package and the CSV of dist/ into their collections: each route, its
        collection and the import log."""
        yield "apkg", self.apkg, import_apkg(self.apkg, Path("dist/history.apkg"))
        yield "csv", self.csv, import_csv(self.csv, Path("dist/history.csv"))


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _change(name: str) -> None:
    if name == "removed":  # the card "math" leaves the file
        text = Path(DECK).read_text(encoding="utf-8")
        start = text.index("  - id: math\n")
        end = text.index("  - id: maps\n")
        Path(DECK).write_text(text[:start] + text[end:], encoding="utf-8")
        return
    for old, new in EDITS[name]:
        edit(Path(DECK), old, new)


def reported(result: Result) -> list[str]:
    """What a build or check said of the cards, without the CSV's word on images."""
    return [line for line in result.stderr.splitlines() if "cannot travel in a CSV" not in line]


def pinned(name: str, result: Result) -> None:
    """``result``'s report equals fixtures/changes/NAME.expected (CARDPRESS_PIN=1 rewrites it,
    after a deliberate change of wording)."""
    expected = EXPECTED / f"{name}.expected"
    if os.environ.get("CARDPRESS_PIN") == "1":
        expected.write_text("".join(line + "\n" for line in reported(result)), encoding="utf-8")
    assert reported(result) == expected.read_text(encoding="utf-8").splitlines()


def _note(col: Collection, card_id: str) -> Any:
    return notes_by_guid(col)[guid(KEY, card_id)]


def _search_in(message: str) -> str:
    """The Anki search a message gives: what follows "Browse " up to the last quote."""
    after = message.split("Browse ", 1)[1]
    return after[: after.rindex('"') + 1]


def _lock() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(Path("cards/history.lock.json").read_text(encoding="utf-8"))
    return found


# -- the deck key ------------------------------------------------------------------------------


def test_a_changed_key_is_an_error_and_writes_nothing(user: Collection) -> None:
    _change("key")
    before = snapshot(Path("cards"), Path("dist"))

    result = _cli("build", DECK)

    assert result.exit_code == 1
    pinned("key", result)
    assert snapshot(Path("cards"), Path("dist")) == before
    assert _cli("check", DECK).stderr == result.stderr


def test_new_key_starts_a_new_deck_on_purpose(user: Collection) -> None:
    _change("key")

    result = _cli("build", "--new-key", DECK)

    assert result.exit_code == 0, result.output
    assert _lock()["deck"] == "test-history-2"
    assert not _lock().get("removed")  # the old deck's cards are no concern of the new one
    log = import_apkg(user, Path("dist/history.apkg"))
    assert bucket_sizes(log)["new"] == 8  # what the error warned of: the deck twice
    assert len(user.find_notes("")) == 16
    assert _cli("check", DECK).exit_code == 0


# -- the kind ----------------------------------------------------------------------------------


def test_a_changed_kind_is_reported_and_its_way_out_works_in_anki(users: Users) -> None:
    user = users.apkg
    old = _note(user, "general-secretary")
    card = old.cards()[0]
    card.start_timer()
    user.sched.answerCard(card, 3)
    _change("kind")

    result = _cli("build", DECK)

    assert result.exit_code == 0, result.output
    pinned("kind", result)
    for route, col, log in users.imported():
        assert bucket_sizes(log)["conflicting"] == 1, route  # as the warning says
        assert len(_note(col, "general-secretary").cards()) == 1, route

    # The way out: the search finds the note; Change Note Type; then --acknowledge.
    (message,) = [line for line in reported(result) if "changed from basic" in line]
    assert list(user.find_notes(_search_in(message))) == [old.id]
    reversed_type = user.models.by_name("cardpress Reversed v1")
    assert reversed_type is not None
    info = user.models.change_notetype_info(
        old_notetype_id=old.mid, new_notetype_id=reversed_type["id"]
    )
    request = info.input
    request.note_ids.extend([old.id])
    user.models.change_notetype_of_notes(request)
    again = _cli("build", DECK)
    assert reported(again) == reported(result)  # reported until acknowledged
    acknowledged = _cli("build", "--acknowledge", DECK)
    assert acknowledged.exit_code == 0
    assert _cli("build", DECK).stderr == _cli("build", DECK).stderr
    assert not [line for line in reported(_cli("build", DECK)) if "general-secretary" in line]
    log = import_apkg(user, Path("dist/history.apkg"))
    assert bucket_sizes(log)["conflicting"] == 0
    note = _note(user, "general-secretary")
    assert (note.id, note.mid, len(note.cards())) == (old.id, reversed_type["id"], 2)
    assert user.get_card(card.id).reps == 1  # the review history is kept


def test_a_card_made_a_cloze_gets_its_text_once_converted_in_anki(
    user: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Change Note Type maps the old fields onto the new type and stamps the note; the
    acknowledging build stamps the card anew, so the next import brings the cloze text."""
    old = _note(user, "general-secretary")
    edit(
        Path(DECK),
        "    front: |\n      Stalin's post that controlled **party appointments**\n"
        "    back: General Secretary\n",
        "    kind: cloze\n    text: The {{c1::General Secretary}} controlled appointments\n",
    )
    result = _cli("build", DECK)
    assert result.exit_code == 0, result.output
    assert "changed from basic to cloze" in result.stderr
    assert bucket_sizes(import_apkg(user, Path("dist/history.apkg")))["conflicting"] == 1

    cloze_type = user.models.by_name("cardpress Cloze v1")
    assert cloze_type is not None
    info = user.models.change_notetype_info(
        old_notetype_id=old.mid, new_notetype_id=cloze_type["id"]
    )
    request = info.input
    request.note_ids.extend([old.id])
    user.models.change_notetype_of_notes(request)  # Front -> Text, as Anki's dialog maps it
    assert "General Secretary" not in _note(user, "general-secretary")["Text"]
    time.sleep(1.1)  # the acknowledging build comes after the conversion, as a user's does
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert _cli("build", "--acknowledge", DECK).exit_code == 0

    log = import_apkg(user, Path("dist/history.apkg"))
    assert (bucket_sizes(log)["updated"], bucket_sizes(log)["conflicting"]) == (1, 0)
    note = _note(user, "general-secretary")
    assert note.id == old.id
    assert note["Text"] == "The {{c1::General Secretary}} controlled appointments"
    assert not user.get_empty_cards().notes


def test_a_card_whose_kind_and_deck_both_changed_is_reported_for_both(user: Collection) -> None:
    """--acknowledge takes every reported change as done: none may go unreported."""
    edit(Path(DECK), "  - id: assassin\n    topic: people\n    kind: type\n",
         "  - id: assassin\n    topic: places\n    kind: basic\n")  # fmt: skip

    result = _cli("check", DECK)

    lines = reported(result)
    assert any("card 'assassin' changed from type to basic" in line for line in lines)
    assert any("card 'assassin' moved from deck" in line for line in lines)


def test_strict_turns_the_warnings_into_errors_and_writes_nothing(user: Collection) -> None:
    _change("kind")
    before = snapshot(Path("cards"), Path("dist"))

    for command in (("build", "--strict", DECK), ("check", "--strict", DECK)):
        result = _cli(*command)
        assert result.exit_code == 1, command
        assert "error: card 'general-secretary' changed from basic to reversed" in result.stderr
    assert snapshot(Path("cards"), Path("dist")) == before


# -- the deck a card is in ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["topic", "topic-title", "deck-name"])
def test_a_card_whose_deck_changed_stays_where_it_was(users: Users, name: str) -> None:
    user = users.apkg
    before = {g: decks_of(user, n) for g, n in notes_by_guid(user).items()}
    _change(name)

    result = _cli("build", DECK)

    assert result.exit_code == 0, result.output
    pinned(name, result)
    assert reported(_cli("check", DECK)) == reported(result)
    for route, col, log in users.imported():
        assert not bucket_sizes(log)["conflicting"], route
        assert {g: decks_of(col, n) for g, n in notes_by_guid(col).items()} == before, route

    # The way out: each search selects exactly the cards to move; Change Deck; --acknowledge.
    messages = [line for line in reported(result) if " moved from deck " in line]
    moved = 0
    for message in messages:
        new = message.split("Change Deck to '", 1)[1].split("'", 1)[0]
        cards = user.find_cards(_search_in(message))
        deck_id = user.decks.id(new)
        assert deck_id is not None
        user.set_deck(cards, deck_id)
        moved += len(cards)
    assert moved == {"topic": 1, "topic-title": 3, "deck-name": 11}[name]
    assert _cli("build", "--acknowledge", DECK).exit_code == 0
    assert not [line for line in reported(_cli("build", DECK)) if " moved " in line]
    import_apkg(user, Path("dist/history.apkg"))
    assert not user.get_empty_cards().notes


# -- removed cards and cloze deletions ---------------------------------------------------------


def test_a_removed_card_is_a_note_with_the_search_that_finds_it(users: Users) -> None:
    user = users.apkg
    math = _note(user, "math")
    _change("removed")

    strict = _cli("check", "--strict", DECK)

    assert strict.exit_code == 0, strict.output  # a note never fails --strict
    assert "note: card 'math' was removed" in strict.stderr
    result = _cli("build", DECK)
    assert result.exit_code == 0, result.output
    pinned("removed", result)
    assert _lock()["removed"]["math"]["guid"] == guid(KEY, "math")
    for route, col, log in users.imported():
        assert not bucket_sizes(log)["new"], route
        assert guid(KEY, "math") in notes_by_guid(col), route  # an import never deletes
    (message,) = [line for line in reported(result) if "'math' was removed" in line]
    assert list(user.find_notes(_search_in(message))) == [math.id]
    check_result = _cli("check", DECK)
    assert check_result.exit_code == 0
    assert message in check_result.stderr  # check reads the search from the lock

    user.remove_notes([math.id])
    assert message in _cli("build", DECK).stderr  # reported on every build until...
    acknowledged = _cli("build", "--acknowledge", DECK).stderr
    assert acknowledged.count("'math'") == 1 and "note: acknowledged: card 'math'" in acknowledged
    assert "'math'" not in _cli("build", DECK).stderr
    assert not _lock().get("removed")


def test_a_removed_card_before_any_build_is_reported_by_check_too(user: Collection) -> None:
    _change("removed")

    result = _cli("check", DECK)

    assert result.exit_code == 0
    (message,) = [line for line in result.stderr.splitlines() if "'math' was removed" in line]
    # Without the last package, check cannot name the note's first field: the search finds
    # the deck's notes of its type, among them the one to delete.
    assert "among them" in message
    found = user.find_notes(_search_in(message))
    assert _note(user, "math").id in found


def test_a_removed_cloze_deletion_leaves_an_empty_card(users: Users) -> None:
    user = users.apkg
    _change("cloze")

    result = _cli("build", DECK)

    assert result.exit_code == 0, result.output
    pinned("cloze", result)
    for route, col, log in users.imported():
        assert bucket_sizes(log)["updated"] == 1, route
        assert len(col.get_empty_cards().notes) == 1, route
    (empty,) = user.get_empty_cards().notes
    assert empty.note_id == _note(user, "exile-route").id and len(empty.card_ids) == 1
    user.remove_cards_and_orphaned_notes(list(empty.card_ids))  # Tools > Empty Cards
    assert _cli("build", "--acknowledge", DECK).exit_code == 0
    assert "no longer has" not in _cli("build", DECK).stderr


# -- edits inside Anki -------------------------------------------------------------------------


def test_edits_made_in_anki_stay_until_the_card_is_edited_in_its_file(
    users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    for col in users:
        note = _note(col, "assassin")
        note.add_tag("marked")
        note["Back"] = "Mercader, my own words"
        col.update_note(note)

    assert _cli("build", DECK).exit_code == 0
    for route, col, log in users.imported():
        note = _note(col, "assassin")
        if route == "apkg":  # the package's note is older than the edit: Anki keeps the edit
            assert bucket_sizes(log)["updated"] == 0
            assert note.has_tag("marked") and note["Back"] == "Mercader, my own words"
        else:  # a CSV has no times: a row that differs from its note replaces it
            assert bucket_sizes(log)["updated"] == 1
            assert not note.has_tag("marked") and note["Back"] == "Mercader"

    edit(Path(DECK), "back: Mercader", "back: Ramón Mercader")
    later = int(time.time()) + 60  # the file is edited and built a minute after Anki's edit
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(later))
    assert _cli("build", DECK).exit_code == 0
    for route, col, log in users.imported():
        assert bucket_sizes(log)["updated"] == 1, route
        note = _note(col, "assassin")
        assert not note.has_tag("marked") and note["Back"] == "Ramón Mercader", route


def test_undoing_an_edit_brings_the_old_text_back_by_either_route(users: Users) -> None:
    before = {p: p.read_bytes() for p in Path("cards").glob("history.*")}
    edit(Path(DECK), "back: Mercader", "back: Ramón Mercader")
    assert _cli("build", DECK).exit_code == 0
    list(users.imported())
    for path, content in before.items():  # git revert: the old card file and lock
        path.write_bytes(content)

    assert _cli("build", DECK).exit_code == 0

    for route, col, log in users.imported():
        assert bucket_sizes(log)["updated"] == 1, route
        assert _note(col, "assassin")["Back"] == "Mercader", route


# -- the lock's format -------------------------------------------------------------------------


def test_a_format_1_lock_is_current_for_check_and_upgraded_by_the_next_build(
    user: Collection,
) -> None:
    lock = _lock()
    v1 = {
        card_id: {"fingerprint": e["fingerprint"], "mtime": e["mtime"]}
        for card_id, e in lock["cards"].items()
    }
    Path("cards/history.lock.json").write_text(
        json.dumps({"format": 1, "deck": KEY, "cards": v1}), encoding="utf-8"
    )
    upgraded = snapshot(Path("dist"))

    checked = _cli("build", "--check", DECK)
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith("all 6 outputs are current")  # 4, the lock, the record

    built = _cli("build", DECK)
    assert "history.lock.json: 8 cards\n" in built.stdout  # changed: not "(unchanged)"
    assert _lock() == lock
    assert snapshot(Path("dist")) == upgraded  # the outputs are the same bytes


def test_check_reports_what_build_does_in_one_process_and_in_chunks(
    user: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    _change("removed")
    assert _cli("build", DECK).exit_code == 0  # the removed card's search is in the lock now
    _change("kind")
    _change("topic")
    built = reported(_cli("build", "--check", DECK))

    whole = [str(d) for d in check([Path(DECK)]).warnings]
    monkeypatch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 0)
    chunked = [str(d) for d in check([Path(DECK)], workers=3).warnings]
    read = chunked_reading.read_in_chunks(Path(DECK), Path(DECK).read_bytes(), 3, keep_cards=False)
    assert read is not None and "general-secretary" in {row[0] for row in read.rows}

    assert sorted(whole) == sorted(
        line for line in built if ": warning: " in line or ": note: " in line
    )
    assert len(whole) == 3  # kind, topic, removed
    assert chunked == whole


@pytest.mark.parametrize(
    "first",
    [
        'A "quoted" word: with a colon',
        "snake_case and a * star and a back\\slash",
        "<b>bold</b> &amp; an entity, (brackets) -minus or OR",
        "Ελληνικά — «quotes» 🗡️ e\u0301",
    ],
)
def test_a_search_finds_exactly_its_note(collection: Collection, first: str) -> None:
    basic = NOTE_TYPES[Kind.BASIC]
    deck_id = collection.decks.id("History::People_1")
    assert deck_id is not None
    for text in (first, first + " and more", "other"):
        note = collection.new_note(collection.models.by_name("Basic"))  # type: ignore[arg-type]
        note["Front"] = text
        collection.add_note(note, deck_id)
    stock = collection.models.by_name("Basic")
    assert stock is not None
    stock["name"] = basic.name  # the search names the note type
    collection.models.update_dict(stock)

    search = search_for(basic.id, "History::People_1", first)

    found = [collection.get_note(nid)["Front"] for nid in collection.find_notes(search)]
    assert found == [unicodedata.normalize("NFC", first)]  # Anki stores and searches NFC


def test_a_card_without_an_id_is_never_named_by_the_id_cardpress_made(
    good_deck: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a card is known by its first field: moved, it is "this card" at its line; edited
    (or removed), its note is named by what it was, never by an id the user never wrote."""
    monkeypatch.chdir(good_deck.parent.parent)
    with Path(DECK).open("a", encoding="utf-8") as deck:
        deck.write("  - topic: people\n    front: Trotsky's first name at birth\n    back: Lev\n")
    assert _cli("build", DECK).exit_code == 0

    edit(
        Path(DECK),
        "  - topic: people\n    front: Trotsky's",
        "  - topic: places\n    front: Trotsky's",
    )
    moved = _cli("check", DECK)
    assert moved.exit_code == 0
    (line,) = [x for x in moved.stderr.splitlines() if "moved from deck" in x]
    assert ": warning: this card moved from deck 'Test History::People' to" in line

    edit(Path(DECK), "first name at birth", "given name at birth")
    edited = _cli("check", DECK)
    assert edited.exit_code == 0
    # The id is only in the Anki search (it is the note's Card ID there), never as a name.
    assert "card 'auto-" not in edited.output
    assert all(
        x.index("auto-") > x.index("Browse") for x in edited.stderr.splitlines() if "auto-" in x
    )
    assert (
        "note: a card without an id was removed from this file, or its first field changed (a "
        "card without an id is known by it: edited, it is a new note); Anki keeps its note"
    ) in edited.stderr
