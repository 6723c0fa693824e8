"""Printable HTML: cut-out duplex flashcards (``cards``) and fold-in-half study sheets (``sheet``).

Both layouts are fixed-size sheets, measured per paper (A4 in mm, Letter in inches), printed with
``@page { margin: 0 }``. Nothing is wider than the page: one wider element makes Chromium shrink
the whole document, and then the backs no longer sit behind their fronts.

The page has no JavaScript, so text is fitted here, in Python: each side of a card gets the
largest of several type sizes at which an estimate of its wrapped height fits the card. The
estimate uses Arial's advance widths (the first font of the stack; Liberation Sans has the same
metrics) with a safety margin, and wraps words the way the browser does. A side that does not fit
even at the smallest size is reported as a warning and marked on the card; nothing is clipped
silently. The study sheet is paginated here with the same estimate, so no row is split.

Card fields are sanitised HTML already (render.py). Each is checked against a strict grammar of
what the sanitiser writes and would leave unchanged if it cleaned it again (allowed tags and
attributes only, balanced, nothing the HTML parser would move, ``http(s)``/``mailto`` links):
one that passes goes on the page as it is; anything else (a cloze rewrite that cut through
markup, a hand-built model) is cleaned again with nh3. Images are inlined as data URIs: the file
is self-contained, and its Content-Security-Policy allows no script, no network and no external
resource at all.

Decks of 100,000 cards print to pages of 100 MB and more, so the pages are written as they are
made, never held whole in memory: Jinja renders the document frame (head, styles, the how-to
header), and the pages themselves, tens of thousands of identical little structures, are joined
from the markup pieces below, which Jinja would otherwise spend seconds on.
"""

from __future__ import annotations

import base64
import html as html_lib
import math
import re
import unicodedata
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from cardpress.errors import Diagnostic, Severity
from cardpress.export import BuildOptions, ExportSummary
from cardpress.model import Card, Deck, Kind
from cardpress.notes import Notes
from cardpress.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES

if TYPE_CHECKING:
    import jinja2

LAYOUTS = ("cards", "sheet")
DUPLEX_MODES = ("long", "short", "none")

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
BLANK = "[…]"
FOLD_HINT = "Fold along the dashed line: questions in front, answers behind."

_IN = 25.4


@dataclass(frozen=True)
class Paper:
    """One paper size and the two layouts measured for it; lengths in mm."""

    key: str
    name: str
    css_size: str
    width: float
    height: float
    columns: int
    rows: int
    card_width: float
    card_height: float
    margin: float  # study sheet: outer margin
    gutter: float  # study sheet: space on each side of the fold

    @property
    def grid_left(self) -> float:
        """The card grid is centred, so mirroring a page mirrors the grid onto itself."""
        return (self.width - self.columns * self.card_width) / 2

    @property
    def grid_top(self) -> float:
        return (self.height - self.rows * self.card_height) / 2

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    @property
    def column_width(self) -> float:
        """Width of one study-sheet column (question or answer)."""
        return self.width / 2 - self.margin - self.gutter

    def card_origin(self, row: int, column: int) -> tuple[float, float]:
        """Top-left corner of the card at ``row``, ``column`` (0-based)."""
        return (self.grid_left + column * self.card_width, self.grid_top + row * self.card_height)


PAPERS = {
    # 2 x 4 cards of 95 x 68 mm; 10 mm side and 12.5 mm top and bottom margins.
    "a4": Paper(
        key="a4", name="A4", css_size="A4", width=210, height=297,
        columns=2, rows=4, card_width=95, card_height=68,
        margin=12, gutter=6,
    ),
    # 2 x 4 cards of 3.75 x 2.5 in; half-inch margins all round.
    "letter": Paper(
        key="letter", name="Letter", css_size="letter", width=8.5 * _IN, height=11 * _IN,
        columns=2, rows=4, card_width=3.75 * _IN, card_height=2.5 * _IN,
        margin=0.5 * _IN, gutter=0.25 * _IN,
    ),
}  # fmt: skip

# Inside a card (mm): padding, and the band that holds the number and topic.
CARD_PAD_X = 5.0
CARD_PAD_Y = 3.5
CARD_LABEL_BAND = 5.0
CARD_IMAGE_HEIGHT = 20.0
SHEET_IMAGE_HEIGHT = 16.0
SHEET_NUMBER_WIDTH = 7.0
SHEET_ROW_PAD = 1.8

# Type sizes (pt), largest first: the fitting steps.
CARD_SIZES = (18.0, 15.0, 13.0, 11.5, 10.0, 8.5)
SHEET_SIZES = (10.5, 9.5, 8.5, 7.5)
LINE_HEIGHT = 1.25
_PT = _IN / 72

# Margins of safety for the estimate: other fonts, rounding, line boxes grown by fallback fonts.
_WIDTH_SAFETY = 1.06
_HEIGHT_SAFETY = 1.08

# Topic accent colours, chosen to stay distinct in greyscale too.
ACCENTS = ("#2e6a99", "#b4532a", "#3d7a4a", "#7b4f9c", "#9a7417", "#2d7d7d")


@dataclass(frozen=True)
class _Role:
    """How one part of a card side is set: size relative to the side's type, space above."""

    scale: float
    gap: float  # in the part's own em: margin, padding and rule above it


_ROLES = {
    "question": _Role(1.0, 0.0),
    "answer": _Role(1.0, 0.0),
    "extra": _Role(0.8, 1.1),
    "source": _Role(0.72, 1.0),
}


Part = tuple[str, str, "_Measured"]
"""One part of a card side: its role, its sanitised HTML and how it measures."""


Side = tuple[str, "_Measured"]
"""A field ready for the page: its sanitised HTML and how it measures."""


class Face(NamedTuple):
    """How one side of a printed card is set. The fitters hand out shared instances."""

    size: int  # index into the type sizes
    left: bool  # long or structured text reads better left-aligned than centred
    overflow: bool  # does not fit even at the smallest size


@dataclass(frozen=True)
class CutLine:
    """A dashed cut line across the grid or a solid crop mark in the margin (mm)."""

    x: float
    y: float
    length: float
    vertical: bool
    mark: bool


