"""Printable HTML, printed to PDF by real headless Chromium and read back with PyMuPDF.

Chromium is part of the test environment (CI installs it): a missing browser fails the tests
instead of skipping them. Renders are shared through a module-scoped fixture and run in parallel.
The exporter's fast paths (the sanitiser's output read by the shape of its tags, fitting from
bounds and remembered widths) are held to the package's html.parser reading and to a
straightforward fitting kept here as a reference.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import math
import os
import re
import shutil
import struct
import threading
import unicodedata
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cardpress import build, load_deck
from cardpress.cli import cli
from cardpress.export import BuildOptions, ExportSummary
from cardpress.export.printable import (
    CSP,
    LAYOUTS,
    PAPERS,
    Paper,
    blocks,
    blocks_fast,
    cards,
    fields,
    fit,
    measure,
    metrics,
    sheet,
    write_cards,
    write_sheet,
)
from cardpress.export.printable import paper as geometry
from cardpress.export.printable.fields import typeset
from cardpress.model import Card, Deck, Kind
from cardpress.notes import make_notes
from cardpress.render import MATHML_ATTRIBUTES, MATHML_TAGS, sanitise
from cardpress.render import plain_text as _plain_text
from cardpress.render import render as render_field
from tests.conftest import FIXTURES, chromium, examples

# PyMuPDF has no type hints; its objects are Any here, named for what they are.
Page = Any
Document = Any
Box = Any
Rect: Any = pymupdf.Rect
open_pdf: Any = pymupdf.open

PT_PER_MM = 72 / 25.4
TOLERANCE_MM = 2.0
PAGE_SIZES = {
    "a4": (595.28, 841.89),
    "letter": (612.0, 792.0),
    "avery5371": (612.0, 792.0),
    "a7": (595.28, 841.89),
    "index3x5": (360.0, 216.0),
}
_CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::(.*?))?\}\}", re.DOTALL)


def write_page(
    deck: Deck, path: Path, *, layout: str, paper: str = "a4", duplex: str = "long"
) -> ExportSummary:
    """Write one printable page of ``deck`` as a build does (each writer measuring itself)."""
    writer = {"cards": write_cards, "sheet": write_sheet}[layout]
    return writer(make_notes(deck), path, BuildOptions(paper=paper, duplex=duplex))


# -- decks written for these tests ----------------------------------------------------------

_WORDS = [
    "the", "party", "congress", "voted", "against", "the", "opposition", "while", "Stalin",
    "moved", "his", "allies", "into", "key", "posts", "and", "Trotsky", "wrote", "letters",
    "from", "exile", "about", "bureaucracy", "revolution", "and", "betrayal",
]  # fmt: skip


def _prose(chars: int, seed: int) -> str:
    words: list[str] = []
    i = seed
    while len(" ".join(words)) < chars:
        words.append(_WORDS[i % len(_WORDS)])
        i += 7
    return " ".join(words)[:chars].rstrip() + "."


# Answer lengths that span every type size and beyond; each id says how long its answer is.
LONG_ANSWERS = (10, 60, 150, 300, 450, 600, 800, 1100, 1600, 3000)


def _yaml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _long_deck_yaml() -> str:
    cards = []
    for n in LONG_ANSWERS:
        cards.append(
            f"  - id: answer-{n}\n    topic: long\n"
            f"    front: {_yaml_text(f'What did answer {n} say (in brief)?')}\n"
            f"    back: {_yaml_text(_prose(n, n))}\n"
        )
    wide = "WMW " * 60
    cards.append(
        "  - id: wide-capitals\n    topic: odd\n    front: Capitals\n"
        f"    back: {_yaml_text(wide.strip())}\n"
    )
    cards.append(
        "  - id: no-spaces\n    topic: odd\n    front: A long link\n"
        f"    back: {_yaml_text('https://example.org/' + 'abcdefghij' * 30)}\n"
    )
    russian = "Лев Давидович Троцкий был выслан из СССР в 1929 году. "  # noqa: RUF001
    cards.append(
        "  - id: cyrillic\n    topic: odd\n    front: Cyrillic\n"
        f"    back: {_yaml_text(russian * 6)}\n"
    )
    items = "\n".join(f"      - item {i}: {_prose(40, i)}" for i in range(8))
    cards.append(
        "  - id: list-and-extra\n    topic: odd\n    front: A list\n    back: |\n"
        f"{items}\n    extra: {_yaml_text(_prose(250, 3))}\n    source: '§9 Appendix'\n"
    )
    cards.append(
        "  - id: long-question\n    topic: odd\n"
        f"    front: {_yaml_text(_prose(500, 5) + '?')}\n    back: Short\n"
    )
    cards.append(
        "  - id: long-cloze\n    topic: odd\n    kind: cloze\n"
        f"    text: {_yaml_text(_prose(300, 9) + ' In {{c1::1929}} he left; ' + _prose(200, 2))}\n"
    )
    cards.append(
        "  - id: giant\n    topic: odd\n    front: Too long for a page\n"
        f"    back: {_yaml_text(_prose(9000, 4))}\n"
    )
    return (
        "format: 1\nkey: long-answers\nname: Long answers\n"
        "topics:\n  long: Long answers\n  odd: Odd shapes\ncards:\n" + "".join(cards)
    )


HOSTILE_YAML = r"""
format: 1
key: hostile
name: "Evil </title><script>alert('name')</script> deck"
description: "<script>alert('desc')</script> <iframe src=x></iframe> a description"
source: "<b onmouseover=alert('src')>deck source</b>"
topics:
  t: "Topic </style><script>alert('topic')</script>"
cards:
  - id: raw-html
    topic: t
    front: >-
      <svg onload=alert(5)><circle r=1></svg>
      <a href="javascript:alert(6)">js link</a> <style>body{display:none}</style>
      `<img src=x onerror=alert(1)>` and \<img src=y onerror=alert(2)>
    back: >-
      <iframe srcdoc='<script>alert(7)</script>'></iframe> <object data=x></object>
      <meta http-equiv=refresh content="0;url=https://evil.example"> answer text
    source: >-
      <base href=https://evil.example/>
      <link rel=stylesheet href=https://evil.example/x.css> s
    extra: >-
      <form action=https://evil.example><input name=q><button formaction=x>go</button></form>
      <math><mi xlink:href="javascript:alert(8)">m</mi></math>
      <a href="data:text/html,<script>alert(9)</script>">data link</a>
  - id: cloze-tricks
    topic: t
    kind: cloze
    text: >-
      {{c1::<b onclick=alert(9)>x</b>::<i onmouseover=alert(10)>hint</i>}}
      and {{c2::a <b>split}} tag</b> ![pic](pic.svg)
"""

# An SVG with a script is refused by the loader (tests/fixtures/bad/unsafe-media); one that
# passes is inlined as an image, where nothing in it could run anyway.
PLAIN_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<rect width='10' height='10' fill='red'/></svg>"
)


# -- printing -------------------------------------------------------------------------------


def print_to_pdf(html: Path, pdf: Path) -> None:
    """Print ``html`` with headless Chromium, as a user's "Save as PDF" would at 100%."""
    done = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri())
    if done.returncode != 0 or not pdf.exists():
        pytest.fail(f"Chromium could not print {html}: {done.stderr[-2000:]}")


