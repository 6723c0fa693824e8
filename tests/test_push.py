"""``cardpress push`` into a closed collection, with the real ``anki`` library: every change
of the README's table, pushed into a collection that holds the previous push, ends with the
collection matching the cards, the review history kept and the user's tags kept.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from click.testing import CliRunner, Result

from cardpress.cli import cli
from cardpress.notes import NOTE_TYPES, NOTE_TYPES_V2, guid
from cardpress.push import REMOVED_TAG
from tests.conftest import (
    VERSION_1,
    decks_of,
    edit,
    fresh_collection,
    notes_by_guid,
    snapshot,
)

DECK = "cards/history.yaml"
KEY = "test-history"
COLLECTION = "anki/collection.anki2"


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _push(*args: str) -> Result:
    return _cli("push", DECK, "--collection", COLLECTION, *args)


class Anki:
    """The test's collection, opened only between pushes (push needs it closed)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Collection:
        self.col = Collection(str(self.path))
        return self.col

    def __exit__(self, *exc: object) -> None:
        self.col.close()


@pytest.fixture
def anki(good_deck: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Anki]:
    """In the folder of a private copy of the good deck: a fresh collection, the deck pushed
    into it once."""
    monkeypatch.chdir(good_deck.parent.parent)
    edit(Path(DECK), *VERSION_1)  # the conversions of version 1 are the most there are
    with fresh_collection(Path("anki")):
        pass
    result = _push()
    assert result.exit_code == 0, result.output
    yield Anki(Path(COLLECTION))


def _note(col: Collection, card_id: str) -> Any:
    return notes_by_guid(col)[guid(KEY, card_id)]


def _review(col: Collection, card_id: str) -> Any:
    """Answer the first card of a note once; returns the card's id."""
    card = _note(col, card_id).cards()[0]
    card.start_timer()
    col.sched.answerCard(card, 3)
    return card.id


def _summary(result: Result) -> str:
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(DECK)]
    return line.split(": ", 1)[1]


def test_a_first_push_adds_every_note_and_a_second_changes_nothing(anki: Anki) -> None:
    with anki as col:
        notes = notes_by_guid(col)
        assert len(notes) == 8
        assert {note.note_type()["name"] for note in notes.values()} == {
            t.name for t in NOTE_TYPES.values()
        }
        assert decks_of(col, _note(col, "assassin")) == {"Test History::People"}
        assert sorted(_note(col, "assassin").tags) == [
            "assassination", "history", "test", "topic::people"
        ]  # fmt: skip
        assert not col.media.check().missing
        before = {g: (n.mod, list(n.fields), n.tags) for g, n in notes.items()}

    result = _push()

    assert result.exit_code == 0, result.output
    assert _summary(result) == "8 unchanged"
    with anki as col:
        assert {g: (n.mod, list(n.fields), n.tags) for g, n in notes_by_guid(col).items()} == before
    assert _cli("build", "--check", DECK).exit_code == 0
    assert Path("anki/backups").is_dir() and any(Path("anki/backups").iterdir())


def test_an_edit_updates_the_note_and_keeps_history_and_the_users_tags(anki: Anki) -> None:
    with anki as col:
        reviewed = _review(col, "assassin")
        note = _note(col, "assassin")
        note.tags += ["marked", "leech", "my-own"]
        col.update_note(note)
    time.sleep(1.1)  # the edit comes after the tagging (newer wins, by whole seconds)
    edit(Path(DECK), "back: Mercader", "back: Ramón Mercader")
    edit(Path(DECK), "    tags: [assassination]\n", "")

    result = _push()

    assert result.exit_code == 0, result.output
    assert _summary(result) == "1 updated, 7 unchanged"
    with anki as col:
        note = _note(col, "assassin")
        assert note["Back"] == "Ramón Mercader"
        # Ours as the card says (its own tag gone), the user's and Anki's kept.
        assert sorted(note.tags) == ["history", "leech", "marked", "my-own", "test",
                                     "topic::people"]  # fmt: skip
        assert col.get_card(reviewed).reps == 1