def write_html(
    deck: Deck, path: Path, *, layout: str, paper: str = "a4", duplex: str = "long"
) -> ExportSummary:
    """Write ``deck`` as printable, self-contained HTML to ``path``.

    ``layout`` is ``cards`` (cut-out flashcards, fronts and backs on alternate pages) or
    ``sheet`` (a study sheet to fold in half); ``paper`` is ``a4`` or ``letter``; ``duplex``
    (cards only) is ``long``, ``short`` or ``none`` and says where each back goes.

    The file is written as its pages are made; if the export fails, the file is removed rather
    than left half-written.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; expected one of {', '.join(PAPERS)}")
    if duplex not in DUPLEX_MODES:
        raise ValueError(f"unknown duplex {duplex!r}; expected one of {', '.join(DUPLEX_MODES)}")
    sheet_paper = PAPERS[paper]
    fields = _Fields(_data_uris(deck))
    try:
        # Pages are a few kilobytes each: a bigger buffer writes many at a time.
        with path.open("w", encoding="utf-8", newline="\n", buffering=1 << 18) as out:
            if layout == "cards":
                return _write_cards(deck, sheet_paper, duplex, fields, out)
            return _write_sheet(deck, sheet_paper, fields, out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def measure(notes: Notes, options: BuildOptions) -> None:
    """Placeholder: the pages are measured by each writer (see write_cards)."""
    return None


def write_cards(
    notes: Notes, path: Path, options: BuildOptions | None = None, *, measured: object = None
) -> ExportSummary:
    """The cut-out cards page of ``notes``."""
    o = options or BuildOptions()
    return write_html(notes.deck, path, layout="cards", paper=o.paper, duplex=o.duplex)


def write_sheet(
    notes: Notes, path: Path, options: BuildOptions | None = None, *, measured: object = None
) -> ExportSummary:
    """The study sheet page of ``notes``."""
    o = options or BuildOptions()
    return write_html(notes.deck, path, layout="sheet", paper=o.paper)


def _sides(card: Card, fields: _Fields) -> tuple[Side, Side, tuple[Part, ...], bool]:
    """A note's question and answer (a cloze's two sides), ready and measured; the notes under
    the answer (extra, source); and whether every part's HTML is its field's own (checked, not
    cleaned, no image to inline).

    A note prints as one card, question in front and answer and notes behind; a reversed note
    as a second card too, the other way round.
    """
    if card.kind is Kind.CLOZE:
        front_text, back_text, front_plain, back_plain = _cloze_sides(card.front)
        if _MARKUP_CHARS.search(card.front):
            front, back = fields(front_text), fields(back_text)
        else:  # its only markup the spans just put in: it passes, and measures as its text
            front = front_text, _paragraph(front_plain)
            back = back_text, _paragraph(back_plain)
    else:
        front_text, back_text = card.front, card.back
        front, back = fields(front_text), fields(back_text)
    verbatim = front[0] is front_text and back[0] is back_text
    notes: tuple[Part, ...] = ()
    extra, source = card.extra, card.source
    if extra:
        html, measured = fields(extra)
        notes = (("extra", html, measured),)
        verbatim = verbatim and html is extra
    if source:
        html, measured = fields(source)
        notes += (("source", html, measured),)
        verbatim = verbatim and html is source
    return front, back, notes, verbatim


# -- the cards layout ------------------------------------------------------------------------


def _card_box(paper: Paper) -> tuple[float, float]:
    """Width and height (mm) of the text area of a card side."""
    return (
        paper.card_width - 2 * CARD_PAD_X,
        paper.card_height - 2 * CARD_PAD_Y - CARD_LABEL_BAND,
    )


def _print_cards(
    deck: Deck,
    paper: Paper,
    fields: _Fields,
    markup: _CardMarkup,
    rows: _Rows,
    warnings: list[Diagnostic],
) -> Iterator[tuple[_Cell, _Cell]]:
    """The cut-out cards of a deck, in authored order (one per note, two per reversed note), as
    the markup of their fronts and backs; a side that does not fit adds a warning.

    The number is the note's position, with an R for the reverse direction: nothing to escape.
    The study sheet's rows are fitted on the way, into ``rows``, from the same measurements.
    """
    width, height = _card_box(paper)
    fit = _Fitter(width, height, CARD_SIZES, CARD_IMAGE_HEIGHT).fit_side
    fit_row = _SheetFitter(paper).fit
    add_row = rows.add
    for position, card in enumerate(deck.cards, start=1):
        (front, front_measured), (back, back_measured), notes, verbatim = _sides(card, fields)
        add_row(fit_row(front_measured, back_measured, notes), verbatim)
        below = _notes_markup(notes) if notes else ""
        number = str(position)
        question = fit("question", front_measured)
        answer = fit("answer", back_measured, notes)
        if question.overflow or answer.overflow:
            warnings.extend(_card_warnings(card, number, question, answer))
        yield markup.card(number, card, question, front, answer, back, below)
        if card.kind is Kind.REVERSED:
            number = f"{number}R"
            question = fit("question", back_measured)
            answer = fit("answer", front_measured, notes)
            if question.overflow or answer.overflow:
                warnings.extend(_card_warnings(card, number, question, answer))
            yield markup.card(number, card, question, back, answer, front, below)


def _back_cell(paper: Paper, duplex: str, index: int) -> int:
    """Where the back of the card in cell ``index`` of a front page goes on the back page.

    Long-edge duplex on portrait paper mirrors columns, short-edge mirrors rows; without duplex
    the backs keep their fronts' positions.
    """
    row, column = divmod(index, paper.columns)
    if duplex == "long":
        column = paper.columns - 1 - column
    elif duplex == "short":
        row = paper.rows - 1 - row
    return row * paper.columns + column


def _card_pages(
    cards: Iterator[tuple[_Cell, _Cell]], paper: Paper, duplex: str, markup: _CardMarkup
) -> Iterator[str]:
    """Front and back pages, sheet by sheet; the last sheet keeps its empty cells."""
    per_sheet = paper.per_sheet
    places = [_back_cell(paper, duplex, index) for index in range(per_sheet)]
    fronts = [_EMPTY_CELL] * per_sheet
    backs = [_EMPTY_CELL] * per_sheet
    sheet = filled = 0
    for front, back in cards:
        fronts[filled] = front
        backs[places[filled]] = back
        filled += 1
        if filled == per_sheet:
            sheet += 1
            yield markup.page("front", sheet, fronts)
            yield markup.page("back", sheet, backs)
            fronts = [_EMPTY_CELL] * per_sheet
            backs = [_EMPTY_CELL] * per_sheet
            filled = 0
    if filled:
        sheet += 1
        yield markup.page("front", sheet, fronts)
        yield markup.page("back", sheet, backs)


def _cut_lines(paper: Paper, *, dashed: bool) -> list[CutLine]:
    """Crop marks in the margins at every grid line, then, with ``dashed``, the grid itself.

    The marks come first, so the lines of a page without the grid are a prefix of those with it.
    """
    gap = 1.5
    left, top = paper.grid_left, paper.grid_top
    right = left + paper.columns * paper.card_width
    bottom = top + paper.rows * paper.card_height
    mark_x = min(left - gap - 2.5, 7.0)
    mark_y = min(top - gap - 2.5, 7.0)
    marks: list[CutLine] = []
    grid: list[CutLine] = []
    for column in range(paper.columns + 1):
        x = left + column * paper.card_width
        marks.append(CutLine(x, top - gap - mark_y, mark_y, True, True))
        marks.append(CutLine(x, bottom + gap, mark_y, True, True))
        grid.append(CutLine(x, top, bottom - top, True, False))
    for row in range(paper.rows + 1):
        y = top + row * paper.card_height
        marks.append(CutLine(left - gap - mark_x, y, mark_x, False, True))
        marks.append(CutLine(right + gap, y, mark_x, False, True))
        grid.append(CutLine(left, y, right - left, False, False))
    return marks + grid if dashed else marks


def _write_cards(
    deck: Deck, paper: Paper, duplex: str, fields: _Fields, out: TextIO
) -> ExportSummary:
    count = len(deck.cards) + list(map(attrgetter("kind"), deck.cards)).count(Kind.REVERSED)
    sheets = -(-count // paper.per_sheet)
    front_lines = _cut_lines(paper, dashed=True)
    back_lines = _cut_lines(paper, dashed=duplex == "none")
    markup = _CardMarkup(deck, sheets, len(front_lines), len(back_lines))
    warnings: list[Diagnostic] = []
    rows = _Rows()
    cards = _print_cards(deck, paper, fields, markup, rows, warnings)
    pages = _card_pages(cards, paper, duplex, markup)

    width, height = _card_box(paper)
    out.writelines(
        _template("cards.html.j2").generate(
            deck=deck,
            paper=paper,
            duplex=duplex,
            pages=pages,
            count=count,
            sheets=sheets,
            cut_lines=front_lines,
            sizes=CARD_SIZES,
            box_width=width,
            box_height=height,
            pad_x=CARD_PAD_X,
            pad_y=CARD_PAD_Y,
            band=CARD_LABEL_BAND,
            image_height=CARD_IMAGE_HEIGHT,
            line_height=LINE_HEIGHT,
            accents=ACCENTS,
            csp=CSP,
            mm=_mm,
        )
    )
    _share(deck, paper, rows)
    how = {"long": "long-edge duplex", "short": "short-edge duplex", "none": "single-sided"}
    summary = (
        f"{_plural(count, 'printed card')} on {_plural(2 * sheets, 'page')} "
        f"({paper.name}, {how[duplex]})"
    )
    return ExportSummary(summary, tuple(warnings))


def _card_warnings(card: Card, number: str, front: Face, back: Face) -> Iterator[Diagnostic]:
    for side, face in (("question", front), ("answer", back)):
        if face.overflow:
            yield Diagnostic(
                card.location,
                Severity.WARNING,
                f"card {card.id!r}: the {side} of printed card #{number} does "
                "not fit on a card even at the smallest type and may be cut off; shorten it "
                "or split the card",
            )


# -- the sheet layout ------------------------------------------------------------------------

_SHEET_TITLE_PT = 17.0
_SHEET_TEXT_PT = 9.5
_SHEET_HEAD = 6.5  # the QUESTION | ANSWER line at the top of each page
_SHEET_TOPIC = 9.5  # a topic heading with its space above and below
_SHEET_BORDER = 0.3


class _Rows:
    """The study sheet's rows, fitted: one per note (a reversed card is one row: fold either
    way), in authored order. Only numbers are kept, so 100,000 rows take about a megabyte:
    the type size, the height (mm), whether the row is too long even at the smallest size, and
    whether its fields go on the page verbatim (else they are made ready again when written).
    """

    def __init__(self) -> None:
        self.size = bytearray()
        self.height = array("d")
        self.overflow = bytearray()
        self.verbatim = bytearray()

    def add(self, fitted: tuple[int, float, bool], verbatim: bool) -> None:
        """Add a row fitted by _SheetFitter.fit."""
        size, height, overflow = fitted
        self.size.append(size)
        self.height.append(height)
        self.overflow.append(overflow)
        self.verbatim.append(verbatim)


class _SheetFitter:
    """Fits a study-sheet row: the largest type size at which the row fits on a page."""

    def __init__(self, paper: Paper) -> None:
        width = paper.column_width
        question = _Fitter(width - SHEET_NUMBER_WIDTH, 0.0, SHEET_SIZES, SHEET_IMAGE_HEIGHT)
        answer = _Fitter(width, 0.0, SHEET_SIZES, SHEET_IMAGE_HEIGHT)
        # At each size: how the question is set, and how the answer and its notes are.
        self.metrics = [
            (by_role["question"], answers)
            for by_role, answers in zip(question.metrics, answer.metrics, strict=True)
        ]
        # A row and its topic heading always fit on a page of their own.
        self.limit = _sheet_body_height(paper) - _SHEET_TOPIC

    def fit(
        self, question: _Measured, answer: _Measured, notes: Sequence[Part]
    ) -> tuple[int, float, bool]:
        """The row's type size and height (mm), and whether it is too long for a page: the
        question beside the answer and the notes under it (each added up as _Fitter.height
        adds a side)."""
        height = 0.0
        for size, (metric, answers) in enumerate(self.metrics):
            # _height, inline: a row is fitted for every note.
            if question.widest <= metric.line:
                q = question.one_line_height * metric.em
            else:
                q = question.lines_and_height(metric)[1] * metric.em
            metric = answers["answer"]
            if answer.widest <= metric.line:
                a = answer.one_line_height * metric.em
            else:
                a = answer.lines_and_height(metric)[1] * metric.em
            for role, _, measured in notes:
                metric = answers[role]
                a += metric.gap
                if measured.widest <= metric.line:
                    a += measured.one_line_height * metric.em
                else:
                    a += measured.lines_and_height(metric)[1] * metric.em
            height = max(q, a) * _HEIGHT_SAFETY + 2 * SHEET_ROW_PAD + _SHEET_BORDER
            if height <= self.limit:
                return size, height, False
        return len(SHEET_SIZES) - 1, height, True


def _sheet_rows(deck: Deck, paper: Paper, fields: _Fields) -> _Rows:
    """The study sheet's rows, from the cards export of the same deck if it just ran."""
    rows = _shared(deck, paper)
    if rows is not None:
        return rows
    rows = _Rows()
    fit = _SheetFitter(paper).fit
    for card in deck.cards:
        (_, question), (_, answer), notes, verbatim = _sides(card, fields)
        rows.add(fit(question, answer, notes), verbatim)
    return rows


