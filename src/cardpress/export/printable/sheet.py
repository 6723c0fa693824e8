"""The study sheet, ``NAME.sheet.html``: question | answer columns to fold in half, rows grouped
by topic, paginated here so that no row is split across pages (DESIGN §4).

The document frame comes from templates/sheet.html.j2; the pages and rows are joined here from
markup pieces, as the templates would write them (see frame.py).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Iterator, Mapping, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TextIO

from cardpress.export import BuildOptions, ExportSummary, plural
from cardpress.export.printable.fields import sound_note
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
from cardpress.export.printable.layout import (
    FOLD_HINT,
    Measurement,
    Rows,
    measured_for,
    source_line,
)
from cardpress.export.printable.metrics import LINE_HEIGHT
from cardpress.export.printable.paper import (
    SHEET_HEAD,
    SHEET_IMAGE_HEIGHT,
    SHEET_NUMBER_WIDTH,
    SHEET_ROW_PAD,
    SHEET_SIZES,
    SHEET_TEXT_PT,
    SHEET_TITLE_PT,
    SHEET_TOPIC,
    Paper,
    mm,
    paper_for,
    sheet_body_height,
    sheet_paper,
)
from cardpress.model import Deck
from cardpress.notes import Notes


def write_sheet(
    notes: Notes,
    path: Path,
    options: BuildOptions | None = None,
    *,
    measured: Measurement | None = None,
) -> ExportSummary:
    """Write the study sheet of ``notes`` to ``path``, on the paper of ``options``.

    ``measured`` is what :func:`measure` made of the same notes on the same paper (a build
    measures once for both pages); without it the notes are measured here. The file is written
    as its pages are made; if the export fails, it is removed rather than left half-written.
    """
    options = options or BuildOptions()
    paper = sheet_paper(paper_for(options.paper))  # card stock: its sheet's plain paper
    measurement = measured_for(notes, options, measured)
    if options.worksheet:
        measurement = _for_writing(measurement)
    deck = notes.deck
    topics = _topics(deck, accents(deck))
    heights = _pages(topics, measurement.rows, paper, measurement.title_height)
    page_count = sum(1 for _ in heights)
    worksheet = options.worksheet
    write_page(path, lambda out: _write(notes, measurement, topics, page_count, worksheet, out))
    what = "worksheet" if worksheet else ""
    summary = (
        f"{plural(len(notes), 'row')} on {plural(page_count, 'page')} ({paper.name}"
        + (f", {what}" if what else "")
        + ")"
    )
    warnings = () if worksheet else measurement.row_warnings
    return ExportSummary(summary, (*warnings, *sound_note(deck)))


def _for_writing(measurement: Measurement) -> Measurement:
    """The measurement of the worksheet: every row at least WRITE_HEIGHT, for a handwritten
    answer; the title block one line taller, for the name and date."""
    rows = Rows()
    rows.size, rows.overflow = measurement.rows.size, measurement.rows.overflow
    rows.height = array("d", (max(h, WRITE_HEIGHT) for h in measurement.rows.height))
    title = measurement.title_height + NAME_LINE_HEIGHT
    return dataclasses.replace(measurement, rows=rows, title_height=title)


# The worksheet: room to write an answer by hand, and the line for the student's name (with its
# margins: 11.6 mm as Chromium prints it).
WRITE_HEIGHT = 12.0
NAME_LINE_HEIGHT = 11.8
WORKSHEET_HINT = "Write each answer beside its question; then check it against the sheet."


def _write(
    notes: Notes,
    measurement: Measurement,
    topics: Sequence[Topic],
    page_count: int,
    worksheet: bool,
    out: TextIO,
) -> None:
    paper, rows, deck = sheet_paper(measurement.paper), measurement.rows, notes.deck
    markup = SheetMarkup(deck, measurement, topics, page_count, worksheet=worksheet)
    pages = (
        markup.page(number, runs)
        for number, runs in enumerate(
            _pages(topics, rows, paper, measurement.title_height), start=1
        )
    )
    out.writelines(
        render(
            "sheet.html.j2",
            deck=deck,
            paper=paper,
            pages=pages,
            page_count=page_count,
            count=len(notes),
            sizes=SHEET_SIZES,
            accents=ACCENTS,
            images=image_rules(deck, measurement.sheet_images),
            csp=CSP,
            mm=mm,
            number_width=SHEET_NUMBER_WIDTH,
            image_height=SHEET_IMAGE_HEIGHT,
            line_height=LINE_HEIGHT,
            title_pt=SHEET_TITLE_PT,
            text_pt=SHEET_TEXT_PT,
            row_pad=SHEET_ROW_PAD,
            head_height=SHEET_HEAD,
            topic_height=SHEET_TOPIC,
            worksheet=worksheet,
            write_height=WRITE_HEIGHT,
        )
    )


Topic = tuple[str, int, "array[int]"]
"""A topic on the study sheet: its title, its accent and the indexes of its cards."""

Run = tuple[int, int, int]
"""Rows of one topic on a page: the topic's number, and where they start and stop in it."""


