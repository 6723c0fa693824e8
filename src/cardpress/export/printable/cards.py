"""The cards page, ``NAME.cards.html``: cut-out duplex flashcards, fronts and backs on
alternate pages, each back behind its front (DESIGN §4).

The document frame comes from templates/cards.html.j2; the pages, cards and cut lines are joined
here from markup pieces, as the templates would write them, because there are hundreds of
thousands (see frame.py). Text is escaped as Jinja's autoescape escapes it; field HTML is the
sanitiser's (fields.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import TextIO

from cardpress.export import BuildOptions, ExportSummary, plural
from cardpress.export.printable.fields import sound_note
from cardpress.export.printable.fit import Face
from cardpress.export.printable.frame import (
    ACCENTS,
    CSP,
    accents,
    escape,
    image_rules,
    notes_markup,
    render,
    write_page,
)
from cardpress.export.printable.layout import Measurement, measured_for
from cardpress.export.printable.metrics import LINE_HEIGHT
from cardpress.export.printable.paper import (
    CARD_IMAGE_HEIGHT,
    CARD_LABEL_BAND,
    CARD_PAD_X,
    CARD_PAD_Y,
    CARD_SIZES,
    Paper,
    back_cell,
    card_box,
    cut_lines,
    duplex_mode,
    mm,
    paper_for,
)
from cardpress.model import Card, Deck, Kind
from cardpress.notes import Notes

_HOW = {"long": "long-edge duplex", "short": "short-edge duplex", "none": "single-sided"}


def write_cards(
    notes: Notes,
    path: Path,
    options: BuildOptions | None = None,
    *,
    measured: Measurement | None = None,
) -> ExportSummary:
    """Write the cut-out cards of ``notes`` to ``path``: on the paper of ``options``, each back
    where ``options.duplex`` puts it (``long``, ``short`` or ``none``).

    ``measured`` is what :func:`measure` made of the same notes on the same paper (a build
    measures once for both pages); without it the notes are measured here. The file is written
    as its pages are made; if the export fails, it is removed rather than left half-written.
    """
    options = options or BuildOptions()
    paper, duplex = paper_for(options.paper), duplex_mode(options.duplex)
    measurement = measured_for(notes, options, measured)
    count = len(measurement.faces) // 2  # a front and a back for every printed card
    sheets = -(-count // paper.per_sheet)
    offset = options.back_offset
    write_page(path, lambda out: _write(notes, measurement, duplex, count, sheets, offset, out))
    shifted = f", backs moved {offset_text(offset)}" if any(offset) else ""
    summary = (
        f"{plural(count, 'printed card')} on {plural(2 * sheets, 'page')} "
        f"({paper.name}, {_HOW[duplex]}{shifted})"
    )
    return ExportSummary(summary, (*measurement.card_warnings, *sound_note(notes.deck)))


def offset_text(offset: tuple[float, float]) -> str:
    """A back offset in words: "1.5 mm right, 0.5 mm up"."""
    x, y = offset
    parts = []
    if x:
        parts.append(f"{abs(x):g} mm {'right' if x > 0 else 'left'}")
    if y:
        parts.append(f"{abs(y):g} mm {'down' if y > 0 else 'up'}")
    return ", ".join(parts) or "not at all"


def _write(
    notes: Notes,
    measurement: Measurement,
    duplex: str,
    count: int,
    sheets: int,
    offset: tuple[float, float],
    out: TextIO,
) -> None:
    paper, deck = measurement.paper, notes.deck
    front_lines = cut_lines(paper, dashed=True)
    back_lines = cut_lines(paper, dashed=duplex == "none")
    markup = CardMarkup(deck, sheets, len(front_lines), len(back_lines))
    pages = _pages(markup.cards(measurement), paper, duplex, markup)
    width, height = card_box(paper)
    out.writelines(
        render(
            "cards.html.j2",
            deck=deck,
            paper=paper,
            duplex=duplex,
            pages=pages,
            count=count,
            sheets=sheets,
            cut_lines=front_lines,
            back_offset=offset,
            sizes=CARD_SIZES,
            box_width=width,
            box_height=height,
            pad_x=CARD_PAD_X,
            pad_y=CARD_PAD_Y,
            band=CARD_LABEL_BAND,
            image_height=CARD_IMAGE_HEIGHT,
            line_height=LINE_HEIGHT,
            accents=ACCENTS,
            images=image_rules(deck, measurement.card_images),
            csp=CSP,
            mm=mm,
        )
    )


Cell = tuple[str, ...]
"""A cell of the card grid: the pieces of its markup."""

EMPTY_CELL: Cell = ('<div class="card empty"></div>\n',)


def _pages(
    cards: Iterator[tuple[Cell, Cell]], paper: Paper, duplex: str, markup: CardMarkup
) -> Iterator[str]:
    """Front and back pages, sheet by sheet; the last sheet keeps its empty cells, so that
    the backs stay registered."""
    per_sheet = paper.per_sheet
    places = [back_cell(paper, duplex, index) for index in range(per_sheet)]
    fronts = [EMPTY_CELL] * per_sheet
    backs = [EMPTY_CELL] * per_sheet
    sheet = filled = 0
    for front, back in cards:
        fronts[filled] = front
        backs[places[filled]] = back
        filled += 1
        if filled == per_sheet:
            sheet += 1
            yield markup.page("front", sheet, fronts)
            yield markup.page("back", sheet, backs)
            fronts = [EMPTY_CELL] * per_sheet
            backs = [EMPTY_CELL] * per_sheet
            filled = 0
    if filled:
        sheet += 1
        yield markup.page("front", sheet, fronts)
        yield markup.page("back", sheet, backs)


class CardMarkup:
    """The pages of the cards layout.

    A card is made as the pieces of its markup, and each page joined from its cards' pieces at
    once, so that no text is copied into a card's string first and then into the page's.
    """

    def __init__(self, deck: Deck, sheets: int, front_lines: int, back_lines: int) -> None:
        self.deck = deck
        self.sheets = sheets
        self.name = escape(deck.name)
        self.accents = accents(deck)
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
        # Every card names its deck, small, in a corner of both sides, so cards of two decks
        # never mix once cut (the page's footer, which names the deck, is cut away).
        self.deck_label = f'<div class="deck">{escape(deck.key)}</div>\n'

        # What goes around the main part of a side, for each way the side can be set.
        sizes = range(len(CARD_SIZES))
        self.bodies = {
            Face(size, left, overflow, notes): _body(size, left, overflow)
            for size in sizes
            for left in (False, True)
            for overflow in (False, True)
            for notes in sizes
        }
        # The start of the notes under an answer set smaller than the answer, by their size.
        self.smaller = [f'<div class="notes fs{size}">\n' for size in sizes]

    def cards(self, measurement: Measurement) -> Iterator[tuple[Cell, Cell]]:
        """The printed cards, in authored order (one per note, two per reversed note, and
        every card a note of the deck's own note type makes): the markup of their fronts and
        backs, set as measured. The number is the note's position, with an R for the reverse
        direction, or a dot and Anki's card number for a note type's further cards: nothing
        to escape."""
        faces, ready, more = measurement.faces, measurement.ready.get, measurement.more
        at = 0
        for index, card in enumerate(self.deck.cards):
            # Measurement.html, inline: the cards page is made of these.
            html = ready(index)
            if html is None:
                question, answer, extra, source = card.front, card.back, card.extra, card.source
            else:
                question, answer, extra, source = html
            below = notes_markup(extra, source) if extra or source else ""
            number = str(index + 1)  # the note's position
            front, back = faces[at], faces[at + 1]
            yield self.card(number, card, front, question, back, answer, below)
            at += 2
            if card.kind is Kind.REVERSED:
                front, back = faces[at], faces[at + 1]
                yield self.card(f"{number}R", card, front, answer, back, question, below)
                at += 2
            elif card.kind is Kind.NOTE and index in more:
                for other in more[index]:
                    front, back = faces[at], faces[at + 1]
                    yield self.card(
                        other.number, card, front, other.question, back, other.answer, ""
                    )
                    at += 2

    def page(self, side: str, sheet: int, cells: Iterable[Cell]) -> str:
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
    ) -> tuple[Cell, Cell]:
        """The front and the back of a printed card, set as fitted: the HTML of the question,
        and of the answer with the markup of the notes under it."""
        label = self.labels.get(card.topic_title)
        if label is None:
            title = card.topic_title
            label = self.labels[title] = (
                '</span><span class="dot"></span><span class="topic">'
                f"{escape(title)}</span></div>\n{self.deck_label}"
                if title
                else f"</span></div>\n{self.deck_label}"
            )
        front_start, back_start = self.starts[self.accents.get(card.topic, 0)]
        body, _, end = self.bodies[front]
        _, back_body, back_end = self.bodies[back]
        if notes and back.notes != back.size:  # the notes shrunk first, the answer kept
            return (
                (front_start, number, label, body, question, "</div>\n", end),
                (back_start, number, label, back_body, answer, "</div>\n",
                 self.smaller[back.notes], notes, "</div>\n", back_end),
            )  # fmt: skip
        return (
            (front_start, number, label, body, question, "</div>\n", end),
            (back_start, number, label, back_body, answer, "</div>\n", notes, back_end),
        )


def _body(size: int, left: bool, overflow: bool) -> tuple[str, str, str]:
    """What goes around the main part of a side set so: the start of a question's, the start of
    an answer's, and the end of either."""
    body = f'<div class="body fs{size}{" left" if left else ""}">\n'
    too_long = (
        '<div class="too-long">too long for a card: text may be cut off</div>\n' if overflow else ""
    )
    return (
        f'{body}<div class="inner">\n<div class="question">',
        f'{body}<div class="inner">\n<div class="answer">',
        f"</div>\n</div>\n{too_long}</div>\n",
    )
