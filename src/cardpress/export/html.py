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

Card fields are sanitised HTML already (render.py). They are cleaned once more after the cloze
markup is rewritten, and images are inlined as data URIs: the file is self-contained, and its
Content-Security-Policy allows no script, no network and no external resource at all.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import nh3

from cardpress.errors import Diagnostic, Severity
from cardpress.export import ExportSummary
from cardpress.model import Card, Deck, Kind
from cardpress.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES

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


@dataclass(frozen=True)
class Part:
    """One part of a card side; ``html`` is sanitised, the template marks it safe."""

    role: str
    html: str


@dataclass(frozen=True)
class Face:
    """One side of a printed card (or one column of a study-sheet row), fitted."""

    parts: tuple[Part, ...]
    size: int  # index into the type sizes
    left: bool  # long or structured text reads better left-aligned than centred
    overflow: bool  # does not fit even at the smallest size


@dataclass(frozen=True)
class PrintCard:
    """One cut-out card: a number and topic on both sides, a question and an answer."""

    number: str
    topic: str
    accent: int
    card: Card
    front: Face
    back: Face


@dataclass(frozen=True)
class CardPage:
    """One page of the cards layout: a side of one sheet, cells in row-major order."""

    side: str
    sheet: int
    cells: tuple[PrintCard | None, ...]


@dataclass(frozen=True)
class CutLine:
    """A dashed cut line across the grid or a solid crop mark in the margin."""

    x: float
    y: float
    length: float
    vertical: bool
    mark: bool

    @property
    def style(self) -> str:
        size = "height" if self.vertical else "width"
        return f"left:{_mm(self.x)};top:{_mm(self.y)};{size}:{_mm(self.length)}"


@dataclass(frozen=True)
class SheetRow:
    """One row of the study sheet: the question left of the fold, the answer right of it."""

    number: str
    card: Card
    question: Face
    answer: Face
    size: int
    height: float


@dataclass(frozen=True)
class SheetItem:
    """A topic heading or a row on a study-sheet page."""

    heading: str | None
    continued: bool
    accent: int
    row: SheetRow | None


@dataclass(frozen=True)
class SheetPage:
    """One page of the study sheet."""

    number: int
    items: tuple[SheetItem, ...]


