"""YAML card files -> typed model. The one place that judges input.

Files are composed (never constructed) with libyaml's ``CSafeLoader`` where present, so no YAML
tag can build a Python object and every node keeps its line and column. Each problem becomes a
:class:`Diagnostic`; all of them, from every file, are raised at once as :class:`InputError`.
"""

from __future__ import annotations

import codecs
import difflib
import functools
import hashlib
import itertools
import marshal
import operator
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from cardpress.errors import Diagnostic, InputError, Severity, sort_diagnostics
from cardpress.fork import ChildFailed, Forked, can_fork
from cardpress.format import (
    CARD_FILE_SUFFIXES,
    CARD_KEYS,
    CLOZE,
    DECK_KEYS,
    FORMAT_VERSION,
    ID,
    IMAGE_MAGIC,
    KINDS,
    LONG_ANSWER_CHARS,
    MAX_CARDS_PER_DECK,
    MAX_FIELD_CHARS,
    MAX_FILE_BYTES,
    MAX_PROBLEMS_PER_FILE,
)
from cardpress.model import Card, Deck, Kind, Location, Media
from cardpress.render import plain_text, render, render_html
from cardpress.svg import svg_problem

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = frozenset(
    f(word)
    for word in ("true", "false", "yes", "no", "on", "off")
    for f in (str, str.title, str.upper)
)


class _Loader(_Base):  # type: ignore[misc]
    """Composes nodes only; plain scalars resolve to text, null or bool, nothing else.

    The loader reads every scalar as the text written (``1924`` stays "1924"), so PyYAML's
    regex-based resolution of ints, floats and timestamps is work thrown away.
    """

    # libyaml's composer calls these two for every node, for PyYAML's path resolvers, which
    # nothing here registers (they would do nothing). A built-in that takes the same arguments
    # and has no effect costs far less than a Python method: 5% of a big file's read.
    descend_resolver = staticmethod(operator.is_)  # (parent, index)
    ascend_resolver = staticmethod(tuple)  # ()

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0] and value in _NULLS:
                return _NULL
            if implicit[0] and value in _BOOLS:
                return _BOOL
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


# Characters YAML does not allow in a file (C0 and C1 controls but tab, newlines and NEL).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
# The same characters in UTF-8: C0 one byte each, C1 as C2 80-9F, U+FFFE/F as EF BF BE/F.
_CONTROL_BYTES = re.compile(
    b"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x84\x86-\x9f]|\xef\xbf[\xbe\xbf]"
)


def _is_utf8(data: bytes, piece: int = 1 << 20) -> bool:
    """Whether ``data`` is valid UTF-8, decoded a piece at a time (never all of it at once)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), piece):
            decoder.decode(view[start : start + piece])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


_C0 = bytes(b for b in range(256) if b not in b"\t\n\r" and (b < 0x20 or b == 0x7F))
_NOT_C0 = bytes(b for b in range(256) if b not in _C0)
_C1 = re.compile(b"\xc2[\x80-\x84\x86-\x9f]")


def _has_control(data: bytes) -> bool:
    """``_CONTROL_BYTES.search(data)``, in a tenth of the time: one pass deletes every byte
    but C0 controls, and the multi-byte ones are searched by their fixed first bytes."""
    return bool(
        data.translate(None, _NOT_C0)
        or _C1.search(data)
        or b"\xef\xbf\xbe" in data
        or b"\xef\xbf\xbf" in data
    )


_PLAIN_TAGS = {_STR, _NULL, _BOOL, _INT, _FLOAT, "tag:yaml.org,2002:timestamp"}


@dataclass
class LoadResult:
    """The decks of a successful load and its warnings."""

    decks: list[Deck]
    warnings: list[Diagnostic] = field(default_factory=list)


def find_card_files(paths: Sequence[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Expand folders to the card files inside them (sorted, so builds are reproducible)."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix in CARD_FILE_SUFFIXES and p.is_file()
            )
            if not found:
                problems.append(_error(Location(str(path)), "no card files (*.yaml) in folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(_error(Location(str(path)), "no such file or folder"))
    unique = list(dict.fromkeys(files))
    return unique, problems


def load(
    paths: Path | str | Sequence[Path | str], *, strict: bool = False, workers: int = 1
) -> LoadResult:
    """Load every card file under ``paths``; raise InputError listing all problems.

    With ``strict`` warnings count as errors. With ``workers`` > 1 a big file is read by that
    many processes (forked: call it only from a single-threaded program); the result is the
    same either way.
    """
    decks, _, warnings = _load_files(paths, strict, workers, keep_cards=True)
    return LoadResult(decks, warnings)


@dataclass(frozen=True)
class CheckResult:
    """What ``cardpress check`` reports of card files that have no error."""

    decks: int
    cards: int
    warnings: list[Diagnostic]


def check(
    paths: Path | str | Sequence[Path | str], *, strict: bool = False, workers: int = 1
) -> CheckResult:
    """Check every card file under ``paths`` as :func:`load` does, without keeping the cards.

    Raises the same InputError and finds the same warnings. Cheaper than :func:`load` on big
    files read by several workers: their cards are judged there and not sent back.
    """
    decks, cards, warnings = _load_files(paths, strict, workers, keep_cards=False)
    return CheckResult(len(decks), cards, warnings)


def _load_files(
    paths: Path | str | Sequence[Path | str], strict: bool, workers: int, keep_cards: bool
) -> tuple[list[Deck], int, list[Diagnostic]]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, problems = find_card_files([Path(p) for p in paths])
    loaded: list[tuple[Deck, _FileLoader]] = []
    for path in files:
        loader = _FileLoader(path, workers=workers, keep_cards=keep_cards)
        deck = loader.load()
        problems.extend(loader.diagnostics)
        if deck is not None:
            loaded.append((deck, loader))
    if len(loaded) > 1:  # card ids shared between files (one file checks its own)
        problems.extend(
            _cross_file_checks([(deck, _entries(deck, loader)) for deck, loader in loaded])
        )
    result = _result([deck for deck, _ in loaded], problems, strict)
    cards = sum(len(deck.cards) + len(loader.other_cards) for deck, loader in loaded)
    return result.decks, cards, result.warnings


_CardEntry = tuple[str, Location, bool]  # a card's id, where it is, and whether it was generated
_CardRow = tuple[str, int, int, bool]  # the same, as a worker sends it: id, line, column


def _entries(deck: Deck, loader: _FileLoader | None = None) -> list[_CardEntry]:
    """Every card of the deck, those only counted (``loader.other_cards``) too."""
    entries = [(card.id, card.location, card.generated_id) for card in deck.cards]
    if loader is not None:
        path = str(loader.path)
        entries += [(cid, Location(path, ln, col), gen) for cid, ln, col, gen in loader.other_cards]
    return entries


def _result(decks: list[Deck], problems: list[Diagnostic], strict: bool) -> LoadResult:
    if strict:
        problems = [Diagnostic(d.location, Severity.ERROR, d.message) for d in problems]
    errors = [d for d in problems if d.severity is Severity.ERROR]
    warnings = [d for d in problems if d.severity is Severity.WARNING]
    if errors:
        raise InputError(problems)
    return LoadResult(decks, sort_diagnostics(warnings))


def load_bytes(
    data: bytes, path: Path | str, *, strict: bool = False, workers: int = 1
) -> LoadResult:
    """Load one card file's content as if it were read from ``path`` (images resolve there)."""
    loader = _FileLoader(Path(path), data, workers=workers)
    deck = loader.load()
    problems = loader.diagnostics + _cross_file_checks([(deck, _entries(deck))] if deck else [])
    return _result([deck] if deck else [], problems, strict)