# The cards export fits the study sheet's rows too (it has measured every field already); the
# sheet export of the same deck on the same paper, which build runs next, uses them.
_SHARED: dict[str, tuple[weakref.ref[Deck], _Rows]] = {}


def _share(deck: Deck, paper: Paper, rows: _Rows) -> None:
    pass  # interim: the printable package measures once and hands both pages the result


def _shared(deck: Deck, paper: Paper) -> _Rows | None:
    return None


_Topic = tuple[str, int, "array[int]"]
"""A topic on the study sheet: its title, its accent and the indexes of its cards."""

_Run = tuple[int, int, int]
"""Rows of one topic on a page: the topic's number, and where they start and stop in it."""


def _sheet_topics(deck: Deck, accents: Mapping[str, int]) -> list[_Topic]:
    """The cards grouped by topic: the deck's topics in their order, then any other in the order
    of its first card; each topic's cards in authored order."""
    cards = deck.cards
    groups: dict[str, array[int]] = {}  # arrays: 100,000 indexes take 800 kB, not 3.6 MB
    for index, topic in enumerate(map(attrgetter("topic"), cards)):
        members = groups.get(topic)
        if members is None:
            members = groups[topic] = array("l")
        members.append(index)
    order = {key: index for index, (key, _) in enumerate(deck.topics)}
    unknown = len(order)
    ordered = sorted(groups.items(), key=lambda group: order.get(group[0], unknown))  # stable
    return [
        (cards[members[0]].topic_title, accents.get(topic, 0), members)
        for topic, members in ordered
    ]


def _sheet_pages(
    topics: Sequence[_Topic], rows: _Rows, paper: Paper, title_height: float
) -> Iterator[list[_Run]]:
    """Rows packed onto pages in topic order; a heading never ends a page.

    Each run of a topic's rows on a page opens with the topic's heading (if it has a title):
    "continued" unless it starts the topic. ``title_height`` is the room the deck's title takes
    at the top of the first page. Pages are made one at a time: this runs once to count them
    and once more to write them.
    """
    heights = rows.height
    page: list[_Run] = []
    full = _sheet_body_height(paper)
    room = full - title_height
    for number, (title, _, members) in enumerate(topics):
        start = 0  # where the topic's run on this page starts
        for place, index in enumerate(members):
            height = heights[index]
            first = place == 0 or (place == start and not page)  # of a topic or of a page
            heading = _SHEET_TOPIC if title and first else 0.0
            if heading + height > room and room < full:
                if place > start:
                    page.append((number, start, place))
                yield page
                page = []
                start = place
                room = full
                heading = _SHEET_TOPIC if title else 0.0
            if heading:
                room -= heading
            room -= height
        page.append((number, start, len(members)))
    yield page


def _indexes(flags: bytearray) -> Iterator[int]:
    """Where ``flags`` are set (found in C: they seldom are)."""
    index = flags.find(1)
    while index >= 0:
        yield index
        index = flags.find(1, index + 1)


def _sheet_body_height(paper: Paper) -> float:
    """Room for topic headings and rows on a page (mm)."""
    return paper.height - 2 * paper.margin - _SHEET_HEAD


