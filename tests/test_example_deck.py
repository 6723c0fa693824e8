"""The shipped example deck: clean, current in dist/, and complete in real Anki."""

from __future__ import annotations

import re
from pathlib import Path

from anki.collection import Collection
from click.testing import CliRunner

from cardpress import build, load_deck
from cardpress.cli import cli
from cardpress.housekeeping import RECORD
from tests.conftest import REPO, bucket_sizes, import_apkg, notes_by_guid

DECK_FILE = REPO / "cards" / "stalin-trotsky.yaml"
DIST = REPO / "dist"
SECTIONS = {
    "Introduction",
    "§1 Political Marginalization",
    "§2 Exile and Banishment",
    "§3 Smear Campaigns and Propaganda",
    "§4 Assassination",
    "§5 Legacy and Historical Assessment",
    "§6 Conclusion",
}


def test_example_deck_is_clean_under_strict_check() -> None:
    result = CliRunner().invoke(cli, ["check", "--strict", str(DECK_FILE)])
    assert result.exit_code == 0, result.output
    # Not a note either: a new user's first build says nothing of notes they never had.
    assert result.stderr.splitlines() == []


def test_dist_is_current() -> None:
    """The example deck's outputs in dist/ are current, and dist/ holds no other output of
    it. Only the example deck: decks of a user's own beside it are none of the tests'
    business."""
    result = build([DECK_FILE], DIST, check_only=True)
    stale = [str(o.path) for o in result.stale]
    assert stale == [], f"dist/ is stale, run `cardpress build`: {stale}"
    ours = {p.name for p in DIST.iterdir() if p.name.startswith(f"{DECK_FILE.stem}.")}
    ours.add(RECORD)  # the record of what the build wrote there
    assert ours == {o.path.name for o in result.outputs if o.path.parent == DIST}


def test_every_card_has_a_topic_and_a_source_and_context_names_its_work() -> None:
    """Article cards name their section; context cards (corrections and additions) name the
    work they rest on (author, title, year), after the section where they correct it."""
    deck = load_deck(DECK_FILE)
    assert 50 <= len(deck.cards) <= 90
    assert {card.topic for card in deck.cards} == {"dates", "people", "methods", "legacy"}
    sections = {card.source.split(" · ")[0] for card in deck.cards}
    assert sections >= SECTIONS - {"§6 Conclusion"}
    article = "Efnan, “What Did Stalin Do To Trotsky?”, forum article"
    for card in deck.cards:
        section, _, work = card.source.partition(" · ")
        if section not in SECTIONS:
            work = card.source
        if "<em>Context:</em>" in card.extra:
            assert re.search(r"\(\d{4}", work) or work == article, card.id
        else:
            assert card.source in SECTIONS, card.id


def test_example_package_imports_cleanly_and_shows_topic_and_source(
    tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(DECK_FILE)
    log = import_apkg(collection, DIST / "stalin-trotsky.apkg")
    sizes = bucket_sizes(log)
    assert sizes == {**dict.fromkeys(sizes, 0), "new": len(deck.cards)}
    assert list(collection.get_empty_cards().notes) == []
    media = collection.media.check()
    assert list(media.missing) == [] and list(media.unused) == []
    notes = notes_by_guid(collection)
    assert len(notes) == len(deck.cards)
    for note in notes.values():
        for card in note.cards():
            back = re.sub(r"\s+", " ", card.answer())
            assert f'<span class="cp-topic">{note["Topic"]}</span>' in back
            assert f'<span class="cp-source">{note["Source"]}</span>' in back
            assert note["Topic"] and note["Source"]