def load_deck(path: Path | str, *, strict: bool = False) -> Deck:
    """Load one card file."""
    result = load([path], strict=strict)
    if len(result.decks) != 1:
        raise InputError([_error(Location(str(path)), "expected exactly one card file")])
    return result.decks[0]


def _cross_file_checks(decks: Iterable[tuple[Deck, list[_CardEntry]]]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    keys: dict[str, Location] = {}
    ids: dict[str, Location] = {}
    names: dict[str, Location] = {}
    stems: dict[str, list[Location]] = {}
    for deck, cards in decks:
        # Outputs and the lock are named after the card file: two files of one name (in two
        # folders, or .yaml and .yml) would overwrite each other's. Case-insensitive file
        # systems (macOS, Windows) take Deck and deck for one name.
        stem = deck.file_stem.casefold()
        folder = Path(deck.location.path).parent
        if stem in stems:
            # Name the file in the same folder if there is one: they share the lock too.
            same = [o for o in stems[stem] if Path(o.path).parent == folder]
            other = (same or stems[stem])[0].path
            lock = " and lock file" if same else ""
            problems.append(
                _error(
                    deck.location,
                    f"card file has the same name as {other}: both would write the same "
                    f"outputs ({deck.file_stem}.apkg, ...){lock}; rename one",
                )
            )
        stems.setdefault(stem, []).append(deck.location)
        if deck.key in keys:
            problems.append(
                _error(deck.location, f"deck key {deck.key!r} is already used by {keys[deck.key]}")
            )
        keys.setdefault(deck.key, deck.location)
        if deck.name in names:
            problems.append(
                _error(
                    deck.location, f"deck name {deck.name!r} is already used by {names[deck.name]}"
                )
            )
        names.setdefault(deck.name, deck.location)
        for card_id, location, generated in cards:
            if generated:
                continue
            if card_id in ids and ids[card_id].path != location.path:
                problems.append(
                    _error(location, f"duplicate card id {card_id!r} (also at {ids[card_id]})")
                )
            ids.setdefault(card_id, location)
    return problems


def _error(location: Location, message: str) -> Diagnostic:
    return Diagnostic(location, Severity.ERROR, message)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Composer:
    """Builds YAML nodes from libyaml's parser events, one node at a time.

    PyYAML's ``compose`` keeps the whole node tree of a file (with two position marks per
    node): about 560 MB for 100k cards. Reading events lets the loader turn each card into a
    typed Card as soon as its events are read and drop its nodes; only the deck's own keys
    stay. Iterative, so no nesting depth can exhaust Python's stack.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.parser = _Loader(data)
        self.anchors: dict[str, yaml.Node] = {}

    def may_have(self, word: str) -> bool:
        """False when ``word`` appears nowhere in the file, so no key can be spelled so."""
        return word.encode() in self.data

    def peek(self) -> Any:
        return self.parser.peek_event()

    def next(self) -> Any:
        return self.parser.get_event()

    def node(self) -> yaml.Node:
        """Compose the next node, however deep."""
        resolve = self.parser.resolve
        get_event = self.parser.get_event
        anchors = self.anchors
        stack: list[list[Any]] = []  # [collection node, pending mapping key or _NO_KEY]
        while True:
            event = get_event()
            kind = type(event)
            node: yaml.Node
            if kind is yaml.ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(yaml.ScalarNode, event.value, event.implicit)
                node = yaml.ScalarNode(
                    tag, event.value, event.start_mark, event.end_mark, style=event.style
                )
                if event.anchor is not None:
                    anchors[event.anchor] = node
            elif kind is yaml.AliasEvent:
                if event.anchor not in anchors:
                    raise yaml.composer.ComposerError(
                        None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                    )
                node = anchors[event.anchor]
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                is_map = kind is yaml.MappingStartEvent
                node_class = yaml.MappingNode if is_map else yaml.SequenceNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _MAP if is_map else _SEQ
                collection = node_class(
                    tag, [], event.start_mark, None, flow_style=event.flow_style
                )
                if event.anchor is not None:
                    anchors[event.anchor] = collection
                stack.append([collection, _NO_KEY])
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                node = stack.pop()[0]
                node.end_mark = event.end_mark
            else:  # pragma: no cover - libyaml emits no other event inside a document
                raise yaml.composer.ComposerError(
                    None, None, f"unexpected {kind.__name__}", event.start_mark
                )
            if not stack:
                return node
            top = stack[-1]
            if isinstance(top[0], yaml.SequenceNode):
                top[0].value.append(node)
            elif top[1] is _NO_KEY:
                top[1] = node
            else:
                top[0].value.append((top[1], node))
                top[1] = _NO_KEY

    def skip(self) -> None:
        """Read past the next node without building it."""
        depth = 0
        while True:
            kind = type(self.next())
            if kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                depth += 1
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                depth -= 1
            if depth == 0:
                return


_NO_KEY = object()


class _TooManyProblems(Exception):
    """Stops reading a file that has more problems than anyone would read."""


class _FileLoader:
    """Loads one file, collecting diagnostics instead of stopping at the first."""

    def __init__(
        self, path: Path, data: bytes | None = None, *, workers: int = 1, keep_cards: bool = True
    ) -> None:
        self.path = path
        self.data = data
        self.workers = workers
        # Without keep_cards the workers' cards are judged but not sent back: only their ids
        # and positions come, in other_cards (for `check`, which counts and reports). Cards
        # judged without a message then carry no extra or source (see quick_card).
        self.keep_cards = keep_cards
        self.other_cards: list[_CardRow] = []
        self.base = path.parent
        self.diagnostics: list[Diagnostic] = []
        self.media: dict[str, Media] = {}
        # Set while this loader reads one chunk of a file read in parallel (see _Chunks).
        self.line_offset = 0
        self.rest: _Chunks | None = None
        self.path_text = str(path)

    # -- reporting -------------------------------------------------------------------------
    def loc(self, node: yaml.Node | None) -> Location:
        if node is None:
            return Location(str(self.path))
        mark = node.start_mark
        return Location(str(self.path), mark.line + 1 + self.line_offset, mark.column + 1)

    def error(self, node: yaml.Node | None, message: str) -> None:
        self.report(Diagnostic(self.loc(node), Severity.ERROR, message))

    def warn(self, node: yaml.Node | None, message: str) -> None:
        self.report(Diagnostic(self.loc(node), Severity.WARNING, message))

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)
        if len(self.diagnostics) >= MAX_PROBLEMS_PER_FILE:
            raise _TooManyProblems

    # -- reading ---------------------------------------------------------------------------
    def read_data(self) -> bytes | None:
        """The file's bytes, once they are known to be UTF-8 text without control characters.

        The parser reads the bytes as they are (libyaml decodes UTF-8 itself): a decoded copy
        of the whole file would hold four bytes a character as soon as it has one emoji.
        """
        where = Location(str(self.path))
        data = self.data
        if data is None:
            try:
                size = self.path.stat().st_size
                if size > MAX_FILE_BYTES:
                    self.diagnostics.append(
                        _error(where, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
                    )
                    return None
                data = self.path.read_bytes()
            except OSError as exc:
                self.diagnostics.append(_error(where, f"cannot read file: {exc.strerror}"))
                return None
        if len(data) > MAX_FILE_BYTES:
            self.diagnostics.append(
                _error(where, f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
            )
            return None
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.diagnostics.append(
                _error(Location(str(self.path), 1, 1), "file is UTF-16; save it as UTF-8")
            )
            return None
        if _is_utf8(data) and not _has_control(data):
            return data
        # Something is wrong: decode it all to say exactly where (the rare, slow path).
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            self.diagnostics.append(
                _error(
                    Location(str(self.path), line, col),
                    f"invalid UTF-8 byte 0x{data[exc.start]:02x}; save the file as UTF-8",
                )
            )
            return None
        bad = _CONTROL.search(text)
        assert bad is not None
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        self.diagnostics.append(
            _error(
                Location(str(self.path), line, col),
                f"control character U+{ord(bad.group()):04X} is not allowed in a card file",
            )
        )
        return None

    def load(self) -> Deck | None:
        data = self.read_data()
        if data is None:
            return None
        if self.workers > 1 and can_fork() and len(data) >= PARALLEL_MIN_BYTES:
            try:
                return _Chunks.load(self, data)
            except _Fallback:
                self.diagnostics.clear()
                self.media.clear()
                self.other_cards.clear()
                self.rest = None
        return self.parse(data)

    def parse(self, data: bytes) -> Deck | None:
        """Read the whole file in this process: the reference for every diagnostic."""
        try:
            return self.document(_Composer(data))
        except yaml.MarkedYAMLError as exc:
            self.report_yaml_error(exc)
        except yaml.YAMLError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.diagnostics.append(_error(Location(str(self.path)), f"YAML error: {first_line}"))
        except _TooManyProblems:
            last = max(d.location for d in self.diagnostics)
            self.diagnostics.append(
                _error(
                    last,
                    f"stopped after {MAX_PROBLEMS_PER_FILE} problems in this file; "
                    "fix these and check again",
                )
            )
        return None

    def report_yaml_error(self, exc: yaml.MarkedYAMLError) -> None:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"YAML syntax error: {exc.problem or exc.context or 'invalid YAML'}"
        context = exc.context_mark
        if exc.problem and exc.context and context is not None and context is not mark:
            message += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
        if "tab" in message:
            message += "; indent with spaces, not tabs"
        self.diagnostics.append(_error(Location(str(self.path), line, col), message))

    def document(self, composer: _Composer) -> Deck | None:
        """Read the file's single document; cards are judged as they stream in."""
        composer.next()  # StreamStart
        if isinstance(composer.peek(), yaml.StreamEndEvent):
            self.diagnostics.append(
                _error(Location(str(self.path)), "file is empty; expected a deck mapping")
            )
            return None
        composer.next()  # DocumentStart
        streamed: _StreamedCards | None = None
        first = composer.peek()
        if isinstance(first, yaml.MappingStartEvent) and first.tag in (None, "!", _MAP):
            root, streamed = self.root_mapping(composer)
        else:
            root = composer.node()
        composer.next()  # DocumentEnd
        event = composer.peek()
        if not isinstance(event, yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                root.start_mark,
                "but found another document",
                event.start_mark,
            )
        return self.deck(root, streamed)

    def root_mapping(self, composer: _Composer) -> tuple[yaml.Node, _StreamedCards | None]:
        """The deck mapping, with the first ``cards`` list turned into Cards as it is read."""
        start = composer.next()
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        streamed: _StreamedCards | None = None
        topics: yaml.Node | None = None
        seen_cards = False
        while not isinstance(composer.peek(), yaml.MappingEndEvent):
            key = composer.node()
            value = composer.peek()
            if self.rest is not None and _is_key(key, "cards"):
                # Read in chunks: the head of the file ends at `cards:`, the cards come apart.
                if seen_cards:
                    raise _Fallback
                streamed = self.stream_chunks(composer, topics, self.rest)
                pairs.append((key, streamed.node))
                if not isinstance(composer.peek(), yaml.MappingEndEvent):
                    raise _Fallback  # pragma: no cover - the head ends with `cards:`
            elif (
                not seen_cards
                and _is_key(key, "cards")
                and isinstance(value, yaml.SequenceStartEvent)
                and value.tag in (None, "!", _SEQ)
                and (topics is not None or not composer.may_have("topics"))
            ):
                streamed = self.stream_cards(composer, topics)
                pairs.append((key, streamed.node))
            else:
                # Topics may still come after the cards: keep their nodes, judge them at the end.
                pairs.append((key, composer.node()))
                if topics is None and _is_key(key, "topics"):
                    topics = pairs[-1][1]
            seen_cards = seen_cards or _is_key(key, "cards")
        end = composer.next()
        return yaml.MappingNode(_MAP, pairs, start.start_mark, end.end_mark), streamed

    def stream_chunks(
        self, composer: _Composer, topics_node: yaml.Node | None, rest: _Chunks
    ) -> _StreamedCards:
        """The cards of a file read in chunks: this process's own, then the workers'."""
        value: Any = composer.next()
        marks = (value.start_mark, value.end_mark)
        if type(value) is not yaml.ScalarEvent or value.value != "":
            raise _Fallback
        shell = yaml.SequenceNode(_SEQ, [], *marks)
        topics = self.topics(topics_node) if topics_node is not None else None
        judge = _CardJudge(self, topics)
        _judge_items(self, judge, rest.own, rest.own_line, rest.column)
        rest.merge_into(judge)
        return _StreamedCards(shell, topics, judge.cards)

    def stream_cards(self, composer: _Composer, topics_node: yaml.Node | None) -> _StreamedCards:
        start = composer.next()
        shell = yaml.SequenceNode(_SEQ, [], start.start_mark, None)
        topics = self.topics(topics_node) if topics_node is not None else None
        judge = _CardJudge(self, topics)
        count = 0
        while not isinstance(composer.peek(), yaml.SequenceEndEvent):
            count += 1
            if count > MAX_CARDS_PER_DECK:
                composer.skip()
            else:
                judge.add(composer.node())
        shell.end_mark = composer.next().end_mark
        if count == 0:
            self.error(shell, "the deck has no cards")
        if count > MAX_CARDS_PER_DECK:
            self.too_many_cards(shell, count)
            return _StreamedCards(shell, topics, [])
        return _StreamedCards(shell, topics, judge.cards)

    def too_many_cards(self, node: yaml.Node, count: int) -> None:
        self.error(
            node,
            f"the deck has {count} cards; the limit is "
            f"{MAX_CARDS_PER_DECK} (split it into several card files)",
        )

    # -- structure helpers -----------------------------------------------------------------
    def mapping(
        self, node: yaml.Node, keys: dict[str, bool], what: str
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """Check a mapping: duplicate, unknown and missing keys. Returns key -> (key, value)."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping of keys to values, not {_kind(node)}")
            return None
        self.check_tag(node)
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                self.error(key_node, f"{what} keys must be plain names")
                continue
            key = str(key_node.value)
            if key in found:
                first = self.loc(found[key][0])
                self.error(key_node, f"duplicate key {key!r} (first at line {first.line})")
                continue
            if key not in keys:
                self.error(key_node, f"unknown key {key!r} in {what}{_did_you_mean(key, keys)}")
                continue
            found[key] = (key_node, value_node)
        for key, required in keys.items():
            if required and key not in found:
                self.error(node, f"{what} is missing required key {key!r}")
        return found

    def check_tag(self, node: yaml.Node) -> bool:
        tag = node.tag or ""
        if tag.startswith("tag:yaml.org,2002:") and (
            tag in _PLAIN_TAGS or tag.endswith((":map", ":seq"))
        ):
            return True
        self.error(node, f"unsupported YAML tag {tag!r}; card files are plain YAML")
        return False

    def scalar(self, node: yaml.Node, what: str, *, required: bool = True) -> str | None:
        """A scalar's text exactly as written (``1924`` stays "1924", ``no`` stays "no")."""
        if node.tag == _STR and type(node) is yaml.ScalarNode:  # by far the most common case
            value = node.value
            if 0 < len(value) <= MAX_FIELD_CHARS and not (value[0] + value[-1]).isspace():
                return str(value)  # text with something visible at both ends: nothing to check
        if not self.check_tag(node):
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, f"{what} must be text, not {_kind(node)}")
            return None
        value = str(node.value)
        if node.tag == _NULL or not value.strip():
            if required:
                self.error(node, f"{what} is empty")
            return None
        if len(value) > MAX_FIELD_CHARS:
            self.error(node, f"{what} is {len(value)} characters; the limit is {MAX_FIELD_CHARS}")
            return None
        return value

    def identifier(self, node: yaml.Node, what: str) -> str | None:
        value = self.scalar(node, what)
        if value is None:
            return None
        if not ID.fullmatch(value):
            self.error(
                node,
                f"{what} {value!r} may use only letters, digits, '.', '_' and '-', "
                "and must start with a letter or digit",
            )
            return None
        return value

    def tags(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        items: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.SequenceNode):
            self.check_tag(node)
            for item in node.value:
                value = self.scalar(item, f"a tag in {what}")
                if value is not None:
                    if any(ch.isspace() for ch in value.strip()):
                        self.error(
                            item, f"tag {value.strip()!r} contains a space; Anki tags cannot"
                        )
                        continue
                    items.append((item, value.strip()))
        else:
            value = self.scalar(node, what, required=False)
            if value is not None:
                items.extend((node, t) for t in value.split())
        # Anki stores tags NFC-normalised; so does every export.
        return _shared_tags(unicodedata.normalize("NFC", v) for _, v in items)

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            return str(node.value).lower() in ("true", "yes", "on", "y")
        self.error(node, f"{what} must be true or false")
        return None

    # -- media -----------------------------------------------------------------------------
    def resolve_image(self, src: str, node: yaml.Node) -> str | None:
        if not src:
            self.error(node, "image without a path")
            return None
        if urlsplit(src).scheme:
            self.error(node, f"image {src!r} is not a local file; copy it next to the card file")
            return None
        rel = unquote(src)
        if _CONTROL.search(rel) or "\n" in rel or "\t" in rel or "\r" in rel:
            self.error(node, f"image path {rel!r} contains a control character")
            return None
        if rel.startswith(("/", "\\")) or Path(rel).is_absolute():
            self.error(
                node, f"image path {rel!r} is absolute; use a path relative to the card file"
            )
            return None
        target = self.base / rel
        try:
            resolved = target.resolve(strict=True)
        except (OSError, RuntimeError):
            self.error(node, f"image file not found: {rel}")
            return None
        base = self.base.resolve()
        if not resolved.is_relative_to(base):
            self.error(node, f"image {rel!r} is outside the card file's folder")
            return None
        if not resolved.is_file():
            self.error(node, f"image {rel!r} is not a file")
            return None
        suffix = resolved.suffix.lower()
        magic = IMAGE_MAGIC.get(suffix)
        try:
            data = resolved.read_bytes()
        except OSError as exc:
            self.error(node, f"cannot read image {rel!r}: {exc.strerror}")
            return None
        if magic is None or not data.startswith(magic):
            self.error(
                node, f"{rel!r} is not an image cardpress can pack (png, jpg, gif, webp, svg)"
            )
            return None
        problem = svg_problem(data) if suffix == ".svg" else None
        if problem:
            self.error(
                node,
                f"SVG image {rel!r} cannot be packed: {problem}; cardpress packs only "
                "drawings without scripts, event handlers or references to other files",
            )
            return None
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", unicodedata.normalize("NFC", resolved.stem))
        name = f"{stem.strip('-') or 'image'}-{hashlib.sha256(data).hexdigest()[:10]}{suffix}"
        self.media[name] = Media(name, resolved)
        return name

    def field_html(self, node: yaml.Node, text: str) -> tuple[str, tuple[str, ...]]:
        if "<" not in text and "[" not in text:
            return render_html(text), ()  # no image and no link can be written without either
        names: list[str] = []

        def resolver(src: str) -> str | None:
            name = self.resolve_image(src, node)
            if name:
                names.append(name)
            return name

        rendered = render(text, resolver)
        for link in rendered.links:
            self.error(
                node,
                f"link {link!r} is not an absolute URL; links must start with "
                "http://, https:// or mailto: (a link to a file of the deck would open it "
                "inside Anki)",
            )
        return rendered.html, tuple(names)

    # -- the deck --------------------------------------------------------------------------
    def deck(self, root: yaml.Node, streamed: _StreamedCards | None = None) -> Deck | None:
        fields = self.mapping(root, DECK_KEYS, "the deck")
        if fields is None:
            return None
        values: dict[str, str | None] = {}
        for name in ("name", "description", "source"):
            if name in fields:
                values[name] = self.scalar(fields[name][1], f"deck {name}", required=name == "name")
        if "format" in fields:
            fmt = self.scalar(fields["format"][1], "format")
            if fmt is not None and fmt.strip() != str(FORMAT_VERSION):
                self.error(
                    fields["format"][1],
                    f"unsupported format {fmt!r}; this cardpress reads format {FORMAT_VERSION}",
                )
        key = self.identifier(fields["key"][1], "deck key") if "key" in fields else None
        tags = self.tags(fields["tags"][1], "deck tags") if "tags" in fields else ()
        subdecks = True
        if "subdecks" in fields:
            subdecks = self.boolean(fields["subdecks"][1], "subdecks") is not False
        cards: list[Card] = []
        if streamed is not None:
            topics, cards = streamed.topics, streamed.cards
        else:
            topics = self.topics(fields["topics"][1]) if "topics" in fields else None
            if "cards" in fields:
                cards = self.cards(fields["cards"][1], topics)
        deck_name = (
            self.deck_name(fields["name"][1], values.get("name")) if "name" in fields else None
        )
        if key is None or deck_name is None:
            return None
        description = values.get("description") or ""
        return Deck(
            key=key,
            name=deck_name,
            description=render(description).html if description else "",
            tags=tags,
            source=(values.get("source") or "").strip(),
            topics=tuple((topics or {}).items()),
            subdecks=subdecks,
            cards=tuple(cards),
            location=self.loc(root),
            media=tuple(self.media[n] for n in sorted(self.media)),
        )

    def deck_name(self, node: yaml.Node, value: str | None) -> str | None:
        """The deck name as Anki stores it: NFC, each ``::`` part trimmed."""
        if value is None:
            return None
        parts = [part.strip() for part in unicodedata.normalize("NFC", value).split("::")]
        if not all(parts):
            self.error(node, f"deck name {value.strip()!r} has an empty part between '::'")
            return None
        return "::".join(parts)

    def topics(self, node: yaml.Node) -> dict[str, str] | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"topics must be a mapping of topic key to title, not {_kind(node)}")
            return None
        topics: dict[str, str] = {}
        titles: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.identifier(key_node, "topic key")
            title = self.scalar(value_node, "topic title")
            if key is None or title is None:
                continue
            if key in topics:
                self.error(key_node, f"duplicate topic {key!r}")
                continue
            if "::" in title:
                self.error(value_node, "topic title cannot contain '::' (Anki's deck separator)")
                continue
            # Titles name subdecks: Anki compares deck names NFC-normalised and ignoring case.
            title = unicodedata.normalize("NFC", title.strip())
            if title.casefold() in titles:
                first = self.loc(titles[title.casefold()])
                self.error(
                    value_node,
                    f"topic title {title!r} is already used at line {first.line} "
                    "(Anki's deck names ignore case)",
                )
            titles[title.casefold()] = value_node
            topics[key] = title
        return topics

    def cards(self, node: yaml.Node, topics: dict[str, str] | None) -> list[Card]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"cards must be a list, not {_kind(node)}")
            return []
        self.check_tag(node)
        if not node.value:
            self.error(node, "the deck has no cards")
        if len(node.value) > MAX_CARDS_PER_DECK:
            self.too_many_cards(node, len(node.value))
            return []
        judge = _CardJudge(self, topics)
        for item in node.value:
            judge.add(item)
        return judge.cards

    def card(self, node: yaml.Node, topics: dict[str, str] | None) -> Card | None:
        fields = self.mapping(node, CARD_KEYS, "a card")
        if fields is None:
            return None
        ok = True

        def text(key: str) -> tuple[str, yaml.Node] | None:
            if key not in fields:
                return None
            value = self.scalar(fields[key][1], f"card {key}")
            return None if value is None else (value, fields[key][1])

        kind = Kind.BASIC
        if "kind" in fields:
            raw = self.scalar(fields["kind"][1], "card kind")
            kinds = list(KINDS)
            if raw is not None and raw.strip() in KINDS:
                kind = KINDS[raw.strip()]
            elif raw is not None:
                self.error(
                    fields["kind"][1],
                    f"unknown card kind {raw!r}; expected one of "
                    f"{', '.join(kinds)}{_did_you_mean(raw, kinds)}",
                )
                ok = False
            else:
                ok = False

        wanted: tuple[str, ...] = ("text",) if kind is Kind.CLOZE else ("front", "back")
        unwanted: tuple[str, ...] = ("front", "back") if kind is Kind.CLOZE else ("text",)
        for key in unwanted:
            if key in fields:
                hint = "'text'" if kind is Kind.CLOZE else "'front' and 'back'"
                self.error(fields[key][0], f"{kind.value} cards take {hint}, not {key!r}")
                ok = False
        for key in wanted:
            if key not in fields:
                self.error(node, f"{kind.value} card is missing required key {key!r}")
                ok = False

        first = text(wanted[0])
        second = text("back") if kind is not Kind.CLOZE else None
        source = text("source")
        extra = text("extra")

        card_id = None
        generated = False
        if "id" in fields:
            card_id = self.identifier(fields["id"][1], "card id")
            ok = ok and card_id is not None
        elif first is not None:
            generated = True
            card_id = "auto-" + hashlib.sha256(first[0].encode()).hexdigest()[:12]
            self.warn(
                node,
                "card has no id; it gets a new identity in Anki whenever its "
                "text changes (add a stable 'id')",
            )

        topic, topic_title = "", ""
        if "topic" in fields:
            value = self.identifier(fields["topic"][1], "card topic")
            if value is not None and topics is not None and value not in topics:
                self.error(
                    fields["topic"][1],
                    f"unknown topic {value!r}; the deck's topics are "
                    f"{', '.join(topics)}{_did_you_mean(value, topics)}",
                )
                ok = False
            elif value is not None:
                topic, topic_title = sys.intern(value), (topics or {}).get(value, value)
            else:
                ok = False
        elif topics:
            self.error(node, "card is missing required key 'topic' (the deck declares topics)")
            ok = False

        tags = self.tags(fields["tags"][1], "card tags") if "tags" in fields else ()

        if first is None or (kind is not Kind.CLOZE and second is None):
            return None
        cloze_ok = kind is Kind.CLOZE and self.check_cloze(*first)
        ok = ok and (cloze_ok or kind is not Kind.CLOZE)
        back_media: tuple[str, ...]
        front_html, front_media = self.field_html(first[1], first[0])
        ok = self.check_visible(front_html, first[1], f"card {wanted[0]}") and ok
        if cloze_ok and not CLOZE.search(front_html):
            self.error(first[1], "cloze text loses its deletions when rendered as Markdown")
            ok = False
        back_html, back_media = "", ()
        if second is not None:
            back_html, back_media = self.field_html(second[1], second[0])
            ok = self.check_visible(back_html, second[1], "card back") and ok
            answer = plain_text(back_html)
            if len(answer) > LONG_ANSWER_CHARS:
                self.warn(
                    second[1],
                    f"answer is {len(answer)} characters long; answers over "
                    f"{LONG_ANSWER_CHARS} are hard to recall (split the card)",
                )
        extra_html, extra_media = self.field_html(extra[1], extra[0]) if extra else ("", ())
        if not ok or card_id is None:
            return None
        mark = node.start_mark
        return Card(
            id=card_id,
            kind=kind,
            front=front_html,
            back=back_html,
            topic=topic,
            topic_title=topic_title,
            tags=tags,
            source=render_html(source[0]) if source else "",
            extra=extra_html,
            path=self.path_text,
            line=mark.line + 1 + self.line_offset,
            col=mark.column + 1,
            front_text=first[0],
            back_text=second[0] if second else "",
            media=front_media + back_media + extra_media,
            generated_id=generated,
        )

    def quick_card(self, node: yaml.Node, topics: dict[str, str] | None) -> Card | None:
        """The Card of a card that needs no message, or None: then :meth:`card` judges it.

        Most cards are plain: string keys and values, an id, no image, nothing to warn about.
        This path checks exactly that, in a fraction of the time, and reports nothing; any
        card it is unsure of goes to :meth:`card`, which reports every problem. Either way the
        Card is the same (``tests/test_load.py`` compares them on every card of several decks,
        and a property test compares whole loads with this path switched off).
        """
        if type(node) is not yaml.MappingNode or node.tag != _MAP:
            return None
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode or key_node.tag != _STR:
                return None
            key = key_node.value
            if key in values or key not in CARD_KEYS:
                return None
            values[key] = value_node
        texts: dict[str, str] = {}
        for key, value_node in values.items():
            if key == "tags":
                continue
            if type(value_node) is not yaml.ScalarNode or value_node.tag != _STR:
                return None
            value = value_node.value
            if not 0 < len(value) <= MAX_FIELD_CHARS:
                return None
            if (value[0].isspace() or value[-1].isspace()) and not value.strip():
                return None  # blank: a message (a literal block's final newline is fine)
            if "[" in value or ("<" in value and any(w in value.lower() for w in ("<img", "href"))):
                return None  # maybe an image or a link: card() reports on those
            texts[key] = value
        kind = KINDS.get(texts.get("kind", "basic"))
        card_id = texts.get("id")
        if kind is None or card_id is None or not ID.fullmatch(card_id):
            return None
        if kind is Kind.CLOZE:
            first, second = texts.get("text"), None
            if first is None or "front" in texts or "back" in texts:
                return None
            deletions = CLOZE.findall(first)
            if not deletions or any(n == "0" or not body.strip() for n, body, _ in deletions):
                return None
        else:
            first, second = texts.get("front"), texts.get("back")
            if first is None or second is None or "text" in texts:
                return None
        topic = sys.intern(texts.get("topic", ""))
        if topic:
            if not ID.fullmatch(topic) or (topics is not None and topic not in topics):
                return None
            title = (topics or {}).get(topic, topic)
        elif topics:
            return None
        else:
            title = ""
        tags: tuple[str, ...] = ()
        if "tags" in values:
            found = _quick_tags(values["tags"])
            if found is None:
                return None
            tags = found
        front = render_html(first)
        if not plain_text(front) or (kind is Kind.CLOZE and not CLOZE.search(front)):
            return None
        back = ""
        if second is not None:
            back = render_html(second)
            answer = plain_text(back)
            if not answer or len(answer) > LONG_ANSWER_CHARS:
                return None
        source, extra = texts.get("source"), texts.get("extra")
        if not self.keep_cards:
            # `check` judges its cards and drops them; a note's HTML cannot make a message on
            # this path (no image, nothing blank or too long), so it is not made.
            source = extra = None
        mark = node.start_mark
        return Card(
            card_id,
            kind,
            front,
            back,
            topic,
            title,
            tags,
            render_html(source) if source else "",
            render_html(extra) if extra else "",
            self.path_text,
            mark.line + 1 + self.line_offset,
            mark.column + 1,
            first,
            second or "",
        )

    def check_visible(self, html: str, node: yaml.Node, what: str) -> bool:
        """A required field must show something: Anki makes no card from an empty side."""
        if plain_text(html) or "<img" in html:
            return True
        self.error(node, f"{what} shows nothing once rendered (Markdown or HTML only)")
        return False

    def check_cloze(self, text: str, node: yaml.Node) -> bool:
        deletions = list(CLOZE.finditer(text))
        if not deletions:
            self.error(node, "cloze text has no deletion; mark one like {{c1::answer}}")
            return False
        ok = True
        for m in deletions:
            if not m.group(2).strip():
                self.error(node, f"empty cloze deletion {m.group(0)!r}")
                ok = False
            elif m.group(1) == "0":
                self.error(node, "cloze numbers start at c1, not c0")
                ok = False
        return ok