def _topics(deck: Deck, accents: Mapping[str, int]) -> list[Topic]:
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


def _pages(
    topics: Sequence[Topic], rows: Rows, paper: Paper, title_height: float
) -> Iterator[list[Run]]:
    """Rows packed onto pages in topic order; a heading never ends a page.

    Each run of a topic's rows on a page opens with the topic's heading (if it has a title):
    "continued" unless it starts the topic. ``title_height`` is the room the deck's title takes
    at the top of the first page. Pages are made one at a time: this runs once to count them
    and once more to write them.
    """
    heights = rows.height
    page: list[Run] = []
    full = sheet_body_height(paper)
    room = full - title_height
    for number, (title, _, members) in enumerate(topics):
        start = 0  # where the topic's run on this page starts
        for place, index in enumerate(members):
            height = heights[index]
            first = place == 0 or (place == start and not page)  # of a topic or of a page
            heading = SHEET_TOPIC if title and first else 0.0
            if heading + height > room and room < full:
                if place > start:
                    page.append((number, start, place))
                yield page
                page = []
                start = place
                room = full
                heading = SHEET_TOPIC if title else 0.0
            if heading:
                room -= heading
            room -= height
        page.append((number, start, len(members)))
    yield page


class SheetMarkup:
    """The pages of the sheet layout."""

    def __init__(
        self,
        deck: Deck,
        measurement: Measurement,
        topics: Sequence[Topic],
        pages: int,
        *,
        worksheet: bool = False,
    ) -> None:
        self.worksheet = worksheet
        self.cards = deck.cards
        self.html = measurement.html
        self.sizes, self.overflows = measurement.rows.size, measurement.rows.overflow
        self.topics = topics
        self.pages = pages
        self.name = escape(deck.name)
        description = measurement.description
        self.title = (
            f'<div class="title">\n<h1>{self.name}</h1>\n'
            + (f'<div class="description">{description}</div>\n' if description else "")
            + (f'<p class="source">{escape(source_line(deck))}</p>\n' if deck.source else "")
            + (
                '<p class="name-line"><span>Name</span><span>Date</span></p>\n'
                f'<p class="hint">{escape(WORKSHEET_HINT)}</p>\n'
                if worksheet
                else f'<p class="hint">{escape(FOLD_HINT)}</p>\n'
            )
            + "</div>\n"
        )
        # The start of a row, by type size and accent.
        self.starts = [
            [
                f'<div class="row fs{size} accent{accent}">\n<div class="q"><span class="no">'
                for accent in range(len(ACCENTS))
            ]
            for size in range(len(SHEET_SIZES))
        ]

    def page(self, number: int, runs: Sequence[Run]) -> str:
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
                out.append(f'<h2 class="topic accent{accent}">{escape(title)}{cont}</h2>\n')
            out += [row(index, accent) for index in members[start:stop]]
        out.append(
            f'</div>\n</div>\n<div class="footer"><span class="deck">{self.name}</span>'
            f'<span class="pageno">page {number} of {self.pages}</span></div>\n</section>'
        )
        return "".join(out)

    def row(self, index: int, accent: int) -> str:
        """A note's row: its question beside its answer and the notes under it."""
        question, answer, extra, source = self.html(index, self.cards[index])
        if self.worksheet:  # the question only: the answer column is for the student
            return (
                f'{self.starts[self.sizes[index]][accent]}{index + 1}</span><div class="text">\n'
                f'<div class="question">{question}</div>\n</div></div>\n'
                '<div class="a write"></div>\n</div>\n'
            )
        below = notes_markup(extra, source) if extra or source else ""
        too_long = (
            '<div class="too-long">too long for one page: text may be cut off</div>\n'
            if self.overflows[index]
            else ""
        )
        return (
            f'{self.starts[self.sizes[index]][accent]}{index + 1}</span><div class="text">\n'
            f'<div class="question">{question}</div>\n</div></div>\n<div class="a">\n'
            f'<div class="answer">{answer}</div>\n{below}{too_long}</div>\n</div>\n'
        )
