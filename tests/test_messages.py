"""Messages that teach: the warnings a first deck meets, exact, naming cards by id or line;
and the markup of language cards (ruby, mark) kept in every output, as the sanitiser keeps
it, while scripts and event handlers are removed with a warning.

The YAML mistakes of a first deck (quotes, indentation, a dash without its space, misnamed
keys, ...) are pinned with their exact messages in tests/fixtures/bad (test_load.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardpress import build, check
from cardpress.cli import cli
from cardpress.loader import chunked as chunked_reading
from tests.conftest import (
    CHROMIUM,
    FIXTURES,
    browser_dom,
    fresh_collection,
    import_apkg,
    import_csv,
)
from tests.test_html import open_pdf, print_to_pdf

HEAD = "format: 1\nkey: revolution\nname: The French Revolution\ncards:\n"


def _check(tmp_path: Path, cards: str, *extra: str) -> tuple[int, list[str]]:
    """``cardpress check`` of a deck of these cards: its exit code and its stderr lines,
    the file named by its name only."""
    deck_file = tmp_path / "deck.yaml"
    deck_file.write_text(HEAD + cards, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", *extra, str(deck_file)])
    return result.exit_code, result.stderr.replace(f"{tmp_path}/", "").splitlines()


def test_text_cut_short_by_a_comment_is_warned_with_the_fix(tmp_path: Path) -> None:
    code, lines = _check(
        tmp_path,
        "  - id: king\n"
        "    front: Which king was executed in 1793? #guillotine\n"
        "    back: Louis XVI #16\n"
        "    extra: C# and F# are no comments  # and this one is, set apart by two spaces\n"
        '    source: "Quoted text # keeps its sign" # after quotes, a comment ends nothing\n'
        "    leak_check: false # nor after a value that is no text\n",
    )
    assert code == 0
    assert lines == [
        "deck.yaml:6:12: warning: card front stops at ' #': YAML reads the rest of the line "
        "as a comment; if it is part of the text, put the whole text in single quotes, "
        "doubling any single quote inside (front: 'Which king was executed in 1793? "
        "#guillotine'), or write 'front: |' and the text on the lines below it, indented",
        "deck.yaml:7:11: warning: card back stops at ' #': YAML reads the rest of the line as "
        "a comment; if it is part of the text, put the whole text in single quotes, doubling "
        "any single quote inside (back: 'Louis XVI #16'), or write 'back: |' and the text on "
        "the lines below it, indented",
    ]


_HOSTILE_FIELDS = (
    "  - id: hostile\n"
    '    front: \'A <span style="color: red" onclick="steal()">red</span> word'
    "<script>alert(1)</script>'\n"
    "    back: '<font face=\"Comic Sans\">Comic</font> and [a link](javascript:alert(2))'\n"
    "  - id: markdown-only\n"
    "    front: |\n"
    "      ##### A small heading\n"
    "      3. a list from three\n"
    "    back: |\n"
    "      ```python\n"
    "      print('code with its language')\n"
    "      ```\n"
)


def test_what_the_sanitiser_removes_is_a_warning_at_its_field(tmp_path: Path) -> None:
    code, lines = _check(tmp_path, _HOSTILE_FIELDS)
    assert code == 0
    # Markdown's own output (a small heading, a list's first number, a code block's
    # language) is left out without a word: the author wrote no HTML.
    assert lines == [
        "deck.yaml:6:12: warning: HTML removed from this text: style= of <span>, onclick= of "
        "<span>, <script> with its content; cards keep only the HTML that cardpress allows "
        "(see the README)",
        "deck.yaml:7:11: warning: HTML removed from this text: <font>, the link "
        "'javascript:alert(2)' of <a> (links may be http, https or mailto); cards keep only "
        "the HTML that cardpress allows (see the README)",
    ]
    strict, _ = _check(tmp_path, _HOSTILE_FIELDS, "--strict")
    assert strict == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_the_new_warnings_are_the_same_when_a_big_file_is_read_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    deck_file = tmp_path / "deck.yaml"

    def plain(name: str) -> str:
        return "".join(
            f"  - id: {name}{i}\n    front: Question {name}{i}\n    back: Answer {i}\n"
            for i in range(60)
        )

    cut = "  - id: cut\n    front: Question #cut\n    back: Answer\n"
    deck_file.write_text(HEAD + plain("a") + _HOSTILE_FIELDS + cut + plain("b"), "utf-8")
    whole = [str(d) for d in check(deck_file).warnings]
    monkeypatch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 0)
    assert [str(d) for d in check(deck_file, workers=workers).warnings] == whole
    assert len(whole) == 3


def test_a_picture_makes_a_question_of_its_own(tmp_path: Path) -> None:
    for name in ("robespierre", "danton"):
        (tmp_path / f"{name}.png").write_bytes((FIXTURES / "good" / "img" / "map.png").read_bytes())
    code, lines = _check(
        tmp_path,
        "  - id: robespierre\n"
        "    front: '![portrait](robespierre.png) Who is this?'\n"
        "    back: Maximilien Robespierre\n"
        "  - id: danton\n"
        "    front: '![portrait](danton.png) Who is this?'\n"
        "    back: Georges Danton\n"
        "  - id: danton-again\n"
        "    front: '![portrait](danton.png) Who is  THIS?'\n"
        "    back: Danton\n",
        "--strict",
    )
    assert lines == [
        "deck.yaml:11:5: error: card 'danton-again' asks the same question as card 'danton' "
        "(line 8)",
        "1 error, 0 warnings",
    ]
    assert code == 1


def test_cards_without_an_id_are_named_by_their_line(tmp_path: Path) -> None:
    code, lines = _check(
        tmp_path,
        "  - front: Year the Bastille was stormed\n"
        "    back: '1789'\n"
        "  - kind: reversed\n"
        "    front: The storming of the Bastille\n"
        "    back: Year the Bastille was stormed\n"
        "  - front: What began in Paris in 1789?\n"
        "    back: The Revolution\n",
    )
    assert code == 0
    no_id = (
        "warning: card has no id; it gets a new identity in Anki whenever its text changes "
        "(add a stable 'id')"
    )
    assert lines == [
        f"deck.yaml:5:5: {no_id}",
        f"deck.yaml:7:5: {no_id}",
        "deck.yaml:7:5: warning: card asks the same question as the card at line 5",
        f"deck.yaml:10:5: {no_id}",
        "deck.yaml:10:5: warning: card gives away the answer '1789' of the card at line 5 in "
        "its question; reword it, or set leak_check: false on one of them",
    ]
    assert not any("auto-" in line for line in lines)


# -- ruby and mark: kept in every output -------------------------------------------------------

RUBY = "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby> <ruby>字<rt>ji</rt></ruby>"
LANGUAGE_DECK = (
    "format: 1\nkey: kanji\nname: Kanji\ncards:\n"
    "  - id: kanji\n"
    f"    front: '{RUBY} means <mark>Chinese character</mark>'\n"
    '    back: \'Read <ruby onclick="steal()">語<rt>go</rt></ruby> <mark style="color: red">'
    "word</mark><script>alert(1)</script>'\n"
)


@pytest.fixture
def language_build(tmp_path: Path) -> Path:
    """The folder of a deck of ruby and mark, built into dist/ (pages printed to PDF too)."""
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "kanji.yaml").write_text(LANGUAGE_DECK, encoding="utf-8")
    result = build([tmp_path / "cards"], tmp_path / "dist")
    assert [d.message for d in result.warnings] == [
        "HTML removed from this text: onclick= of <ruby>, style= of <mark>, <script> with its "
        "content; cards keep only the HTML that cardpress allows (see the README)"
    ]
    return tmp_path


KEPT_FRONT = f"{RUBY} means <mark>Chinese character</mark>"
KEPT_BACK = "Read <ruby>語<rt>go</rt></ruby> <mark>word</mark>"


def _assert_inert(text: str) -> None:
    for bad in ("onclick", "steal", "<script", "alert(", "style="):
        assert bad not in text, bad


def test_ruby_and_mark_reach_anki_through_the_package(language_build: Path) -> None:
    with fresh_collection(language_build / "anki") as col:
        import_apkg(col, language_build / "dist" / "kanji.apkg")
        [nid] = col.find_notes("")
        fields = col.get_note(nid).fields
    assert fields[:2] == [KEPT_FRONT, KEPT_BACK]
    _assert_inert("".join(fields))


def test_ruby_and_mark_reach_anki_through_the_csv(language_build: Path) -> None:
    path = language_build / "dist" / "kanji.csv"
    rows = list(
        csv.reader(line for line in path.read_text("utf-8").splitlines() if line[:1] != "#")
    )
    assert [cell for cell in rows[0] if "ruby" in cell] == [KEPT_FRONT, KEPT_BACK]
    with fresh_collection(language_build / "anki") as col:
        import_csv(col, path)
        [nid] = col.find_notes("")
        fields = col.get_note(nid).fields
    assert fields[:2] == [KEPT_FRONT, KEPT_BACK]
    _assert_inert("".join(fields))


@pytest.mark.parametrize("layout", ["cards", "sheet"])
def test_ruby_and_mark_are_printed_and_nothing_runs(language_build: Path, layout: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    page = language_build / "dist" / f"kanji.{layout}.html"
    html = page.read_text(encoding="utf-8")
    assert RUBY in html and "<mark>Chinese character</mark>" in html
    _assert_inert(html.split("<body", 1)[1])
    dom = browser_dom(page)
    assert RUBY in dom and "<mark>word</mark>" in dom
    pdf = language_build / f"{layout}.pdf"
    print_to_pdf(page, pdf)
    with open_pdf(pdf) as document:
        words = [word for p in document for word in p.get_text("words")]
    # A reading is printed over its line, in smaller type: ruby, not text in a row. (The
    # words of the line stand for its characters: Chromium's PDFs do not always map CJK
    # glyphs back to text.)
    boxes = {w[4]: w[:4] for w in words if w[4] in ("means", "kan", "ji", "word", "go")}
    for base, reading in (("means", "kan"), ("means", "ji"), ("word", "go")):
        (_, top, _, bottom), (_, base_top, _, base_bottom) = boxes[reading], boxes[base]
        assert top < base_top and bottom < base_bottom, (base, reading)
        assert bottom - top < base_bottom - base_top, (base, reading)
