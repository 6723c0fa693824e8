"""YAML values judged with their positions: mappings and their keys, text, ids, tags, booleans.

Every problem becomes a :class:`Diagnostic` at the node that has it, collected in a
:class:`Report`; nothing stops at the first problem, only at :data:`MAX_PROBLEMS_PER_FILE`.
"""

from __future__ import annotations

import difflib
import re
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import yaml

from cardpress.errors import Diagnostic, Severity
from cardpress.format import (
    CONTROL,
    ID,
    MAX_FIELD_CHARS,
    MAX_NAME_CHARS,
    MAX_PROBLEMS_PER_FILE,
    MAX_TAG_CHARS,
    MAX_TAGS_CHARS,
)
from cardpress.loader import hints
from cardpress.loader.compose import BOOL, MAP, MERGE, NULL, PLAIN_TAGS, STR, describe
from cardpress.model import Location


class TooManyProblems(Exception):
    """Stops reading a file that has more problems than anyone would read."""


class Report:
    """The diagnostics of one card file, each at the position of a node.

    ``line_offset`` is the line where the text the nodes were composed from starts in the file
    (0 for the whole file; a piece of the file's cards list has its own, see chunked.py).
    ``source`` is the whole file, for hints that quote a line of it.
    """

    __slots__ = ("_read", "diagnostics", "line_offset", "path", "path_text", "source")

    def __init__(
        self,
        path: Path,
        line_offset: int = 0,
        diagnostics: list[Diagnostic] | None = None,
        source: bytes = b"",
        read: _SourceRead | None = None,
    ) -> None:
        self.path = path
        self.path_text = str(path)
        self.line_offset = line_offset
        self.diagnostics: list[Diagnostic] = [] if diagnostics is None else diagnostics
        self.source = source
        self._read = _SourceRead() if read is None else read

    def shifted(self, line_offset: int) -> Report:
        """A report into the same diagnostics for nodes of text that starts at ``line_offset``."""
        return Report(self.path, line_offset, self.diagnostics, self.source, self._read)

    def lines(self) -> list[str]:
        """The lines of the file (decoded when first asked for: only hints need them)."""
        read = self._read
        if read.lines is None:
            text = self.source.decode("utf-8", "replace").removeprefix("\ufeff")
            read.lines = [line.removesuffix("\r") for line in text.split("\n")]
        return read.lines

    def locate(self, node: yaml.Node, snippet: str) -> Location:
        """Where ``snippet`` is written in the text of ``node`` (the node's position when it
        cannot be found there: an escape in quotes, say)."""
        lines = self.lines()
        first = self.line(node) - 1
        last = first + node.end_mark.line - node.start_mark.line
        for index in range(first, min(last, len(lines) - 1) + 1):
            col = lines[index].find(snippet, node.start_mark.column if index == first else 0)
            if col >= 0:
                return Location(self.path_text, index + 1, col + 1)
        return self.location(node)

    def comment_after(self, node: yaml.Node) -> str:
        """The line of the one-line, unquoted text ``node`` when a comment follows it there
        after a single space (`` #`` ends such text), else "". Only lines with `` #`` are
        looked at."""
        read = self._read
        if read.comments is None:
            read.comments = _lines_with_comments(self.source)
        line = self.line(node)
        if line not in read.comments or node.start_mark.line != node.end_mark.line:
            return ""
        text = self.lines()[line - 1]
        rest = text[node.end_mark.column :]
        # One space: text that went on ("Louis XVI #16"). A comment set apart by two spaces
        # or more is meant as one (yamllint's rule for comments after content).
        return text if rest[:1] in (" ", "\t") and rest[1:2] == "#" else ""

    def source_line(self, node: yaml.Node) -> str:
        """The line of the file where ``node`` starts ("" when the file is not at hand)."""
        lines = self.lines()
        index = self.line(node) - 1
        return lines[index] if 0 <= index < len(lines) else ""

    def line(self, node: yaml.Node) -> int:
        """The 1-based line in the file where ``node`` starts."""
        return node.start_mark.line + 1 + self.line_offset

    def location(self, node: yaml.Node | None) -> Location:
        if node is None:
            return Location(self.path_text)
        return Location(self.path_text, self.line(node), node.start_mark.column + 1)

    def error(self, node: yaml.Node | None, message: str) -> None:
        self.add(Diagnostic(self.location(node), Severity.ERROR, message))

    def warn(self, node: yaml.Node | None, message: str) -> None:
        self.add(Diagnostic(self.location(node), Severity.WARNING, message))

    def add(self, diagnostic: Diagnostic) -> None:
        """Add a problem found in the file's content; raises TooManyProblems at the limit."""
        self.diagnostics.append(diagnostic)
        if len(self.diagnostics) >= MAX_PROBLEMS_PER_FILE:
            raise TooManyProblems

    def file_error(self, message: str, line: int = 0, col: int = 0) -> None:
        """A problem that ends the file's reading (it cannot be read, or is not YAML)."""
        self.diagnostics.append(error(Location(self.path_text, line, col), message))

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)


