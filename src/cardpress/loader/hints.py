"""What a YAML mistake most likely was, and how to fix it: hints read off the lines of the file.

libyaml says where it got lost ("mapping values are not allowed in this context"), which is
often a column past the mistake, or the line after it. The common mistakes of people writing
their first card file each leave a shape on a line that can be recognised: text that YAML
reads as something else (``: `` or `` #`` inside, or a quote, ``{`` or ``[`` at its start), a
key indented differently from the keys above it, a ``-`` without the space that makes a list
item. A hint names that line and says what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

# A line that starts with a key: its indentation, a list item's dash, the key, and the text
# after the colon (its start is the column where the value starts).
_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- +)?(?P<key>[^\s:#'\"{}\[\],&*!|>%@`-][^\s:]*)"
                       r" *:(?: +(?P<value>.*))?$")  # fmt: skip
# A list item written without the space after its dash, followed by a key: "-id: b".
_DASH_KEY = re.compile(r"^(?P<indent> *)-(?P<key>[A-Za-z_][\w.-]*) *:")
_LONGEST_SHOWN = 80  # characters of a value repeated in a hint


@dataclass(frozen=True)
class Hint:
    """A message for the mistake at a line and column (1-based)."""

    line: int
    col: int
    message: str


def syntax_hint(lines: list[str], exc: yaml.MarkedYAMLError) -> Hint | None:
    """The likely mistake behind a YAML syntax error, or None when it has no known shape."""
    mark = exc.problem_mark
    if mark is None:
        return None
    where = mark.line
    for index in (where, _previous_content(lines, where)):
        dash = _DASH_KEY.match(_line(lines, index))
        if index is not None and dash:
            key = dash.group("key")
            return Hint(
                index + 1,
                len(dash.group("indent")) + 1,
                f"put a space after '-' ('- {key}:'): without it YAML reads '-{key}' as a "
                "key, not as the start of a new card",
            )
    if "tab" in (exc.problem or "") or "nesting" in (exc.problem or ""):
        return None  # said by the caller, or not a mistake of this kind
    line = _line(lines, where)
    found = _KEY_LINE.match(line)
    if found and found.group("value") is not None and mark.column >= found.start("value"):
        return _quote_hint(where, found)
    context = exc.context_mark
    if context is not None and context.line != where:
        before = _KEY_LINE.match(_line(lines, context.line))
        if before and before.group("value") is not None and context.column == before.start("value"):
            unclosed = exc.context == "while scanning a quoted scalar"
            return _quote_hint(context.line, before, unclosed=unclosed)
    if found and mark.column <= found.end("key") + 1:
        return _indentation_hint(lines, where, found)
    return None


def _line(lines: list[str], index: int | None) -> str:
    return lines[index] if index is not None and 0 <= index < len(lines) else ""


def _previous_content(lines: list[str], index: int) -> int | None:
    """The last line before ``index`` with something on it besides a comment."""
    for before in range(min(index, len(lines)) - 1, -1, -1):
        text = lines[before].strip()
        if text and not text.startswith("#"):
            return before
    return None


def _quote_hint(index: int, found: re.Match[str], *, unclosed: bool = False) -> Hint:
    key, value = found.group("key"), found.group("value").rstrip()
    why = (
        f"the quote that starts the text of {key!r} is never closed; end the text with the "
        "same quote, or"
        if unclosed
        else f"{why_quote(key, value)};"
    )
    return Hint(index + 1, found.start("value") + 1, f"{why} {quote_fix(key, value)}")


def why_quote(key: str, value: str) -> str:
    """Why YAML does not read ``value``, written after ``key:``, as the text it is."""
    first = value[:1]
    if first in "\"'":
        return (
            f"the text of {key!r} starts with a quote, so YAML takes the quoted part for all of it"
        )
    if first == "{":
        return f"the text of {key!r} starts with '{{', which YAML reads as a mapping"
    if first == "[":
        return f"the text of {key!r} starts with '[', which YAML reads as a list"
    if ": " in value or value.endswith(":"):
        return f"the text of {key!r} contains ': ', which YAML reads as a key"
    if first == "#" or " #" in value:
        return f"the text of {key!r} contains ' #', which YAML reads as the start of a comment"
    if first and first in "@`%*&!|>":
        return f"YAML cannot read text that starts with {first!r} unquoted"
    return f"YAML cannot read the text of {key!r} as it is written"


def quote_fix(key: str, value: str) -> str:
    """How to write ``value`` so that YAML reads it as text: single-quoted, or as a block."""
    inner = value
    if len(value) >= 2 and value[0] == value[-1] == "'":
        inner = value[1:-1].replace("''", "'")  # quoted already, but with a bare quote inside
    shown = inner if len(inner) <= _LONGEST_SHOWN else inner[:_LONGEST_SHOWN] + "..."
    quoted = "'" + shown.replace("'", "''") + "'"
    return (
        f"put the whole text in single quotes, doubling any single quote inside "
        f"({key}: {quoted}), or write '{key}: |' and the text on the lines below it, indented"
    )


def _indentation_hint(lines: list[str], index: int, found: re.Match[str]) -> Hint | None:
    """The hint for a key whose indentation differs from the key above it."""
    column = found.start("key")
    above = _previous_content(lines, index)
    previous = _KEY_LINE.match(_line(lines, above))
    if previous is None:
        return None
    expected = previous.start("key")
    if column == expected:
        return None
    key, other = found.group("key"), previous.group("key")
    return Hint(
        index + 1,
        column + 1,
        f"check the indentation of this line: {key!r} is indented {_spaces(column)}, "
        f"{other!r} above it {_spaces(expected)}; the keys of one card must line up",
    )


def comment_hint(line: str) -> str:
    """For a value that came out empty: the fix when its text was taken for a comment, or ""."""
    found = _KEY_LINE.match(line)
    if found is None or not (found.group("value") or "").startswith("#"):
        return ""
    key, value = found.group("key"), found.group("value").rstrip()
    return f": YAML reads text that starts with '#' as a comment; {quote_fix(key, value)}"


def flow_hint(line: str, start: int, end: int) -> str:
    """For a list or mapping written in brackets where text was expected: the fix, or ""."""
    found = _KEY_LINE.match(line)
    if found is None or found.group("value") is None or found.start("value") != start:
        return ""
    value = line[start:end].rstrip()
    what = "a list" if value.startswith("[") else "a mapping"
    fix = quote_fix(found.group("key"), value)
    return f"; YAML reads {value[:1]!r} at the start as {what}: {fix}"


def _spaces(count: int) -> str:
    return f"{count} space" if count == 1 else f"{count} spaces"


def comment_cut(line: str, key: str) -> str:
    """For unquoted text that a comment follows on its line: what YAML did, and the fix."""
    found = _KEY_LINE.match(line)
    value = found.group("value").rstrip() if found and found.group("value") else ""
    return (
        "stops at ' #': YAML reads the rest of the line as a comment; if it is part of the "
        f"text, {quote_fix(key, value)}"
    )
