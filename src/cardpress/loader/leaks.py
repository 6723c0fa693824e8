"""Answers given away: a card's short answer found in another card's question.

A deck that asks "Year Trotsky was expelled from the party" on one card and "What came after
Trotsky's expulsion in 1927?" on another teaches nothing with the first. Each card read gives
a :data:`LeakEntry` (its questions' words and its short answers' words, see
:func:`leak_entry`); once the whole deck is read, :func:`leak_warnings` finds the answers that
other cards' questions contain, in one pass over an index of the answers: linear in the
deck's words, whichever path (whole file or chunks) read the cards.

Words are compared case-folded, without punctuation (``Lenin's`` is ``lenin``), without
MathJax and without sound tags (``[sound:clip-….mp3]`` says "sound" to no one). Words of the
deck's name and topic titles, and words found in more than a tenth of the questions, say
nothing about one card's answer: they are left out of answers and questions alike, and an
answer made only of them is never looked for.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence

from cardpress.errors import Diagnostic, Severity
from cardpress.format import (
    CLOZE,
    LEAK_ANSWER_WORDS,
    LEAK_COMMON_MIN,
    LEAK_COMMON_SHARE,
    SOUND,
    cloze_question,
)
from cardpress.model import Kind, Location
from cardpress.render import MATH

Words = tuple[str, ...]

LeakEntry = tuple[str, int, int, tuple[str, ...], tuple[tuple[str, str], ...]]
"""A card as the check sees it: its id, line and column, the words of each question it asks
(joined by spaces: one string per question keeps a big deck's memory small), and each short
answer (as written, and its words joined so). Plain tuples: workers send them back with
``marshal`` (chunked.py)."""

_APOSTROPHES = "'\u2019"  # typewriter and typographic
_WORD = re.compile(rf"\w+(?:[{_APOSTROPHES}]\w+)*")
_POSSESSIVE = re.compile(rf"[{_APOSTROPHES}]s$")
_DROP = str.maketrans("", "", _APOSTROPHES)


def words(text: str) -> Words:
    """The words of ``text``, case-folded, without punctuation; a possessive ``'s`` goes, and
    so do MathJax (``x^2`` is no word) and sound tags."""
    if "\\" in text:
        text = MATH.sub(" ", text)
    if "[sound:" in text:
        text = SOUND.sub(" ", text)
    found = _WORD.findall(text.casefold())
    if "'" not in text and "\u2019" not in text:
        return tuple(found)
    return tuple(_POSSESSIVE.sub("", w).translate(_DROP) for w in found)


def leak_entry(card_id: str, line: int, col: int, kind: Kind, front: str, back: str) -> LeakEntry:
    """The questions and short answers of a card, from the visible text of its sides.

    Basic and type cards ask the front; reversed cards ask the front and the back, each the
    other's answer; a cloze asks its text with every deletion hidden, and each deletion is an
    answer.
    """
    if kind is Kind.CLOZE:
        questions: Sequence[str] = (cloze_question(front),)
        answers: Sequence[str] = [m.group(2) for m in CLOZE.finditer(front)]
    elif kind is Kind.REVERSED:
        questions, answers = (front, back), (back, front)
    else:
        questions, answers = (front,), (back,)
    short = []
    for answer in answers:
        answer_words = words(answer)
        if 0 < len(answer_words) <= LEAK_ANSWER_WORDS:
            short.append((" ".join(answer.split()), " ".join(answer_words)))
    return card_id, line, col, tuple(" ".join(words(q)) for q in questions), tuple(short)


def leak_warnings(
    entries: Sequence[LeakEntry], path: str, deck_name: str, titles: Iterable[str]
) -> list[Diagnostic]:
    """A warning at each card whose question gives away another card's short answer: one per
    answer, at the first such card, naming how many others do too.

    Words of the deck's name and topic titles, and words in the questions of more than a
    tenth of the cards (and of at least LEAK_COMMON_MIN), are filler: an answer made only of
    them is not looked for, and one that starts or ends with them is looked for without them
    ("The NKVD" as "nkvd").
    """
    answer_words = {w for entry in entries for _, text in entry[4] for w in text.split()}
    if not answer_words:
        return []
    # The cards whose questions hold each word of an answer: all a one-word answer needs, and
    # how common the word is.
    holding: dict[Words, array[int]] = {}
    for index, entry in enumerate(entries):
        for question in entry[3]:
            for word in answer_words.intersection(question.split()):
                _hold(holding, (word,), index)
    filler = {w for name in (deck_name, *titles) for w in words(name)}
    common = max(len(entries) * LEAK_COMMON_SHARE, LEAK_COMMON_MIN - 1)
    filler.update(key[0] for key, cards in holding.items() if len(cards) > common)

    answers: list[tuple[int, Words]] = []  # each short answer's card and words, filler gone
    longer: set[Words] = set()
    for index, entry in enumerate(entries):
        for _, joined in entry[4]:
            answer = joined.split()
            if answer[0] in filler or answer[-1] in filler:
                answer = _strip(answer, filler)
            key = tuple(answer)
            if key and (not answers or answers[-1] != (index, key)):  # a cloze may repeat it
                answers.append((index, key))
                if len(key) > 1:
                    longer.add(key)
    # Longer answers: looked up by position in the questions that hold their first word.
    firsts = {key[0] for key in longer}
    for index, entry in enumerate(entries):
        for question in entry[3]:
            asked = question.split()
            if firsts.isdisjoint(asked):
                continue
            for start, word in enumerate(asked):
                if word in firsts:
                    for end in range(start + 2, min(start + LEAK_ANSWER_WORDS, len(asked)) + 1):
                        key = tuple(asked[start:end])
                        if key in longer:
                            _hold(holding, key, index)
    warnings = []
    for owner, key in answers:
        holders = holding.get(key)
        if holders and (len(holders) > 1 or holders[0] != owner):
            others = [holder for holder in holders if holder != owner]
            warnings.append(_warning(entries, owner, key, others, path))
    return warnings


def _hold(holding: dict[Words, array[int]], key: Words, index: int) -> None:
    """Note that the question of card ``index`` holds ``key`` (once per card). Arrays: a
    common word is held by tens of thousands of cards in a big deck, an int object each in
    a list."""
    holders = holding.get(key)
    if holders is None:
        holding[key] = array("l", (index,))
    elif holders[-1] != index:
        holders.append(index)


def _strip(answer: list[str], filler: set[str]) -> list[str]:
    """An answer's words without the filler words it starts and ends with."""
    start, end = 0, len(answer)
    while start < end and answer[start] in filler:
        start += 1
    while end > start and answer[end - 1] in filler:
        end -= 1
    return answer[start:end]


def _warning(
    entries: Sequence[LeakEntry], owner: int, key: Words, others: list[int], path: str
) -> Diagnostic:
    """The warning at the first card of ``others``, whose question holds the answer ``key``
    of card ``owner``."""
    card_id, line, _, _, answers = entries[owner]
    asker_id, asker_line, asker_col, _, _ = entries[others[0]]
    answer = next(text for text, joined in answers if set(key) <= set(joined.split()))
    more = len(others) - 1
    also = f"; so do {more} more cards" if more > 1 else ""
    also = "; so does 1 more card" if more == 1 else also
    # A card without an id is named by its line: its made-up id (entered as "") says nothing.
    asker = f"card {asker_id!r}" if asker_id else "card"
    owner_name = f"card {card_id!r} (line {line})" if card_id else f"the card at line {line}"
    return Diagnostic(
        Location(path, asker_line, asker_col),
        Severity.WARNING,
        f"{asker} gives away the answer {answer!r} of {owner_name} in its question{also}; "
        "reword it, or set leak_check: false on one of them",
    )
