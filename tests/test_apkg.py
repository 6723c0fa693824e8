"""The Anki package, imported into a real Anki collection (Anki's own Rust backend)."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from click.testing import CliRunner

from cardpress import build, load_deck
from cardpress.cli import cli
from cardpress.model import Kind
from cardpress.notes import NOTE_TYPES, guid, make_notes
from tests.conftest import (
    FIXTURES,
    NONE_SKIPPED,
    bucket_sizes,
    edit,
    fresh_collection,
    import_apkg,
    notes_by_guid,
)


def _build(deck_file: Path, out: Path) -> Path:
    build([deck_file], out)
    return out / f"{deck_file.stem}.apkg"


def _db(col: Collection) -> Any:
    assert col.db is not None
    return col.db


def _guids(col: Collection, logged: Any) -> list[str]:
    return [col.get_note(entry.id.nid).guid for entry in logged]


def test_first_import_creates_exactly_the_deck(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(good_deck)
    package = _build(good_deck, tmp_path / "dist")

    log = import_apkg(collection, package)

    assert bucket_sizes(log) == {"new": 8, "updated": 0, **NONE_SKIPPED}
    notes = notes_by_guid(collection)
    assert set(notes) == {guid(deck.key, card.id) for card in deck.cards}
    for ours in make_notes(deck):
        note = notes[ours.guid]
        assert note.fields == list(ours.fields)
        assert sorted(note.tags) == sorted(ours.tags)
        assert note.note_type()["name"] == ours.note_type.name
        assert note.note_type()["id"] == ours.note_type.id
        assert {collection.decks.name(c.did) for c in note.cards()} == {ours.deck}
    # Reversed makes two cards, a three-deletion cloze three, the rest one each.
    assert collection.card_count() == 8 + 1 + 2
    names = {d.name for d in collection.decks.all_names_and_ids()}
    assert names == {
        "Default",
        "Test History",
        "Test History::Dates",
        "Test History::People",
        "Test History::Places",
    }
    # Nothing Anki's own checks would complain about.
    media = collection.media.check()
    assert list(media.missing) == [] and list(media.unused) == []
    assert not media.have_trash
    assert list(collection.get_empty_cards().notes) == []
    assert _db(collection).scalar("select count() - count(distinct guid) from notes") == 0
    # Both images arrived under distinct names although both files are called map.png.
    stored = sorted(p.name for p in Path(collection.media.dir()).iterdir())
    assert len(stored) == 2 and all(name.startswith("map-") for name in stored)


def test_fields_are_sanitised_and_exact(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(good_deck)
    import_apkg(collection, _build(good_deck, tmp_path / "dist"))
    notes = notes_by_guid(collection)
    math = notes[guid(deck.key, "math")]
    assert math["Front"] == "An equation \\(a &lt; b\\) and a <b>bold</b> tag"
    assert math["Back"] == (
        '<a href="https://example.org" rel="noopener noreferrer">a link</a> and '
        '<a href="mailto:cards@example.org" rel="noopener noreferrer">a mail link</a>'
    )  # hostile markup is the hostile fixture's (test_hostile.py), removed with a warning
    lenin = notes[guid(deck.key, "lenin-died")]
    assert lenin["Back"] == "1924" and lenin["Topic"] == "Dates"
    assert lenin["Source"] == "§1 Political Marginalization"
    unicode = notes[guid(deck.key, "unicode")]
    assert unicode["Back"] == "Рамон Меркадер, עברית, \u00e9"  # NFC, as Anki stores it


def test_new_cards_come_in_authored_order(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(good_deck)
    import_apkg(collection, _build(good_deck, tmp_path / "dist"))
    notes = notes_by_guid(collection)
    dues = [min(c.due for c in notes[guid(deck.key, card.id)].cards()) for card in deck.cards]
    assert dues == sorted(dues) and len(set(dues)) == len(dues)


def test_unchanged_rebuild_is_identical_and_reimport_changes_nothing(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    package = _build(good_deck, tmp_path / "dist")
    first = package.read_bytes()
    import_apkg(collection, package)
    before = {g: (n.id, n.mod, n.fields) for g, n in notes_by_guid(collection).items()}

    package = _build(good_deck, tmp_path / "dist")
    assert package.read_bytes() == first
    log = import_apkg(collection, package)

    sizes = bucket_sizes(log)
    assert sizes["new"] == 0 and sizes["updated"] == 0
    after = {g: (n.id, n.mod, n.fields) for g, n in notes_by_guid(collection).items()}
    assert after == before


def test_edited_card_updates_in_place_and_keeps_its_history(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(good_deck)
    import_apkg(collection, _build(good_deck, tmp_path / "dist"))
    edited_guid = guid(deck.key, "assassin")
    note = notes_by_guid(collection)[edited_guid]
    card = note.cards()[0]
    card.start_timer()
    collection.sched.answerCard(card, 3)  # the user studies the card once
    reviewed = collection.get_card(card.id)
    assert reviewed.reps == 1
    before = {g: (n.id, n.mod, n.fields) for g, n in notes_by_guid(collection).items()}

    edit(good_deck, "back: Mercader", "back: Mercader (Ramón)")
    log = import_apkg(collection, _build(good_deck, tmp_path / "dist"))

    sizes = bucket_sizes(log)
    assert sizes["new"] == 0 and sizes["updated"] == 1
    assert _guids(collection, log.updated) == [edited_guid]
    after = notes_by_guid(collection)
    assert after[edited_guid].id == before[edited_guid][0]
    assert after[edited_guid]["Back"] == "Mercader (Ramón)"
    still = collection.get_card(card.id)
    assert (still.reps, still.type, still.ivl) == (reviewed.reps, reviewed.type, reviewed.ivl)
    assert _db(collection).scalar("select count() from revlog where cid = ?", card.id) == 1
    for g, (nid, mod, fields) in before.items():
        if g != edited_guid:
            assert (after[g].id, after[g].mod, after[g].fields) == (nid, mod, fields)


def test_added_card_adds_exactly_one_note(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    import_apkg(collection, _build(good_deck, tmp_path / "dist"))
    with good_deck.open("a", encoding="utf-8") as f:
        f.write(
            "  - id: added\n    topic: people\n    front: A new question\n    back: A new answer\n"
        )

    log = import_apkg(collection, _build(good_deck, tmp_path / "dist"))

    sizes = bucket_sizes(log)
    assert sizes["new"] == 1 and sizes["updated"] == 0
    assert _guids(collection, log.new) == [guid("test-history", "added")]
    assert len(collection.find_notes("")) == 9


def test_two_builds_are_byte_identical(
    good_deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    lock = good_deck.with_name("history.lock.json")
    first = _build(good_deck, tmp_path / "one").read_bytes()
    first_lock = lock.read_bytes()
    lock.unlink()  # a fresh checkout without a lock gives the same bytes too
    second = _build(good_deck, tmp_path / "two").read_bytes()
    assert first == second and lock.read_bytes() == first_lock
    with zipfile.ZipFile(tmp_path / "two" / "history.apkg") as zf:
        infos = zf.infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    assert [i.filename for i in infos] == ["collection.anki2", "media", "0", "1"]


def test_source_date_epoch_stamps_new_and_edited_notes(
    good_deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collection: Collection
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    import_apkg(collection, _build(good_deck, tmp_path / "dist"))
    assert {n.mod for n in notes_by_guid(collection).values()} == {1700000000}
    # Same epoch again: an edit must still be newer than what the user imported.
    edit(good_deck, "back: General Secretary", "back: General Secretary of the party")
    log = import_apkg(collection, _build(good_deck, tmp_path / "dist"))
    assert bucket_sizes(log)["updated"] == 1
    assert notes_by_guid(collection)[guid("test-history", "general-secretary")].mod == 1700000001


@pytest.mark.parametrize("undo", ["cards and lock", "lock deleted"])
def test_undoing_an_edit_reaches_anki(
    good_deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, undo: str
) -> None:
    """After `git revert` (the old text with the old lock) or a lost lock, the card's text
    differs from what Anki holds: it must get an mtime above the one Anki has. The package
    left in the output folder remembers what the lock forgot."""
    lock = good_deck.with_name("history.lock.json")
    edited = guid("test-history", "assassin")
    dist = tmp_path / "dist"
    with fresh_collection(tmp_path / "anki") as col:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        import_apkg(col, _build(good_deck, dist))
        original_cards, original_lock = good_deck.read_bytes(), lock.read_bytes()

        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
        edit(good_deck, "back: Mercader", "back: Mercader (Ramón)")
        assert bucket_sizes(import_apkg(col, _build(good_deck, dist)))["updated"] == 1

        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000050")  # a clock behind, too
        good_deck.write_bytes(original_cards)
        if undo == "lock deleted":
            lock.unlink()
        else:
            lock.write_bytes(original_lock)
        log = import_apkg(col, _build(good_deck, dist))
        assert _guids(col, log.updated) == [edited] and not log.new
        note = notes_by_guid(col)[edited]
        assert note["Back"] == "Mercader" and note.mod == 1700000101
        # Every other card: the same mtime as before, so nothing else was touched.
        assert {n.mod for g, n in notes_by_guid(col).items() if g != edited} == {1700000000}

    # The memory is the package: built again from these cards, lock and package, the bytes
    # are the same; and the lock now says what the package says.
    before = (dist / "history.apkg").read_bytes(), lock.read_bytes()
    _build(good_deck, dist)
    assert ((dist / "history.apkg").read_bytes(), lock.read_bytes()) == before


def test_every_kind_has_its_own_frozen_note_type() -> None:
    ids = [note_type.id for note_type in NOTE_TYPES.values()]
    # Kind.NOTE is a deck's own note type, which a card names: no note type of cardpress's.
    assert len(set(ids)) == len(Kind) - 1 == len(NOTE_TYPES)
    assert Kind.NOTE not in NOTE_TYPES
    assert all((1 << 30) < mid < (1 << 31) for mid in ids)


def _canonical_fingerprint(note: Any) -> str:
    """The lock's fingerprint by its definition: canonical JSON (sorted keys, no spaces, text
    as written), hashed."""
    content = {
        "deck": note.deck,
        "fields": list(note.fields),
        "model": note.note_type.id,
        "tags": list(note.tags),
    }
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def test_fingerprints_are_the_canonical_json_ones(tmp_path: Path) -> None:
    """Fingerprints are written by hand; a lock file must never see a difference."""
    fixtures = Path(__file__).parent / "fixtures"
    tricky = tmp_path / "tricky.yaml"
    tricky.write_text(
        'key: tricky\nname: Tricky "deck" \\ name\ntags: [a"b, c\\d]\ncards:\n'
        '  - id: x\n    front: "quote \\" backslash \\\\ tab\\t nl\\n ls\\u2028 emoji 🎴"\n'
        "    back: |\n      two\n      lines\n",
        encoding="utf-8",
    )
    decks = [
        load_deck(fixtures / "good" / "history.yaml"),
        load_deck(fixtures / "unicode" / "scripts.yaml"),
        load_deck(Path(__file__).parents[1] / "cards" / "stalin-trotsky.yaml"),
        load_deck(tricky),
    ]
    for deck in decks:
        for note in make_notes(deck):
            assert note.fingerprint == _canonical_fingerprint(note)
    front = decks[-1].cards[0].front
    assert all(ch in front for ch in '"\\\t\n\u2028🎴')  # what JSON escapes, and what not


def test_an_image_in_a_source_travels_with_the_package(
    tmp_path: Path, collection: Collection
) -> None:
    """A card's source is a field of its note: its images are packed like any other's (they
    were once dropped without a word)."""
    cards = tmp_path / "cards"
    cards.mkdir()
    shutil.copy(FIXTURES / "hostile" / "scripts" / "p.png", cards / "scan.png")
    (cards / "sourced.yaml").write_text(
        "key: sourced\nname: Sourced\ncards:\n  - id: a\n    front: Question\n"
        "    back: Answer\n    source: '![page 12](scan.png) Reader, p. 12'\n",
        encoding="utf-8",
    )
    log = import_apkg(collection, _build(cards / "sourced.yaml", tmp_path / "dist"))
    assert len(log.new) == 1
    note = collection.get_note(collection.find_notes("")[0])
    assert note["Source"].startswith('<img src="scan-') and note["Source"].endswith("p. 12")
    media = collection.media.check()
    assert list(media.missing) == [] and list(media.unused) == []
    assert [p.name for p in Path(collection.media.dir()).iterdir()] == [
        note["Source"].split('"')[1]
    ]


def test_a_nested_cloze_makes_the_cards_anki_makes(tmp_path: Path, collection: Collection) -> None:
    """{{c1::Paris {{c2::France}}}}: Anki makes a card for each number, the nested one too."""
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "nested.yaml").write_text(
        "key: nested\nname: Nested\ncards:\n  - id: a\n    kind: cloze\n"
        '    text: "{{c1::Paris {{c2::France}}}} is a capital"\n',
        encoding="utf-8",
    )
    import_apkg(collection, _build(cards / "nested.yaml", tmp_path / "dist"))
    note = collection.get_note(collection.find_notes("")[0])
    assert sorted(card.ord for card in note.cards()) == [0, 1]
    assert list(collection.get_empty_cards().notes) == []
    assert all("[...]" in card.question() for card in note.cards())


def test_decks_may_share_card_ids_and_stay_apart_in_anki(
    tmp_path: Path, collection: Collection
) -> None:
    """A note's GUID is its deck key and card id: two decks may both have a card 'shared'."""
    cards = tmp_path / "cards"
    shutil.copytree(FIXTURES / "shared-ids", cards)
    result = CliRunner().invoke(cli, ["build", str(cards), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 0, result.output

    for name in ("a", "b"):
        import_apkg(collection, tmp_path / "dist" / f"{name}.apkg")

    notes = notes_by_guid(collection)
    both = {guid("deck-a", "shared"), guid("deck-b", "shared"), guid("deck-b", "other")}
    assert set(notes) == both
    assert notes[guid("deck-a", "shared")]["Front"] == "Question in A"
    assert notes[guid("deck-b", "shared")]["Front"] == "Another question in B"


def test_the_deck_description_names_the_decks_source(
    tmp_path: Path, collection: Collection
) -> None:
    """The deck's `source` (the work it is written from) shows on its overview in Anki,
    under its description; a source with markup characters is text there."""
    deck_file = tmp_path / "history.yaml"
    text = (FIXTURES / "good" / "history.yaml").read_text(encoding="utf-8")
    deck_file.write_text(
        text.replace("source: A test article", 'source: "A <b>test</b> article"'), encoding="utf-8"
    )
    shutil.copytree(FIXTURES / "good" / "img", tmp_path / "img")
    shutil.copytree(FIXTURES / "good" / "other", tmp_path / "other")
    import_apkg(collection, _build(deck_file, tmp_path / "dist"))

    deck = collection.decks.by_name("Test History")
    assert deck is not None
    description = deck["desc"]
    assert description.startswith("A small deck that uses <em>every</em> feature")
    assert description.endswith(
        '<p class="cp-source">Source: A &lt;b&gt;test&lt;/b&gt; article</p>'
    )
