"""Import of what cardpress built: a package built from card files, read by ``importer.read``,
planned and written as card files, and built again gives Anki the very same notes (GUID, note
type, fields, tags, and the deck of each card), for generated decks of every kind and for the
repository's example deck."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardpress import build
from cardpress.errors import Severity
from cardpress.export import BuildOptions
from cardpress.importer import read_file
from cardpress.importer.write import ImportPlan, plan, write
from cardpress.loader import load
from cardpress.notes import guid
from tests.conftest import REPO, examples

# What Anki knows a note by, and everything it stores of it that a card file makes.
NoteKey = tuple[int, tuple[str, ...], tuple[str, ...], tuple[tuple[int, str], ...]]

APKG_ONLY = BuildOptions(only=("apkg",))


def _build(cards: Path, out: Path) -> Path:
    """The package a build of the card files in ``cards`` writes into ``out``."""
    result = build(cards, out, options=APKG_ONLY)
    (package,) = [o.path for o in result.outputs if o.path.suffix == ".apkg"]
    return package


def _notes(package: Path) -> dict[str, NoteKey]:
    """Every note of a package, by GUID: its note type id, fields, tags and its cards' decks,
    as Anki keeps them."""
    return {
        note.guid: (
            note.note_type_id or 0,
            note.fields,
            # Sorted as Anki sorts a note's tags when it imports the note: the order is not
            # Anki's to keep (the card file drops a topic's tag that the build adds last).
            tuple(sorted(note.tags, key=str.casefold)),
            tuple(sorted((card.ord, card.deck) for card in note.cards)),
        )
        for note in read_file(package).notes
    }


def _round_trip(
    cards: Path, tmp: Path
) -> tuple[dict[str, NoteKey], dict[str, NoteKey], ImportPlan]:
    """The notes of a build of ``cards``, and of a build of the card files imported from it."""
    first = _build(cards, tmp / "dist")
    planned = plan(read_file(first))
    imported = tmp / "imported"
    write(planned, imported)
    load(imported)  # the written card files load without an error
    second = _build(imported, tmp / "dist-again")
    return _notes(first), _notes(second), planned


# -- generated decks -------------------------------------------------------------------------

# Text that a card's fields hold: Markdown, HTML the sanitiser keeps, characters HTML escapes,
# MathJax, a second line, non-ASCII.
WORDS = [
    "Paris", "*emphasis*", "**bold**", "a & b", "x < y > z", "`code`", "\\(x^2\\)", "é",
    "[a link](https://example.org/a?b=1&c=2)", "<sub>2</sub>", "line\nnext", "1924", "no",
    "'quoted'", '"double"', "#hash", "- dash", "日本語", "<ruby>漢<rt>kan</rt></ruby>",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
CLOZE = st.lists(
    st.tuples(st.integers(1, 3), st.sampled_from(["Paris", "1789", "*la* Seine"]), st.booleans()),
    min_size=1,
    max_size=3,
).map(
    lambda parts: " and ".join(
        f"{{{{c{n}::{answer}{'::a hint' if hint else ''}}}}}" for n, answer, hint in parts
    )
)
# A tag of the form of a topic's (topic::t0) on a card of another topic, or of its own.
TAGS = ["history", "year-11", "french::verbs", "Europe::France::Paris", "ünï", "topic::t0"]
KEY = st.sampled_from(["history", "french-verbs", "deck.1", "a_b"])
NAME = st.sampled_from(["History", "Verbes français", "A & B", "日本語", "Deck 2"])
TITLES = ["Dates", "People & Places", "Verbs::Irregular", "Ünïcode", "<b>Not HTML</b>"]


@st.composite
def decks(draw: st.DrawFn) -> dict[str, Any]:
    """A card file: every kind, topics with titles (or none), subdecks or not, deck and card
    tags, extra and source, clozes with hints, note types version 1 or 2, some cards with
    their own GUID, and sometimes a card of a note type of the deck's own."""
    key = draw(KEY)
    topic_count = draw(st.integers(0, 3))
    titles = draw(st.permutations(TITLES))[:topic_count]
    topics = {f"t{i}": title for i, title in enumerate(titles)}
    deck: dict[str, Any] = {
        "key": key,
        "name": draw(NAME),
        "note_type_version": draw(st.sampled_from([1, 2])),
    }
    if draw(st.booleans()):
        deck["description"] = draw(TEXT)
    if draw(st.booleans()):
        deck["source"] = "Course reader, ch. 4 & 5"
    tags = draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))
    if tags:
        deck["tags"] = tags
    if topics:
        deck["topics"] = topics
        deck["subdecks"] = draw(st.booleans())
    own_type = draw(st.booleans())
    if own_type:
        deck["note_types"] = [
            {
                "name": "Vocab",
                "fields": ["Word", "Meaning"],
                "templates": [
                    {"name": "Card 1", "front": "{{Word}}", "back": "{{FrontSide}}<hr>{{Meaning}}"}
                ],
            }
        ]
    cards: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 5))):
        card: dict[str, Any] = {"id": f"c{i}"}
        if draw(st.integers(0, 4)) == 0:
            card["guid"] = f"own{i}!{key}"
        if topics:
            card["topic"] = draw(st.sampled_from(sorted(topics)))
        kind = draw(st.sampled_from(["basic", "reversed", "cloze", "type"]))
        if own_type and i == 0:
            card["note_type"] = "Vocab"
            card["fields"] = {"Word": f"word {i}", "Meaning": draw(TEXT)}
        elif kind == "cloze":
            card["kind"] = kind
            card["text"] = draw(CLOZE)
        else:
            if kind != "basic":
                card["kind"] = kind
            card["front"] = f"Question {i}: {draw(TEXT)}"
            card["back"] = draw(TEXT)
        if "note_type" not in card:
            if draw(st.booleans()):
                card["extra"] = draw(TEXT)
            if draw(st.booleans()):
                card["source"] = draw(TEXT)
        card_tags = draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))
        if card_tags:
            card["tags"] = card_tags
        cards.append(card)
    deck["cards"] = cards
    return deck