def _sheet_title_height(deck: Deck, paper: Paper, fields: _Fields) -> float:
    """Estimated height (mm) of the deck's title block on the first page."""
    width = paper.width - 2 * paper.margin
    name: Part = ("question", "", _paragraph(deck.name))  # text, not HTML
    title = _Fitter(width, 0.0, (_SHEET_TITLE_PT,), 0.0).height((name,), 0)
    intro: list[Part] = [("question", *fields(deck.description))] if deck.description else []
    intro.append(("question", *fields(FOLD_HINT)))
    text = _Fitter(width, 0.0, (_SHEET_TEXT_PT,), 0.0).height(intro, 0)
    return (title + text) * _HEIGHT_SAFETY + 6.0


def _write_sheet(deck: Deck, paper: Paper, fields: _Fields, out: TextIO) -> ExportSummary:
    title_height = _sheet_title_height(deck, paper, fields)
    rows = _sheet_rows(deck, paper, fields)
    topics = _sheet_topics(deck, _accents(deck))
    page_count = sum(1 for _ in _sheet_pages(topics, rows, paper, title_height))
    warnings = [
        Diagnostic(
            card.location,
            Severity.WARNING,
            f"card {card.id!r}: its study-sheet row does not fit on a page even at the "
            "smallest type and may be cut off; shorten it or split the card",
        )
        for card in map(deck.cards.__getitem__, _indexes(rows.overflow))
    ]
    markup = _SheetMarkup(deck, rows, fields, topics, page_count)
    pages = (
        markup.page(number, runs)
        for number, runs in enumerate(_sheet_pages(topics, rows, paper, title_height), start=1)
    )
    out.writelines(
        _template("sheet.html.j2").generate(
            deck=deck,
            paper=paper,
            pages=pages,
            page_count=page_count,
            count=len(deck.cards),
            sizes=SHEET_SIZES,
            accents=ACCENTS,
            csp=CSP,
            mm=_mm,
            number_width=SHEET_NUMBER_WIDTH,
            image_height=SHEET_IMAGE_HEIGHT,
            line_height=LINE_HEIGHT,
            title_pt=_SHEET_TITLE_PT,
            text_pt=_SHEET_TEXT_PT,
            row_pad=SHEET_ROW_PAD,
            head_height=_SHEET_HEAD,
            topic_height=_SHEET_TOPIC,
        )
    )
    summary = f"{_plural(len(deck.cards), 'row')} on {_plural(page_count, 'page')} ({paper.name})"
    return ExportSummary(summary, tuple(warnings))


# -- page markup -----------------------------------------------------------------------------
# The pages, cards and rows as the templates would write them, joined here because there are
# hundreds of thousands (Jinja takes seconds for what this does in a fraction of one; the
# templates keep the document around them). Text is escaped as Jinja's autoescape escapes it;
# field HTML is sanitised already.


def _escape(text: str) -> str:
    """``text`` for HTML, escaped exactly as Jinja's autoescape (MarkupSafe) escapes it."""
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


_Cell = tuple[str, ...]
"""A cell of the card grid: the pieces of its markup."""

_EMPTY_CELL: _Cell = ('<div class="card empty"></div>\n',)


def _notes_markup(notes: Sequence[Part]) -> str:
    """The notes under an answer (extra, source)."""
    return "".join([f'<div class="{role}">{html}</div>\n' for role, html, _ in notes])


class _CardMarkup:
    """The pages of the cards layout.

    A card is made as the pieces of its markup, and each page joined from its cards' pieces at
    once, so that no text is copied into a card's string first and then into the page's.
    """

    def __init__(self, deck: Deck, sheets: int, front_lines: int, back_lines: int) -> None:
        self.sheets = sheets
        self.name = _escape(deck.name)
        self.accents = _accents(deck)
        # The cut lines are placed and drawn by the stylesheet: one rule per line.
        self.cuts = {
            "front": '<div class="cuts">' + "<i></i>" * front_lines + "</div>\n",
            "back": '<div class="cuts">' + "<i></i>" * back_lines + "</div>\n",
        }
        # A card's start, up to its number, on each side in each accent colour; and what
        # follows the number, by topic title.
        self.starts = [
            tuple(
                f'<div class="card {side} accent{accent}">\n<div class="label"><span class="no">#'
                for side in ("front", "back")
            )
            for accent in range(len(ACCENTS))
        ]
        self.labels: dict[str, str] = {}
        # What goes around the main part of a side, for each way the side can be set.
        self.bodies: dict[Face, tuple[str, str, str]] = {}
        for size in range(len(CARD_SIZES)):
            for left in (False, True):
                for overflow in (False, True):
                    body = f'<div class="body fs{size}{" left" if left else ""}">\n'
                    too_long = (
                        '<div class="too-long">too long for a card: text may be cut off</div>\n'
                        if overflow
                        else ""
                    )
                    self.bodies[Face(size, left, overflow)] = (
                        f'{body}<div class="inner">\n<div class="question">',
                        f'{body}<div class="inner">\n<div class="answer">',
                        f"</div>\n</div>\n{too_long}</div>\n",
                    )

    def page(self, side: str, sheet: int, cells: Iterable[_Cell]) -> str:
        return "".join(
            [
                f'<section class="page {side}" aria-label="Sheet {sheet} of {self.sheets}, '
                f'{side}s">\n',
                self.cuts[side],
                '<div class="grid">\n',
                *chain.from_iterable(cells),
                f'</div>\n<div class="footer">{self.name} · sheet {sheet} of {self.sheets} '
                f"· {side}s</div>\n</section>",
            ]
        )

    def card(
        self,
        number: str,
        card: Card,
        front: Face,
        question: str,
        back: Face,
        answer: str,
        notes: str,
    ) -> tuple[_Cell, _Cell]:
        """The front and the back of a printed card, set as fitted: the HTML of the question,
        and of the answer with the markup of the notes under it."""
        label = self.labels.get(card.topic_title)
        if label is None:
            title = card.topic_title
            label = self.labels[title] = (
                '</span><span class="dot"></span><span class="topic">'
                f"{_escape(title)}</span></div>\n"
                if title
                else "</span></div>\n"
            )
        front_start, back_start = self.starts[self.accents.get(card.topic, 0)]
        body, _, end = self.bodies[front]
        _, back_body, back_end = self.bodies[back]
        return (
            (front_start, number, label, body, question, "</div>\n", end),
            (back_start, number, label, back_body, answer, "</div>\n", notes, back_end),
        )