def test_an_edit_made_in_anki_stays_until_the_card_changes(anki: Anki) -> None:
    with anki as col:
        note = _note(col, "assassin")
        note["Extra"] = "my own note"
        col.update_note(note)

    result = _push()

    assert _summary(result) == "1 kept as edited in Anki, 7 unchanged"
    with anki as col:
        assert _note(col, "assassin")["Extra"] == "my own note"


@pytest.mark.parametrize(
    ("old", "new", "moved", "deck"),
    [
        ("  - id: assassin\n    topic: people", "  - id: assassin\n    topic: places", 1,
         "Test History::Places"),
        ("  people: People", "  people: Persons", 3, "Test History::Persons"),
        ("name: Test History", "name: Test Story", 8, "Test Story::People"),
    ],
    ids=["topic", "topic-title", "deck-name"],
)  # fmt: skip
def test_a_card_whose_deck_changed_is_moved(
    anki: Anki, old: str, new: str, moved: int, deck: str
) -> None:
    with anki as col:
        reviewed = _review(col, "assassin")
    edit(Path(DECK), old, new)

    result = _push()

    assert result.exit_code == 0, result.output
    assert f"{moved} moved" in _summary(result)
    with anki as col:
        assert decks_of(col, _note(col, "assassin")) == {deck}
        assert col.get_card(reviewed).reps == 1
    assert _cli("check", "--strict", DECK).exit_code == 0  # nothing left to report


def test_a_changed_kind_is_converted_with_its_history(anki: Anki) -> None:
    with anki as col:
        reviewed = _review(col, "general-secretary")
        old_id = _note(col, "general-secretary").id
    edit(Path(DECK), "  - id: general-secretary\n    topic: people\n",
         "  - id: general-secretary\n    topic: people\n    kind: reversed\n")  # fmt: skip
    edit(Path(DECK), "    kind: reversed\n    front: Year Lenin died", "    front: Year Lenin died")

    result = _push()

    assert result.exit_code == 0, result.output
    assert "2 converted" in _summary(result)
    with anki as col:
        note = _note(col, "general-secretary")
        assert (note.id, note.note_type()["name"]) == (old_id, "cardpress Reversed v1")
        assert len(note.cards()) == 2
        assert col.get_card(reviewed).reps == 1
        lenin = _note(col, "lenin-died")
        assert (lenin.note_type()["name"], len(lenin.cards())) == ("cardpress Basic v1", 1)
        assert not col.get_empty_cards().notes
    assert _cli("check", "--strict", DECK).exit_code == 0


def test_a_card_made_a_cloze_gets_its_text_and_its_cards(anki: Anki) -> None:
    edit(
        Path(DECK),
        "    front: |\n      Stalin's post that controlled **party appointments**\n"
        "    back: General Secretary\n",
        "    kind: cloze\n    text: The {{c1::General Secretary}} controlled {{c2::posts}}\n",
    )

    result = _push()

    assert result.exit_code == 0, result.output
    with anki as col:
        note = _note(col, "general-secretary")
        assert note.note_type()["name"] == "cardpress Cloze v1"
        assert note["Text"] == "The {{c1::General Secretary}} controlled {{c2::posts}}"
        assert sorted(card.ord for card in note.cards()) == [0, 1]
        assert not col.get_empty_cards().notes


def test_a_removed_cloze_deletion_deletes_its_empty_card(anki: Anki) -> None:
    edit(Path(DECK), "{{c3::Mexico}}", "Mexico")

    result = _push()

    assert "1 updated, 1 with empty cards deleted" in _summary(result)
    assert "  empty    exile-route: delete its card 3 (no longer in the card)" in result.stdout
    with anki as col:
        assert sorted(c.ord for c in _note(col, "exile-route").cards()) == [0, 1]
        assert not col.get_empty_cards().notes


