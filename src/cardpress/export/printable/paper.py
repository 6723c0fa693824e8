"""Paper: the sizes the pages print on, and where everything sits on a sheet (lengths in mm).

Both layouts are fixed-size sheets, measured per paper (A4 in mm, Letter in inches), printed
with ``@page { margin: 0 }``. Nothing is wider than the page: one wider element makes Chromium
shrink the whole document, and then the backs no longer sit behind their fronts (DESIGN §4).
"""

from __future__ import annotations

from dataclasses import dataclass

DUPLEX_MODES = ("long", "short", "none")

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
    # Card stock: sheets pre-cut into cards (perforated or micro-perforated), whose grid is
    # the stock's own: no cut lines or crop marks; the study sheet prints on ``sheet_paper``.
    stock: bool = False
    sheet_paper: str = ""

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
    # Card stock, each with the grid its maker prints on the box (centred on the sheet).
    # Avery 5371 and its kin: 10 business cards of 3.5 x 2 in on Letter, 2 across, 5 down,
    # 0.75 in side and 0.5 in top and bottom margins, no gaps.
    "avery5371": Paper(
        key="avery5371", name="Avery 5371 (Letter)", css_size="letter",
        width=8.5 * _IN, height=11 * _IN, columns=2, rows=5,
        card_width=3.5 * _IN, card_height=2 * _IN, margin=0.5 * _IN, gutter=0.25 * _IN,
        stock=True, sheet_paper="letter",
    ),
    # A7 cards on A4: 8 of 105 x 74 mm, 2 across (edge to edge), 4 down.
    "a7": Paper(
        key="a7", name="A7 cards on A4", css_size="A4", width=210, height=297,
        columns=2, rows=4, card_width=105, card_height=74, margin=12, gutter=6,
        stock=True, sheet_paper="a4",
    ),
    # Index cards of 5 x 3 in, fed one at a time: the page is the card.
    "index3x5": Paper(
        key="index3x5", name="3 x 5 in index cards", css_size="5in 3in",
        width=5 * _IN, height=3 * _IN, columns=1, rows=1,
        card_width=5 * _IN, card_height=3 * _IN, margin=0.5 * _IN, gutter=0.25 * _IN,
        stock=True, sheet_paper="letter",
    ),
}  # fmt: skip


def sheet_paper(paper: Paper) -> Paper:
    """The paper the study sheet prints on: card stock's own sheet size, else the paper."""
    return PAPERS[paper.sheet_paper] if paper.sheet_paper else paper


def paper_for(key: str) -> Paper:
    """The paper called ``key``; a ValueError names the choices."""
    paper = PAPERS.get(key)
    if paper is None:
        raise ValueError(f"unknown paper {key!r}; expected one of {', '.join(PAPERS)}")
    return paper


def duplex_mode(key: str) -> str:
    """``key`` if it is a duplex mode; a ValueError names the choices."""
    if key not in DUPLEX_MODES:
        raise ValueError(f"unknown duplex {key!r}; expected one of {', '.join(DUPLEX_MODES)}")
    return key


# -- a card ------------------------------------------------------------------------------------

# Inside a card: padding, and the band that holds the number and topic.
CARD_PAD_X = 5.0
CARD_PAD_Y = 3.5
CARD_LABEL_BAND = 5.0
CARD_IMAGE_HEIGHT = 20.0

# Type sizes (pt), largest first: the fitting steps.
CARD_SIZES = (18.0, 15.0, 13.0, 11.5, 10.0, 8.5)


def card_box(paper: Paper) -> tuple[float, float]:
    """Width and height of the text area of a card side."""
    return (
        paper.card_width - 2 * CARD_PAD_X,
        paper.card_height - 2 * CARD_PAD_Y - CARD_LABEL_BAND,
    )


def back_cell(paper: Paper, duplex: str, index: int) -> int:
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


@dataclass(frozen=True)
class CutLine:
    """A dashed cut line across the grid or a solid crop mark in the margin."""

    x: float
    y: float
    length: float
    vertical: bool
    mark: bool


def cut_lines(paper: Paper, *, dashed: bool) -> list[CutLine]:
    """Crop marks in the margins at every grid line, then, with ``dashed``, the grid itself.

    The marks come first, so the lines of a page without the grid are a prefix of those with it.
    Card stock is cut already: it gets neither.
    """
    if paper.stock:
        return []
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


# -- the study sheet ---------------------------------------------------------------------------

SHEET_SIZES = (10.5, 9.5, 8.5, 7.5)
SHEET_IMAGE_HEIGHT = 16.0
SHEET_NUMBER_WIDTH = 7.0
SHEET_ROW_PAD = 1.8
SHEET_TITLE_PT = 17.0
SHEET_TEXT_PT = 9.5
SHEET_HEAD = 6.5  # the QUESTION | ANSWER line at the top of each page
SHEET_TOPIC = 9.5  # a topic heading with its space above and below
SHEET_BORDER = 0.3
# Around the title block's text: the title's margin (1.2 mm), the hint's (1 mm), the padding
# under the block (4 mm), and a fifth of a millimetre for the rules' rounding to whole pixels;
# with the deck's source, its margin too.
SHEET_TITLE_PAD = 6.4
SHEET_SOURCE_GAP = 1.0


def sheet_body_height(paper: Paper) -> float:
    """Room for topic headings and rows on a page."""
    return paper.height - 2 * paper.margin - SHEET_HEAD


def mm(value: float) -> str:
    """A length for CSS; three decimals are a micrometre, enough for any printer."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text}mm"
