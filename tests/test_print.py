"""``cardpress print``: pages of part of a deck, and the worksheet, printed by real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardpress import load_deck
from cardpress.cli import cli
from tests.conftest import snapshot
from tests.test_html import find_text, open_pdf, print_to_pdf

pytestmark = pytest.mark.slow

DECK = "cards/history.yaml"


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def folder(good_deck: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The good deck, built (its whole pages in dist/), as the working directory."""
    monkeypatch.chdir(good_deck.parent.parent)
    assert _cli("build", DECK).exit_code == 0
    return good_deck.parent.parent


def _pdf_text(html: Path) -> str:
    pdf = html.with_suffix(".print.pdf")
    print_to_pdf(html, pdf)
    with open_pdf(pdf) as document:
        return " ".join(page.get_text() for page in document)


def test_a_topic_is_printed_on_pages_of_its_own_and_the_whole_decks_stay(folder: Path) -> None:
    before = snapshot(Path("dist"))

    result = _cli("print", DECK, "--topic", "dates", "--worksheet")

    assert result.exit_code == 0, result.output
    written = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert written == [
        "dist/history.dates.cards.html",
        "dist/history.dates.sheet.html",
        "dist/history.dates.worksheet.html",
    ]
    after = snapshot(Path("dist"))
    assert {k: v for k, v in after.items() if k in before} == before  # nothing written over
    deck = load_deck(DECK)
    assert {card.topic for card in deck.cards} == {"dates", "people", "places"}
    assert "dist/history.dates.cards.html: 3 printed cards" in result.stdout  # one reversed
    sheet = _pdf_text(Path("dist/history.dates.sheet.html"))
    assert "Year Lenin died" in sheet and "1924" in sheet  # a card of the topic
    assert "Agent who killed Trotsky" not in sheet  # one of people


def test_the_worksheet_asks_every_question_and_leaves_the_answers_to_the_student(
    folder: Path,
) -> None:
    result = _cli("print", DECK, "--worksheet")

    assert result.exit_code == 0, result.output
    assert "dist/history.worksheet.html: 8 rows on 1 page (A4, worksheet)" in result.stdout
    html = Path("dist/history.worksheet.html")
    pdf = html.with_suffix(".print.pdf")
    print_to_pdf(html, pdf)
    with open_pdf(pdf) as document:
        page = document[0]
        assert find_text(page, "Name") is not None and find_text(page, "Date") is not None
        assert find_text(page, "Year Lenin died") is not None
        assert find_text(page, "Agent who killed Trotsky") is not None
        for answer in ("General Secretary", "1927"):  # the answers are not printed
            assert find_text(page, answer) is None, answer
    # The sheet with the answers is the key, beside it.
    key = _pdf_text(Path("dist/history.sheet.html"))
    assert "Mercader" in key


def test_chosen_cards_get_a_name_of_their_own(folder: Path) -> None:
    result = _cli("print", DECK, "--card-ids", "assassin, lenin-died", "--pdf")

    assert result.exit_code == 0, result.output
    names = re.findall(r"^(dist/\S+):", result.stdout, re.MULTILINE)
    assert len(names) == 4
    assert all(re.fullmatch(r"dist/history\.2-cards-[0-9a-f]{8}\.(cards|sheet)\.(html|pdf)", n)
               for n in names), names  # fmt: skip
    assert "3 printed cards" in result.stdout  # assassin, and lenin-died both ways
    again = _cli("print", DECK, "--card-ids", "lenin-died,assassin", "--pdf")
    assert re.findall(r"^(dist/\S+):", again.stdout, re.MULTILINE) == names  # any order


def test_a_topic_or_card_the_deck_lacks_is_an_error_and_nothing_is_written(
    folder: Path,
) -> None:
    before = snapshot(Path("dist"))

    result = _cli("print", DECK, "--topic", "datse", "--card-ids", "nobody")

    assert result.exit_code == 1
    assert (
        "cards/history.yaml:2:1: error: no topic 'datse' in this deck (its topics: dates, "
        "people, places)"
    ) in result.stderr
    assert "error: no card 'nobody' in this deck" in result.stderr
    assert snapshot(Path("dist")) == before
    nothing = _cli("print", DECK)
    assert nothing.exit_code == 2
    assert "say what to print" in nothing.output
