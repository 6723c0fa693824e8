"""Fitting: the largest type size at which a card side, or a study-sheet row, fits its box.

Each side of a card gets the largest of several type sizes at which an estimate of its wrapped
height fits the card; the estimate wraps words the way the browser does (greedy, at spaces, and
anywhere inside a word longer than the line: ``overflow-wrap: anywhere``). A side that does not
fit even at the smallest size is reported and marked on the card; nothing is clipped silently.
On a back, the answer comes first: it keeps the largest size at which it fits with the notes
under it (extra, source) at the smallest size, and the notes get the largest size that still
fits beside it, never larger than the answer's.

The study sheet's rows are fitted the same way, so that no row is taller than a page; and each
row is given the height it is expected to print at, for packing the pages: its lines wrapped at
the column's full width and no margin of safety added (see SheetFitter).

Heights are added up in one order everywhere (the first part, then for each part under it its
gap and its height): the sheet is paginated with these numbers, and the same cards must always
give the same pages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from cardpress.export.printable.blocks import IMAGE, RULE, Block, Blocks
from cardpress.export.printable.blocks_fast import read_regular
from cardpress.export.printable.metrics import (
    BLOCK_GAP,
    HEIGHT_SAFETY,
    IMAGE_MARGIN,
    LINE_HEIGHT,
    MM_PER_PT,
    SPACE,
    WIDTH_SAFETY,
)
from cardpress.export.printable.paper import (
    SHEET_BORDER,
    SHEET_IMAGE_HEIGHT,
    SHEET_NUMBER_WIDTH,
    SHEET_ROW_PAD,
    SHEET_SIZES,
    SHEET_TOPIC,
    Paper,
    sheet_body_height,
)


class Role(NamedTuple):
    """How one part of a card side is set: size relative to the side's type, space above."""

    scale: float
    gap: float  # in the part's own em: the margin and padding above it
    rule: float = 0.0  # mm: the rule above it, drawn at least one device pixel thick


# As the stylesheets set them: an extra has 0.6em of margin, 0.45em of padding and a 0.25 mm
# rule above it (printed one pixel, 0.265 mm, thick); a source 0.9em of margin.
ROLES = {
    "question": Role(1.0, 0.0),
    "answer": Role(1.0, 0.0),
    "extra": Role(0.8, 1.05, 0.3),
    "source": Role(0.72, 0.9),
}


Part = tuple[str, str, Blocks]
"""One part of a card side: its role, its HTML and how it measures."""


class Metrics(NamedTuple):
    """One role at one type size: its em (mm), and in that em the box's width, the width a
    line of unindented text may take, the height of an image and the gap above the part."""

    em: float
    width: float
    line: float
    image: float
    gap: float


class Face(NamedTuple):
    """How one side of a printed card is set. The fitters hand out shared instances."""

    size: int  # index into the type sizes
    left: bool  # long or structured text reads better left-aligned than centred
    overflow: bool  # does not fit even at the smallest size
    notes: int  # the type size of the notes under the main part: ``size`` or smaller


# -- heights ---------------------------------------------------------------------------------


def wrap(words: Sequence[float], width: float) -> int:
    """Lines that words of these widths take, wrapped greedily at ``width``."""
    space = SPACE
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


def block_lines(block: Block, width: float) -> int:
    """Lines a text block wraps to in ``width`` em."""
    usable = max(width / WIDTH_SAFETY - block.indent, 1.0)
    return sum(wrap(words, usable) for words in block.words)


def lines_and_height(blocks: Blocks, metric: Metrics) -> tuple[int, float]:
    """Lines of text, and height in em, of a fragment set in a role at a size."""
    lines = 0
    total = 0.0
    if not blocks.blocks:
        line = metric.line  # an unindented paragraph's usable width, as block_lines has it
        for index, words in enumerate(blocks.paragraphs):
            if index:
                total += BLOCK_GAP
            count = wrap(words, line)
            lines += count
            total += count * LINE_HEIGHT
        return lines, total
    for index, block in enumerate(blocks.blocks):
        if index:
            total += BLOCK_GAP
        if block.kind == IMAGE:
            total += metric.image + 2 * IMAGE_MARGIN
        elif block.kind == RULE:
            total += 1.0
        else:
            count = block_lines(block, metric.width)
            lines += count
            total += count * LINE_HEIGHT
    return lines, total


def height(blocks: Blocks, metric: Metrics) -> float:
    """Height in em of a fragment set in a role at a size."""
    if blocks.widest <= metric.line:  # no line wraps, as is usual
        return blocks.one_line_height
    return lines_and_height(blocks, metric)[1]


