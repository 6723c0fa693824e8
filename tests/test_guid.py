"""A card's own Anki GUID (``guid:``): the note Anki has is that card, whatever its id."""

from __future__ import annotations

from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner, Result

from cardpress.cli import cli
from cardpress.loader import load
from cardpress.notes import guid
from cardpress.push import REMOVED_TAG
from tests.conftest import bucket_sizes, edit, fresh_collection, import_apkg, notes_by_guid

OWN = "Qx8%Lm!2a"  # as Anki writes GUIDs: printable ASCII (base91)
DECK = """\
key: own
name: Own
cards:
  - id: lenin
    guid: "Qx8%Lm!2a"
    front: Year Lenin died
    back: "1924"
  - id: stalin
    front: Stalin's post from 1922
    back: General Secretary
"""


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("cards").mkdir()
    path = Path("cards/own.yaml")
    path.write_text(DECK, encoding="utf-8")
    return path


def test_a_card_with_its_own_guid_is_that_note_in_anki_whatever_its_id(
    deck: Path, tmp_path: Path
) -> None:
    assert _cli("build").exit_code == 0
    with fresh_collection(tmp_path / "anki") as col:
        import_apkg(col, Path("dist/own.apkg"))
        notes = notes_by_guid(col)
        assert set(notes) == {OWN, guid("own", "stalin")}
        note_id = notes[OWN].id
        card = notes[OWN].cards()[0]
        card.start_timer()
        col.sched.answerCard(card, 3)

        # Renamed, with its GUID: the same note, updated in place with its history.
        edit(deck, "  - id: lenin\n", "  - id: lenin-died\n")
        edit(deck, 'back: "1924"', 'back: "21 January 1924"')
        built = _cli("build")
        assert built.exit_code == 0, built.output
        assert "removed" not in built.stderr  # no note to delete in Anki: it is this card
        log = import_apkg(col, Path("dist/own.apkg"))
        assert bucket_sizes(log)["new"] == 0 and bucket_sizes(log)["updated"] == 1
        note = notes_by_guid(col)[OWN]
        assert note.id == note_id and "21 January 1924" in note.fields[1]
        assert col.get_card(card.id).reps == 1
    assert '"lenin-died": ' in Path("cards/own.lock.json").read_text(encoding="utf-8")
    assert f'"guid": "{OWN}"' in Path("cards/own.lock.json").read_text(encoding="utf-8")


def test_a_changed_guid_stops_the_build_and_writes_nothing(deck: Path) -> None:
    assert _cli("build").exit_code == 0
    edit(deck, '    guid: "Qx8%Lm!2a"\n', '    guid: "Zz9"\n')
    before = {p: p.read_bytes() for p in [*Path("dist").iterdir(), *Path("cards").iterdir()]}

    result = _cli("build")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "cards/own.yaml:4:5: error: card 'lenin' changed its GUID from 'Qx8%Lm!2a' to 'Zz9': "
        "Anki would take it for a new note beside the old one, without its review history; "
        "put back guid: Qx8%Lm!2a, or give the card a new id to make it a new card on purpose"
    )
    assert {p: p.read_bytes() for p in before} == before  # the lock and outputs as they were


def test_guids_are_judged_and_unique_across_the_decks_built_together(deck: Path) -> None:
    other = Path("cards/second.yaml")  # read after own.yaml
    other.write_text(
        "key: second\nname: Second\ncards:\n"
        f'  - id: a\n    guid: "{OWN}"\n    front: q\n    back: a\n'
        f'  - id: b\n    guid: "{guid("own", "stalin")}"\n    front: q2\n    back: b\n',
        encoding="utf-8",
    )

    result = _cli("check")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "cards/second.yaml:4:5: error: card guid 'Qx8%Lm!2a' is that of the card at "
        "cards/own.yaml:4:5 too: Anki would take them for one note",
        f"cards/second.yaml:8:5: error: card guid '{guid('own', 'stalin')}' is that of the card "
        "at cards/own.yaml:8:5 too: Anki would take them for one note",
        "2 errors, 0 warnings",
    ]
    edit(other, f'guid: "{OWN}"', "guid: has space")
    assert _cli("check", str(other)).stderr.splitlines()[0] == (
        "cards/second.yaml:5:11: error: card guid 'has space' is not an Anki GUID: 1 to 64 "
        "printable ASCII characters, no spaces (copy it from Anki's Browse > Info, or leave it "
        "out: cardpress makes one from the deck key and the card id)"
    )


def test_a_big_deck_read_by_several_processes_keeps_every_guid(tmp_path: Path) -> None:
    lines = ["key: big", "name: Big", "cards:"]
    for i in range(6000):
        lines += [f"  - id: c{i}", f"    front: 'Question {i} {'x' * 150}'", f"    back: A{i}"]
        if i % 7 == 0:
            lines.append(f"    guid: 'g{i}'")
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 1 << 20  # big enough to be read in chunks

    one, two = (load([path], workers=n).decks[0] for n in (1, 2))

    assert [c.guid for c in two.cards] == [c.guid for c in one.cards]
    assert sum(1 for c in one.cards if c.guid) == len(range(0, 6000, 7))


def test_push_prunes_a_removed_card_by_its_own_guid(deck: Path, tmp_path: Path) -> None:
    collection = tmp_path / "anki" / "collection.anki2"
    with fresh_collection(collection.parent):
        pass
    push = ("push", "--collection", str(collection))
    assert _cli(*push).exit_code == 0
    text = deck.read_text(encoding="utf-8")
    start, end = text.index("  - id: lenin\n"), text.index("  - id: stalin\n")
    deck.write_text(text[:start] + text[end:], encoding="utf-8")

    tagged = _cli(*push)

    assert tagged.exit_code == 0, tagged.output
    col = Collection(str(collection))
    try:
        assert REMOVED_TAG in notes_by_guid(col)[OWN].tags
    finally:
        col.close()
    assert _cli(*push, "--prune", "--yes").exit_code == 0
    col = Collection(str(collection))
    try:
        assert set(notes_by_guid(col)) == {guid("own", "stalin")}
    finally:
        col.close()