def _kinds(cards: list[dict[str, Any]], deck_key: str) -> dict[str, str]:
    """The kind of each card of a card file, by its note's GUID."""
    return {c.get("guid") or guid(deck_key, c["id"]): c.get("kind", "basic") for c in cards}


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(deck=decks())
def test_a_deck_cardpress_built_comes_back_as_the_same_notes(
    deck: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("round-trip")
    cards = tmp / "cards"
    cards.mkdir()
    text = yaml.safe_dump(deck, allow_unicode=True, sort_keys=False)
    (cards / f"{deck['key']}.yaml").write_text(text, encoding="utf-8")

    before, after, planned = _round_trip(cards, tmp)

    assert after == before
    (written,) = planned.decks
    data = yaml.safe_load(written.text)
    ours = [c for c in deck["cards"] if "note_type" not in c]
    back = [c for c in data["cards"] if "note_type" not in c]
    # Cards of cardpress's kinds come back as such (each note, by its GUID, with its kind),
    # with the deck's version. The package lists its notes deck by deck, and so does the card
    # file: the order of the cards is not the card file's.
    assert _kinds(back, data["key"]) == _kinds(ours, deck["key"])
    assert data.get("note_type_version") == (deck["note_type_version"] if ours else None)
    # Version 2 carries the deck key and card ids in Card ID: they come back as they were,
    # and a card has a guid: only where it had one.
    if deck["note_type_version"] == 2 and ours:
        assert data["key"] == deck["key"]
        assert {(c["id"], c.get("guid")) for c in back} == {(c["id"], c.get("guid")) for c in ours}
    # The deck's own note type is written as imported, and nothing is worse than a note.
    for note_type in data.get("note_types", []):
        assert note_type["imported"] is True
    assert not [d for d in planned.diagnostics if d.severity is not Severity.NOTE]


# -- the example deck ------------------------------------------------------------------------


def test_the_example_deck_built_imported_and_built_again_gives_the_same_notes(
    tmp_path: Path,
) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    for name in ("stalin-trotsky.yaml", "stalin-trotsky.lock.json"):
        shutil.copy(REPO / "cards" / name, cards / name)

    before, after, planned = _round_trip(cards, tmp_path)

    assert after == before
    assert len(before) == 50
    assert planned.diagnostics == ()
    data = yaml.safe_load(planned.decks[0].text)
    # The example deck is on version 1 (its lock says so): no Card ID to take the key and ids
    # from, so each card keeps its note by its guid:.
    assert data["note_type_version"] == 1
    assert all("guid" in card for card in data["cards"])
    assert data["topics"] == {
        "dates": "Dates",
        "legacy": "Legacy",
        "methods": "Methods",
        "people": "People",
    }
    assert data["source"] == "Efnan, “What Did Stalin Do To Trotsky?”, forum article"
    assert "topic_tags" not in data and "note_types" not in data and "tags" not in data