@dataclass
class _StreamedCards:
    """The cards of a deck, judged while the file was read."""

    node: yaml.SequenceNode
    topics: dict[str, str] | None
    cards: list[Card]


class _CardJudge:
    """Turns card nodes into Cards, one at a time, checking ids and questions across the deck.

    Keeps positions, never nodes, so a card's nodes can go as soon as it is judged.
    """

    def __init__(self, loader: _FileLoader, topics: dict[str, str] | None) -> None:
        self.loader = loader
        self.topics = topics
        self.cards: list[Card] = []
        self.ids: dict[str, int] = {}  # card id -> its line
        # question -> the first card asking it (its line is in ``ids``): no tuple per card,
        # which would be garbage after the load, holes among the cards' objects.
        self.questions: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        self.title_of: dict[str, str] = {}  # a card's topic title -> its entry in titles

    def add(self, item: yaml.Node) -> None:
        loader = self.loader
        card = loader.quick_card(item, self.topics) or loader.card(item, self.topics)
        if card is None:
            return
        title = self.title_of.get(card.topic_title)
        if title is None:  # a title not seen yet: the first title with its case-folded form
            title = self.titles.setdefault(card.topic_title.casefold(), card.topic_title)
            self.title_of[card.topic_title] = title
        if title != card.topic_title:
            # Undeclared topics become subdecks too, and Anki's deck names ignore case.
            loader.error(item, f"topic {card.topic!r} differs from topic {title!r} only in case")
            return
        if card.id in self.ids:
            first = self.ids[card.id]
            loader.error(item, f"duplicate card id {card.id!r} (first at line {first})")
            return
        self.ids[card.id] = card.line
        prompts = [plain_text(card.front)]
        if card.kind is Kind.REVERSED:
            prompts.append(plain_text(card.back))
        for prompt in filter(None, prompts):
            folded = " ".join(prompt.casefold().split())
            other_id = self.questions.get(folded)
            if other_id is None:
                self.questions[folded] = card.id
            else:
                loader.warn(
                    item,
                    f"card {card.id!r} asks the same question as card "
                    f"{other_id!r} (line {self.ids[other_id]})",
                )
        self.cards.append(card)


