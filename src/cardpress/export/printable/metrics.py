"""Font metrics: how wide characters and words are, in em of the type they are set in.

The pages have no script, so text is fitted in Python, from an estimate: Arial's advance widths
(the first font of the stylesheet's stack; Liberation Sans has the same metrics), the larger of
regular and bold, with margins of safety for other fonts, rounding and line boxes grown by
fallback fonts. The spacing constants are those the stylesheet (templates/base.css.j2) sets.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

MM_PER_PT = 25.4 / 72

LINE_HEIGHT = 1.25  # em, as the stylesheet's line-height
BLOCK_GAP = 0.3  # em between paragraphs, list items and lines broken with <br>
IMAGE_MARGIN = 0.3  # em above and below an image

# Margins of safety for the estimate: other fonts, rounding, line boxes grown by fallback fonts.
WIDTH_SAFETY = 1.06
HEIGHT_SAFETY = 1.08

# Advance widths (1/1000 em) of ASCII 32-126: the larger of Arial (Liberation Sans) regular
# and bold, so bold text is covered too.
_ASCII_WIDTHS = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    1015, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
)  # fmt: skip


# Advance widths of ASCII 32-126 in Arial (Liberation Sans) regular, which its italic shares:
# what text takes that is set neither bold nor as a heading.
_REGULAR_WIDTHS = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)  # fmt: skip


def char_width(char: str) -> float:
    """The advance width of ``char`` in em: Arial's for ASCII and for letters with accents on
    an ASCII base; otherwise a generous guess by the character's class."""
    code = ord(char)
    if 32 <= code <= 126:
        return _ASCII_WIDTHS[code - 32] / 1000
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0.0
    base = unicodedata.normalize("NFD", char)[0]
    if base != char and 32 <= ord(base) <= 126:
        return _ASCII_WIDTHS[ord(base) - 32] / 1000
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.25 if code >= 0x1F000 or unicodedata.category(char) == "So" else 1.0
    if unicodedata.category(char) == "So":
        return 1.25
    if unicodedata.category(char) == "Pd" or char == "…":
        return 1.0
    return 0.8 if char.isupper() else 0.65


def regular_char_width(char: str) -> float:
    """The advance width of ``char`` in em, set in regular type: as char_width, with Arial's
    regular widths for ASCII and letters with accents on an ASCII base."""
    code = ord(char)
    if 32 <= code <= 126:
        return _REGULAR_WIDTHS[code - 32] / 1000
    base = unicodedata.normalize("NFD", char)[0]
    if base != char and 32 <= ord(base) <= 126:
        return _REGULAR_WIDTHS[ord(base) - 32] / 1000
    return char_width(char)


def mono_char_width(char: str) -> float:
    """The width of ``char`` in the monospaced type of code (never narrower than its cell)."""
    return max(char_width(char), 0.61)


SPACE = char_width(" ")

# A hair above 1: see widest().
BOUND = 1 + 1e-6


def widest(words: Sequence[float]) -> float:
    """The width of words set on one line, or a hair more: a bound from above.

    Wrapping (fit.wrap) adds the same numbers in another order; rounding makes the sums differ
    in the last few bits (about 1e-16 per word), far below the margin, so a paragraph within
    this width is one line when wrapped too. One that is not is wrapped, which decides exactly.
    """
    return (sum(words) + SPACE * (len(words) - 1)) * BOUND


class _Chars(dict[str, float]):
    """Widths of characters, worked out once and then looked up."""

    def __init__(self, width: Callable[[str], float]) -> None:
        super().__init__()
        self.width = width

    def __missing__(self, char: str) -> float:
        width = self[char] = self.width(char)
        return width


class _Words(dict[str, float]):
    """Widths of words, summed from their characters' once and then looked up.

    A cache of a pure function (a word's width never changes), bounded: nothing passes through
    it from one page to another but the widths themselves.
    """

    def __init__(self, chars: _Chars, limit: int) -> None:
        super().__init__()
        self.char = chars.__getitem__
        self.limit = limit

    def __missing__(self, word: str) -> float:
        if len(self) >= self.limit:
            self.clear()  # a bound on memory; the common words come back soon enough
        width = self[word] = sum(map(self.char, word))
        return width


# 16,384 words take 2 MB or so; four times as many are no faster at 100,000 cards.
word_width: Callable[[str], float] = _Words(_Chars(char_width), 1 << 14).__getitem__
"""The width of a word (no spaces in it) in em."""

mono_width: Callable[[str], float] = _Words(_Chars(mono_char_width), 1 << 12).__getitem__
"""The width of a word in code (``<code>``, ``<kbd>``, ``<pre>``) in em."""

regular_width: Callable[[str], float] = _Words(_Chars(regular_char_width), 1 << 12).__getitem__
"""The width of a word set in regular type in em (see fit.SheetFitter)."""