def write_html(
    deck: Deck, path: Path, *, layout: str, paper: str = "a4", duplex: str = "long"
) -> ExportSummary:
    """Write ``deck`` as printable, self-contained HTML to ``path``.

    ``layout`` is ``cards`` (cut-out flashcards, fronts and backs on alternate pages) or
    ``sheet`` (a study sheet to fold in half); ``paper`` is ``a4`` or ``letter``; ``duplex``
    (cards only) is ``long``, ``short`` or ``none`` and says where each back goes.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; expected one of {', '.join(PAPERS)}")
    if duplex not in DUPLEX_MODES:
        raise ValueError(f"unknown duplex {duplex!r}; expected one of {', '.join(DUPLEX_MODES)}")
    sheet_paper = PAPERS[paper]
    images = _data_uris(deck)
    if layout == "cards":
        text, summary = _cards_document(deck, sheet_paper, duplex, images)
    else:
        text, summary = _sheet_document(deck, sheet_paper, images)
    path.write_text(text, encoding="utf-8", newline="\n")
    return summary


# -- the cards layout ------------------------------------------------------------------------


def _card_box(paper: Paper) -> tuple[float, float]:
    """Width and height (mm) of the text area of a card side."""
    return (
        paper.card_width - 2 * CARD_PAD_X,
        paper.card_height - 2 * CARD_PAD_Y - CARD_LABEL_BAND,
    )


def _print_cards(deck: Deck, paper: Paper, images: Mapping[str, str]) -> list[PrintCard]:
    """The cut-out cards of a deck, in authored order: one per card, two per reversed card."""
    accents = _accents(deck)
    width, height = _card_box(paper)
    out: list[PrintCard] = []
    for position, card in enumerate(deck.cards, start=1):
        for number, question, answer in _directions(card, position):
            front_parts = (Part("question", _field(question, images)),)
            back_parts = _answer_parts(card, answer, images)
            out.append(
                PrintCard(
                    number=number,
                    topic=card.topic_title,
                    accent=accents.get(card.topic, 0),
                    card=card,
                    front=_fit(front_parts, width, height, CARD_SIZES, CARD_IMAGE_HEIGHT),
                    back=_fit(back_parts, width, height, CARD_SIZES, CARD_IMAGE_HEIGHT),
                )
            )
    return out


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


def _card_pages(cards: Sequence[PrintCard], paper: Paper, duplex: str) -> list[CardPage]:
    """Front and back pages, sheet by sheet; the last sheet keeps its empty cells."""
    pages: list[CardPage] = []
    per_sheet = paper.per_sheet
    for sheet, start in enumerate(range(0, len(cards), per_sheet), start=1):
        chunk = list(cards[start : start + per_sheet])
        fronts: list[PrintCard | None] = [*chunk, *[None] * (per_sheet - len(chunk))]
        backs: list[PrintCard | None] = [None] * per_sheet
        for index, card in enumerate(fronts):
            backs[_back_cell(paper, duplex, index)] = card
        pages.append(CardPage("front", sheet, tuple(fronts)))
        pages.append(CardPage("back", sheet, tuple(backs)))
    return pages


def _directions(card: Card, position: int) -> list[tuple[str, str, str]]:
    """(number, question HTML, answer HTML) of each printed card a note makes."""
    if card.kind is Kind.CLOZE:
        return [(str(position), _cloze_front(card.front), _cloze_back(card.front))]
    directions = [(str(position), card.front, card.back)]
    if card.kind is Kind.REVERSED:
        directions.append((f"{position}R", card.back, card.front))
    return directions


def _answer_parts(card: Card, answer: str, images: Mapping[str, str]) -> tuple[Part, ...]:
    parts = [Part("answer", _field(answer, images))]
    if card.extra:
        parts.append(Part("extra", _field(card.extra, images)))
    if card.source:
        parts.append(Part("source", _field(card.source, images)))
    return tuple(parts)


def _cut_lines(paper: Paper, *, dashed: bool) -> list[CutLine]:
    """Crop marks in the margins at every grid line and, with ``dashed``, the grid itself."""
    gap = 1.5
    left, top = paper.grid_left, paper.grid_top
    right = left + paper.columns * paper.card_width
    bottom = top + paper.rows * paper.card_height
    mark_x = min(left - gap - 2.5, 7.0)
    mark_y = min(top - gap - 2.5, 7.0)
    lines: list[CutLine] = []
    for column in range(paper.columns + 1):
        x = left + column * paper.card_width
        lines.append(CutLine(x, top - gap - mark_y, mark_y, True, True))
        lines.append(CutLine(x, bottom + gap, mark_y, True, True))
        if dashed:
            lines.append(CutLine(x, top, bottom - top, True, False))
    for row in range(paper.rows + 1):
        y = top + row * paper.card_height
        lines.append(CutLine(left - gap - mark_x, y, mark_x, False, True))
        lines.append(CutLine(right + gap, y, mark_x, False, True))
        if dashed:
            lines.append(CutLine(left, y, right - left, False, False))
    return lines


def _cards_document(
    deck: Deck, paper: Paper, duplex: str, images: Mapping[str, str]
) -> tuple[str, ExportSummary]:
    cards = _print_cards(deck, paper, images)
    pages = _card_pages(cards, paper, duplex)
    warnings = []
    for printed in cards:
        for side, face in (("question", printed.front), ("answer", printed.back)):
            if face.overflow:
                warnings.append(
                    Diagnostic(
                        printed.card.location,
                        Severity.WARNING,
                        f"card {printed.card.id!r}: the {side} of printed card #{printed.number} "
                        "does not fit on a card even at the smallest type and may be cut off; "
                        "shorten it or split the card",
                    )
                )
    width, height = _card_box(paper)
    text = _template("cards.html.j2").render(
        deck=deck,
        paper=paper,
        duplex=duplex,
        pages=pages,
        count=len(cards),
        sheets=len(pages) // 2,
        front_lines=_cut_lines(paper, dashed=True),
        back_lines=_cut_lines(paper, dashed=duplex == "none"),
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
    how = {"long": "long-edge duplex", "short": "short-edge duplex", "none": "single-sided"}
    summary = (
        f"{_plural(len(cards), 'printed card')} on {_plural(len(pages), 'page')} "
        f"({paper.name}, {how[duplex]})"
    )
    return text, ExportSummary(summary, tuple(warnings))


# -- the sheet layout ------------------------------------------------------------------------

_SHEET_TITLE_PT = 17.0
_SHEET_TEXT_PT = 9.5
_SHEET_HEAD = 6.5  # the QUESTION | ANSWER line at the top of each page
_SHEET_TOPIC = 9.5  # a topic heading with its space above and below
_SHEET_BORDER = 0.3


def _sheet_rows(deck: Deck, paper: Paper, images: Mapping[str, str]) -> list[SheetRow]:
    """One row per note (a reversed card is one row: fold either way), in authored order."""
    width = paper.column_width
    # A row and its topic heading always fit on a page of their own.
    limit = _sheet_body_height(paper) - _SHEET_TOPIC
    rows = []
    for position, card in enumerate(deck.cards, start=1):
        number, question, answer = _directions(card, position)[0]
        q_parts = (Part("question", _field(question, images)),)
        a_parts = _answer_parts(card, answer, images)
        size, overflow = len(SHEET_SIZES) - 1, True
        for index in range(len(SHEET_SIZES)):
            height = _row_height(q_parts, a_parts, width, index)
            if height <= limit:
                size, overflow = index, False
                break
        rows.append(
            SheetRow(
                number=number,
                card=card,
                question=Face(q_parts, size, True, overflow),
                answer=Face(a_parts, size, True, overflow),
                size=size,
                height=_row_height(q_parts, a_parts, width, size),
            )
        )
    return rows


def _sheet_pages(
    deck: Deck, rows: Sequence[SheetRow], paper: Paper, title_height: float
) -> list[SheetPage]:
    """Rows grouped by topic and packed onto pages; a heading never ends a page.

    ``title_height`` is the room the deck's title takes at the top of the first page.
    """
    accents = _accents(deck)
    order = {key: index for index, (key, _) in enumerate(deck.topics)}
    groups: dict[str, list[SheetRow]] = {}
    for row in sorted(rows, key=lambda r: order.get(r.card.topic, len(order))):
        groups.setdefault(row.card.topic, []).append(row)
    pages: list[list[SheetItem]] = [[]]
    full = _sheet_body_height(paper)
    room = full - title_height
    for topic, members in groups.items():
        title = members[0].card.topic_title
        accent = accents.get(topic, 0)
        for index, row in enumerate(members):
            heading = _SHEET_TOPIC if title and (index == 0 or not pages[-1]) else 0.0
            if heading + row.height > room and room < full:
                pages.append([])
                room = full
                heading = _SHEET_TOPIC if title else 0.0
            if heading:
                pages[-1].append(SheetItem(title, index > 0, accent, None))
                room -= heading
            pages[-1].append(SheetItem(None, False, accent, row))
            room -= row.height
    return [SheetPage(n, tuple(items)) for n, items in enumerate(pages, start=1)]


def _sheet_body_height(paper: Paper) -> float:
    """Room for topic headings and rows on a page (mm)."""
    return paper.height - 2 * paper.margin - _SHEET_HEAD


def _sheet_title_height(deck: Deck, paper: Paper) -> float:
    """Estimated height (mm) of the deck's title block on the first page."""
    width = paper.width - 2 * paper.margin
    title = _parts_height([Part("question", html_lib.escape(deck.name))], width, _SHEET_TITLE_PT, 0)
    intro = [Part("question", deck.description)] if deck.description else []
    intro.append(Part("question", FOLD_HINT))
    return (title + _parts_height(intro, width, _SHEET_TEXT_PT, 0)) * _HEIGHT_SAFETY + 6.0