def _remove_math() -> None:
    text = Path(DECK).read_text(encoding="utf-8")
    start, end = text.index("  - id: math\n"), text.index("  - id: maps\n")
    Path(DECK).write_text(text[:start] + text[end:], encoding="utf-8")


def test_a_removed_card_is_tagged_then_pruned(anki: Anki) -> None:
    with anki as col:
        basic, deck_id = col.models.by_name("Basic"), col.decks.id("Test History")
        assert basic is not None and deck_id is not None
        mine = col.new_note(basic)
        mine["Front"], mine["Back"] = "my own card", "not cardpress's"
        col.add_note(mine, deck_id)
    _remove_math()

    result = _push()

    assert _summary(result) == f"1 removed (tagged {REMOVED_TAG}), 7 unchanged"
    with anki as col:
        assert REMOVED_TAG in _note(col, "math").tags
        assert list(col.find_notes(f"tag:{REMOVED_TAG}")) == [_note(col, "math").id]
    assert _summary(_push()) == "7 unchanged"  # tagged once
    assert "card 'math' was removed" in _cli("check", DECK).stderr  # until pruned

    assert _push("--prune").exit_code == 2  # no terminal to ask: --yes says so
    result = _push("--prune", "--yes")

    assert _summary(result) == "1 removed (deleted), 7 unchanged"
    with anki as col:
        assert guid(KEY, "math") not in notes_by_guid(col)
        assert len(col.find_notes("")) == 8  # 7 of ours, and the user's own note
        assert col.get_note(mine.id)["Front"] == "my own card"
    assert "math" not in _cli("check", DECK).stderr


def test_a_dry_run_changes_nothing(anki: Anki) -> None:
    _remove_math()
    edit(Path(DECK), "name: Test History", "name: Test Story")
    before = snapshot(Path("cards"), Path("dist"), Path("anki"))

    result = _push("--dry-run")

    assert result.exit_code == 0, result.output
    assert "dry run" in result.stdout
    assert "  remove   math: tag its note cardpress::removed" in result.stdout
    assert "7 moved" in _summary(result)
    assert snapshot(Path("cards"), Path("dist"), Path("anki")) == before


def test_moving_a_deck_to_note_types_version_2(anki: Anki) -> None:
    with anki as col:
        reviewed = _review(col, "lenin-died")
    edit(Path(DECK), "note_type_version: 1", "note_type_version: 2")

    result = _push()

    assert result.exit_code == 0, result.output
    assert "8 converted" in _summary(result)
    with anki as col:
        for note in notes_by_guid(col).values():
            assert note.mid in {t.id for t in NOTE_TYPES_V2.values()}
            card_id = note["Card ID"]
            assert list(col.find_notes(f'"Card ID:{card_id}"')) == [note.id]
        lenin = _note(col, "lenin-died")
        assert (lenin["Add Reverse"], len(lenin.cards())) == ("y", 2)
        assert col.get_card(reviewed).reps == 1
        assert not col.get_empty_cards().notes
    assert _cli("check", "--strict", DECK).exit_code == 0


def test_a_changed_key_is_refused_and_nothing_changes(anki: Anki) -> None:
    edit(Path(DECK), "key: test-history", "key: test-history-2")
    before = snapshot(Path("cards"), Path("dist"), Path("anki"))

    result = _push()

    assert result.exit_code == 1
    assert "deck key changed" in result.stderr
    assert snapshot(Path("cards"), Path("dist"), Path("anki")) == before


def test_a_collection_open_in_anki_is_refused(anki: Anki) -> None:
    edit(Path(DECK), "back: Mercader", "back: Ramón Mercader")
    with anki:  # Anki desktop holds its collection the same way (an exclusive lock)
        before = snapshot(Path("cards"), Path("dist"))
        result = _push()
        assert snapshot(Path("cards"), Path("dist")) == before

    assert result.exit_code == 1
    assert re.search(r"collection is open in Anki .*: close Anki", result.stderr)
    assert "Traceback" not in result.output