class _SheetMarkup:
    """The pages of the sheet layout."""

    def __init__(
        self, deck: Deck, rows: _Rows, fields: _Fields, topics: Sequence[_Topic], pages: int
    ) -> None:
        self.cards = deck.cards
        self.rows = rows
        self.fields = fields
        self.topics = topics
        self.pages = pages
        self.name = _escape(deck.name)
        description = fields(deck.description)[0] if deck.description else ""
        self.title = (
            f'<div class="title">\n<h1>{self.name}</h1>\n'
            + (f'<div class="description">{description}</div>\n' if description else "")
            + f'<p class="hint">{_escape(FOLD_HINT)}</p>\n</div>\n'
        )
        # The start of a row, by type size and accent.
        self.starts = [
            [
                f'<div class="row fs{size} accent{accent}">\n<div class="q"><span class="no">'
                for accent in range(len(ACCENTS))
            ]
            for size in range(len(SHEET_SIZES))
        ]

    def page(self, number: int, runs: Sequence[_Run]) -> str:
        out = [
            f'<section class="page" aria-label="Page {number} of {self.pages}">\n'
            '<div class="content">\n',
            self.title if number == 1 else "",
            '<div class="table">\n<i class="fold"></i>\n'
            '<div class="heads"><div class="q">Question</div><div class="a">Answer</div></div>\n',
        ]
        row = self.row
        for topic, start, stop in runs:
            title, accent, members = self.topics[topic]
            if title:
                cont = '<span class="cont"> (continued)</span>' if start else ""
                out.append(f'<h2 class="topic accent{accent}">{_escape(title)}{cont}</h2>\n')
            out += [row(index, accent) for index in members[start:stop]]
        out.append(
            f'</div>\n</div>\n<div class="footer"><span class="deck">{self.name}</span>'
            f'<span class="pageno">page {number} of {self.pages}</span></div>\n</section>'
        )
        return "".join(out)

    def row(self, index: int, accent: int) -> str:
        """A card's row: its fields as the cards export made them ready, or made ready again."""
        rows = self.rows
        card = self.cards[index]
        if not rows.verbatim[index]:
            (question, _), (answer, _), notes, _ = _sides(card, self.fields)
            below = _notes_markup(notes)
        else:
            if card.kind is Kind.CLOZE:
                question, answer, _, _ = _cloze_sides(card.front)
            else:
                question, answer = card.front, card.back
            below = f'<div class="extra">{card.extra}</div>\n' if card.extra else ""
            if card.source:
                below += f'<div class="source">{card.source}</div>\n'
        too_long = (
            '<div class="too-long">too long for one page: text may be cut off</div>\n'
            if rows.overflow[index]
            else ""
        )
        return (
            f'{self.starts[rows.size[index]][accent]}{index + 1}</span><div class="text">\n'
            f'<div class="question">{question}</div>\n</div></div>\n<div class="a">\n'
            f'<div class="answer">{answer}</div>\n{below}{too_long}</div>\n</div>\n'
        )


# -- card fields -----------------------------------------------------------------------------

_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
_IMG_SRC = re.compile(r'(<img(?:\s+[a-z-]+="[^"]*")*?\s+src=")([^"]*)(")')
_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


def _cloze_front(fragment: str) -> str:
    return _cloze_sides(fragment)[0]


def _cloze_back(fragment: str) -> str:
    return _cloze_sides(fragment)[1]


def _cloze_sides(fragment: str) -> tuple[str, str, str, str]:
    """The front of a cloze note (each deletion a blank, or its hint) and its back (each
    deletion filled in), and the text of each without the spans put in: for a note with no
    markup of its own, that is what they measure as."""
    pieces = _CLOZE.split(fragment)  # text, then for each deletion: number, answer, hint, text
    front, back = [pieces[0]], [pieces[0]]
    front_text, back_text = [pieces[0]], [pieces[0]]
    for index in range(2, len(pieces), 4):
        answer, hint, text = pieces[index : index + 3]
        blank = f"[{hint}]" if hint else BLANK
        front += ('<span class="cp-blank">', blank, "</span>", text)
        back += ('<span class="cp-fill">', answer, "</span>", text)
        front_text += (blank, text)
        back_text += (answer, text)
    return "".join(front), "".join(back), "".join(front_text), "".join(back_text)


class _Fields:
    """Makes card fields ready for the page: checked (or cleaned), images inlined, measured.

    A field that passes the check comes back as the very same string.
    """

    def __init__(self, images: Mapping[str, str]) -> None:
        self.images = images
        # Fields with markup repeat (a formula, a template's lines) and take longest to read:
        # each is read once while it is remembered, with its HTML if that is not the field's
        # own (None if it is). Plain text is read again: remembering it costs more.
        self.seen: dict[str, tuple[str | None, _Measured]] = {}

    def __call__(self, fragment: str) -> tuple[str, _Measured]:
        if not _MARKUP_CHARS.search(fragment):
            return fragment, _paragraph(fragment)  # plain text, as most fields are
        seen = self.seen.get(fragment)
        if seen is not None:
            html, measured = seen
            return fragment if html is None else html, measured
        html, measured = self.read(fragment)
        if len(self.seen) >= _SEEN_LIMIT:
            self.seen.clear()  # a bound on memory; the common fields come back soon enough
        self.seen[fragment] = (None if html is fragment else html, measured)
        return html, measured

    def read(self, fragment: str) -> tuple[str, _Measured]:
        """A field with markup (or any of the characters it escapes), checked or cleaned."""
        measured = _scan(fragment, strict=True)
        if measured is None:
            fragment = _clean(fragment)
            measured = _scan(fragment, strict=False)
            assert measured is not None
        if "<img" in fragment:
            fragment = _inline_images(fragment, self.images)
        return fragment, measured


_SEEN_LIMIT = 1 << 10


def _clean(fragment: str) -> str:
    """nh3's cleaning with the allow-list of render.py, plus the two cloze classes."""
    import nh3  # only for fields that fail the check: cloze rewrites that cut through markup

    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        allowed_classes={"span": {"cp-blank", "cp-fill"}},
    )


def _inline_images(fragment: str, images: Mapping[str, str]) -> str:
    def inline(m: re.Match[str]) -> str:
        return m.group(1) + images.get(html_lib.unescape(m.group(2)), "") + m.group(3)

    return _IMG_SRC.sub(inline, fragment)


def _data_uris(deck: Deck) -> dict[str, str]:
    uris = {}
    for item in deck.media:
        mime = _MIME.get(Path(item.name).suffix.lower(), "application/octet-stream")
        data = base64.b64encode(item.path.read_bytes()).decode("ascii")
        uris[item.name] = f"data:{mime};base64,{data}"
    return uris


def _accents(deck: Deck) -> dict[str, int]:
    """The accent colour of each topic: the deck's topics in their order, then any other in the
    order of its first card."""
    topics = [key for key, _ in deck.topics]
    topics += filter(None, map(attrgetter("topic"), deck.cards))
    return {key: index % len(ACCENTS) for index, key in enumerate(dict.fromkeys(topics))}


# -- reading a field -------------------------------------------------------------------------
# One pass over a fragment's tags and text both checks it and splits it into the blocks the
# browser stacks (paragraphs, list items, lines broken with <br>, images, rules), each with the
# widths of its words measured once; fitting then only adds numbers.

_ATTRIBUTE = re.compile(r' ([a-z]+)="([^"]*)"')
# What nh3 would write otherwise: in text "<", ">", "&" and no-break spaces are character
# references, and only they; carriage returns become line feeds, and NULs go.
_UNCLEAN_TEXT = re.compile(r"[<>\r\0\xa0]|&(?!(?:amp|lt|gt|nbsp);)")
# In attribute values the double quote is one too.
_UNCLEAN_VALUE = re.compile(r"[<>\r\0\xa0]|&(?!(?:amp|lt|gt|nbsp|quot);)")
# Plain text has none of these: nothing to check or to unescape.
_MARKUP_CHARS = re.compile(r"[<>&\r\0\xa0]")
_HREF = re.compile(r"([a-z]+):")
_VOID = frozenset({"br", "hr", "img"})
_ALLOWED = {
    **{tag: frozenset(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    "a": frozenset({*ALLOWED_ATTRIBUTES["a"], "rel"}),
    "span": frozenset({"class"}),
}
_LINK_REL = "noopener noreferrer"
_CLOZE_CLASSES = frozenset({"cp-blank", "cp-fill"})

_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "blockquote", "pre", "table",
     "thead", "tbody", "tr"}
)  # fmt: skip
_BREAKS = _BLOCK_TAGS | {"br", "hr", "img"}
_MONO_TAGS = frozenset({"code", "kbd", "pre"})
_INDENTS = {"ul": 1.3, "ol": 1.3, "blockquote": 1.0}  # em: a list's or a quote's left indent

_BLOCK_GAP = 0.3  # em between paragraphs, list items and lines broken with <br>
_IMAGE_MARGIN = 0.3  # em above and below an image