class _Fallback(Exception):
    """A file cannot be read in chunks after all; it is read again, whole, in one process."""


_PACKED_PIECE = 1000  # cards


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

    @staticmethod
    def pack(
        cards: list[Card],
        diagnostics: list[Diagnostic],
        media: dict[str, Media],
        questions: dict[str, str],
        titles: dict[str, str],
        keep_cards: bool,
    ) -> _ChunkResult:
        pieces = []
        for start in range(0, len(cards), _PACKED_PIECE):
            rows = [
                (c.id, c.kind.value, c.front, c.back, c.topic, c.topic_title, c.tags, c.source,
                 c.extra, c.line, c.col, c.front_text, c.back_text, c.media,
                 c.generated_id)
                if keep_cards else (c.id, c.line, c.col, c.generated_id)
                for c in cards[start : start + _PACKED_PIECE]
            ]  # fmt: skip
            pieces.append(marshal.dumps(rows))
        return _ChunkResult(pieces, diagnostics, media, marshal.dumps(questions), titles)

    def unpack_cards(self, path: str) -> Iterator[Card]:
        for piece in self.cards:
            yield from [
                Card(cid, KINDS[kind], front, back, topic, title, tags, source, extra,
                     path, line, col, front_text, back_text, media, generated)
                for (cid, kind, front, back, topic, title, tags, source, extra, line, col,
                     front_text, back_text, media, generated) in marshal.loads(piece)
            ]  # fmt: skip

    def unpack_rows(self) -> Iterator[_CardRow]:
        """The cards of a result packed without keep_cards: id, line, column, generated."""
        for piece in self.cards:
            yield from marshal.loads(piece)

    def unpack_questions(self) -> dict[str, str]:
        return dict(marshal.loads(self.questions))