def test_a_profile_is_found_in_ankis_folder(
    anki: Anki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANKI_BASE", str(Path("anki").resolve().parent))
    Path("anki").rename("User 1")
    edit(Path(DECK), "back: Mercader", "back: Ramón Mercader")

    result = _cli("push", DECK, "--profile", "User 1")

    assert result.exit_code == 0, result.output
    assert _summary(result) == "1 updated, 7 unchanged"
    missing = _cli("push", DECK, "--profile", "Nobody")
    assert missing.exit_code == 1
    assert "no Anki collection there" in missing.stderr


def test_in_version_2_a_card_no_longer_reversed_loses_its_reverse_card(anki: Anki) -> None:
    edit(Path(DECK), "note_type_version: 1", "note_type_version: 2")
    assert _push().exit_code == 0
    edit(Path(DECK), "    kind: reversed\n    front: Year", "    front: Year")

    result = _push()

    assert _summary(result) == "1 updated, 1 with empty cards deleted, 7 unchanged"
    with anki as col:
        lenin = _note(col, "lenin-died")
        assert (lenin["Add Reverse"], [c.ord for c in lenin.cards()]) == ("", [0])


def test_without_a_name_push_takes_the_profile_anki_opened_last(
    good_deck: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Anki's own profile manager writes the settings; nothing answers as AnkiConnect."""
    profiles = pytest.importorskip("aqt.profiles", reason="Anki desktop (aqt) is not installed")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    base = tmp_path / "Anki2"
    base.mkdir()
    manager = profiles.ProfileManager(base)
    manager.setupMeta()
    for name in ("User 1", "Other"):
        manager.create(name)
    manager.load("Other")
    manager.save()
    manager.db.close()
    with fresh_collection(base / "Other"):
        pass
    monkeypatch.setenv("ANKI_BASE", str(base))
    monkeypatch.chdir(good_deck.parent.parent)

    result = _cli("push", DECK, "--url", "http://127.0.0.1:9")

    assert result.exit_code == 0, result.output
    assert "pushing into the profile Anki opened last: Other" in result.stdout
    assert _summary(result) == "8 added, 0 unchanged"
    with Anki(base / "Other" / "collection.anki2") as col:
        assert len(col.find_notes("")) == 8


@pytest.mark.skipif(sys.platform == "win32", reason="stops the watcher with SIGINT (Ctrl-C)")
def test_watch_pushes_every_good_save_and_nothing_of_a_bad_one(anki: Anki) -> None:
    """A real `cardpress push --watch` process, real saves, the real collection."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cardpress", "push", DECK, "--collection", COLLECTION, "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                lines.put(line)

    reader = threading.Thread(target=read)
    reader.start()

    def until(text: str) -> list[str]:
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return seen
        raise AssertionError(f"no {text!r} in {seen}")

    try:
        assert any("8 unchanged" in line for line in until("watching"))
        time.sleep(1.1)  # a new second: the edit is newer than the first push
        edit(Path(DECK), "back: Mercader", "back: Ramón Mercader")
        assert any("1 updated, 7 unchanged" in line for line in until("update   assassin"))
        good = Path(DECK).read_text(encoding="utf-8")
        Path(DECK).write_text(good.replace("  - id: maps\n", "  - id maps\n"), encoding="utf-8")
        assert any(": error: " in line for line in until("waiting for the next save"))
        with anki as col:  # nothing of the bad save reached Anki, and the collection is free
            assert len(col.find_notes("")) == 8
        time.sleep(1.1)  # a new second: the next edit is newer than the last push
        Path(DECK).write_text(  # one save: the fix and a new edit
            good.replace("back: Ramón Mercader", "back: R. Mercader"), encoding="utf-8"
        )
        until("update   assassin")
        with anki as col:
            assert _note(col, "assassin")["Back"] == "R. Mercader"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join()
    assert any("stopped watching" in line for line in list(lines.queue))