_TEXT, _IMAGE, _RULE = 0, 1, 2


class _Block(NamedTuple):
    """A block of a fragment, measured; widths in em of the type it is set in."""

    kind: int  # _TEXT, _IMAGE or _RULE
    indent: float = 0.0
    pre: bool = False
    # The widths of the words of each paragraph: one, or one per line in <pre>.
    words: tuple[tuple[float, ...], ...] = ()


class _Measured:
    """How a fragment measures, for any width.

    Most fragments break no line at the widths they get: a paragraph or two of text, a short
    list. ``widest`` is a bound, a hair above, of the width in em a fragment needs for that
    (its widest line's, indent included), and ``lines`` and ``one_line_height`` are its lines
    and its height in em then; in a narrower box it is wrapped word by word. A simple fragment
    (each block one unindented paragraph, as most fields are) keeps the widths of the words of
    each paragraph; any other (lists, quotes, code, images) its blocks. A fragment with an
    image has no bound (``widest`` is infinite): its height depends on the type size.
    """

    __slots__ = ("blocks", "lines", "one_line_height", "paragraphs", "structured", "widest")

    def __init__(
        self,
        widest: float,
        one_line_height: float,
        lines: int,
        structured: bool,
        blocks: tuple[_Block, ...] = (),
        paragraphs: tuple[tuple[float, ...], ...] = (),
    ) -> None:
        self.widest = widest
        self.one_line_height = one_line_height
        self.lines = lines
        self.structured = structured  # set left-aligned: lists, quotes, code, > 2 blocks
        self.blocks = blocks  # when not simple
        self.paragraphs = paragraphs  # when simple: the widths of each one's words

    def lines_and_height(self, metric: _Metrics) -> tuple[int, float]:
        """Lines of text, and height in em, set in a role at a size."""
        if self.blocks:
            return _lines_and_height(self.blocks, metric.width, metric.image)
        line = metric.line  # an unindented paragraph's usable width, as _block_lines has it
        lines, total = 0, 0.0
        for index, words in enumerate(self.paragraphs):
            if index:
                total += _BLOCK_GAP
            count = _wrap(words, line)
            lines += count
            total += count * LINE_HEIGHT
        return lines, total

    def most_lines(self, line: float) -> int:
        """At most how many lines a fragment of one paragraph wraps to at ``line`` em, found
        without wrapping it; 0 for any other fragment, or one with a word longer than that.

        Greedy wrapping breaks before a word only if the line so far, a space and the word
        overrun the line, so any two lines in a row hold more than ``line - _SPACE`` between
        them (no word being broken). n lines make n // 2 such pairs, and together they hold
        no more than the paragraph's width, so n // 2 < widest / (line - _SPACE): ``widest``
        is above that width by far more than rounding can take off it.
        """
        if self.blocks or len(self.paragraphs) != 1:
            return 0
        if max(self.paragraphs[0]) > line:
            return 0
        return 2 * math.ceil(self.widest / (line - _SPACE)) - 1


def _measured_blocks(blocks: tuple[_Block, ...], structured: bool, image: bool) -> _Measured:
    """A fragment that is not simple, measured: with no line broken, each paragraph of a text
    block (each line of a <pre>) is one line, added up as _lines_and_height adds them.

    A paragraph within its block's usable width (``width / _WIDTH_SAFETY - indent``, at least
    an em) is one line for _wrap (see _widest), so the bound is the widest paragraph's width
    plus its indent; as the line width it is compared with is at least an em, a block whose
    usable width is that em keeps its paragraphs on one line too. An image's height depends
    on the type size: a fragment with ``image`` is measured afresh at every size.
    """
    if image:
        return _Measured(math.inf, 0.0, 0, structured, blocks)
    widest = 0.0
    lines = 0
    height = 0.0
    for index, block in enumerate(blocks):
        if index:
            height += _BLOCK_GAP
        if block.kind == _RULE:
            height += 1.0
        else:
            widest = max(widest, max(map(_widest, block.words)) + block.indent)
            count = len(block.words)
            lines += count
            height += count * LINE_HEIGHT
    return _Measured(widest, height, lines, structured, blocks)


_IMAGE_BLOCK = _Block(_IMAGE)
_RULE_BLOCK = _Block(_RULE)
_NOTHING = _Measured(0.0, 0.0, 0, False)


def _paragraph(text: str) -> _Measured:
    """A fragment that is one paragraph of plain text (most card fields are)."""
    words = tuple(map(_word_width, text.split()))
    if not words:
        return _NOTHING
    widest = (sum(words) + _SPACE * (len(words) - 1)) * _BOUND  # _widest, inline
    return _Measured(widest, LINE_HEIGHT, 1, False, (), (words,))


def _widest(words: tuple[float, ...]) -> float:
    """The width of words set on one line, or a hair more: a bound from above.

    _wrap adds the same numbers in another order; rounding makes the sums differ in the last
    few bits (about 1e-16 per word), far below the margin, so a paragraph within this width
    is one line for _wrap too. One that is not goes to _wrap, which decides exactly.
    """
    return (sum(words) + _SPACE * (len(words) - 1)) * _BOUND


_BOUND = 1 + 1e-6


def _scan(fragment: str, *, strict: bool) -> _Measured | None:
    """The measured blocks of ``fragment``; with ``strict``, None unless it passes the check.

    The blocks are those the browser stacks, split as html.parser would split them. The check
    accepts only what nh3 writes with render.py's allow-list and would write again: allowed
    tags and attributes, balanced, nothing the HTML parser would move (see _allowed), the two
    cloze classes on spans, absolute links with an allowed scheme and the rel nh3 gives them,
    and text escaped as nh3 escapes it.

    Fields share a few shapes (``<em>…</em>``, a list, a line break), so the tags are read once
    per shape, into a plan that says which runs of text make each block.
    """
    if "<" not in fragment:
        if strict and _UNCLEAN_TEXT.search(fragment):
            return None
        return _paragraph(html_lib.unescape(fragment) if "&" in fragment else fragment)
    pieces = _TAG.split(fragment)
    texts = pieces[::2]
    tags = tuple(pieces[1::2])
    plan = _PLANS.get(tags)
    if plan is None:
        if len(_PLANS) >= _PLANS_LIMIT:
            _PLANS.clear()
        plan = _PLANS[tags] = _plan(tags)
    # The runs of text separated, so that no character reference is made of two.
    if strict and (
        not plan.valid
        or _UNCLEAN_TEXT.search("\x01".join(texts))
        or (plan.after_pre and any(texts[run].startswith("\n") for run in plan.after_pre))
    ):
        return None
    if plan.inline:  # emphasis, links, cloze blanks: one paragraph, as plain text is
        text = "".join(texts)
        return _paragraph(html_lib.unescape(text) if "&" in text else text)
    texts.append("   ")  # what a table cell adds: index -1 in a plan
    if plan.paragraphs:  # paragraphs, lines broken with <br>: simple, whatever the text
        found = []
        widest = 0.0
        for mono, runs in plan.paragraphs:
            text = texts[runs[0]] if len(runs) == 1 else "".join(map(texts.__getitem__, runs))
            if not text or text.isspace():
                continue  # the white space between blocks, as a rule
            if "&" in text:
                text = html_lib.unescape(text)
            words = tuple(map(_mono_width if mono else _word_width, text.split()))
            if words:
                found.append(words)
                widest = max(widest, _widest(words))
        count = len(found)
        return _Measured(widest, _one_line_height(count), count, count > 2, (), tuple(found))
    blocks: list[_Block] = []
    simple = True  # each block one unindented paragraph of text
    indented = image = False  # a block indented or in <pre>; an image
    for kind, indent, mono, pre, runs in plan.blocks:
        if kind != _TEXT:
            blocks.append(_IMAGE_BLOCK if kind == _IMAGE else _RULE_BLOCK)
            simple = False
            image = image or kind == _IMAGE
            continue
        text = texts[runs[0]] if len(runs) == 1 else "".join(map(texts.__getitem__, runs))
        if not text or text.isspace():
            continue  # the white space between blocks, as a rule
        if "&" in text:
            text = html_lib.unescape(text)
        measure = _mono_width if mono else _word_width
        if pre:
            if not text.strip():
                continue
            lines = tuple(tuple(map(measure, line.split())) for line in text.split("\n"))
            blocks.append(_Block(_TEXT, indent, True, lines))
            simple = False
            indented = True
        else:
            words = tuple(map(measure, text.split()))
            if not words:
                continue
            blocks.append(_Block(_TEXT, indent, False, (words,)))
            if indent:
                simple = False
                indented = True
    structured = len(blocks) > 2 or indented
    if not simple:
        return _measured_blocks(tuple(blocks), structured, image)
    paragraphs = tuple(block.words[0] for block in blocks)
    widest = max(map(_widest, paragraphs), default=0.0)
    return _Measured(widest, _one_line_height(len(blocks)), len(blocks), structured, (), paragraphs)