class _Chunks:
    """Reads a big card file on every core: the cards list is cut into chunks at item lines.

    The parent reads the head of the file (the deck's keys and the first chunk of cards) while
    each forked worker reads one later chunk, judges its cards and sends them back. A chunk
    boundary is a line that starts a new item of the top-level ``cards`` list, ``- `` at the
    list's column. Nothing in YAML can put such a line inside a card: block scalars and plain
    multi-line text must be indented deeper, and a quoted text or flow collection cut there
    leaves the chunk before it unterminated, which is a syntax error in that chunk.

    Any surprise (a syntax error, any error at all, a card id or question shared across
    chunks, too many problems or cards, keys after the cards) raises :class:`_Fallback`, and
    the file is read again in one process, so every diagnostic is the one-process one.
    The result is the same Deck, card for card; ``tests/test_parallel.py`` compares them.
    """

    def __init__(
        self, loader: _FileLoader, data: bytes, first_item: int, column: int, bounds: list[int]
    ) -> None:
        self.loader = loader
        self.column = column
        # The parent's own cards: from the first item to the first worker's chunk.
        self.own = data[first_item : bounds[0]]
        self.own_line = data.count(b"\n", 0, first_item)
        self.bounds = bounds  # byte offsets where chunks 1.. start, and len(data) at the end
        self.workers: list[Forked[_ChunkResult]] = []
        self.merged = False

    @staticmethod
    def load(loader: _FileLoader, data: bytes) -> Deck | None:
        layout = _cards_layout(loader.path, data)
        if layout is None:
            raise _Fallback
        first_item, column, topics = layout
        bounds = _chunk_bounds(data, first_item, column, loader.workers)
        if not bounds:
            raise _Fallback
        chunks = _Chunks(loader, data, first_item, column, [*bounds, len(data)])
        try:
            for start, end in itertools.pairwise(chunks.bounds):
                offset = data.count(b"\n", 0, start)
                piece = data[start:end]
                chunks.workers.append(
                    Forked(
                        functools.partial(
                            _judge_chunk,
                            loader.path,
                            piece,
                            offset,
                            column,
                            topics,
                            loader.keep_cards,
                        )
                    )
                )
            loader.rest = chunks
            try:
                # The deck's keys, up to `cards:`; the cards themselves come in pieces.
                deck = loader.document(_Composer(data[:first_item]))
            except (yaml.YAMLError, _TooManyProblems) as exc:
                raise _Fallback from exc
            if not chunks.merged or any(d.severity is Severity.ERROR for d in loader.diagnostics):
                raise _Fallback
            return deck
        finally:
            loader.rest = None
            for worker in chunks.workers:
                worker.kill()

    def merge_into(self, judge: _CardJudge) -> int:
        """Append the workers' cards to the first chunk's; returns how many were added."""
        added = 0
        for worker in self.workers:
            try:
                part = worker.result()
            except (_Fallback, ChildFailed) as exc:
                raise _Fallback from exc
            path = str(self.loader.path)
            for folded, title in part.titles.items():
                if judge.titles.setdefault(folded, title) != title:
                    raise _Fallback
            ids = judge.ids
            before = len(ids)
            if self.loader.keep_cards:
                for card in part.unpack_cards(path):
                    if card.id in ids:
                        raise _Fallback
                    ids[card.id] = card.line
                    judge.cards.append(card)
            else:  # ids and lines only: merged a dict at a time (a worker's ids are unique)
                rows = list(part.unpack_rows())
                lines = dict(map(operator.itemgetter(0, 1), rows))
                if not ids.keys().isdisjoint(lines):
                    raise _Fallback
                ids.update(lines)
                self.loader.other_cards += rows
            questions = part.unpack_questions()
            if not judge.questions.keys().isdisjoint(questions):
                raise _Fallback
            judge.questions.update(questions)
            self.loader.diagnostics.extend(part.diagnostics)
            self.loader.media.update(part.media)
            added += len(ids) - before
        if (
            len(self.loader.diagnostics) >= MAX_PROBLEMS_PER_FILE
            or len(judge.cards) + len(self.loader.other_cards) > MAX_CARDS_PER_DECK
        ):
            raise _Fallback
        self.merged = True
        return added


