"""Measuring a deck once for both pages: every printed card's faces and every sheet row.

``measure(notes, options)`` reads and fits every field once; the cards page and the study
sheet both read the result (a build makes it in the process that writes the pages and hands it
to both writers). It keeps little per card: two references to shared faces per printed card
(2 MB at 100,000 cards), three numbers per sheet row (about a megabyte), and the HTML of only
the notes that do not print their own fields (cloze sides, fields with images).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cardpress.errors import Diagnostic, Severity
from cardpress.export import BuildOptions
from cardpress.export.printable.blocks import NOTHING, Blocks, paragraph
from cardpress.export.printable.blocks_fast import read_fast
from cardpress.export.printable.fields import Fields, OwnSides, Ready
from cardpress.export.printable.fit import Face, Fitter, Part, SheetFitter
from cardpress.export.printable.metrics import WIDTH_SAFETY
from cardpress.export.printable.paper import (
    CARD_IMAGE_HEIGHT,
    CARD_SIZES,
    SHEET_IMAGE_HEIGHT,
    SHEET_SOURCE_GAP,
    SHEET_TEXT_PT,
    SHEET_TITLE_PAD,
    SHEET_TITLE_PT,
    Paper,
    card_box,
    paper_for,
    sheet_paper,
)
from cardpress.model import Card, Deck, Kind
from cardpress.notes import Notes

FOLD_HINT = "Fold along the dashed line: questions in front, answers behind."


class Rows:
    """The study sheet's rows, fitted: one per note (a reversed card is one row: fold either
    way), in authored order. Only numbers are kept, so 100,000 rows take about a megabyte."""

    def __init__(self) -> None:
        self.size = bytearray()
        self.height = array("d")
        self.overflow = bytearray()


class MoreCard(NamedTuple):
    """A card printed after the first of a note of the deck's own note type: its number on
    the page (the note's, a dot, and Anki's card number: ``3·2``) and its sides' HTML."""

    number: str
    question: str
    answer: str


def card_number(position: int, ord_: int) -> str:
    """The printed number of card ``ord_`` (Anki's ordinal) of the note at ``position``."""
    return f"{position}\u00b7{ord_ + 1}"


@dataclass(frozen=True)
class Measurement:
    """A deck measured for one paper: what both pages print, fitted.

    ``faces`` holds how each printed card is set, front then back, in print order; ``ready``
    the HTML of the notes (by index) that do not print their own fields; ``more`` the cards
    after the first of notes (by index) of the deck's own note types that make several.
    """

    paper: Paper
    faces: Sequence[Face]
    rows: Rows
    ready: Mapping[int, Ready]
    more: Mapping[int, tuple[MoreCard, ...]]
    card_images: frozenset[int]  # the deck's images (by number) the cards show
    description: str  # the deck's description, ready for the sheet
    sheet_images: frozenset[int]  # the images the sheet shows: the cards' and the description's
    title_height: float  # the sheet's title block, on its first page
    card_warnings: tuple[Diagnostic, ...]
    row_warnings: tuple[Diagnostic, ...]

    def html(self, index: int, card: Card) -> Ready:
        """The HTML that note ``index`` (of ``card``) prints."""
        ready = self.ready.get(index)
        if ready is None:
            return (card.front, card.back, card.extra, card.source)
        return ready


def measure(notes: Notes, options: BuildOptions | None = None) -> Measurement:
    """Measure and fit every card of ``notes`` for both printable pages, on the paper of
    ``options``. Both writers take the result (``measured=``)."""
    paper = paper_for((options or BuildOptions()).paper)
    deck = notes.deck
    fields = Fields(deck.media, deck.note_types)
    fields.prepare(deck.cards)
    cards = _CardFitter(paper)
    rows = Rows()
    ready: dict[int, Ready] = {}
    more: dict[int, tuple[MoreCard, ...]] = {}
    # Bound once: this runs for every note.
    sheet = sheet_paper(paper)  # card stock prints its sheet on plain paper
    ready_note, fit_row, add_card = fields.note, SheetFitter(sheet).fit, cards.add
    sizes, heights, overflows = rows.size, rows.height, rows.overflow
    # The deck's cards, not the notes: the notes are the parent process's, and reading them
    # here would copy the memory they sit in (a build writes the pages in a forked process).
    for index, card in enumerate(deck.cards):
        others: Sequence[OwnSides] = ()
        html: Ready | None
        parts: tuple[Part, ...]
        if card.kind is Kind.NOTE:  # every card its templates make, the first for the row
            first, *others = fields.own_cards(card)
            html = (first.question, first.answer, "", "")
            question, answer, parts = first.question_blocks, first.answer_blocks, ()
        else:
            html, question, answer, parts = ready_note(card)
        if html is None:
            size, height, overflow = fit_row(question, answer, parts, (card.front, card.back))
        else:
            ready[index] = html
            texts = (html[0], html[1])
            size, height, overflow = fit_row(question, answer, parts, texts, math_room(html))
        sizes.append(size)
        heights.append(height)
        overflows.append(overflow)
        add_card(card, index + 1, question, answer, parts)
        if others:
            printed = []
            for other in others:
                number = card_number(index + 1, other.ord)
                cards.add_side(card, number, other.question_blocks, other.answer_blocks)
                printed.append(MoreCard(number, other.question, other.answer))
            more[index] = tuple(printed)
    description_images: set[int] = set()
    description, description_blocks = "", NOTHING
    if deck.description:
        description, description_blocks = fields.field(deck.description, description_images)
    return Measurement(
        paper=paper,
        faces=cards.faces,
        rows=rows,
        ready=ready,
        more=more,
        card_images=frozenset(fields.used),
        description=description,
        sheet_images=frozenset(fields.used | description_images),
        title_height=_title_height(deck, sheet, description, description_blocks),
        card_warnings=tuple(cards.warnings),
        row_warnings=tuple(_row_warnings(deck.cards, rows)),
    )


