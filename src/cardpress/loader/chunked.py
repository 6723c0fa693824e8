"""Big card files read in chunks, on every core: :func:`read_in_chunks`, the only way in.

The cards list is cut into chunks at item lines. This process reads the head of the file (the
deck's keys) and the first chunk of cards, while each forked worker reads one later chunk,
judges its cards with the same validator and sends them back; with one worker, or where the
system cannot fork, this process reads every chunk. A chunk boundary is a line that starts a
new item of the top-level ``cards`` list, ``- `` at the list's column. Nothing in YAML can put
such a line inside a card: block scalars and plain multi-line text must be indented deeper,
and a quoted text or flow collection cut there leaves the chunk before it unterminated, which
is a syntax error in that chunk.

Any surprise (a syntax error, any error at all, a card id or question shared across chunks,
too many problems or cards, keys after the cards, a worker that dies) makes
:func:`read_in_chunks` return None, and the file is read again, whole, in one process
(deck.py): every diagnostic is the one-process one. The result is the same Deck, card for
card; ``tests/test_parallel.py`` compares them, and a property test compares them on
generated files.

Tests make small files take this path by lowering :data:`PARALLEL_MIN_BYTES`.
"""

from __future__ import annotations

import functools
import itertools
import marshal
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from cardpress import fork
from cardpress.errors import Diagnostic
from cardpress.format import KINDS, MAX_CARDS_PER_DECK, MAX_PROBLEMS_PER_FILE, card_clozes
from cardpress.loader.cards import CardContext, DeckCards
from cardpress.loader.compose import SEQ, Composer, compose_document
from cardpress.loader.deck import (
    CardRow,
    FileRead,
    StreamedCards,
    build_deck,
    read_topics,
)
from cardpress.loader.media import Images
from cardpress.loader.values import Report, TooManyProblems
from cardpress.model import Card, Media

PARALLEL_MIN_BYTES = 1 << 20
"""Smaller files are read whole: chunks and forks cost more than they save below this size."""

PARENT_WEIGHT = 1.0
"""The parent's chunk, as a part of one worker's. The parent takes in the workers' cards only
once they are done, so a smaller chunk would only make it wait for them: measured at 100k
cards on two cores, equal chunks finish together (0.9 was 10% slower to load)."""

_PIECE_BYTES = 1 << 15  # about 150 cards: small enough to stay in the CPU's caches
_PACKED_PIECE = 1000  # cards


def read_in_chunks(
    path: Path, data: bytes, workers: int, *, keep_cards: bool = True
) -> FileRead | None:
    """Read the big card file ``data`` (from ``path``) in chunks, one per worker process where
    the system can fork (else all of them in this process); None when it must be read whole
    (too small, not laid out for chunks, or a surprise).

    Even in one process this is faster than reading the file whole: the cards are composed
    by libyaml's C composer, a piece at a time, instead of from parser events in Python.
    Without ``keep_cards`` the workers judge their cards and send back only their ids and
    positions (``FileRead.rows``), which is all ``check`` needs.
    """
    if len(data) < PARALLEL_MIN_BYTES:
        return None
    layout = _layout(path, data)
    if layout is None or _items_past_limit(data, layout):
        return None
    processes = workers if fork.can_fork() else 1
    bounds = chunk_bounds(data, layout.first_item, layout.column, processes)
    started: list[fork.Forked[_ChunkResult]] = []
    try:
        for start, end in itertools.pairwise([*bounds, len(data)]):
            # The worker gets the file's bytes as a forked copy shares them: no copy at all.
            judge = functools.partial(
                _judge_chunk, path, data, start, end, layout.column, layout.topics, keep_cards
            )
            started.append(fork.Forked(judge))
        own_end = bounds[0] if bounds else len(data)
        return _read_head_and_merge(path, data, layout, own_end, started, keep_cards)
    except (_Fallback, yaml.YAMLError, TooManyProblems):
        return None
    finally:
        for worker in started:
            worker.kill()