def most_lines(blocks: Blocks, line: float) -> int:
    """At most how many lines a fragment of one paragraph wraps to at ``line`` em, found
    without wrapping it; 0 for any other fragment, or one with a word longer than that.

    Greedy wrapping breaks before a word only if the line so far, a space and the word overrun
    the line, so any two lines in a row hold more than ``line - SPACE`` between them (no word
    being broken). n lines make n // 2 such pairs, and together they hold no more than the
    paragraph's width, so n // 2 < widest / (line - SPACE): ``widest`` is above that width by
    far more than rounding can take off it.
    """
    if blocks.blocks or len(blocks.paragraphs) != 1:
        return 0
    if max(blocks.paragraphs[0]) > line:
        return 0
    return 2 * math.ceil(blocks.widest / (line - SPACE)) - 1


def _height_at_most(blocks: Blocks, metric: Metrics) -> float:
    """A bound from above of a fragment's height in mm, found without wrapping if it can be."""
    if blocks.widest <= metric.line:
        return blocks.one_line_height * metric.em
    most = most_lines(blocks, metric.line)
    if most:
        return most * LINE_HEIGHT * metric.em
    return lines_and_height(blocks, metric)[1] * metric.em


def stack(total: float, metrics: dict[str, Metrics], notes: Sequence[Part]) -> float:
    """``total`` (mm) with the notes under it, each with its gap above it."""
    for role, _, blocks in notes:
        metric = metrics[role]
        total += metric.gap
        total += height(blocks, metric) * metric.em
    return total


# -- card sides ------------------------------------------------------------------------------


class Fitter:
    """Fits parts into a box of ``width`` x ``height`` mm at the largest of ``sizes`` (pt)."""

    def __init__(self, width: float, height: float, sizes: Sequence[float], image: float) -> None:
        self.limit = height
        self.metrics: list[dict[str, Metrics]] = []
        for pt in sizes:
            by_role = {}
            for name, role in ROLES.items():
                em = pt * MM_PER_PT * role.scale
                line = max(width / em / WIDTH_SAFETY, 1.0)
                gap = role.gap * em + role.rule
                by_role[name] = Metrics(em, width / em, line, image / em, gap)
            self.metrics.append(by_role)
        self.largest = self.metrics[0]
        self.smallest = self.metrics[-1]
        # The outcomes, made once: at each size, set centred or left, with the notes at each
        # size from the side's down; and too long for any.
        count = len(sizes)
        self.shrunk = [
            [
                (Face(size, False, False, notes), Face(size, True, False, notes))
                for notes in range(count)
            ]
            for size in range(count)
        ]
        self.faces = [self.shrunk[size][size] for size in range(count)]
        self.too_long = Face(count - 1, True, True, count - 1)

    def fit_side(self, role: str, main: Blocks, notes: Sequence[Part] = ()) -> Face:
        """The largest type size at which a side fits the box: its main part, set in
        ``role``, and the notes under it."""
        return self.quick(role, main, notes) or self.exact(role, main, notes)

    def quick(self, role: str, main: Blocks, notes: Sequence[Part]) -> Face | None:
        """The largest size, if a side fits there by bounds of its height; else None.

        Most sides fit at the largest size, each part set unbroken or wrapped to a few lines.
        A wrapped part's lines can be bounded without wrapping it (most_lines), and heights
        only grow with lines, rounding included: a side that fits with the bounds fits, and
        with five lines at most its main part is set centred unless structured.
        """
        metrics = self.largest
        metric = metrics[role]
        if main.widest <= metric.line:
            lines = main.lines
            total = main.one_line_height * metric.em
        else:
            lines = most_lines(main, metric.line)
            if not 0 < lines <= 5:
                return None
            total = lines * LINE_HEIGHT * metric.em
        for note_role, _, blocks in notes:
            metric = metrics[note_role]
            total += metric.gap
            total += _height_at_most(blocks, metric)
        if total * HEIGHT_SAFETY <= self.limit:
            return self.faces[0][main.structured or lines > 5]
        return None

    def exact(self, role: str, main: Blocks, notes: Sequence[Part]) -> Face:
        """The largest size at which a side fits, found size by size: the main part's size
        first, with the notes at the smallest size; then the notes' largest size beside it."""
        limit, smallest = self.limit, self.smallest
        for size, metrics in enumerate(self.metrics):
            metric = metrics[role]
            if main.widest <= metric.line:
                lines = main.lines
                total = main.one_line_height * metric.em
            else:
                lines, em_height = lines_and_height(main, metric)
                total = em_height * metric.em
            left = main.structured or lines > 5
            if stack(total, metrics, notes) * HEIGHT_SAFETY <= limit:
                return self.faces[size][left]
            if not notes or stack(total, smallest, notes) * HEIGHT_SAFETY > limit:
                continue  # the main part itself must be smaller
            shrunk = self.shrunk[size]
            for below in range(size + 1, len(self.metrics) - 1):
                if stack(total, self.metrics[below], notes) * HEIGHT_SAFETY <= limit:
                    return shrunk[below][left]
            return shrunk[-1][left]
        return self.too_long

    def height(self, parts: Sequence[Part], size: int) -> float:
        """Estimated height (mm) of ``parts`` at the type size ``size``."""
        metrics = self.metrics[size]
        role, _, blocks = parts[0]
        metric = metrics[role]
        return stack(height(blocks, metric) * metric.em, metrics, parts[1:])