def _row_height(q_parts: Sequence[Part], a_parts: Sequence[Part], width: float, size: int) -> float:
    pt = SHEET_SIZES[size]
    q = _parts_height(q_parts, width - SHEET_NUMBER_WIDTH, pt, SHEET_IMAGE_HEIGHT)
    a = _parts_height(a_parts, width, pt, SHEET_IMAGE_HEIGHT)
    return max(q, a) * _HEIGHT_SAFETY + 2 * SHEET_ROW_PAD + _SHEET_BORDER


def _sheet_document(
    deck: Deck, paper: Paper, images: Mapping[str, str]
) -> tuple[str, ExportSummary]:
    title_height = _sheet_title_height(deck, paper)
    rows = _sheet_rows(deck, paper, images)
    pages = _sheet_pages(deck, rows, paper, title_height)
    warnings = [
        Diagnostic(
            row.card.location,
            Severity.WARNING,
            f"card {row.card.id!r}: its study-sheet row does not fit on a page even at the "
            "smallest type and may be cut off; shorten it or split the card",
        )
        for row in rows
        if row.question.overflow
    ]
    text = _template("sheet.html.j2").render(
        deck=deck,
        paper=paper,
        pages=pages,
        count=len(rows),
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
        title_height=title_height,
        fold_hint=FOLD_HINT,
        description=_field(deck.description, images),
    )
    summary = f"{_plural(len(rows), 'row')} on {_plural(len(pages), 'page')} ({paper.name})"
    return text, ExportSummary(summary, tuple(warnings))


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
    def blank(m: re.Match[str]) -> str:
        hint = m.group(3)
        return (
            f'<span class="cp-blank">[{hint}]</span>'
            if hint
            else (f'<span class="cp-blank">{BLANK}</span>')
        )

    return _CLOZE.sub(blank, fragment)


