"""``cardpress push`` into a running Anki desktop through the real AnkiConnect add-on.

One Anki desktop (``aqt``, headless) serves the module; every test starts from an empty
collection, pushes the good deck (note types version 2: found by Card ID), changes it, pushes
again, and reads the result back through AnkiConnect.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cardpress.cli import cli
from cardpress.push import REMOVED_TAG
from tests.anki_desktop import addon_or_skip, call, running_anki
from tests.conftest import edit

pytestmark = pytest.mark.slow

DECK = "cards/history.yaml"
V2 = ("format: 1\n", "note_type_version: 2\n")


@pytest.fixture(scope="module")
def anki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """AnkiConnect's address, of an Anki desktop running for this module."""
    addon = addon_or_skip()
    with running_anki(tmp_path_factory.mktemp("anki-desktop"), addon) as url:
        yield url


@pytest.fixture
def url(anki: str, good_deck: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty collection in the running Anki; the good deck (version 2), as the working
    directory's cards/, pushed into it once."""
    call(anki, "deleteNotes", notes=call(anki, "findNotes", query=""))
    monkeypatch.chdir(good_deck.parent.parent)
    edit(Path(DECK), *V2)
    result = _push(anki)
    assert result.exit_code == 0, result.output
    return anki


def _push(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["push", DECK, "--to", "ankiconnect", "--url", url, *args])


def _summary(result: Result) -> str:
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(DECK)]
    return line.split(": ", 1)[1]


def _notes(url: str) -> dict[str, Any]:
    """Our notes in the running Anki, by card id, each with its cards' (ord, deck)."""
    found = {}
    for info in call(url, "notesInfo", notes=call(url, "findNotes", query="")):
        cards = call(url, "cardsInfo", cards=info["cards"])
        info["where"] = sorted((card["ord"], card["deckName"]) for card in cards)
        found[info["fields"]["Card ID"]["value"].split("/", 1)[1]] = info
    return found


def test_a_first_push_adds_every_note_and_a_second_changes_nothing(url: str) -> None:
    notes = _notes(url)
    assert len(notes) == 8
    assert notes["lenin-died"]["modelName"] == "cardpress Basic v2"
    assert notes["lenin-died"]["where"] == [(0, "Test History::Dates"), (1, "Test History::Dates")]
    assert call(url, "findNotes", query='"Card ID:test-history/math"') == [notes["math"]["noteId"]]

    result = _push(url)

    assert result.exit_code == 0, result.output
    assert "pushing into the running Anki" in result.stdout
    assert _summary(result) == "8 unchanged"
    assert CliRunner().invoke(cli, ["check", "--strict", DECK]).exit_code == 0


def test_every_change_that_ankiconnect_can_carry(url: str) -> None:
    before = _notes(url)
    call(url, "addTags", notes=[before["lenin-died"]["noteId"]], tags="marked my-own")
    (card,) = [c for c in before["assassin"]["cards"]]
    call(url, "answerCards", answers=[{"cardId": card, "ease": 3}])
    time.sleep(1.1)  # the edit comes after the tagging (newer wins, by whole seconds)
    edit(Path(DECK), "front: Year Lenin died", "front: Year in which Lenin died")
    edit(Path(DECK), "  - id: assassin\n    topic: people", "  - id: assassin\n    topic: places")
    edit(Path(DECK), "  - id: general-secretary\n    topic: people\n",
         "  - id: general-secretary\n    topic: people\n    kind: reversed\n")  # fmt: skip
    text = Path(DECK).read_text(encoding="utf-8")
    start, end = text.index("  - id: math\n"), text.index("  - id: maps\n")
    Path(DECK).write_text(text[:start] + text[end:], encoding="utf-8")

    result = _push(url)

    assert result.exit_code == 0, result.output
    # Updated: Lenin's front; the assassin's topic field; Add Reverse of the secretary.
    assert _summary(result) == (
        f"3 updated, 1 moved, 1 removed (tagged {REMOVED_TAG}), 4 unchanged"
    )
    after = _notes(url)
    lenin = after["lenin-died"]
    assert lenin["fields"]["Front"]["value"] == "Year in which Lenin died"
    assert {"marked", "my-own"} <= set(lenin["tags"])
    assert after["assassin"]["where"] == [(0, "Test History::Places")]
    assert call(url, "cardsInfo", cards=[card])[0]["reps"] == 1  # the history is kept
    assert len(after["general-secretary"]["where"]) == 2  # the import added the reverse card
    assert REMOVED_TAG in after["math"]["tags"]
    assert _summary(_push(url)) == "7 unchanged"

    pruned = _push(url, "--prune", "--yes")

    assert _summary(pruned) == "1 removed (deleted), 7 unchanged"
    assert "math" not in _notes(url)
    assert CliRunner().invoke(cli, ["check", "--strict", DECK]).exit_code == 0