class _SourceRead:
    """What was read off a file's source for hints, shared by the reports of its pieces."""

    __slots__ = ("comments", "lines")

    def __init__(self) -> None:
        self.lines: list[str] | None = None
        self.comments: frozenset[int] | None = None


def _lines_with_comments(source: bytes) -> frozenset[int]:
    """The (1-based) lines of ``source`` where '#' follows a space or tab after something
    else: a comment after a value, or such text in quotes."""
    lines = set()
    line, position = 1, 0
    for found in _COMMENT.finditer(source):
        start = found.start()
        line += source.count(b"\n", position, start)
        position = start
        if source[source.rfind(b"\n", 0, start) + 1 : start].strip():
            lines.add(line)
    return frozenset(lines)


_COMMENT = re.compile(rb"[ \t]#")


def error(location: Location, message: str) -> Diagnostic:
    return Diagnostic(location, Severity.ERROR, message)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the choice closest to a misspelt ``word``, or ""."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Keys:
    """The keys a mapping may have, with the required ones at hand (a mapping is judged once
    per card: 100,000 times a big deck)."""

    __slots__ = ("allowed", "required")

    def __init__(self, keys: dict[str, bool]) -> None:
        self.allowed = keys  # name -> required
        self.required = tuple(key for key, required in keys.items() if required)


def mapping(
    report: Report, node: yaml.Node, keys: Keys, what: str, meant: set[str] | None = None
) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
    """Check a mapping: duplicate, unknown and missing keys. Returns key -> (key, value).

    A missing key that an unknown key was meant to be (``bakc``: ``back``) is reported at the
    unknown key only, and added to ``meant``: one message for one mistake.
    """
    meant = set() if meant is None else meant
    if type(node) is not yaml.MappingNode:
        report.error(node, f"{what} must be a mapping of keys to values, not {describe(node)}")
        return None
    if node.tag != MAP:
        check_tag(report, node)
    allowed = keys.allowed
    found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = key_node.value  # a list or a mapping when the key is not a scalar
        if (
            key_node.tag == STR
            and type(key_node) is yaml.ScalarNode
            and key in allowed
            and key not in found
        ):
            found[key] = (key_node, value_node)  # the common case: a known key, once
        elif _key_is_fine(report, key_node, found, allowed, what, meant):
            found[str(key)] = (key_node, value_node)
    for key in keys.required:
        if key not in found and key not in meant:
            report.error(node, f"{what} is missing required key {key!r}")
    return found