def _cloze_back(fragment: str) -> str:
    return _CLOZE.sub(lambda m: f'<span class="cp-fill">{m.group(2)}</span>', fragment)


def _field(fragment: str, images: Mapping[str, str]) -> str:
    """A card field ready for the page: cleaned again (cloze rewriting may have unbalanced the
    markup), images inlined."""
    clean = nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        allowed_classes={"span": {"cp-blank", "cp-fill"}},
    )

    def inline(m: re.Match[str]) -> str:
        return m.group(1) + images.get(html_lib.unescape(m.group(2)), "") + m.group(3)

    return _IMG_SRC.sub(inline, clean)


def _data_uris(deck: Deck) -> dict[str, str]:
    uris = {}
    for item in deck.media:
        mime = _MIME.get(Path(item.name).suffix.lower(), "application/octet-stream")
        data = base64.b64encode(item.path.read_bytes()).decode("ascii")
        uris[item.name] = f"data:{mime};base64,{data}"
    return uris


def _accents(deck: Deck) -> dict[str, int]:
    keys = [key for key, _ in deck.topics]
    keys += [c.topic for c in deck.cards if c.topic and c.topic not in keys]
    return {key: index % len(ACCENTS) for index, key in enumerate(dict.fromkeys(keys))}


# -- fitting ---------------------------------------------------------------------------------


def _fit(
    parts: Sequence[Part], width: float, height: float, sizes: Sequence[float], image: float
) -> Face:
    """The largest type size at which ``parts`` fit ``width`` x ``height`` mm."""
    for index, pt in enumerate(sizes):
        if _parts_height(parts, width, pt, image) * _HEIGHT_SAFETY <= height:
            return _face_at(parts, width, index, sizes, image)
    face = _face_at(parts, width, len(sizes) - 1, sizes, image)
    return Face(face.parts, face.size, True, True)


def _face_at(
    parts: Sequence[Part], width: float, size: int, sizes: Sequence[float], image: float
) -> Face:
    main = _blocks(parts[0].html)
    em = sizes[size] * _PT * _ROLES.get(parts[0].role, _ROLES["question"]).scale
    lines = sum(_block_lines(block, width / em) for block in main)
    structured = any(block.indent or block.pre for block in main) or len(main) > 2
    return Face(tuple(parts), size, structured or lines > 5, False)