# -- study-sheet rows ------------------------------------------------------------------------


Row = tuple[int, float, bool]
"""A fitted study-sheet row: its type size, the height (mm) it is expected to print at, and
whether it is too long for a page even at the smallest size."""

Columns = list[tuple[int, Metrics, Metrics, dict[str, Metrics]]]
"""At each type size of the sheet: how the question is set, how the answer is, and the notes
under it."""


def _columns(paper: Paper, widen: float) -> Columns:
    width = paper.column_width * widen
    question = Fitter(width - SHEET_NUMBER_WIDTH * widen, 0.0, SHEET_SIZES, SHEET_IMAGE_HEIGHT)
    answer = Fitter(width, 0.0, SHEET_SIZES, SHEET_IMAGE_HEIGHT)
    return [
        (size, by_role["question"], answers["answer"], answers)
        for size, (by_role, answers) in enumerate(
            zip(question.metrics, answer.metrics, strict=True)
        )
    ]


def _row_text(
    question: Blocks,
    answer: Blocks,
    notes: Sequence[Part],
    columns: Columns,
    size: int,
    math: float,
) -> float:
    """Height (mm) of the taller of a row's columns at the type size ``size``, and the room its
    formulas take (``math`` em of the row's type)."""
    _, metric, answer_metric, answers = columns[size]
    q = height(question, metric) * metric.em
    a = height(answer, answer_metric) * answer_metric.em
    if notes:
        a = stack(a, answers, notes)
    if math:
        return max(q, a) + math * answer_metric.em
    return max(q, a)


class SheetFitter:
    """Fits a study-sheet row: the largest type size at which the row fits on a page, by the
    estimate with its margins of safety; and the height it is expected to print at.

    The expected height packs the pages, and is the estimate without those margins: its lines
    wrapped at the column's full width, the words of a field that cannot be bold measured by
    Arial's regular widths (blocks_fast.read_regular; else the larger of regular and bold, so no
    line of either is longer in Arial or Liberation Sans), and not grown by HEIGHT_SAFETY.
    Printed by Chromium, the rows of the test decks and the example deck (plain and bold text,
    clozes, lists, quotes, code, Cyrillic, CJK, emoji, images) came out no taller than that,
    page by page; formulas are the exception, allowed for in layout.py. The margins of safety,
    added to every row, left 30 mm and more of a page empty.

    A formula is set taller than a line of text: typeset math is read as its text, and
    ``math`` (in em of the row's type) is the room the row's formulas take beyond that.
    """

    def __init__(self, paper: Paper) -> None:
        self.safe = _columns(paper, 1.0)
        # block_lines wraps at width / WIDTH_SAFETY: these metrics wrap at the full width.
        self.expected = _columns(paper, WIDTH_SAFETY)
        # A row and its topic heading always fit on a page of their own.
        self.limit = sheet_body_height(paper) - SHEET_TOPIC

    def fit(
        self,
        question: Blocks,
        answer: Blocks,
        notes: Sequence[Part],
        texts: tuple[str, str],
        math: float = 0.0,
    ) -> Row:
        """The row's type size, the height (mm) it is expected to print at, and whether it is
        too long for a page: the question beside the answer and the notes under it; ``texts``
        are the HTML of the question and the answer."""
        frame = 2 * SHEET_ROW_PAD + SHEET_BORDER
        limit = self.limit
        overflow = True  # unless a size fits
        for column in self.safe:  # _row_text, inline: it runs for every row
            size, metric, answer_metric, answers = column
            q = height(question, metric) * metric.em
            a = height(answer, answer_metric) * answer_metric.em
            if notes:
                a = stack(a, answers, notes)
            text = max(q, a) + math * answer_metric.em if math else max(q, a)
            if text * HEIGHT_SAFETY + frame <= limit:
                overflow = False
                break
        if (
            question.widest <= metric.line
            and answer.widest <= answer_metric.line
            and all(blocks.widest <= answers[role].line for role, _, blocks in notes)
        ):
            return size, text + frame, overflow  # no line wraps, at this width or a wider one
        # Read again in regular type: what wraps at the full width (the rest is one line in
        # either).
        _, metric, answer_metric, answers = self.expected[size]
        if question.widest > metric.line:
            question = read_regular(texts[0], question)
        if answer.widest > answer_metric.line:
            answer = read_regular(texts[1], answer)
        notes = [
            (
                role,
                html,
                read_regular(html, blocks) if blocks.widest > answers[role].line else blocks,
            )
            for role, html, blocks in notes
        ]
        expected = _row_text(question, answer, notes, self.expected, size, math)
        return size, expected + frame, overflow