def _key_is_fine(
    report: Report,
    key_node: yaml.Node,
    found: dict[str, tuple[yaml.Node, yaml.Node]],
    allowed: dict[str, bool],
    what: str,
    meant: set[str],
) -> bool:
    """Whether a mapping key that is not plainly a known key once is one after all; reports
    why not."""
    if key_node.tag == MERGE:
        report.error(key_node, "YAML merge keys ('<<') are not supported; write the keys out")
        return False
    if type(key_node) is not yaml.ScalarNode:
        report.error(key_node, f"keys of {what} must be plain names")
        return False
    key = str(key_node.value)
    if key in found:
        first = report.location(found[key][0])
        report.error(key_node, f"duplicate key {key!r} (first at line {first.line})")
        return False
    if key not in allowed:
        hint, key_meant = _key_hint(key, allowed)
        if key_meant is not None and key_meant not in found:
            meant.add(key_meant)
        report.error(key_node, f"unknown key {key!r} in {what}{hint}")
        return False
    return True


# Words people write for a card's sides, and the key each belongs in.
_SIDE_WORDS = {
    "answer": "back", "answers": "back", "ans": "back", "a": "back", "response": "back",
    "reply": "back", "solution": "back", "question": "front", "questions": "front",
    "q": "front", "prompt": "front", "note": "extra", "notes": "extra", "comment": "extra",
}  # fmt: skip
_SIDES = {"back": "the answer goes", "front": "the question goes", "extra": "notes go"}


def _key_hint(key: str, allowed: Iterable[str]) -> tuple[str, str | None]:
    """What an unknown key was likely meant to be: the hint that says so, and that key."""
    allowed = list(allowed)
    word = key.strip().lower()
    if key.startswith("-") and key[1:2].isalpha():
        return f"; put a space after '-' ('- {key[1:]}:') to start a new list item", None
    if word in allowed:
        return f"; keys are written in lowercase: {word!r}", word
    side = _SIDE_WORDS.get(word)
    if side is None:
        close = difflib.get_close_matches(word, list(_SIDE_WORDS), n=1, cutoff=0.75)
        side = _SIDE_WORDS[close[0]] if close and len(word) > 2 else None
    if side in allowed and difflib.get_close_matches(word, allowed, n=1, cutoff=0.6) == []:
        return f"; {_SIDES[side]} in {side!r}", side
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return (f"; did you mean {close[0]!r}?", close[0]) if close else ("", None)


def check_tag(report: Report, node: yaml.Node) -> bool:
    """Whether a node's tag is one of plain YAML's; reports it when not."""
    tag = node.tag or ""
    if tag.startswith("tag:yaml.org,2002:") and (
        tag in PLAIN_TAGS or tag.endswith((":map", ":seq"))
    ):
        return True
    report.error(node, f"unsupported YAML tag {tag!r}; card files are plain YAML")
    return False


def scalar(
    report: Report, node: yaml.Node, what: str, *, required: bool = True, text_only: bool = True
) -> str | None:
    """A scalar's text exactly as written (``1924`` stays "1924", ``no`` stays "no").

    A control character written as an escape (``"\\x1f"`` in double quotes) is an error: the
    file's own bytes cannot hold one, and U+001F is the separator of Anki's fields (Anki then
    refuses the whole package).
    """
    if node.tag == STR and type(node) is yaml.ScalarNode:  # by far the most common case
        text: str = node.value
        if (
            0 < len(text) <= MAX_FIELD_CHARS
            and not (text[0] + text[-1]).isspace()
            # isprintable() is false for every control character (and for some characters
            # that are fine, such as line breaks): the search looks only at those texts.
            and (text.isprintable() or not CONTROL.search(text))
        ):
            return text  # something visible at both ends: nothing to check
    if not check_tag(report, node):
        return None
    if not isinstance(node, yaml.ScalarNode):
        hint = ""
        # Text in brackets: a hint to quote it, where nothing but text is taken.
        flow = text_only and getattr(node, "flow_style", False)
        if flow and node.start_mark.line == node.end_mark.line:
            line = report.source_line(node)
            hint = hints.flow_hint(line, node.start_mark.column, node.end_mark.column)
        report.error(node, f"{what} must be text, not {describe(node)}{hint}")
        return None
    value = str(node.value)
    if node.tag == NULL or not value.strip():
        if required:
            hint = hints.comment_hint(report.source_line(node)) if node.tag == NULL else ""
            report.error(node, f"{what} is empty{hint}")
        return None
    if len(value) > MAX_FIELD_CHARS:
        report.error(node, f"{what} is {len(value)} characters; the limit is {MAX_FIELD_CHARS}")
        return None
    bad = CONTROL.search(value)
    if bad:
        separator = " (Anki's field separator)" if bad.group() == "\x1f" else ""
        report.error(
            node,
            f"{what} holds the control character U+{ord(bad.group()):04X}{separator}; "
            "remove it (it comes from an escape in quotes)",
        )
        return None
    return value