def measured_for(notes: Notes, options: BuildOptions, measured: Measurement | None) -> Measurement:
    """``measured``, the measurement a writer was given, checked; or the notes measured now."""
    if measured is None:
        return measure(notes, options)
    if not isinstance(measured, Measurement):
        raise TypeError(f"measured must be what measure() returns, not {type(measured)!r}")
    paper = paper_for(options.paper)
    if measured.paper != paper:
        raise ValueError(f"measured for {measured.paper.name} paper, not {paper.name}")
    return measured


class _CardFitter:
    """Fits the printed cards of each note, in print order, and warns of sides too long."""

    def __init__(self, paper: Paper) -> None:
        fitter = Fitter(*card_box(paper), CARD_SIZES, CARD_IMAGE_HEIGHT)
        self.quick, self.exact = fitter.quick, fitter.exact
        self.faces: list[Face] = []
        self.warnings: list[Diagnostic] = []

    def add(
        self, card: Card, position: int, question: Blocks, answer: Blocks, notes: Sequence[Part]
    ) -> None:
        """The note's card, and for a reversed note its second card, the other way round."""
        quick, exact, faces = self.quick, self.exact, self.faces
        # Fitter.fit_side, inline: two sides of every note.
        front = quick("question", question, ()) or exact("question", question, ())
        back = quick("answer", answer, notes) or exact("answer", answer, notes)
        faces.append(front)
        faces.append(back)
        if front.overflow or back.overflow:
            self.warnings.extend(_card_warnings(card, str(position), front, back))
        if card.kind is Kind.REVERSED:
            front = quick("question", answer, ()) or exact("question", answer, ())
            back = quick("answer", question, notes) or exact("answer", question, notes)
            faces.append(front)
            faces.append(back)
            if front.overflow or back.overflow:
                self.warnings.extend(_card_warnings(card, f"{position}R", front, back))

    def add_side(self, card: Card, number: str, question: Blocks, answer: Blocks) -> None:
        """A further card of a note of the deck's own note type (no notes under it)."""
        front = self.quick("question", question, ()) or self.exact("question", question, ())
        back = self.quick("answer", answer, ()) or self.exact("answer", answer, ())
        self.faces += (front, back)
        if front.overflow or back.overflow:
            self.warnings.extend(_card_warnings(card, number, front, back))


# The room typeset formulas take beyond their text read as a line (em of the type), measured in
# Chromium's print: a formula set apart (\[ \]) takes up to 3.4 em more (a sum with limits
# over a fraction), one in the line (\( \)) up to 0.34 em (a fraction within a fraction).
MATH_DISPLAY = 4.0
MATH_INLINE = 0.5


def math_room(html: Ready) -> float:
    """The room (em) a note's formulas take on its study-sheet row beyond their text."""
    text = "".join(html)
    formulas = text.count("<math")
    if not formulas:
        return 0.0
    display = text.count('<math display="block"')
    return display * MATH_DISPLAY + (formulas - display) * MATH_INLINE


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


def _row_warnings(cards: Sequence[Card], rows: Rows) -> Iterator[Diagnostic]:
    index = rows.overflow.find(1)  # found in C: they seldom are
    while index >= 0:
        card = cards[index]
        yield Diagnostic(
            card.location,
            Severity.WARNING,
            f"card {card.id!r}: its study-sheet row does not fit on a page even at the "
            "smallest type and may be cut off; shorten it or split the card",
        )
        index = rows.overflow.find(1, index + 1)


def source_line(deck: Deck) -> str:
    """The line under the sheet's title that names the work the deck is written from."""
    return f"Source: {deck.source}"


def _title_height(deck: Deck, paper: Paper, description: str, blocks: Blocks) -> float:
    """The height (mm) the deck's title block is expected to take on the sheet's first page,
    found as a row's is (fit.SheetFitter): its lines wrapped at the full width, no margin of
    safety added. Its images are set at the height of the rows' images."""
    width = (paper.width - 2 * paper.margin) * WIDTH_SAFETY  # wraps at width / WIDTH_SAFETY
    name: Part = ("question", "", paragraph(deck.name))  # text, not HTML
    title = Fitter(width, 0.0, (SHEET_TITLE_PT,), 0.0).height((name,), 0)
    intro: list[Part] = [("question", description, blocks)] if description else []
    if deck.source:
        source = source_line(deck)
        intro.append(("question", source, paragraph(source)))
    intro.append(("question", FOLD_HINT, read_fast(FOLD_HINT)))
    text = Fitter(width, 0.0, (SHEET_TEXT_PT,), SHEET_IMAGE_HEIGHT).height(intro, 0)
    return title + text + SHEET_TITLE_PAD + (SHEET_SOURCE_GAP if deck.source else 0.0)


__all__ = ["FOLD_HINT", "Measurement", "Rows", "measure", "measured_for", "source_line"]