def test_what_ankiconnect_cannot_do_waits_and_stays_reported(url: str) -> None:
    edit(Path(DECK), "{{c3::Mexico}}", "Mexico")
    edit(
        Path(DECK),
        '    kind: cloze\n    text: "Trotsky was expelled from the party in {{c1::1927}}."\n',
        "    front: Year Trotsky was expelled from the party\n    back: '1927'\n",
    )

    result = _push(url)

    assert result.exit_code == 0, result.output
    assert _summary(result) == "1 updated, 2 waiting, 6 unchanged"  # exile-route: both
    assert (
        "  wait     expelled: AnkiConnect cannot change a note's type; close Anki and push "
        "with --profile or --collection"
    ) in result.stdout
    assert "  wait     exile-route: its empty card 3: in Anki, Tools > Empty Cards" in result.stdout
    notes = _notes(url)
    assert notes["expelled"]["modelName"] == "cardpress Cloze v2"  # left as it was
    assert "Mexico" in notes["exile-route"]["fields"]["Text"]["value"]
    check = CliRunner().invoke(cli, ["check", DECK]).stderr
    assert "card 'expelled' changed from cloze to basic" in check
    assert "card 'exile-route' no longer has c3" in check


def test_a_deck_of_note_types_version_1_is_only_imported(url: str) -> None:
    edit(Path(DECK), "note_type_version: 2", "note_type_version: 1")
    Path("cards/history.lock.json").unlink()
    call(url, "deleteNotes", notes=call(url, "findNotes", query=""))

    result = _push(url)

    assert result.exit_code == 0, result.output
    assert "only the package is imported" in result.stdout
    assert len(call(url, "findNotes", query='"deck:Test History"')) == 8
    assert len(call(url, "findNotes", query='"note:cardpress Basic v1"')) == 4


def test_nothing_answering_is_a_clear_error(
    good_deck: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(good_deck.parent.parent)

    result = _push("http://127.0.0.1:9")

    assert result.exit_code == 1
    assert "AnkiConnect does not answer" in result.stderr
    assert "Traceback" not in result.output


OWN_DECK = """\
key: words
name: Words
note_types:
  - name: Word
    id: 1700000000042
    fields: [Word, Meaning]
    templates:
      - {name: Recognise, front: "{{Word}}", back: "{{FrontSide}}<hr id=answer>{{Meaning}}"}
      - {name: Produce, front: "{{Meaning}}", back: "{{FrontSide}}<hr id=answer>{{Word}}"}
cards:
  - id: chat
    guid: "Qx8%Lm!2a"
    note_type: Word
    fields: {Word: chat, Meaning: cat}
  - id: chien
    note_type: Word
    fields: {Word: chien, Meaning: dog}
"""


def test_a_deck_of_its_own_note_types_and_guids_is_imported_and_updated_in_place(
    anki: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call(anki, "deleteNotes", notes=call(anki, "findNotes", query=""))
    monkeypatch.chdir(tmp_path)
    Path("cards").mkdir()
    deck = Path("cards/words.yaml")
    deck.write_text(OWN_DECK, encoding="utf-8")

    def push() -> str:
        result = CliRunner().invoke(cli, ["push", str(deck), "--to", "ankiconnect", "--url", anki])
        assert result.exit_code == 0, result.output
        assert "only the package is imported: notes of the deck's own note types" in result.stdout
        return result.stdout

    def words() -> dict[str, Any]:
        found = call(anki, "notesInfo", notes=call(anki, "findNotes", query="note:Word"))
        return {info["fields"]["Word"]["value"]: info for info in found}

    push()
    first = words()
    assert {info["modelName"] for info in first.values()} == {"Word"}
    assert len(first["chat"]["cards"]) == 2  # a card per template, as Anki makes them
    assert call(anki, "modelFieldNames", modelName="Word") == ["Word", "Meaning"]
    push()
    assert words() == first  # the package again: nothing changes
    edit(deck, "Meaning: cat}", "Meaning: a cat}")
    push()
    after = words()
    assert after["chat"]["noteId"] == first["chat"]["noteId"]  # the same note, in place
    assert after["chat"]["fields"]["Meaning"]["value"] == "a cat"
    assert after["chien"] == first["chien"]
    # A field added to the note type: AnkiConnect cannot reshape it, and an import would
    # fork it ("Word+"). Refused, nothing pushed, the way out said.
    edit(deck, "fields: [Word, Meaning]", "fields: [Word, Meaning, Gender]")
    refused = CliRunner().invoke(cli, ["push", str(deck), "--to", "ankiconnect", "--url", anki])
    assert refused.exit_code == 1
    assert "cards/words.yaml:4:5: error: note type 'Word' changed its fields or templates" in (
        refused.output
    )
    assert "Tools > Manage Note Types" in refused.output and "nothing was pushed" in refused.output
    assert "Traceback" not in refused.output
    assert words() == after
    assert call(anki, "modelFieldNames", modelName="Word") == ["Word", "Meaning"]
    assert "Word+" not in call(anki, "modelNames")