def identifier(report: Report, node: yaml.Node, what: str) -> str | None:
    """An id, key or topic key: ASCII letters, digits, '.', '_' and '-', short."""
    if type(node) is yaml.ScalarNode and node.tag == STR:  # by far the most common case
        text: str = node.value
        if len(text) <= MAX_NAME_CHARS and ID.fullmatch(text):
            return text  # nothing to check: no space, not empty
    value = scalar(report, node, what)
    if value is None:
        return None
    if not ID.fullmatch(value):
        report.error(
            node,
            f"{what} {value!r} may use only ASCII letters, digits, '.', '_' and '-', "
            "and must start with a letter or digit",
        )
        return None
    if len(value) > MAX_NAME_CHARS:
        report.error(node, f"{what} is {len(value)} characters; the limit is {MAX_NAME_CHARS}")
        return None
    return value


def tags(report: Report, node: yaml.Node, what: str) -> tuple[str, ...]:
    """Anki tags: a list of words, or words in one text separated by spaces.

    Every note repeats its deck's tags and its card's: a tag is at most MAX_TAG_CHARS long,
    and a deck's (or a card's) tags at most MAX_TAGS_CHARS together.
    """
    words: list[str] = []
    if isinstance(node, yaml.SequenceNode):
        check_tag(report, node)
        for item in node.value:
            value = scalar(report, item, f"a tag in {what}")
            if value is None:
                continue
            value = value.strip()
            if value.split() != [value]:  # split() splits where isspace() is true
                report.error(item, f"tag {value!r} contains a space; Anki tags cannot")
                continue
            words.append(value)
    else:
        value = scalar(report, node, what, required=False, text_only=False)
        if value is not None:
            words = value.split()
    # Anki stores tags NFC-normalised; so does every export.
    found = shared_tags(unicodedata.normalize("NFC", word) for word in words)
    longest = max(found, key=len, default="")
    if len(longest) > MAX_TAG_CHARS:
        report.error(
            node, f"tag {longest[:40]!r}... is {len(longest)} characters; the limit is "
            f"{MAX_TAG_CHARS}",
        )  # fmt: skip
        return ()
    total = sum(map(len, found)) + max(len(found) - 1, 0)
    if total > MAX_TAGS_CHARS:
        report.error(
            node,
            f"{what} are {total} characters together; the limit is {MAX_TAGS_CHARS} (every "
            "note repeats them)",
        )
        return ()
    return found


def boolean(report: Report, node: yaml.Node, what: str) -> bool | None:
    """A YAML boolean (true, false, yes, no, on, off in any of YAML's spellings)."""
    if isinstance(node, yaml.ScalarNode) and node.tag == BOOL:
        return str(node.value).lower() in ("true", "yes", "on", "y")
    report.error(node, f"{what} must be true or false")
    return None


def shared_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """The tags, once each, as one shared tuple of interned strings per distinct set.

    A deck repeats a handful of topics and tag sets on thousands of cards; sharing them
    saves about 10% of a big deck's memory (twice, when a second process writes pages).
    """
    unique = tuple(dict.fromkeys(map(sys.intern, tags)))
    return _TAG_SETS.setdefault(unique, unique) if len(_TAG_SETS) < 10_000 else unique


_TAG_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}