def _items_past_limit(data: bytes, layout: _Layout) -> bool:
    """More item lines than a deck may have cards: the file is read whole at once (for the
    message) rather than in chunks first and then whole again. A count of lines only; the
    whole read counts the cards themselves."""
    item = _item_line(layout.column)
    return sum(1 for _ in item.finditer(data, max(layout.first_item - 1, 0))) > MAX_CARDS_PER_DECK


class _Fallback(Exception):
    """The file cannot be read in chunks after all; it is read again, whole, in one process."""


def chunk_bounds(data: bytes, first_item: int, column: int, workers: int) -> list[int]:
    """Byte offsets of the lines where the chunks of workers 1, 2, ... begin: lines that start
    an item of the cards list (the first at ``first_item``, at ``column``), spread so that
    every process finishes together. The parent's chunk, before the first bound, is
    :data:`PARENT_WEIGHT` of a worker's; the workers' chunks are equal."""
    item = _item_line(column)
    total = len(data) - first_item
    shares = PARENT_WEIGHT + workers - 1
    bounds: list[int] = []
    for k in range(1, workers):
        target = first_item + int(total * (PARENT_WEIGHT + k - 1) / shares)
        found = item.search(data, max(target, bounds[-1] if bounds else first_item))
        if found is None:
            break
        bounds.append(found.start() + 1)
    return bounds


@dataclass(frozen=True)
class _Layout:
    """Where a card file's cards list starts, and the deck's topics (read before it)."""

    first_item: int  # byte offset of the line of the list's first item
    column: int  # the column of its items' dashes
    topics: dict[str, str] | None


_LS_PS = re.compile(b"\xe2\x80[\xa8\xa9]")  # U+2028, U+2029: YAML 1.1 line breaks