def _parts_height(parts: Sequence[Part], width: float, pt: float, image: float) -> float:
    """Estimated height (mm) of ``parts`` set in ``width`` mm at ``pt`` points."""
    total = 0.0
    for index, part in enumerate(parts):
        role = _ROLES.get(part.role, _ROLES["question"])
        em = pt * _PT * role.scale
        if index:
            total += role.gap * em
        total += _fragment_height(part.html, width / em, image / em) * em
    return total


_BLOCK_GAP = 0.3  # em between paragraphs, list items and lines broken with <br>
_LIST_INDENT = 1.3
_QUOTE_INDENT = 1.0
_IMAGE_MARGIN = 0.3  # em above and below an image


def _fragment_height(fragment: str, width: float, image: float) -> float:
    """Height in em of an HTML fragment set ``width`` em wide; images are ``image`` em tall."""
    total = 0.0
    for index, block in enumerate(_blocks(fragment)):
        if index:
            total += _BLOCK_GAP
        if block.image:
            total += image + 2 * _IMAGE_MARGIN
        elif block.rule:
            total += 1.0
        else:
            total += _block_lines(block, width) * LINE_HEIGHT
    return total


@dataclass(frozen=True)
class _Block:
    text: str = ""
    indent: float = 0.0
    mono: bool = False
    pre: bool = False
    image: bool = False
    rule: bool = False


_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "blockquote", "pre", "table",
     "thead", "tbody", "tr"}
)  # fmt: skip


class _BlockParser(HTMLParser):
    """Splits a fragment into the blocks the browser stacks: paragraphs, lines, images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_Block] = []
        self.text: list[str] = []
        self.indent = 0.0
        self.mono = 0
        self.pre = 0
        self.had_mono = False

    def flush(self) -> None:
        text = "".join(self.text)
        if not self.pre:
            text = " ".join(text.split())
        if text.strip():
            self.blocks.append(_Block(text, self.indent, self.had_mono, self.pre > 0))
        self.text = []
        self.had_mono = self.mono > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS or tag in ("br", "hr", "img"):
            self.flush()
        if tag in ("ul", "ol"):
            self.indent += _LIST_INDENT
        elif tag == "blockquote":
            self.indent += _QUOTE_INDENT
        elif tag == "pre":
            self.pre += 1
        elif tag == "img":
            self.blocks.append(_Block(image=True))
        elif tag == "hr":
            self.blocks.append(_Block(rule=True))
        elif tag in ("td", "th"):
            self.text.append("   ")
        if tag in ("code", "kbd", "pre"):
            self.mono += 1
            self.had_mono = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.flush()
        if tag in ("ul", "ol"):
            self.indent = max(0.0, self.indent - _LIST_INDENT)
        elif tag == "blockquote":
            self.indent = max(0.0, self.indent - _QUOTE_INDENT)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in ("code", "kbd", "pre"):
            self.mono = max(0, self.mono - 1)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@lru_cache(maxsize=4096)
def _blocks(fragment: str) -> tuple[_Block, ...]:
    parser = _BlockParser()
    parser.feed(fragment)
    parser.close()
    parser.flush()
    return tuple(parser.blocks)


def _block_lines(block: _Block, width: float) -> int:
    """Lines a block wraps to in ``width`` em (greedy at spaces, anywhere inside long words)."""
    if block.image or block.rule:
        return 0
    usable = width / _WIDTH_SAFETY - block.indent
    measure = _mono_width if block.mono else _text_width
    paragraphs = block.text.split("\n") if block.pre else [block.text]
    return sum(_wrap(p, max(usable, 1.0), measure) for p in paragraphs)


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> int:
    space = _char_width(" ")
    lines, current = 0, -1.0
    for word in text.split():
        size = measure(word)
        if current >= 0 and current + space + size <= width:
            current += space + size
            continue
        if current >= 0:
            lines += 1
        # overflow-wrap: anywhere breaks a word longer than the line between any two letters.
        while size > width:
            lines += 1
            size -= width - 1.0
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


@cache
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


def _text_width(word: str) -> float:
    return sum(_char_width(c) for c in word)


def _mono_width(word: str) -> float:
    return sum(max(_char_width(c), 0.61) for c in word)


# -- templates -------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
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