@cache
def _one_line_height(blocks: int) -> float:
    """Height in em of ``blocks`` paragraphs of one line each (added up as
    _lines_and_height adds)."""
    height = 0.0
    for index in range(blocks):
        if index:
            height += _BLOCK_GAP
        height += 1 * LINE_HEIGHT
    return height


class _Plan(NamedTuple):
    """How the tags of a fragment split its text into blocks, and whether they pass the check.

    Each block is (kind, indent, mono, pre, runs): ``runs`` index the runs of text between
    the tags that make a text block (-1 for the spaces a table cell adds).
    """

    valid: bool
    blocks: tuple[tuple[int, float, bool, bool, tuple[int, ...]], ...]
    inline: bool  # one unindented block of all the text, in proportional type
    after_pre: tuple[int, ...]  # runs right after a <pre>: a line feed there would be dropped
    # When every block is unindented text, not in <pre>: (mono, runs) of each, else empty.
    paragraphs: tuple[tuple[bool, tuple[int, ...]], ...]


# A start or end tag as the sanitiser writes it: lower case, one space before each attribute,
# double-quoted values. Anything else is text (and a "<" in text fails the check). Possessive
# quantifiers: no part of a tag can match what follows it, so there is nothing to backtrack.
_TAG = re.compile(r'(</?[a-z][a-z0-9]*+(?: [a-z]++="[^"]*+")*+>)')
_TAG_PARTS = re.compile(r'<(/?)([a-z][a-z0-9]*)((?: [a-z]+="[^"]*")*)>')
_PLANS: dict[tuple[str, ...], _Plan] = {}
_PLANS_LIMIT = 4096


def _plan(tags: tuple[str, ...]) -> _Plan:
    """The plan for a fragment with these tags; the same steps html.parser's events would take."""
    blocks: list[tuple[int, float, bool, bool, tuple[int, ...]]] = []
    runs: list[int] = [0]
    stack: list[str] = []
    valid = True
    indent = 0.0
    mono = pre = 0
    had_mono = False
    after_pre: list[int] = []
    for index, text in enumerate(tags, start=1):
        match = _TAG_PARTS.fullmatch(text)
        assert match is not None  # _TAG matched it
        end, tag, attributes = match.groups()
        valid = valid and _allowed(tag, end, attributes, stack)
        if tag in _BREAKS and not (end and tag in _VOID):
            if runs:
                blocks.append((_TEXT, indent, had_mono, pre > 0, tuple(runs)))
                runs = []
            had_mono = mono > 0
        if end:
            if tag in _INDENTS:
                indent = max(0.0, indent - _INDENTS[tag])
            elif tag == "pre":
                pre = max(0, pre - 1)
            if tag in _MONO_TAGS:
                mono = max(0, mono - 1)
        else:
            if tag in _INDENTS:
                indent += _INDENTS[tag]
            elif tag == "pre":
                pre += 1
                after_pre.append(index)
            elif tag == "img":
                blocks.append((_IMAGE, 0.0, False, False, ()))
            elif tag == "hr":
                blocks.append((_RULE, 0.0, False, False, ()))
            elif tag == "td" or tag == "th":
                runs.append(-1)
            if tag in _MONO_TAGS:
                mono += 1
                had_mono = True
        runs.append(index)
    blocks.append((_TEXT, indent, had_mono, pre > 0, tuple(runs)))
    inline = blocks == [(_TEXT, 0.0, False, False, tuple(range(len(tags) + 1)))]
    paragraphs = tuple(
        (mono, runs)
        for kind, indent, mono, pre, runs in blocks
        if kind == _TEXT and not indent and not pre
    )
    if len(paragraphs) < len(blocks):
        paragraphs = ()
    return _Plan(valid and not stack, tuple(blocks), inline, tuple(after_pre), paragraphs)


def _allowed(tag: str, end: str, attributes: str, stack: list[str]) -> bool:
    """Whether a tag passes the check; keeps ``stack`` of the open elements.

    Besides the allow-list: tags the HTML parser would move or close by itself are left to nh3
    (a block in a paragraph, a heading in a heading, an item in an item, a link in a link,
    tables), so a fragment that passes reads the same whether it is cleaned again or not.
    """
    if tag not in ALLOWED_TAGS:
        return False
    if end:
        return not attributes and bool(stack) and stack.pop() == tag
    if (
        tag in _TABLE_TAGS
        or (tag in _CLOSES_P and "p" in stack)
        or (tag in _HEADINGS and stack and stack[-1] in _HEADINGS)
        or (tag == "a" and "a" in stack)
        or (tag == "li" and _open_item(stack))
    ):
        return False
    if tag not in _VOID:
        stack.append(tag)
    if not attributes:
        return tag != "a"  # nh3 gives every link its rel
    names = _ALLOWED.get(tag, frozenset())
    found = _ATTRIBUTE.findall(attributes)
    for name, value in found:
        if name not in names or _UNCLEAN_VALUE.search(value):
            return False
        if name == "href":
            scheme = _HREF.match(value)
            if scheme is None or scheme.group(1) not in URL_SCHEMES:
                return False
        elif (name == "class" and value not in _CLOZE_CLASSES) or (
            name == "rel" and value != _LINK_REL
        ):
            return False
    # nh3 puts a link's rel last, and nothing has a name twice.
    return (tag != "a" or found[-1][0] == "rel") and len({n for n, _ in found}) == len(found)


def _open_item(stack: list[str]) -> bool:
    """Whether a new list item would close one that is open (the parser's steps for <li>)."""
    for node in reversed(stack):
        if node == "li":
            return True
        if node in _SPECIAL:
            return False
    return False


