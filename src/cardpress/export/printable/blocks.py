"""Reading a field: the blocks a browser stacks, each measured once.

A field's HTML is read with the standard library's ``html.parser`` into the blocks the browser
stacks (paragraphs, list items, lines broken with ``<br>``, images, rules), each with the widths
of its words measured once; fitting (fit.py) then only adds numbers. Which tags start a block,
indent it or set it in code type is decided in one place, the Stacker. This is the reference
reading. Most fields share a few shapes of tags, and at 100,000 cards html.parser would be the
larger part of writing the pages, so blocks_fast.py splits the sanitiser's output into tags and
text another way, and stacks them with the same Stacker; a property test holds it to this one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import cache, partial
from html.parser import HTMLParser
from typing import NamedTuple

from cardpress.export.printable.metrics import (
    BLOCK_GAP,
    BOUND,
    LINE_HEIGHT,
    SPACE,
    mono_width,
    widest,
    word_width,
)

TEXT, IMAGE, RULE = 0, 1, 2

BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "blockquote", "pre", "table",
     "thead", "tbody", "tr"}
)  # fmt: skip
VOID_TAGS = frozenset({"br", "hr", "img"})
MONO_TAGS = frozenset({"code", "kbd", "pre"})
CELL_TAGS = frozenset({"td", "th"})
INDENTS = {"ul": 1.3, "ol": 1.3, "blockquote": 1.0}  # em: a list's or a quote's left indent
CELL_SPACE = "   "  # what a table cell adds before its text

Raw = tuple[int, str, float, bool, bool]
"""A block as read: its kind, its text (character references resolved), its indent (em), and
whether it is set in monospaced type and whether in ``<pre>``."""


class Block(NamedTuple):
    """A block of a fragment, measured; widths in em of the type it is set in."""

    kind: int  # TEXT, IMAGE or RULE
    indent: float = 0.0
    pre: bool = False
    # The widths of the words of each paragraph: one, or one per line in <pre>.
    words: tuple[tuple[float, ...], ...] = ()


class Blocks(NamedTuple):
    """How a fragment measures, for any width.

    Most fragments break no line at the widths they get: a paragraph or two of text, a short
    list. ``widest`` is a bound, a hair above, of the width in em a fragment needs for that
    (its widest line's, indent included), and ``lines`` and ``one_line_height`` are its lines
    and its height in em then; in a narrower box it is wrapped word by word. A simple fragment
    (each block one unindented paragraph, as most fields are) keeps the widths of the words of
    each paragraph; any other (lists, quotes, code, images) its blocks. A fragment with an
    image has no bound (``widest`` is infinite): its height depends on the type size.
    """

    widest: float
    one_line_height: float
    lines: int
    structured: bool  # set left-aligned: lists, quotes, code, more than two blocks
    blocks: tuple[Block, ...] = ()  # when not simple
    paragraphs: tuple[tuple[float, ...], ...] = ()  # when simple: each one's words' widths


NOTHING = Blocks(0.0, 0.0, 0, False)

# Blocks from a tuple of its fields, as Blocks._make makes them but without a Python call: most
# fields are one paragraph, and this runs for each.
_new_blocks = partial(tuple.__new__, Blocks)
IMAGE_BLOCK = Block(IMAGE)
RULE_BLOCK = Block(RULE)


def paragraph(text: str, measure: Callable[[str], float] = word_width) -> Blocks:
    """A fragment that is one paragraph of plain text (most card fields are)."""
    words = tuple(map(measure, text.split()))
    if not words:
        return NOTHING
    bound = (sum(words) + SPACE * (len(words) - 1)) * BOUND  # metrics.widest, inline: hot
    return _new_blocks((bound, LINE_HEIGHT, 1, False, (), (words,)))


@cache
def one_line_height(blocks: int) -> float:
    """Height in em of ``blocks`` paragraphs of one line each, added up as fit.py adds them."""
    height = 0.0
    for index in range(blocks):
        if index:
            height += BLOCK_GAP
        height += 1 * LINE_HEIGHT
    return height


def measured(raw: Iterable[Raw], measure: Callable[[str], float] = word_width) -> Blocks:
    """The blocks read from a fragment, measured (empty and blank text blocks dropped); words
    not in code measured by ``measure``."""
    blocks: list[Block] = []
    simple = True  # each block one unindented paragraph of text
    indented = image = False  # a block indented or in <pre>; an image
    for kind, text, indent, mono, pre in raw:
        if kind != TEXT:
            blocks.append(IMAGE_BLOCK if kind == IMAGE else RULE_BLOCK)
            simple = False
            image = image or kind == IMAGE
            continue
        block = _text_block(text, indent, mono, pre, measure)
        if block is None:
            continue
        blocks.append(block)
        if indent or pre:
            simple = False
            indented = True
    structured = len(blocks) > 2 or indented
    if not simple:
        return _not_simple(tuple(blocks), structured, image)
    paragraphs = tuple(block.words[0] for block in blocks)
    return Blocks(
        max(map(widest, paragraphs), default=0.0),
        one_line_height(len(blocks)),
        len(blocks),
        structured,
        (),
        paragraphs,
    )


def _text_block(
    text: str, indent: float, mono: bool, pre: bool, words_in: Callable[[str], float]
) -> Block | None:
    """A text block measured: in ``<pre>`` line by line, else one paragraph; None if blank."""
    if not text or text.isspace():
        return None
    measure = mono_width if mono else words_in
    if pre:
        lines = tuple(tuple(map(measure, line.split())) for line in text.split("\n"))
        return Block(TEXT, indent, True, lines)
    words = tuple(map(measure, text.split()))
    return Block(TEXT, indent, False, (words,)) if words else None


def _not_simple(blocks: tuple[Block, ...], structured: bool, image: bool) -> Blocks:
    """A fragment that is not simple, measured: with no line broken, each paragraph of a text
    block (each line of a <pre>) is one line, added up as fit.lines_and_height adds them.

    A paragraph within its block's usable width (``width / WIDTH_SAFETY - indent``, at least
    an em) is one line when wrapped (see metrics.widest), so the bound is the widest
    paragraph's width plus its indent; as the line width it is compared with is at least an em,
    a block whose usable width is that em keeps its paragraphs on one line too. An image's
    height depends on the type size: a fragment with ``image`` is measured afresh at every size.
    """
    if image:
        return Blocks(math.inf, 0.0, 0, structured, blocks)
    bound = 0.0
    lines = 0
    height = 0.0
    for index, block in enumerate(blocks):
        if index:
            height += BLOCK_GAP
        if block.kind == RULE:
            height += 1.0
        else:
            bound = max(bound, max(map(widest, block.words)) + block.indent)
            count = len(block.words)
            lines += count
            height += count * LINE_HEIGHT
    return Blocks(bound, height, lines, structured, blocks)


# -- stacking --------------------------------------------------------------------------------

CELL_RUN = -1  # in a block's runs: the spaces a table cell adds before its text

Stacked = tuple[int, float, bool, bool, tuple[int, ...]]
"""A block as the tags make it: its kind, its indent, whether in monospaced type and whether
in <pre>, and the runs of text it is made of (run i: the text after the i-th tag)."""


class Stacker:
    """The blocks a browser stacks, worked out tag by tag: which runs of text (the text
    between two tags) make each block, and how it is set. The one place of these rules: the
    html.parser reading below and blocks_fast.py both follow them."""

    def __init__(self) -> None:
        self.blocks: list[Stacked] = []
        self.runs: list[int] = [0]  # the runs of text of the block so far
        self.indent = 0.0
        self.mono = self.pre = 0
        self.had_mono = False  # the block so far had monospaced text

    def flush(self) -> None:
        """End the text block so far."""
        self.blocks.append((TEXT, self.indent, self.had_mono, self.pre > 0, tuple(self.runs)))
        self.runs = []
        self.had_mono = self.mono > 0

    def start(self, tag: str) -> None:
        """A start tag."""
        if tag in BLOCK_TAGS or tag in VOID_TAGS:
            self.flush()
        if tag in INDENTS:
            self.indent += INDENTS[tag]
        elif tag == "pre":
            self.pre += 1
        elif tag == "img":
            self.blocks.append((IMAGE, 0.0, False, False, ()))
        elif tag == "hr":
            self.blocks.append((RULE, 0.0, False, False, ()))
        elif tag in CELL_TAGS:
            self.runs.append(CELL_RUN)
        if tag in MONO_TAGS:
            self.mono += 1
            self.had_mono = True

    def end(self, tag: str) -> None:
        """An end tag."""
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in INDENTS:
            self.indent = max(0.0, self.indent - INDENTS[tag])
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in MONO_TAGS:
            self.mono = max(0, self.mono - 1)

    def finish(self) -> tuple[Stacked, ...]:
        """The blocks, once every tag is in."""
        self.flush()
        return tuple(self.blocks)


def run_text(runs: tuple[int, ...], texts: list[str]) -> str:
    """The text of a block made of these runs."""
    if len(runs) == 1:
        return texts[runs[0]] if runs[0] != CELL_RUN else CELL_SPACE
    return "".join([texts[run] if run != CELL_RUN else CELL_SPACE for run in runs])


def with_text(blocks: tuple[Stacked, ...], texts: list[str]) -> list[Raw]:
    """The blocks with their text."""
    return [
        (kind, run_text(runs, texts), indent, mono, pre) for kind, indent, mono, pre, runs in blocks
    ]


# -- the reference reading -------------------------------------------------------------------


class _Reader(HTMLParser):
    """A fragment's tags and text as html.parser's events give them, stacked."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stacker = Stacker()
        self.texts: list[list[str]] = [[]]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stacker.start(tag)
        self.next_run()

    def handle_endtag(self, tag: str) -> None:
        self.stacker.end(tag)
        self.next_run()

    def next_run(self) -> None:
        self.stacker.runs.append(len(self.texts))
        self.texts.append([])

    def handle_data(self, data: str) -> None:
        self.texts[-1].append(data)


def raw_blocks(fragment: str) -> list[Raw]:
    """The blocks of an HTML fragment as html.parser reads them, text blocks not yet measured."""
    reader = _Reader()
    reader.feed(fragment)
    reader.close()
    return with_text(reader.stacker.finish(), ["".join(pieces) for pieces in reader.texts])


def read(fragment: str, measure: Callable[[str], float] = word_width) -> Blocks:
    """How an HTML fragment measures (the reference reading); words not in code measured by
    ``measure``."""
    return measured(raw_blocks(fragment), measure)
