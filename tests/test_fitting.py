"""Fitting, printed by real Chromium and measured with pymupdf: on a card's back the answer keeps
its size and the notes under it shrink first; the study sheet's pages are filled."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from cardpress import load_deck
from cardpress.export.printable import PAPERS, blocks, blocks_fast, metrics
from cardpress.export.printable.paper import CARD_SIZES
from cardpress.render import sanitise
from tests.test_html import (
    PT_PER_MM,
    _cell,
    _fragments,
    _prose,
    _yaml_text,
    find_text,
    open_pdf,
    print_to_pdf,
    write_page,
)

pytestmark = pytest.mark.slow

ROW_RULE = (216 / 255, 212 / 255, 203 / 255)  # a sheet row's bottom border, #d8d4cb
HEAD_RULE = (85 / 255, 85 / 255, 85 / 255)  # under QUESTION | ANSWER, #555


def _sizes(page: Any, text: str, clip: Any) -> set[float]:
    """The type sizes (pt) of the spans inside ``clip`` whose text is part of ``text``."""
    return {
        round(span["size"], 1)
        for block in page.get_text("dict", clip=clip)["blocks"]
        for line in block.get("lines", [])
        for span in line["spans"]
        if span["text"].strip() and span["text"].strip() in text
    }


# -- a card's back ---------------------------------------------------------------------------


def _remarks(count: int) -> str:
    """An extra of ``count`` words, none of them in any answer."""
    return " ".join(f"remark{k}" for k in range(count)) + "."


CARDS = {
    # id: (answer, extra)
    "short-answer": ("Mexico City", _remarks(60)),
    "short-alone": ("Mexico City", ""),
    "too-long": ("Mexico City", _remarks(400)),
}


def _card_deck(folder: Path) -> Path:
    cards = "".join(
        f"  - id: {card}\n    front: Where did Trotsky live last? ({card})\n"
        f"    back: {_yaml_text(answer)}\n"
        + (
            f"    extra: {_yaml_text(extra)}\n    source: 'Deutscher (1963), p. 12'\n"
            if extra
            else ""
        )
        for card, (answer, extra) in CARDS.items()
    )
    path = folder / "backs.yaml"
    path.write_text(f"format: 1\nkey: backs\nname: Backs\ncards:\n{cards}", encoding="utf-8")
    return path


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_a_long_extra_shrinks_before_the_answer_does(tmp_path: Path, paper: str) -> None:
    deck = load_deck(_card_deck(tmp_path))
    html = tmp_path / "backs.cards.html"
    summary = write_page(deck, html, layout="cards", paper=paper)
    pdf = html.with_suffix(".pdf")
    print_to_pdf(html, pdf)
    geometry = PAPERS[paper]
    with open_pdf(pdf) as document:
        back = document[1]
        printed: dict[str, tuple[set[float], set[float]]] = {}
        for index, (card, (answer, extra)) in enumerate(CARDS.items()):
            cell = _cell(geometry, back, index, "long")
            # Nothing clipped: every word of the answer and its notes is printed in the card.
            assert find_text(back, answer, cell) is not None, card
            notes = (extra, "Deutscher (1963), p. 12") if extra else ()
            if card != "too-long":
                for text in notes:
                    assert find_text(back, text, cell) is not None, (card, text[:40])
            printed[card] = (_sizes(back, answer, cell), _sizes(back, " ".join(notes), cell))

    # A short answer is printed at the largest type, with a long extra under it or not ...
    assert printed["short-answer"][0] == printed["short-alone"][0] == {CARD_SIZES[0]}
    # ... and the extra is the one made smaller: below the extra's usual 0.8 of the answer.
    assert max(printed["short-answer"][1]) < 0.8 * CARD_SIZES[0] - 1
    # An extra too long even at the smallest type is still warned about, where it is written.
    assert [w.location.line for w in summary.warnings] == [
        card.location.line for card in deck.cards if card.id == "too-long"
    ]
    assert "the answer of printed card #3 does not fit on a card" in summary.warnings[0].message


# -- the study sheet -------------------------------------------------------------------------


def _sheet_deck(folder: Path, count: int) -> Path:
    """Rows of 1 to 9 lines, in no order: lists, some with an extra under them, and paragraphs
    the browser wraps."""
    cards = []
    for n in range(count):
        lines = 1 + (n * 7) % 9
        if n % 3 == 2:
            back = f"    back: {_yaml_text(_prose(40 * lines, n))}\n"
        else:
            back = "    back: |\n" + "".join(f"      - point {k} of {n}\n" for k in range(lines))
        card = f"  - id: row-{n}\n    front: Question {n}?\n{back}"
        if n % 4 == 1:
            card += f"    extra: Note {n}, one line.\n"
        cards.append(card)
    path = folder / "rows.yaml"
    path.write_text("format: 1\nkey: rows\nname: Rows\ncards:\n" + "".join(cards), encoding="utf-8")
    return path


def _rows(page: Any) -> list[tuple[float, float]]:
    """The rows of a sheet page, top and bottom (pt): each runs from the rule above it to its
    own bottom border."""
    rules = sorted(
        (d["rect"].y0, d["rect"].y1, d.get("fill") or d.get("color"))
        for d in page.get_drawings()
        if d["rect"].height < 1.5 and d["rect"].width > 300  # across the table
    )
    rows, above = [], None
    for _, bottom, colour in rules:
        is_row = (
            colour is not None
            and max(abs(a - b) for a, b in zip(colour, ROW_RULE, strict=True)) < 0.01
        )
        if is_row and above is not None:
            rows.append((above, bottom))
        above = bottom
    return rows


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_sheet_rows_fill_each_page(tmp_path: Path, paper: str) -> None:
    deck = load_deck(_sheet_deck(tmp_path, 90))
    html = tmp_path / "rows.sheet.html"
    write_page(deck, html, layout="sheet", paper=paper)
    pdf = html.with_suffix(".pdf")
    print_to_pdf(html, pdf)
    geometry = PAPERS[paper]
    bottom = (geometry.height - geometry.margin) * PT_PER_MM  # the content's bottom edge
    with open_pdf(pdf) as document:
        pages = [_rows(page) for page in document]
        assert document.page_count >= 3
        assert sum(map(len, pages)) == len(deck.cards)  # every row once, none split
        for page in document:
            # No text below the content's bottom edge but the footer, which sits under it.
            body = [w for w in page.get_text("words") if w[1] < bottom]
            assert all(w[3] <= bottom + 0.5 for w in body), page.number
    for number, (rows, following) in enumerate(pairwise(pages), start=1):
        free = bottom - rows[-1][1]
        top, end = following[0]
        assert 0 <= free < end - top, (paper, number, free, end - top)


# -- the regular reading ---------------------------------------------------------------------


@pytest.mark.parametrize("fragment", _fragments())
def test_the_regular_reading_is_the_same_fast_or_not(fragment: str) -> None:
    """Rows are packed by their fields read in regular type (blocks_fast.read_regular): the fast
    reading measures them as html.parser's does, with either widths."""
    clean = sanitise(fragment, classes={"span": {"cp-blank", "cp-fill"}})
    for measure in (metrics.word_width, metrics.regular_width):
        assert blocks_fast.read_fast(clean, measure) == blocks.read(clean, measure), clean
    regular = blocks_fast.read_regular(clean, blocks_fast.read_fast(clean))
    if "<b>" not in clean and "<strong>" not in clean and "cp-" not in clean:
        assert regular.widest <= blocks_fast.read_fast(clean).widest  # never wider