_LS_PS = re.compile(b"\xe2\x80[\xa8\xa9]")  # U+2028, U+2029: YAML 1.1 line breaks
PARALLEL_MIN_BYTES = 1 << 20
PARENT_SHARE = 0.5


def _cards_layout(path: Path, data: bytes) -> tuple[int, int, dict[str, str] | None] | None:
    """Where the cards list's first item starts (byte offset of its line), its column, and the
    deck's topics; None when the file is not laid out for chunks."""
    if (
        (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
        or b"\xc2\x85" in data
        or _LS_PS.search(data)
        or data.startswith(b"%")
        or b"\n%" in data
    ):
        return None  # other line breaks (libyaml counts them as lines) or directives
    scout = _FileLoader(path)
    composer = _Composer(data)
    topics: dict[str, str] | None = None
    try:
        composer.next()  # StreamStart
        composer.next()  # DocumentStart
        start = composer.next()
        if type(start) is not yaml.MappingStartEvent or start.tag not in (None, "!"):
            return None
        while type(composer.peek()) is yaml.ScalarEvent:
            key = composer.node()
            if key.value == "topics" and topics is None:
                topics = scout.topics(composer.node())
            elif key.value == "cards":
                items = composer.next()
                first = composer.peek()
                if (
                    type(items) is not yaml.SequenceStartEvent
                    or items.flow_style
                    or items.tag not in (None, "!")
                    or type(first) is not yaml.MappingStartEvent
                    or (topics is None and b"topics" in data)
                    or scout.diagnostics
                ):
                    return None
                mark = items.start_mark
                assert mark is not None
                offset = 0
                for _ in range(mark.line):
                    offset = data.index(b"\n", offset) + 1
                return offset, mark.column, topics
            else:
                composer.skip()
    except (yaml.YAMLError, _TooManyProblems, ValueError):
        return None
    return None


def _chunk_bounds(data: bytes, first_item: int, column: int, workers: int) -> list[int]:
    """Byte offsets of lines that start an item of the cards list, spread so that every
    process finishes together: the parent's chunk is a little smaller, since it also takes
    in the others' cards."""
    item = _item_line(column)
    bounds: list[int] = []
    share = (1 - PARENT_SHARE) / (workers - 1) if workers > 1 else 0
    for k in range(1, workers):
        fraction = PARENT_SHARE / workers * workers + share * (k - 1)
        target = first_item + int((len(data) - first_item) * fraction)
        found = item.search(data, max(target, bounds[-1] if bounds else first_item))
        if found is None:
            break
        bounds.append(found.start() + 1)
    return sorted(set(bounds))


def _judge_chunk(
    path: Path,
    data: bytes,
    line_offset: int,
    column: int,
    topics: dict[str, str] | None,
    keep_cards: bool,
) -> _ChunkResult:
    """In a worker: the cards of one chunk (a bare block list), judged; _Fallback on surprise."""
    loader = _FileLoader(path, keep_cards=keep_cards)
    judge = _CardJudge(loader, topics)
    try:
        _judge_items(loader, judge, data, line_offset, column)
    except (yaml.YAMLError, _TooManyProblems) as exc:
        raise _Fallback from exc
    if any(d.severity is Severity.ERROR for d in loader.diagnostics):
        raise _Fallback
    return _ChunkResult.pack(
        judge.cards, loader.diagnostics, loader.media, judge.questions, judge.titles, keep_cards
    )


_PIECE_BYTES = 1 << 15  # about 150 cards: small enough to stay in the CPU's caches


def _judge_items(
    loader: _FileLoader, judge: _CardJudge, data: bytes, first_line: int, column: int
) -> int:
    """Judge the cards in ``data``: whole items of the cards list, the first on ``first_line``
    (0-based) of the file. Returns how many items there were.

    The items are composed by libyaml's C composer (``get_single_node``) a few dozen
    kilobytes at a time, cut at item lines like the chunks: a third faster than composing
    node by node from Python event objects, and only one piece's nodes are ever held. Any
    YAML error is raised (the caller reads the file again, whole, for its messages).
    """
    item_line = _item_line(column)
    count = 0
    start = 0
    line = first_line
    try:
        while start < len(data):
            found = item_line.search(data, start + _PIECE_BYTES)
            end = found.start() + 1 if found else len(data)
            piece = data[start:end]
            node = _Loader(piece).get_single_node()
            if type(node) is not yaml.SequenceNode or node.flow_style or node.tag != _SEQ:
                raise _Fallback
            loader.line_offset = line
            for card in node.value:
                judge.add(card)
            count += len(node.value)
            line += piece.count(b"\n")
            start = end
    finally:
        loader.line_offset = 0
    return count


def _item_line(column: int) -> re.Pattern[bytes]:
    """A line that starts an item of a block list at ``column`` (the match starts at its
    line break)."""
    return re.compile(rb"\n" + b" " * column + rb"-[ \r\n]")


def _quick_tags(node: yaml.Node) -> tuple[str, ...] | None:
    """:meth:`_FileLoader.tags` for a list of plain tags or a string, or None (then it judges)."""
    if type(node) is yaml.ScalarNode and node.tag == _STR and len(node.value) <= MAX_FIELD_CHARS:
        words = node.value.split()
    elif type(node) is yaml.SequenceNode and node.tag == _SEQ:
        words = []
        for item in node.value:
            if type(item) is not yaml.ScalarNode or item.tag != _STR:
                return None
            value = item.value
            if len(value) > MAX_FIELD_CHARS or len(value.split()) != 1:
                return None  # empty, or a space inside: messages to give
            words.append(value.strip())
    else:
        return None
    return _shared_tags(unicodedata.normalize("NFC", w) for w in words)


def _shared_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """The tags, once each, as one shared tuple of interned strings per distinct set.

    A deck repeats a handful of topics and tag sets on thousands of cards; sharing them
    saves about 10% of a big deck's memory (twice, when a second process writes pages).
    """
    unique = tuple(dict.fromkeys(map(sys.intern, tags)))
    return _TAG_SETS.setdefault(unique, unique) if len(_TAG_SETS) < 10_000 else unique


_TAG_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _is_key(node: yaml.Node, name: str) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == name


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
        return "nothing"
    return "text"