@dataclass
class Render:
    """One deck written in one layout and printed to PDF."""

    deck: Deck
    layout: str
    paper: str
    duplex: str
    html: Path
    pdf: Document
    summary: ExportSummary

    @property
    def geometry(self) -> Paper:
        return PAPERS[self.paper]


# (deck, layout, paper, duplex): every layout on both papers, every duplex mode for the cards.
RENDERS = [
    *[("good", "cards", paper, duplex) for paper in PAPERS for duplex in ("long", "short", "none")],
    ("good", "sheet", "a4", "long"),
    ("good", "sheet", "letter", "long"),
    ("long", "cards", "a4", "long"),
    ("long", "cards", "letter", "short"),
    ("long", "sheet", "a4", "long"),
    ("long", "sheet", "letter", "long"),
]
CARD_RENDERS = [r for r in RENDERS if r[1] == "cards"]
SHEET_RENDERS = [r for r in RENDERS if r[1] == "sheet"]


def _key(render: tuple[str, str, str, str]) -> str:
    return "-".join(render)


@pytest.fixture(scope="module")
def long_deck_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.yaml"
    path.write_text(_long_deck_yaml(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def renders(
    tmp_path_factory: pytest.TempPathFactory, long_deck_file: Path
) -> Iterator[dict[str, Render]]:
    folder = tmp_path_factory.mktemp("renders")
    decks = {
        "good": load_deck(FIXTURES / "good" / "history.yaml"),
        "long": load_deck(long_deck_file),
    }
    out: dict[str, Render] = {}
    jobs = []
    measured = {}  # as a build does: measured once per deck, for both pages
    for spec in RENDERS:
        name, layout, paper, duplex = spec
        html = folder / f"{_key(spec)}.html"
        notes = make_notes(decks[name])
        options = BuildOptions(paper=paper, duplex=duplex)
        if (name, paper) not in measured:
            measured[name, paper] = measure(notes, options)
        writer = write_cards if layout == "cards" else write_sheet
        summary = writer(notes, html, options, measured=measured[name, paper])
        jobs.append((spec, html, summary))
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        list(pool.map(lambda job: print_to_pdf(job[1], job[1].with_suffix(".pdf")), jobs))
    for (name, layout, paper, duplex), html, summary in jobs:
        document = open_pdf(html.with_suffix(".pdf"))
        out[_key((name, layout, paper, duplex))] = Render(
            decks[name], layout, paper, duplex, html, document, summary
        )
    yield out
    for render in out.values():
        render.pdf.close()


# -- reading the PDF ------------------------------------------------------------------------


def _norm(text: str) -> str:
    """Text compared without whitespace, case or list bullets (line wrapping moves them)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "•◦▪")


def _words(page: Page, clip: Box | None = None) -> list[tuple[Any, ...]]:
    words = page.get_text("words", sort=False)
    if clip is None:
        return list(words)
    return [w for w in words if Rect(w[:4]) in clip]


def find_text(page: Page, text: str, clip: Box | None = None) -> Box | None:
    """The box around ``text`` on ``page`` (only words wholly inside ``clip``), or None."""
    target = _norm(text)
    words = _words(page, clip)
    joined, owner = "", []
    for index, word in enumerate(words):
        piece = _norm(word[4])
        joined += piece
        owner += [index] * len(piece)
    at = joined.find(target)
    if not target or at < 0:
        return None
    box = Rect(words[owner[at]][:4])
    for k in range(at, at + len(target)):
        box |= Rect(words[owner[k]][:4])
    return box


def find_label(page: Page, number: str, topic: str) -> Box | None:
    """The box around a card's label, the words ``#NUMBER TOPIC`` in a row."""
    tokens = [f"#{number}", *topic.upper().split()]
    words = _words(page)
    for i in range(len(words) - len(tokens) + 1):
        if [w[4] for w in words[i : i + len(tokens)]] == tokens:
            box = Rect(words[i][:4])
            for w in words[i : i + len(tokens)]:
                box |= Rect(w[:4])
            return box
    return None


def _mm(points: float) -> float:
    return points / PT_PER_MM


# -- what must be printed -------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """A printed card as the deck says it must look, independent of the exporter."""

    number: str
    card: Card
    front: str
    back: tuple[str, ...]


def expected_cards(deck: Deck) -> list[Expected]:
    """One card per note, two for a reversed one (``N`` and ``NR``); cloze blanks as [...];
    formulas as the text of their typeset math (test_math.py shows them typeset)."""

    def plain_text(fragment: str) -> str:
        return _plain_text(typeset(fragment))

    out = []
    for position, card in enumerate(deck.cards, start=1):
        extra = tuple(plain_text(f) for f in (card.extra, card.source) if f)
        if card.kind is Kind.CLOZE:
            front = _CLOZE.sub(lambda m: f"[{m.group(2) or '…'}]", card.front)
            back = _CLOZE.sub(lambda m: m.group(1), card.front)
            out.append(Expected(str(position), card, plain_text(front), (plain_text(back), *extra)))
            continue
        out.append(
            Expected(str(position), card, plain_text(card.front), (plain_text(card.back), *extra))
        )
        if card.kind is Kind.REVERSED:
            out.append(
                Expected(
                    f"{position}R", card, plain_text(card.back), (plain_text(card.front), *extra)
                )
            )
    return out


def _cell(paper: Paper, page: Page, index: int, mirror: str) -> Box:
    """The cut rectangle of cell ``index`` (row-major), mirrored for a back page."""
    row, column = divmod(index, paper.columns)
    x, y = paper.grid_left + column * paper.card_width, paper.grid_top + row * paper.card_height
    rect = Rect(x, y, x + paper.card_width, y + paper.card_height) * PT_PER_MM
    width, height = page.rect.width, page.rect.height
    if mirror == "long":
        rect = Rect(width - rect.x1, rect.y0, width - rect.x0, rect.y1)
    elif mirror == "short":
        rect = Rect(rect.x0, height - rect.y1, rect.x1, height - rect.y0)
    return _grow(rect, 0.5, 0.5)


def _grow(rect: Box, dx: float, dy: float) -> Box:
    return Rect(rect.x0 - dx, rect.y0 - dy, rect.x1 + dx, rect.y1 + dy)


def _warned(summary: ExportSummary) -> set[str]:
    return {re.search(r"card '([^']+)'", w.message).group(1) for w in summary.warnings}  # type: ignore[union-attr]


# -- page geometry --------------------------------------------------------------------------


@pytest.mark.parametrize("spec", RENDERS, ids=_key)
def test_pages_are_exactly_the_paper_size_and_hold_all_text(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    render = renders[_key(spec)]
    width, height = PAGE_SIZES[render.paper]
    assert render.pdf.page_count > 0
    for page in render.pdf:
        assert abs(page.rect.width - width) <= 0.5 and abs(page.rect.height - height) <= 0.5
        # Nothing outside the page: a stray wide element would also have shrunk everything.
        for word in _words(page):
            assert Rect(word[:4]) in page.rect, (page.number, word[4])
        # The how-to-print header is for the screen only.
        assert "header is not printed" not in page.get_text()


@pytest.mark.parametrize("paper", list(PAPERS))
def test_the_card_grid_fits_the_page_and_is_centred(paper: str) -> None:
    geometry = PAPERS[paper]
    right = geometry.width - geometry.grid_left - geometry.columns * geometry.card_width
    bottom = geometry.height - geometry.grid_top - geometry.rows * geometry.card_height
    # Centred, so that mirroring the page about its centre lines mirrored cells up exactly;
    # and a margin a printer can print next to (most cannot reach the last 4-5 mm).
    assert math.isclose(right, geometry.grid_left) and math.isclose(bottom, geometry.grid_top)
    if not geometry.stock:  # card stock has its maker's grid: the card's padding is the margin
        assert geometry.grid_left >= 8 and geometry.grid_top >= 8


# -- the cards layout -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", CARD_RENDERS, ids=_key)
def test_every_back_is_behind_its_front(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    render = renders[_key(spec)]
    paper, pdf = render.geometry, render.pdf
    cards = expected_cards(render.deck)
    sheets = math.ceil(len(cards) / paper.per_sheet)
    assert pdf.page_count == 2 * sheets  # fronts and backs alternate; an even count
    mirror = render.duplex
    for k, expected in enumerate(cards):
        front_page, back_page = pdf[2 * (k // paper.per_sheet)], pdf[2 * (k // paper.per_sheet) + 1]
        index = k % paper.per_sheet
        topic = expected.card.topic_title
        front_label = find_label(front_page, expected.number, topic)
        back_label = find_label(back_page, expected.number, topic)
        assert front_label is not None and back_label is not None, expected.number
        # Exactly one front and one back, on a front page and the page after it.
        pages = [p.number for p in pdf if find_label(p, expected.number, topic)]
        assert pages == [front_page.number, back_page.number]
        assert front_label in _cell(paper, front_page, index, "none")
        # The label sits at the same place of the card on both sides of the paper.
        fx, fy = (front_label.x0 + front_label.x1) / 2, (front_label.y0 + front_label.y1) / 2
        bx, by = (back_label.x0 + back_label.x1) / 2, (back_label.y0 + back_label.y1) / 2
        if mirror == "long":
            fx = back_page.rect.width - fx
        elif mirror == "short":
            fy = back_page.rect.height - fy
        error = _mm(math.hypot(bx - fx, by - fy))
        assert error <= TOLERANCE_MM, f"#{expected.number}: back {error:.2f} mm off"


@pytest.mark.parametrize("spec", CARD_RENDERS, ids=_key)
def test_every_printed_card_names_its_deck_on_both_sides(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    """Cut out, the cards of two decks never mix: each side names its deck, inside the card
    (the page's footer, which names the deck too, is cut away)."""
    render = renders[_key(spec)]
    paper, pdf = render.geometry, render.pdf
    for k in range(len(expected_cards(render.deck))):
        sheet, index = divmod(k, paper.per_sheet)
        front, back = pdf[2 * sheet], pdf[2 * sheet + 1]
        assert find_text(front, render.deck.key, _cell(paper, front, index, "none")), k
        # The back: in the cell its front's back is printed in.
        backs = [_cell(paper, back, i, "none") for i in range(paper.per_sheet)]
        assert sum(find_text(back, render.deck.key, cell) is not None for cell in backs) >= 1


@pytest.mark.parametrize("spec", SHEET_RENDERS, ids=_key)
def test_the_sheet_names_the_deck_source_under_its_title(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    render = renders[_key(spec)]
    source = render.deck.source
    if not source:  # the long deck has none: no line for it
        assert all(find_text(page, "Source:") is None for page in render.pdf)
        return
    title = find_text(render.pdf[0], render.deck.name)
    line = find_text(render.pdf[0], f"Source: {source}")
    assert title is not None and line is not None
    assert line.y0 > title.y1  # under the title, on the first page only
    later = [page for page in render.pdf if page.number > 0]
    assert all(find_text(page, f"Source: {source}") is None for page in later)


@pytest.mark.parametrize("spec", CARD_RENDERS, ids=_key)
def test_every_card_text_is_printed_whole_inside_its_card(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    render = renders[_key(spec)]
    paper, pdf = render.geometry, render.pdf
    warned = _warned(render.summary)
    for k, expected in enumerate(expected_cards(render.deck)):
        if expected.card.id in warned:
            continue  # reported to the user; see test_overlong_cards_are_warned_and_marked
        sheet, index = divmod(k, paper.per_sheet)
        front_page, back_page = pdf[2 * sheet], pdf[2 * sheet + 1]
        front_cell = _cell(paper, front_page, index, "none")
        back_cell = _cell(paper, back_page, index, render.duplex)
        texts = [(front_page, front_cell, expected.front)]
        texts += [(back_page, back_cell, text) for text in expected.back]
        for page, cell, text in texts:
            if text:
                assert find_text(page, text, cell) is not None, (expected.number, text[:60])
            else:  # an image-only side
                boxes = [Rect(i["bbox"]) for i in page.get_image_info()]
                assert any(box in cell for box in boxes), expected.number


def test_cloze_front_hides_the_deletions_and_back_fills_them(renders: dict[str, Render]) -> None:
    render = renders["good-cards-a4-long"]
    paper, pdf = render.geometry, render.pdf
    cards = expected_cards(render.deck)
    k = next(i for i, e in enumerate(cards) if e.card.id == "expelled")
    front = pdf[0].get_text(clip=_cell(paper, pdf[0], k, "none"))
    back = pdf[1].get_text(clip=_cell(paper, pdf[1], k, "long"))
    assert "[…]" in front and "1927" not in front
    assert "1927" in back and "[…]" not in back
    # The filled deletion is highlighted: its words carry a background behind them.
    html = render.html.read_text(encoding="utf-8")
    assert '<span class="cp-fill">1927</span>' in html
    assert '<span class="cp-blank">[…]</span>' in html


def test_a_reversed_card_prints_once_per_direction(renders: dict[str, Render]) -> None:
    pdf = renders["good-cards-a4-long"].pdf
    forward = find_label(pdf[0], "1", "Dates")
    backward = find_label(pdf[0], "1R", "Dates")
    assert forward is not None and backward is not None
    below = 150  # the text sits under the label, within the card
    assert find_text(pdf[0], "Year Lenin died", _grow(forward, 60, below))
    assert find_text(pdf[0], "1924", _grow(backward, 60, below))


def test_overlong_cards_are_warned_and_marked(renders: dict[str, Render]) -> None:
    render = renders["long-cards-a4-long"]
    warned = _warned(render.summary)
    # Fitting shrinks the type before it gives up ...
    assert {f"answer-{n}" for n in (10, 60, 150, 300, 450, 600)}.isdisjoint(warned)
    assert {"wide-capitals", "no-spaces", "cyrillic", "long-question", "long-cloze"}.isdisjoint(
        warned
    )
    # ... and says so, with the card's location, when even the smallest type is too big.
    assert {"answer-1600", "answer-3000", "giant"} <= warned
    for warning in render.summary.warnings:
        assert warning.severity.value == "warning"
        assert warning.location.path.endswith("long.yaml") and warning.location.line > 0
        assert "does not fit on a card" in warning.message
    # The printed card itself says it is incomplete.
    text = "".join(page.get_text() for page in render.pdf)
    assert text.count("too long for a card") == len(render.summary.warnings)


def test_longer_answers_get_smaller_type(renders: dict[str, Render]) -> None:
    render = renders["long-cards-a4-long"]
    paper, pdf = render.geometry, render.pdf
    cards = expected_cards(render.deck)

    def answer_size(card_id: str) -> float:
        k = next(i for i, e in enumerate(cards) if e.card.id == card_id)
        sheet, index = divmod(k, paper.per_sheet)
        page = pdf[2 * sheet + 1]
        cell = _cell(paper, page, index, render.duplex)
        sizes = [
            span["size"]
            for block in page.get_text("dict", clip=cell)["blocks"]
            for line in block.get("lines", [])
            for span in line["spans"]
            if len(span["text"].strip()) > 3 and not span["text"].startswith("#")
        ]
        return float(max(sizes))

    sizes = [answer_size(f"answer-{n}") for n in (10, 150, 450, 800)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1] * 1.5


@pytest.mark.parametrize("spec", CARD_RENDERS, ids=_key)
def test_crop_marks_and_cut_lines_are_printed(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    """Solid crop marks in the margin at every grid line on every page; the dashed grid on the
    fronts, and on the backs only without duplex (with it, the backs' lines would show through
    a hair off the fronts')."""
    render = renders[_key(spec)]
    paper = render.geometry
    if paper.stock:  # cut already: no line or mark of ours on it
        across = paper.columns * paper.card_width * PT_PER_MM - 1
        down = paper.rows * paper.card_height * PT_PER_MM - 1
        for page in render.pdf:
            thin = [r for d in page.get_drawings() if min((r := d["rect"]).width, r.height) < 2]
            assert not [r for r in thin if r.width >= across or r.height >= down], page.number
        return
    left, top = paper.grid_left, paper.grid_top
    right, bottom = left + paper.columns * paper.card_width, top + paper.rows * paper.card_height
    xs = [left + c * paper.card_width for c in range(paper.columns + 1)]
    ys = [top + r * paper.card_height for r in range(paper.rows + 1)]
    for page in render.pdf:
        lines = [
            Rect(d["rect"]) * (1 / PT_PER_MM)
            for d in page.get_drawings()
            if min(Rect(d["rect"]).width, Rect(d["rect"]).height) < 0.5 * PT_PER_MM
        ]

        def drawn(x0: float, y0: float, x1: float, y1: float, lines: list[Box] = lines) -> bool:
            return any(
                abs(r.x0 - x0) < 0.5 and abs(r.y0 - y0) < 0.5 and abs(r.x1 - x1) < 0.5
                and abs(r.y1 - y1) < 0.5
                for r in lines
            )  # fmt: skip

        for x in xs:  # vertical marks above and below the grid
            assert any(drawn(x, r.y0, x, r.y1) for r in lines if r.y1 < top - 1), (page, x)
            assert any(drawn(x, r.y0, x, r.y1) for r in lines if r.y0 > bottom + 1), (page, x)
        for y in ys:  # horizontal marks left and right of it
            assert any(drawn(r.x0, y, r.x1, y) for r in lines if r.x1 < left - 1), (page, y)
            assert any(drawn(r.x0, y, r.x1, y) for r in lines if r.x0 > right + 1), (page, y)
        grid = [drawn(x, top, x, bottom) for x in xs] + [drawn(left, y, right, y) for y in ys]
        dashed = page.number % 2 == 0 or render.duplex == "none"
        assert grid == [dashed] * len(grid), (page.number, grid)


# -- the sheet layout -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", SHEET_RENDERS, ids=_key)
def test_each_answer_shares_its_questions_row(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    render = renders[_key(spec)]
    pdf = render.pdf
    warned = _warned(render.summary)
    seen = 0
    for expected in expected_cards(render.deck):
        if expected.number.endswith("R") or expected.card.id in warned:
            continue  # a reversed card is one row; an overlong row is warned about
        found = []
        for page in pdf:
            middle = page.rect.width / 2
            left = Rect(0, 0, middle, page.rect.height)
            right = Rect(middle, 0, page.rect.width, page.rect.height)
            question = find_text(page, expected.front, left) if expected.front else None
            answers = [find_text(page, text, right) for text in expected.back]
            if question is not None or any(answers):
                found.append((page.number, question, answers))
        # The whole row on one page: never split, never clipped.
        assert len(found) == 1, (expected.card.id, [f[0] for f in found])
        _, question, answers = found[0]
        assert all(answers), (expected.card.id, answers)
        answer = answers[0]
        assert answer is not None
        if question is not None:
            assert question.y0 < answer.y1 and answer.y0 < question.y1, expected.card.id
        seen += 1
    assert seen == len(render.deck.cards) - len(warned)


@pytest.mark.parametrize("spec", SHEET_RENDERS, ids=_key)
def test_sheet_groups_rows_by_topic(
    renders: dict[str, Render], spec: tuple[str, str, str, str]
) -> None:
    render = renders[_key(spec)]
    text = _norm("".join(page.get_text() for page in render.pdf))
    positions = [text.find(_norm(title)) for _, title in render.deck.topics]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)


def test_a_row_too_long_for_a_page_is_warned(renders: dict[str, Render]) -> None:
    render = renders["long-sheet-a4-long"]
    assert _warned(render.summary) == {"giant"}
    assert "does not fit on a page" in render.summary.warnings[0].message
    assert render.pdf.page_count >= 3


# -- the file itself ------------------------------------------------------------------------


class _Markup(HTMLParser):
    """Every element and attribute of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.style_text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style_text.append(data)


_FORBIDDEN = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "link", "base",
    "form", "input", "button", "svg", "template", "noscript", "audio", "video",
    "source", "portal",
}  # fmt: skip


def assert_inert(html: str) -> None:
    """Nothing in ``html`` can run a script, load a resource or leave the page."""
    assert "<script" not in html.lower()
    parser = _Markup()
    parser.feed(html)
    parser.close()
    tags = [tag for tag, _ in parser.elements]
    assert not _FORBIDDEN & set(tags), _FORBIDDEN & set(tags)
    assert tags.count("style") == 1 and tags[:4] == ["html", "head", "meta", "meta"]
    metas = [attrs for tag, attrs in parser.elements if tag == "meta"]
    assert metas[1] == {"http-equiv": "Content-Security-Policy", "content": CSP}
    assert all(set(m) <= {"charset", "http-equiv", "content", "name"} for m in metas)
    assert [m for m in metas if "http-equiv" in m] == [metas[1]]
    for tag, attrs in parser.elements:
        if tag in MATHML_TAGS:  # typeset math: layout attributes only
            assert set(attrs) <= MATHML_ATTRIBUTES, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in {"srcdoc", "formaction", "xlink:href", "action", "data"}, name
            if name == "href":
                assert re.match(r"^(https?:|mailto:)", value), value
            # Images come from the stylesheet, never from an attribute.
            assert name != "src", (tag, value)
            if name == "class" and tag == "img":
                assert re.fullmatch(r"cp-image\d+", value), value
            # Cut lines are placed by the stylesheet: no element carries a style of its own.
            assert name != "style", (tag, value)
    # The only URLs of the stylesheet are the images' data, each once, for an image class.
    style = _IMAGE_RULE.sub("", "".join(parser.style_text))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style


_IMAGE_RULE = re.compile(
    r"^\.cp-image\d+ \{ content: url\(data:image/(png|jpeg|gif|webp|svg\+xml);base64,"
    r"[A-Za-z0-9+/=]*\); \}$",
    re.MULTILINE,
)


@pytest.mark.parametrize("layout", ["cards", "sheet"])
def test_nothing_in_a_card_can_run_or_load_anything(tmp_path: Path, layout: str) -> None:
    deck_file = tmp_path / "hostile.yaml"
    deck_file.write_text(HOSTILE_YAML, encoding="utf-8")
    (tmp_path / "pic.svg").write_bytes(PLAIN_SVG)
    deck = load_deck(deck_file)
    out = tmp_path / f"hostile.{layout}.html"
    write_page(deck, out, layout=layout)
    html = out.read_text(encoding="utf-8")
    assert_inert(html)
    # What was markup in the card shows as text, or not at all.
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Evil &lt;/title&gt;&lt;script&gt;" in html
    assert "answer text" in html and "hint" in html


@pytest.mark.parametrize("layout", ["cards", "sheet"])
def test_good_deck_is_inert_self_contained_and_reproducible(
    good_deck: Path, tmp_path: Path, layout: str
) -> None:
    deck = load_deck(good_deck)
    first, second = tmp_path / "first.html", tmp_path / "second.html"
    write_page(deck, first, layout=layout)
    write_page(load_deck(good_deck), second, layout=layout)
    assert first.read_bytes() == second.read_bytes()
    html = first.read_text(encoding="utf-8")
    assert_inert(html)
    assert str(tmp_path) not in html and "alert(1)" not in html.replace("javascript:alert(1)", "")
    # Both images are inside the file, byte for byte, once each: in the stylesheet, for the
    # class that every use of the image has.
    for number, item in enumerate(deck.media):
        encoded = base64.b64encode(item.path.read_bytes()).decode()
        rule = f".cp-image{number} {{ content: url(data:image/png;base64,{encoded}); }}"
        assert html.count(encoded) == 1 and rule in html
        assert f'<img class="cp-image{number}" alt="Map ' in html


def test_the_screen_header_says_how_to_print(good_deck: Path, tmp_path: Path) -> None:
    deck = load_deck(good_deck)
    expectations = {
        ("cards", "a4", "long"): ["A4", "flip on long edge", "100%", "none"],
        ("cards", "letter", "short"): ["Letter", "flip on short edge", "100%"],
        ("cards", "a4", "none"): ["One-sided", "separate sheets"],
        ("sheet", "letter", "long"): ["Letter", "100%", "Fold each page"],
    }
    for (layout, paper, duplex), phrases in expectations.items():
        out = tmp_path / f"{layout}-{paper}-{duplex}.html"
        write_page(deck, out, layout=layout, paper=paper, duplex=duplex)
        html = out.read_text(encoding="utf-8")
        header = html.split('<header class="howto">', 1)[1].split("</header>", 1)[0]
        for phrase in phrases:
            assert phrase in header, (layout, paper, duplex, phrase)
        size = "A4" if paper == "a4" else "letter"
        assert f"@page {{ size: {size}; margin: 0; }}" in html
        assert "@media print {\n  .howto { display: none !important; }" in html
        assert "-webkit-print-color-adjust: exact;" in html and "overflow-wrap: anywhere" in html


@pytest.mark.parametrize(
    ("layout", "option", "value"),
    [("cards", "paper", "a3"), ("sheet", "paper", "a3"), ("cards", "duplex", "both")],
)
def test_unknown_options_are_rejected(tmp_path: Path, layout: str, option: str, value: str) -> None:
    deck = load_deck(FIXTURES / "good" / "history.yaml")
    options = {"paper": "a4", "duplex": "long", option: value}
    with pytest.raises(ValueError, match=f"unknown {option} '{value}'"):
        write_page(deck, tmp_path / "x.html", layout=layout, **options)
    assert not (tmp_path / "x.html").exists()


def test_a_measurement_is_for_its_paper(tmp_path: Path) -> None:
    notes = make_notes(load_deck(FIXTURES / "good" / "history.yaml"))
    measured = measure(notes, BuildOptions(paper="letter"))
    for writer in (write_cards, write_sheet):
        with pytest.raises(ValueError, match="measured for Letter paper, not A4"):
            writer(notes, tmp_path / "x.html", BuildOptions(), measured=measured)
        with pytest.raises(TypeError, match="measured must be what measure"):
            writer(notes, tmp_path / "x.html", BuildOptions(), measured="rows")  # type: ignore[arg-type]
    assert not (tmp_path / "x.html").exists()


def test_both_pages_print_one_measurement(tmp_path: Path) -> None:
    """A build measures once for both pages; a writer left to measure on its own writes the
    same bytes."""
    notes = make_notes(load_deck(FIXTURES / "good" / "history.yaml"))
    options = BuildOptions(paper="letter", duplex="short")
    measured = measure(notes, options)
    for writer in (write_cards, write_sheet):
        shared, alone = tmp_path / "shared.html", tmp_path / "alone.html"
        assert writer(notes, shared, options, measured=measured) == writer(notes, alone, options)
        assert shared.read_bytes() == alone.read_bytes()


# -- images, embedded once -------------------------------------------------------------------


def _png(width: int, height: int, seed: int) -> bytes:
    """A valid PNG of noise: it does not compress, so its size is about 3 bytes a pixel."""
    line = 3 * width
    noise = b"".join(
        hashlib.sha256(f"{seed}:{n}".encode()).digest() for n in range(line * height // 32 + 1)
    )
    rows = b"".join(b"\x00" + noise[y * line : (y + 1) * line] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


@pytest.mark.slow
def test_an_image_on_many_cards_is_in_each_page_once_and_prints_on_every_card(
    tmp_path: Path,
) -> None:
    """Issue 19: one 3 MB map on 200 cards made two 800 MB pages. The image's data is in each
    page once, in the stylesheet; every card that shows it prints it, at the card's image
    height."""
    cards_folder = tmp_path / "cards"
    cards_folder.mkdir()
    image = _png(400, 300, 1)
    (cards_folder / "map.png").write_bytes(image)
    count = 40
    (cards_folder / "maps.yaml").write_text(
        "format: 1\nkey: maps\nname: Maps\ncards:\n"
        + "".join(
            f"  - id: m{n}\n    front: 'Where is place {n}? ![The map](map.png)'\n"
            f"    back: 'Here, on the map: ![The map](map.png)'\n"
            for n in range(count)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "dist"
    result = build([cards_folder], out)
    assert [w.message for w in result.warnings if "does not fit" in w.message] == []
    encoded = base64.b64encode(image).decode()
    for page in ("maps.cards.html", "maps.sheet.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert html.count(encoded) == 1, page
        assert html.count('<img class="cp-image0" alt="The map">') == 2 * count, page
        assert len(html) < len(encoded) + 300_000, page
        assert_inert(html)
    pdf_path = out / "maps.cards.pdf"
    print_to_pdf(out / "maps.cards.html", pdf_path)
    paper = PAPERS["a4"]
    with open_pdf(pdf_path) as pdf:
        assert pdf.page_count == 2 * math.ceil(count / paper.per_sheet)
        for k in range(count):
            sheet_number, index = divmod(k, paper.per_sheet)
            sides = ((pdf[2 * sheet_number], "none"), (pdf[2 * sheet_number + 1], "long"))
            for page, mirror in sides:
                cell = _cell(paper, page, index, mirror)
                shown = [Rect(i["bbox"]) for i in page.get_image_info() if Rect(i["bbox"]) in cell]
                assert len(shown) == 1, (k, page.number)
                assert abs(_mm(shown[0].height) - geometry.CARD_IMAGE_HEIGHT) < 0.5, k


def test_images_in_the_description_are_sized_fitted_and_never_warned_about(
    tmp_path: Path,
) -> None:
    """An image in the deck's description prints in the sheet's title at the rows' image
    height, and the first page is paginated with it; one the loader could not resolve is left
    out. Neither makes a card or a row 'not fit'."""
    deck = load_deck(FIXTURES / "good" / "history.yaml")
    name = deck.media[0].name
    unresolved = dataclasses.replace(deck, description='<img alt="Map"> An unresolved map')
    resolved = dataclasses.replace(
        deck, description=f'<img src="{name}" alt="Map"> {"A resolved map. " * 40}'
    )
    out = tmp_path / "unresolved.sheet.html"
    for writer in (write_cards, write_sheet):
        summary = writer(make_notes(unresolved), out, BuildOptions())
        assert summary.warnings == ()
    html = out.read_text(encoding="utf-8")
    assert '<div class="description">An unresolved map</div>' in html and 'alt="Map"' not in html

    out = tmp_path / "resolved.sheet.html"
    for writer in (write_cards, write_sheet):
        summary = writer(make_notes(resolved), out, BuildOptions())
        assert summary.warnings == ()
    html = out.read_text(encoding="utf-8")
    assert '<div class="description"><img class="cp-image0" alt="Map">' in html
    assert f".title img {{ height: {geometry.mm(geometry.SHEET_IMAGE_HEIGHT)};" in html
    print_to_pdf(out, out.with_suffix(".pdf"))
    with open_pdf(out.with_suffix(".pdf")) as pdf:
        first = pdf[0]
        title = [Rect(i["bbox"]) for i in first.get_image_info()]
        assert any(abs(_mm(box.height) - geometry.SHEET_IMAGE_HEIGHT) < 0.5 for box in title)
        # Every row is printed whole: the title's height was measured with its image.
        text = _norm("".join(page.get_text() for page in pdf))
        for expected in expected_cards(resolved):
            if not expected.number.endswith("R") and expected.front:
                assert _norm(expected.front) in text, expected.number


def test_no_image_source_reaches_the_page(tmp_path: Path) -> None:
    """Images are the stylesheet's alone: a source in a field (a hand-built deck's data: URI,
    a script URL, a file that is not the deck's) is dropped, never passed on, even though the
    sanitiser would not check what an image resolver returned."""
    deck = load_deck(FIXTURES / "good" / "history.yaml")
    sources = (
        '<img src="data:image/png;base64,AAAA" alt="data">',
        '<img src="javascript:alert(1)" alt="script">',
        '<img src="elsewhere.png" alt="other">',
        '<img alt="none">',
    )
    card = dataclasses.replace(deck.cards[3], front=" ".join(sources) + " question")
    cloze = dataclasses.replace(deck.cards[1], front="{{c1::" + " ".join(sources) + "}} text")
    hand_built = dataclasses.replace(deck, cards=(card, cloze))
    for writer in (write_cards, write_sheet):
        out = tmp_path / "page.html"
        writer(make_notes(hand_built), out)
        html = out.read_text(encoding="utf-8")
        assert_inert(html)
        assert "AAAA" not in html and "javascript" not in html and "<img" not in html


def test_a_nested_deletion_is_not_printed_as_a_hint(tmp_path: Path) -> None:
    (tmp_path / "nested.yaml").write_text(
        "format: 1\nkey: nested\nname: Nested\ncards:\n  - id: paris\n    kind: cloze\n"
        "    text: '{{c1::Paris {{c2::France}}}} is a capital.'\n",
        encoding="utf-8",
    )
    notes = make_notes(load_deck(tmp_path / "nested.yaml"))
    write_cards(notes, tmp_path / "cards.html")
    write_sheet(notes, tmp_path / "sheet.html")
    for page in ("cards.html", "sheet.html"):
        html = (tmp_path / page).read_text(encoding="utf-8")
        assert '<div class="question"><span class="cp-blank">[…]</span> is a capital.</div>' in (
            html
        )
        assert "[France]" not in html and "}}" not in html
        assert (
            '<div class="answer"><span class="cp-fill">Paris <span class="cp-fill">France</span>'
            "</span> is a capital.</div>" in html
        )


# -- through the build and the command line -------------------------------------------------


def test_build_writes_both_layouts_with_the_chosen_paper(good_deck: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = build([good_deck], out, options=BuildOptions(paper="letter", duplex="short"))
    lines = {o.path.name: o.summary for o in result.outputs}
    assert lines["history.cards.html"] == "9 printed cards on 4 pages (Letter, short-edge duplex)"
    assert lines["history.sheet.html"] == "8 rows on 1 page (Letter)"
    assert "size: letter" in (out / "history.cards.html").read_text(encoding="utf-8")
    assert "duplex-short" in (out / "history.cards.html").read_text(encoding="utf-8")


def test_cli_paper_and_duplex_options(good_deck: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "dist"
    result = runner.invoke(
        cli, ["build", str(good_deck), "-o", str(out), "--paper", "letter", "--duplex", "none"]
    )
    assert result.exit_code == 0, result.output
    assert f"{out / 'history.cards.html'}: 9 printed cards on 4 pages (Letter, single-sided)" in (
        result.stdout.splitlines()
    )
    default = runner.invoke(cli, ["build", str(good_deck), "-o", str(tmp_path / "d2")])
    assert "(A4, long-edge duplex)" in default.stdout
    bad = runner.invoke(cli, ["build", str(good_deck), "--paper", "a3"])
    assert bad.exit_code == 2 and "'a3' is not one of 'a4', 'letter'" in bad.stderr


def test_long_answers_warn_through_the_build(long_deck_file: Path, tmp_path: Path) -> None:
    deck_dir = tmp_path / "cards"
    deck_dir.mkdir()
    shutil.copy(long_deck_file, deck_dir / "long.yaml")
    result = build([deck_dir], tmp_path / "dist")
    messages = [str(w) for w in result.warnings]
    assert any("answer-3000" in m and "does not fit on a card" in m for m in messages)
    assert any("'giant'" in m and "does not fit on a page" in m for m in messages)


# -- the fast paths agree with the straightforward ones -------------------------------------
# At 100,000 cards the exporter reads the sanitiser's output by the shape of its tags instead of
# with html.parser (blocks_fast.py beside blocks.py), fits from bounds where it can, and sums
# word widths it remembers. Here are the straightforward ways: html.parser's reading is the
# package's own (blocks.read, blocks.raw_blocks); the wrapping and fitting below are this
# file's, letter by letter and size by size. On every field both must give the same page.

_CLOZE_CLASSES = {"span": {"cp-blank", "cp-fill"}}


def _reference_lines(text: str, width: float, mono: bool) -> int:
    """Greedy wrapping, each word measured letter by letter."""

    def measure_word(word: str) -> float:
        widths = [metrics.char_width(c) for c in word]
        return sum(max(w, 0.61) for w in widths) if mono else sum(widths)

    space = metrics.char_width(" ")
    lines, current = 0, -1.0
    for word in text.split():
        size = measure_word(word)
        if current >= 0 and current + space + size <= width:
            current += space + size
            continue
        if current >= 0:
            lines += 1
        while size > width:
            lines += 1
            size -= max(width - 1.0, 0.5)
        current = size
    return lines + 1


def _reference_blocks(fragment: str) -> list[blocks.Raw]:
    """The blocks html.parser reads, less the white space between them."""
    return [raw for raw in blocks.raw_blocks(fragment) if raw[0] != blocks.TEXT or raw[1].strip()]


def _reference_height(fragment: str, width: float, image: float) -> tuple[int, float]:
    """Lines and height (em) of a fragment set ``width`` em wide."""
    lines, total = 0, 0.0
    for index, (kind, text, indent, mono, pre) in enumerate(_reference_blocks(fragment)):
        if index:
            total += 0.3
        if kind == blocks.IMAGE:
            total += image + 0.6
        elif kind == blocks.RULE:
            total += 1.0
        else:
            usable = max(width / 1.06 - indent, 1.0)
            count = sum(
                _reference_lines(p, usable, mono) for p in (text.split("\n") if pre else [text])
            )
            lines += count
            total += count * metrics.LINE_HEIGHT
    return lines, total


def _reference_structured(fragment: str) -> bool:
    found = _reference_blocks(fragment)
    return len(found) > 2 or any(indent or pre for _, _, indent, _, pre in found)


def _reference_fit(
    parts: list[tuple[str, str]], width: float, height: float, type_sizes: tuple[float, ...]
) -> tuple[int, bool, bool, int]:
    """(size, left, overflow, size of the notes) of a card side, fitted part by part, size by
    size: the first part as large as fits with the notes under it at the smallest size, then
    the notes as large as fits, never larger than the first part."""
    scale = {"question": 1.0, "answer": 1.0, "extra": 0.8, "source": 0.72}
    gap = {"question": 0.0, "answer": 0.0, "extra": 1.05, "source": 0.9}  # em, as the CSS
    rule = {"question": 0.0, "answer": 0.0, "extra": 0.3, "source": 0.0}  # mm
    image = geometry.CARD_IMAGE_HEIGHT
    for size, pt in enumerate(type_sizes):
        for notes in range(size, len(type_sizes)):
            total = 0.0
            for index, (role, fragment) in enumerate(parts):
                em = type_sizes[notes if index else size] * metrics.MM_PER_PT * scale[role]
                if index:
                    total += gap[role] * em + rule[role]
                total += _reference_height(fragment, width / em, image / em)[1] * em
            if total * metrics.HEIGHT_SAFETY <= height:
                em = pt * metrics.MM_PER_PT * scale[parts[0][0]]
                lines = _reference_height(parts[0][1], width / em, image / em)[0]
                return size, _reference_structured(parts[0][1]) or lines > 5, False, notes
    return len(type_sizes) - 1, True, True, len(type_sizes) - 1


def _fields_of(deck: Deck) -> list[str]:
    """Every fragment a deck prints: its fields, and both sides of each cloze."""
    out = [deck.description] if deck.description else []
    for card in deck.cards:
        out += [f for f in (card.front, card.back, card.extra, card.source) if f]
        if card.kind is Kind.CLOZE:
            sides = fields.cloze_sides(card.front)
            out += [sides.front, sides.back]
    return out


# Fragments that are not the sanitiser's (a cloze rewrite cutting through markup, anything a
# hand-built deck could hold) or are, beside the decks' own fields.
TRICKY_FRAGMENTS = [
    '<span class="cp-fill">a <b>split</span> tag</b>',
    '<p><span class="cp-fill">a</p><p>b</span></p>',
    '<img alt="<span class="cp-blank">[x]</span>" src="a.png">',
    '<a href="javascript:alert(1)" rel="noopener noreferrer">x</a>',
    '<a href="JavaScript:alert(1)" rel="noopener noreferrer">x</a>',
    '<a href="java&#10;script:alert(1)" rel="noopener noreferrer">x</a>',
    '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">ok</a>',
    '<a href="https://example.org" rel="noopener noreferrer" title="a &quot;b&quot; >c">ok</a>',
    '<a href="https://example.org">no rel</a>',
    '<a href="page.html" rel="noopener noreferrer">relative</a>',
    '<b onclick="alert(1)">x</b>',
    '<span class="evil">x</span>',
    '<span style="color:red">x</span>',
    "<script>alert(1)</script>text",
    "<style>body{display:none}</style>text",
    "</div>closes the card",
    "<div>never closed",
    "<br/>self-closing",
    "<B>upper</B>",
    "a < b and c > d",
    "a &lt; b &amp;&amp; c &gt; d &nbsp; e",
    "&copy; &#169; &#xa9; &unknown; & alone",
    "<!-- a comment --> text",
    "<![CDATA[x]]> text",
    "<table><tr><td>a</td><td>b</td></tr></table>",
    "<pre><code>line one\n  line two\n\nline four</code></pre>",
    "<ul>\n<li>one</li>\n<li>two<ul><li>nested</li></ul></li>\n</ul>",
    "<blockquote><p>quoted</p></blockquote><hr><p>after</p>",
    "<p>a</p><p>b</p><p>c</p>",
    "x<br>\ny<br>\nz",
    "<kbd>Ctrl</kbd>+<kbd>C</kbd> copies",
    "<em>" + "nested " * 3 + "</em>" + " word" * 60,
    "https://example.org/" + "abcdefghij" * 30,
    "WMW " * 60,
    "  spaced   out\ttext\u00a0with\u2003odd\u3000spaces  ",
    "\u200b\u200b",
    "🎴 漢字 עברית العربية кириллица " * 5,
    "<blockquote>" * 40 + "supercalifragilistic" + "</blockquote>" * 40,
]


def _fragments() -> list[str]:
    decks = [
        load_deck(FIXTURES / "good" / "history.yaml"),
        load_deck(FIXTURES / "unicode" / "scripts.yaml"),
        load_deck(FIXTURES / "warn" / "warnings.yaml"),
        load_deck(FIXTURES / "hostile" / "hostile.yaml"),
    ]
    return [f for deck in decks for f in _fields_of(deck)] + TRICKY_FRAGMENTS


_BOXES = (
    (*geometry.card_box(PAPERS["a4"]), geometry.CARD_SIZES),
    (*geometry.card_box(PAPERS["letter"]), geometry.CARD_SIZES),
    (PAPERS["a4"].column_width, 1000.0, geometry.SHEET_SIZES),
    (30.0, 12.0, geometry.SHEET_SIZES),
)


def _assert_like_reference(fragment: str) -> None:
    """The exporter reads and fits ``fragment`` as the references do."""
    # The fast reading is html.parser's, for any fragment at all.
    assert blocks_fast.read_fast(fragment) == blocks.read(fragment), fragment
    # A fragment goes on the page as the sanitiser leaves it: fitted as the reference fits it,
    # as every role, on both layouts' boxes, at every size.
    clean = sanitise(fragment, classes=_CLOZE_CLASSES)
    measured = blocks_fast.read_fast(clean)
    assert measured == blocks.read(clean), clean
    for width, height, type_sizes in _BOXES:
        fitter = fit.Fitter(width, height, type_sizes, geometry.CARD_IMAGE_HEIGHT)
        for role in ("question", "answer", "extra", "source"):
            face = fitter.fit_side(role, measured)
            assert face == fitter.exact(role, measured, ()), (fragment, role, width)
            assert (face.size, face.left, face.overflow, face.notes) == _reference_fit(
                [(role, clean)], width, height, type_sizes
            ), (fragment, role, width)
        for size, pt in enumerate(type_sizes):
            em = pt * metrics.MM_PER_PT
            got = fitter.height((("question", clean, measured),), size)
            image = geometry.CARD_IMAGE_HEIGHT / em
            assert got == _reference_height(clean, width / em, image)[1] * em, (fragment, pt)


@pytest.mark.parametrize("fragment", _fragments())
def test_fields_are_read_and_fitted_as_the_reference_does(fragment: str) -> None:
    _assert_like_reference(fragment)


def test_answers_with_notes_fit_as_the_reference_fits_them() -> None:
    fitter = fit.Fitter(
        *geometry.card_box(PAPERS["a4"]), geometry.CARD_SIZES, geometry.CARD_IMAGE_HEIGHT
    )
    for n in LONG_ANSWERS:
        parts = [("answer", _prose(n, n)), ("extra", _prose(n // 2, 3)), ("source", "§9 p. 12")]
        answer, *notes = [(role, text, blocks_fast.read_fast(text)) for role, text in parts]
        face = fitter.fit_side("answer", answer[2], notes)
        assert face == fitter.exact("answer", answer[2], notes)
        expected = _reference_fit(parts, *geometry.card_box(PAPERS["a4"]), geometry.CARD_SIZES)
        assert (face.size, face.left, face.overflow, face.notes) == expected, n


_PIECES = st.sampled_from(
    [
        "word", "Wörter", "漢字", "עברית", "🎴", "e\u0301", " ", "  ", "\n", "\n\n", "**bold**",
        "*em*", "`code`", "- item\n", "1. item\n", "> quote\n", "    indented code\n", "---\n",
        "<kbd>K</kbd>", "<b>", "</b>", "<br>", "<table><tr><td>a</td><td>b</td></tr></table>",
        "[link](https://example.org/a?b=1&c=2)", "[rel](page.html)", "&", "&amp;", "<", ">",
        "{{c1::deleted}}", "{{c2::with::hint}}", "{{c1::<b>cut}} through</b>", "\\(x^2\\)",
        "supercalifragilisticexpialidocious", "https://example.org/averyveryverylongpath",
        "{{c1::outer {{c2::inner}} end}}", "{{c3::a {{c4::b::hint}}::outer hint}}", "}}", "{{",
    ]
)  # fmt: skip


@settings(max_examples=examples(300))
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_any_rendered_field_is_read_and_fitted_as_the_reference_does(text: str) -> None:
    fragment = render_field(text).html
    sides = fields.cloze_sides(fragment)
    for side in (fragment, sides.front, sides.back):
        _assert_like_reference(side)


# Pieces of any HTML at all: the sanitiser's, and what it would never write.
_MARKUP = st.sampled_from(
    [
        "<b>", "</b>", "<B>", "<p>", "</p>", "<pre>", "</pre>", "<ul>", "<li>", "</li>", "</ul>",
        "<ol>", "<blockquote>", "</blockquote>", '<img src="a.png" alt="x">', "<img>", "<hr>",
        "<br>", "<br/>", "<table>", "<tr>", "<td>", "</td>", "<th>", "<code>", "</code>",
        "<kbd>", '<span class="cp-fill">', "</span>", '<a href="x" title="a > b">', "</a>",
        "<h1>", "<!-- c -->", "<script>", "</script>", "<style>", "<svg>", "<p/>", "</>",
        '<b title="<i>">', "&amp;", "&lt;", "&nbsp;", "&", "&am", "p;", "<", ">", "\n", "\r",
        " ", "word", "Wörter", "漢字", "\u00a0", "\u200b", "e\u0301", "x" * 40,
    ]
)  # fmt: skip


@settings(max_examples=examples(500))
@given(st.lists(_MARKUP, max_size=30).map("".join))
def test_the_fast_reading_is_html_parsers(fragment: str) -> None:
    """blocks_fast reads any fragment into the very blocks html.parser's reading gives:
    the sanitiser's output by its plan, anything else by the reference itself."""
    assert blocks_fast.read_fast(fragment) == blocks.read(fragment)


@settings(max_examples=examples(200))
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_cloze_sides_are_the_sanitisers_and_measure_as_read(text: str) -> None:
    """Both sides of a cloze note come out of the sanitiser, which leaves them as they are;
    and each measures as html.parser reads it."""
    fragment = render_field(text).html
    front, front_blocks, back, back_blocks = fields.Fields(()).cloze(fragment)
    math = "\\(" in fragment or "\\[" in fragment  # typeset: MathML let through
    for side, measured in ((front, front_blocks), (back, back_blocks)):
        assert sanitise(side, classes=_CLOZE_CLASSES, mathml=math) == side
        assert measured == blocks.read(side)


def test_nested_deletions_print_as_part_of_the_outer_answer() -> None:
    cases = {
        "{{c1::Paris {{c2::France}}}} is a capital": (
            '<span class="cp-blank">[…]</span> is a capital',
            '<span class="cp-fill">Paris <span class="cp-fill">France</span></span> is a capital',
        ),
        "{{c1::Paris {{c2::France::country}}::city}}": (
            '<span class="cp-blank">[city]</span>',
            '<span class="cp-fill">Paris <span class="cp-fill">France</span></span>',
        ),
        "{{c1::a}} and {{c2::b::hint}}": (
            '<span class="cp-blank">[…]</span> and <span class="cp-blank">[hint]</span>',
            '<span class="cp-fill">a</span> and <span class="cp-fill">b</span>',
        ),
        "a {{ b {{c1::x}} }}": (
            'a {{ b <span class="cp-blank">[…]</span> }}',
            'a {{ b <span class="cp-fill">x</span> }}',
        ),
    }
    for text, (front, back) in cases.items():
        assert fields.cloze_sides(text)[:2] == (front, back), text


# -- written as it is made ------------------------------------------------------------------


def test_a_failed_export_leaves_no_half_written_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages are written as they are made: a failure on the way removes what was written."""
    deck = load_deck(FIXTURES / "good" / "history.yaml")
    for layout, markup, pages_before in (
        ("cards", cards.CardMarkup, 2),
        ("sheet", sheet.SheetMarkup, 0),
    ):
        made: list[object] = []

        def page(
            self: object, *args: object, made: list[object] = made, ok: int = pages_before
        ) -> str:
            if len(made) == ok:
                raise RuntimeError("disk on fire")
            made.append(args)
            return "<p>page</p>"

        monkeypatch.setattr(markup, "page", page)
        out = tmp_path / f"{layout}.html"
        with pytest.raises(RuntimeError, match="disk on fire"):
            write_page(deck, out, layout=layout)
        assert len(made) == pages_before and not out.exists()


def test_deep_nesting_ends(tmp_path: Path) -> None:
    """A quote nested 90 deep leaves less than an em per line: wrapping it still ends."""
    (tmp_path / "deep.yaml").write_text(
        "format: 1\nkey: deep\nname: Deep\ncards:\n  - id: deep\n    front: Deep\n"
        f'    back: "{"> " * 90}supercalifragilistic"\n',
        encoding="utf-8",
    )
    deck = load_deck(tmp_path / "deep.yaml")
    done: list[ExportSummary] = []

    def export() -> None:
        for layout in LAYOUTS:
            done.append(write_page(deck, tmp_path / f"{layout}.html", layout=layout))

    worker = threading.Thread(target=export, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert len(done) == 2, "the export did not end"
    assert "does not fit on a card" in done[0].warnings[0].message