def _layout(path: Path, data: bytes) -> _Layout | None:
    """The layout of a file whose cards can be read in chunks, or None."""
    if (
        (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
        or b"\xc2\x85" in data
        or _LS_PS.search(data)
        or data.startswith(b"%")
        or b"\n%" in data
    ):
        return None  # other line breaks (libyaml counts them as lines) or directives
    try:
        return _scout(path, data)
    except (yaml.YAMLError, TooManyProblems, ValueError):
        return None


def _scout(path: Path, data: bytes) -> _Layout | None:
    """Read the deck's keys up to its cards list; None when they are not plain."""
    composer = Composer(data)
    report = Report(path)
    composer.next()  # StreamStart
    composer.next()  # DocumentStart
    start = composer.next()
    if type(start) is not yaml.MappingStartEvent or start.tag not in (None, "!"):
        return None
    topics: dict[str, str] | None = None
    while type(composer.peek()) is yaml.ScalarEvent:
        key = composer.node()
        if key.value == "topics" and topics is None:
            topics = read_topics(composer.node(), report)
        elif key.value == "cards":
            # Topics after the cards would be needed to judge them: read it whole.
            if (
                (topics is None and b"topics" in data)
                or report.diagnostics
                # The deck's own note types, and how its media are named, are judged with
                # the deck read whole (a deck imported from Anki).
                or b"note_types" in data
                or b"keep_media_names" in data
            ):
                return None
            return _cards_start(composer, data, topics)
        else:
            composer.skip()
    return None


def _cards_start(composer: Composer, data: bytes, topics: dict[str, str] | None) -> _Layout | None:
    """Where the cards list that comes next starts, if it is a block list of mappings."""
    items = composer.next()
    if (
        type(items) is not yaml.SequenceStartEvent
        or items.flow_style
        or items.tag not in (None, "!")
        or type(composer.peek()) is not yaml.MappingStartEvent
    ):
        return None
    mark = items.start_mark
    assert mark is not None  # libyaml marks every event
    offset = 0
    for _ in range(mark.line):
        offset = data.index(b"\n", offset) + 1
    return _Layout(offset, mark.column, topics)


def _read_head_and_merge(
    path: Path,
    data: bytes,
    layout: _Layout,
    own_end: int,
    workers: list[fork.Forked[_ChunkResult]],
    keep_cards: bool,
) -> FileRead:
    """In the parent: the deck's keys, the first chunk of cards, then the workers' cards."""
    root, cards_node = _head(compose_document(data[: layout.first_item]))
    report = Report(path, source=data)
    images = Images(path.parent)
    cards = DeckCards()
    context = CardContext(report, images, layout.topics, keep_cards)
    _judge_items(cards, context, data, layout.first_item, own_end, layout.column)
    rows: list[CardRow] = []
    for worker in workers:
        try:
            part = worker.result()
        except fork.ChildFailed as exc:
            raise _Fallback from exc
        _merge(part, cards, rows, report, images, keep_cards)
    if (
        len(report.diagnostics) >= MAX_PROBLEMS_PER_FILE
        or len(cards.cards) + len(rows) > MAX_CARDS_PER_DECK
    ):
        raise _Fallback
    streamed = StreamedCards(cards_node, layout.topics, cards)
    deck = build_deck(root, report, images, streamed, keep_html=keep_cards)
    if deck is None or report.has_errors():
        raise _Fallback
    return FileRead(deck, report.diagnostics, rows, set(cards.titles.values()))


def _head(root: yaml.Node | None) -> tuple[yaml.MappingNode, yaml.Node]:
    """The deck mapping of the file's head, and the value of the ``cards:`` key that ends it
    (nothing: the cards come apart)."""
    if not isinstance(root, yaml.MappingNode) or not root.value:
        raise _Fallback  # pragma: no cover - the scout found a mapping with `cards:`
    key, value = root.value[-1]
    if key.value != "cards" or type(value) is not yaml.ScalarNode or value.value != "":
        raise _Fallback
    return root, value


def _merge(
    part: _ChunkResult,
    cards: DeckCards,
    rows: list[CardRow],
    report: Report,
    images: Images,
    keep_cards: bool,
) -> None:
    """Append a worker's cards to those before them, unless they share something that one
    process would report (an id, a question, a topic title spelled differently)."""
    for folded, title in part.titles.items():
        if cards.titles.setdefault(folded, title) != title:
            raise _Fallback
    ids = cards.ids
    if keep_cards:
        for card in part.unpack_cards(report.path_text):
            if card.id in ids:
                raise _Fallback
            ids[card.id] = card.line
            cards.cards.append(card)
    else:  # ids and lines only: merged a dict at a time (a worker's ids are unique)
        new_rows = list(part.unpack_rows())
        lines = dict(map(operator.itemgetter(0, 1), new_rows))
        if not ids.keys().isdisjoint(lines):
            raise _Fallback
        ids.update(lines)
        rows += new_rows
    questions = part.unpack_questions()
    if not cards.questions.keys().isdisjoint(questions):
        raise _Fallback
    cards.questions.update(questions)
    cards.leaks += marshal.loads(part.leaks)
    report.diagnostics.extend(part.diagnostics)
    images.media.update(part.media)


def _judge_items(
    cards: DeckCards, context: CardContext, data: bytes, start: int, end: int, column: int
) -> None:
    """Judge the cards in ``data[start:end]``: whole items of the cards list.

    The items are composed by libyaml's C composer a few dozen kilobytes at a time, cut at
    item lines like the chunks: half the time of composing node by node from Python event
    objects, and only one piece's nodes are ever held. Any YAML error is raised.
    """
    item_line = _item_line(column)
    line = data.count(b"\n", 0, start)
    while start < end:
        found = item_line.search(data, start + _PIECE_BYTES, end)
        stop = found.start() + 1 if found else end
        piece = data[start:stop]
        node = compose_document(piece)
        if type(node) is not yaml.SequenceNode or node.flow_style or node.tag != SEQ:
            raise _Fallback
        here = CardContext(
            context.report.shifted(line), context.images, context.topics, context.keep_html
        )
        for item in node.value:
            cards.add(item, here)
        if context.report.has_errors():
            raise _Fallback  # the file is read whole for its messages: no need to go on
        line += piece.count(b"\n")
        start = stop


def _item_line(column: int) -> re.Pattern[bytes]:
    """A line that starts an item of a block list at ``column`` (the match starts at its
    line break)."""
    return re.compile(rb"\n" + b" " * column + rb"-[ \r\n]")


# -- the workers ---------------------------------------------------------------------------


def _judge_chunk(
    path: Path,
    data: bytes,
    start: int,
    end: int,
    column: int,
    topics: dict[str, str] | None,
    keep_cards: bool,
) -> _ChunkResult:
    """In a worker: the cards of ``data[start:end]`` (items of the cards list), judged;
    _Fallback on surprise."""
    report = Report(path, source=data)
    images = Images(path.parent)
    cards = DeckCards()
    context = CardContext(report, images, topics, keep_cards)
    try:
        _judge_items(cards, context, data, start, end, column)
    except (yaml.YAMLError, TooManyProblems) as exc:
        raise _Fallback from exc
    if report.has_errors():
        raise _Fallback
    return _ChunkResult.pack(cards, report.diagnostics, images.media, keep_cards)


@dataclass
class _ChunkResult:
    """What a worker found in its chunk of cards: all the parent needs to go on.

    Cards and questions travel as ``marshal`` data of plain tuples: pickling and unpickling
    50,000 dataclass objects cost five times as much (both processes are the same Python).
    The cards come in pieces, unpacked one at a time: each piece's tuples are freed before the
    next one's are made, so they do not leave tens of thousands of holes among the deck's
    objects (memory that would stay the parent's, and be copied by a process it forks).
    """

    cards: list[bytes]
    diagnostics: list[Diagnostic]
    media: dict[str, Media]
    questions: bytes
    titles: dict[str, str]
    leaks: bytes  # the cards' LeakEntry tuples (leaks.py)

    @staticmethod
    def pack(
        cards: DeckCards,
        diagnostics: list[Diagnostic],
        media: dict[str, Media],
        keep_cards: bool,
    ) -> _ChunkResult:
        pieces = []
        for start in range(0, len(cards.cards), _PACKED_PIECE):
            rows = [
                (c.id, c.kind.value, c.front, c.back, c.topic, c.topic_title, c.tags, c.source,
                 c.extra, c.line, c.col, c.media, c.generated_id, c.guid)
                if keep_cards else (c.id, c.line, c.col, c.generated_id, c.kind.value,
                                    c.topic, c.topic_title, card_clozes(c), c.front, c.guid)
                for c in cards.cards[start : start + _PACKED_PIECE]
            ]  # fmt: skip
            pieces.append(marshal.dumps(rows))
        questions = marshal.dumps(cards.questions)
        leaks = marshal.dumps(cards.leak_entries())  # made here, in parallel
        return _ChunkResult(pieces, diagnostics, media, questions, cards.titles, leaks)

    def unpack_cards(self, path: str) -> Iterator[Card]:
        for piece in self.cards:
            yield from [
                Card(cid, KINDS[kind], front, back, topic, title, tags, source, extra,
                     path, line, col, media, generated, guid)
                for (cid, kind, front, back, topic, title, tags, source, extra, line, col,
                     media, generated, guid) in marshal.loads(piece)
            ]  # fmt: skip

    def unpack_rows(self) -> Iterator[CardRow]:
        """The cards of a result packed without keep_cards (see CardRow)."""
        for piece in self.cards:
            yield from marshal.loads(piece)

    def unpack_questions(self) -> dict[str, str]:
        return dict(marshal.loads(self.questions))