_TABLE_TAGS = frozenset({"table", "thead", "tbody", "tr", "td", "th"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
_CLOSES_P = _HEADINGS | {"blockquote", "div", "hr", "li", "ol", "p", "pre", "table", "ul"}
# The parser's "special" elements among the allowed, less div and p.
_SPECIAL = _HEADINGS | _TABLE_TAGS | {"blockquote", "br", "hr", "img", "ol", "pre", "ul"}


# -- fitting ---------------------------------------------------------------------------------


class _Metrics(NamedTuple):
    """One role at one type size: its em (mm), and in that em the box's width, the width a
    line of unindented text may take, the height of an image and the gap above the part."""

    em: float
    width: float
    line: float
    image: float
    gap: float


class _Fitter:
    """Fits parts into a box of ``width`` x ``height`` mm at the largest of ``sizes`` (pt)."""

    def __init__(self, width: float, height: float, sizes: Sequence[float], image: float) -> None:
        self.limit = height
        self.metrics: list[dict[str, _Metrics]] = []
        for pt in sizes:
            by_role = {}
            for name, role in _ROLES.items():
                em = pt * _PT * role.scale
                line = max(width / em / _WIDTH_SAFETY, 1.0)
                by_role[name] = _Metrics(em, width / em, line, image / em, role.gap * em)
            self.metrics.append(by_role)

        # The outcomes, made once: at each size, set centred or left; and too long for any.
        self.faces = [
            (Face(size, False, False), Face(size, True, False)) for size in range(len(sizes))
        ]
        self.too_long = Face(len(sizes) - 1, True, True)

    def fit(self, parts: Sequence[Part]) -> Face:
        """The largest type size at which ``parts`` fit the box."""
        role, _, main = parts[0]
        return self.fit_side(role, main, parts[1:])

    def fit_side(self, role: str, main: _Measured, notes: Sequence[Part] = ()) -> Face:
        """The largest type size at which a side fits the box: its main part, set in ``role``,
        and the notes under it (what ``fit`` does, without a tuple of the parts)."""
        # Most sides fit at the largest size, each part set unbroken or wrapped to a few lines.
        # A wrapped part's lines can be bounded without wrapping it (_Measured.most_lines), and
        # heights only grow with lines, rounding included: a side that fits with the bounds
        # fits, and with five lines at most its main part is set centred unless structured.
        # Anything else is fitted exactly, size by size, below.
        metrics = self.metrics[0]
        metric = metrics[role]
        if main.widest <= metric.line:
            lines = main.lines
            height = main.one_line_height
        else:
            lines = main.most_lines(metric.line)
            height = lines * LINE_HEIGHT if 0 < lines <= 5 else -1.0
        if height >= 0:
            total = height * metric.em
            for note_role, _, measured in notes:
                metric = metrics[note_role]
                total += metric.gap
                if measured.widest <= metric.line:  # _height, inline
                    total += measured.one_line_height * metric.em
                elif most := measured.most_lines(metric.line):
                    total += most * LINE_HEIGHT * metric.em
                else:
                    total += measured.lines_and_height(metric)[1] * metric.em
            if total * _HEIGHT_SAFETY <= self.limit:
                return self.faces[0][main.structured or lines > 5]
        for size, metrics in enumerate(self.metrics):
            metric = metrics[role]
            if main.widest <= metric.line:  # no line wraps, as is usual
                lines = main.lines
                total = main.one_line_height * metric.em
            else:
                lines, height = main.lines_and_height(metric)
                total = height * metric.em
            for note_role, _, measured in notes:
                metric = metrics[note_role]
                total += metric.gap
                if measured.widest <= metric.line:  # _height, inline
                    total += measured.one_line_height * metric.em
                else:
                    total += measured.lines_and_height(metric)[1] * metric.em
            if total * _HEIGHT_SAFETY <= self.limit:
                return self.faces[size][main.structured or lines > 5]
        return self.too_long

    def height(self, parts: Sequence[Part], size: int) -> float:
        """Estimated height (mm) of ``parts`` at the type size ``size``."""
        metrics = self.metrics[size]
        total = 0.0
        for index, (role, _, measured) in enumerate(parts):
            metric = metrics[role]
            if index:
                total += metric.gap
            total += _height(measured, metric) * metric.em
        return total


def _height(measured: _Measured, metric: _Metrics) -> float:
    """Height in em of a fragment set in a role at a size."""
    if measured.widest <= metric.line:
        return measured.one_line_height
    return measured.lines_and_height(metric)[1]


def _lines_and_height(blocks: Sequence[_Block], width: float, image: float) -> tuple[int, float]:
    """Lines of text, and height in em, of blocks set ``width`` em wide; images are ``image``
    em tall."""
    lines = 0
    total = 0.0
    for index, block in enumerate(blocks):
        if index:
            total += _BLOCK_GAP
        if block.kind == _IMAGE:
            total += image + 2 * _IMAGE_MARGIN
        elif block.kind == _RULE:
            total += 1.0
        else:
            count = _block_lines(block, width)
            lines += count
            total += count * LINE_HEIGHT
    return lines, total


def _block_lines(block: _Block, width: float) -> int:
    """Lines a text block wraps to in ``width`` em (greedy at spaces, anywhere inside words)."""
    usable = max(width / _WIDTH_SAFETY - block.indent, 1.0)
    return sum(_wrap(words, usable) for words in block.words)


def _wrap(words: Sequence[float], width: float) -> int:
    """Lines that words of these widths take, wrapped greedily at ``width``."""
    space = _SPACE
    # overflow-wrap: anywhere breaks a word longer than the line between any two letters; the
    # part carried over loses about a letter's width (never less than half an em, so a line
    # squeezed to 1 em by deep indentation still ends).
    carry = max(width - 1.0, 0.5)
    lines, current = 0, -1.0
    for size in words:
        if current >= 0 and current + space + size <= width:
            current += space + size
            continue
        if current >= 0:
            lines += 1
        while size > width:
            lines += 1
            size -= carry
        current = size
    return lines + 1


# Advance widths (1/1000 em) of ASCII 32-126: the larger of Arial (Liberation Sans) regular
# and bold, so bold text is covered too.
_ASCII_WIDTHS = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    1015, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
)  # fmt: skip


def _char_width(char: str) -> float:
    code = ord(char)
    if 32 <= code <= 126:
        return _ASCII_WIDTHS[code - 32] / 1000
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0.0
    base = unicodedata.normalize("NFD", char)[0]
    if base != char and 32 <= ord(base) <= 126:
        return _ASCII_WIDTHS[ord(base) - 32] / 1000
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.25 if code >= 0x1F000 or unicodedata.category(char) == "So" else 1.0
    if unicodedata.category(char) == "So":
        return 1.25
    if unicodedata.category(char) == "Pd" or char == "…":
        return 1.0
    return 0.8 if char.isupper() else 0.65


_SPACE = _char_width(" ")


class _Chars(dict[str, float]):
    """Widths of characters, worked out once and then looked up."""

    def __init__(self, width: Callable[[str], float]) -> None:
        super().__init__()
        self.width = width

    def __missing__(self, char: str) -> float:
        width = self[char] = self.width(char)
        return width


class _Words(dict[str, float]):
    """Widths of words, summed from their characters' once and then looked up."""

    def __init__(self, chars: _Chars, limit: int) -> None:
        super().__init__()
        self.char = chars.__getitem__
        self.limit = limit

    def __missing__(self, word: str) -> float:
        if len(self) >= self.limit:
            self.clear()  # a bound on memory; the common words come back soon enough
        width = self[word] = sum(map(self.char, word))
        return width


_CHARS = _Chars(_char_width)


_MONO_CHARS = _Chars(lambda char: max(_char_width(char), 0.61))
# 16,384 words take 2 MB or so; four times as many are no faster at 100,000 cards.
_word_width = _Words(_CHARS, 1 << 14).__getitem__
_mono_width = _Words(_MONO_CHARS, 1 << 12).__getitem__


# -- templates -------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # deferred: the command line imports this module for its option names

    return jinja2.Environment(
        loader=jinja2.PackageLoader("cardpress.export", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


def _mm(value: float) -> str:
    """A length for CSS; three decimals are a micrometre, enough for any printer."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text}mm"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


__all__ = ["DUPLEX_MODES", "LAYOUTS", "PAPERS", "Paper", "write_html"]
