"""The check for answers given away: a card's short answer in another card's question."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cardpress import check, load
from cardpress.cli import cli
from tests.test_parallel import chunked, same_either_way  # noqa: F401 - a fixture

LEAKS = Path(__file__).parent / "fixtures" / "leaks"


def warnings_of(path: Path) -> list[str]:
    return [str(d) for d in load([path]).warnings]


def test_a_short_answer_in_another_question_is_a_warning_naming_both_cards() -> None:
    path = LEAKS / "leaky.yaml"
    expected = (LEAKS / "leaky.expected").read_text().replace("FILE", str(path)).splitlines()
    assert warnings_of(path) == expected


def test_check_strict_fails_on_it_with_the_message() -> None:
    result = CliRunner().invoke(cli, ["check", "--strict", str(LEAKS / "leaky.yaml")])
    assert result.exit_code == 1
    assert "error: card 'orders' gives away the answer 'The NKVD' of card 'agency'" in (
        result.stderr
    )


def test_deck_name_topic_titles_common_words_and_own_questions_are_exempt() -> None:
    # "Stalin" (the deck's name), "Exile" (a topic title), "the party" (in the questions of
    # 3 of 8 cards: more than a tenth), Prinkipo (asked only by its own reversed card), and
    # Mexico, whose card sets leak_check: false.
    assert warnings_of(LEAKS / "exempt.yaml") == []


def test_leak_check_false_is_what_silences_a_card(tmp_path: Path) -> None:
    text = (LEAKS / "exempt.yaml").read_text()
    path = tmp_path / "exempt.yaml"
    path.write_text(text.replace("    leak_check: false\n", ""))
    assert warnings_of(path) == [
        f"{path}:31:5: warning: card 'optout-question' gives away the answer 'Mexico' of card "
        "'optout-answer' (line 27) in its question; reword it, or set leak_check: false on one "
        "of them"
    ]


def test_a_word_in_few_questions_is_not_common(tmp_path: Path) -> None:
    text = (LEAKS / "exempt.yaml").read_text()
    path = tmp_path / "exempt.yaml"
    # Two questions of eight hold "party" now: fewer than LEAK_COMMON_MIN.
    path.write_text(text.replace("did the party expel", "did they expel"))
    assert [w.split(": warning: ")[1][:60] for w in warnings_of(path)] == [
        "card 'c2' gives away the answer 'the party' of card 'c1' (li"
    ]


def test_leak_check_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "deck.yaml"
    path.write_text(
        "key: k\nname: N\ncards:\n  - id: a\n    front: Q\n    back: A\n    leak_check: maybe\n"
    )
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:7:17: error: leak_check must be true or false" in result.stderr


def test_math_is_no_word(tmp_path: Path) -> None:
    path = tmp_path / "deck.yaml"
    path.write_text(
        "key: k\nname: N\ncards:\n"
        "  - id: a\n    front: Solve \\(x^2 = 4\\) for \\(x > 0\\)\n    back: \\(x = 2\\)\n"
        "  - id: b\n    front: Solve \\(x^2 = 9\\) for \\(x > 0\\)\n    back: \\(x = 3\\)\n"
    )
    assert warnings_of(path) == []


def leaky_deck(cards: int) -> str:
    """A deck big enough to be read in chunks, where every tenth card gives away the answer
    of the card before it."""
    lines = ["key: big\nname: Big deck\ncards:\n"]
    for i in range(cards):
        front = f"Question {i} about item{i - 1}" if i % 10 == 1 else f"Question {i}"
        lines.append(f"  - id: c{i}\n    front: {front}\n    back: item{i}\n")
    return "".join(lines)


def test_chunked_reading_finds_the_same_leaks(
    tmp_path: Path,
    chunked: list[int],  # noqa: F811 - the fixture
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(leaky_deck(3000))
    outcome = same_either_way(path, workers=3)
    assert chunked  # workers were started
    assert len(outcome[2]) == 300
    assert "card 'c2991' gives away the answer 'item2990' of card 'c2990'" in outcome[2][-1]


def test_check_reports_the_same_with_one_and_two_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(leaky_deck(3000))
    from cardpress.loader import chunked as chunked_reading

    monkeypatch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 0)
    one = [str(d) for d in check([path], workers=1).warnings]
    two = [str(d) for d in check([path], workers=2).warnings]
    assert one == two and len(one) == 300
