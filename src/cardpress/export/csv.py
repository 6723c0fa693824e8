"""CSV export: one file for Anki's File ▸ Import, or a plain one for spreadsheets.

The ``anki`` dialect carries Anki's text-import headers, so the importer maps every column
without asking. A CSV can only name note types that already exist in the collection, and a
fresh profile has only Anki's stock ones, so rows target those by their English names
(``STOCK_NOTE_TYPES``); the GUIDs are the package's. Imported on top of our ``.apkg`` every row
therefore meets its GUID under a different note type, and Anki skips it as "conflicting":
no duplicates, but no updates either. In a collection that only ever saw the CSV, a re-imported
edited row updates its note in place (``#if matches:update current`` pins that choice, which
Anki otherwise takes from the user's last CSV import).

The ``plain`` dialect is for spreadsheets and quiz apps: the authored text, UTF-8 with a BOM
(Excel assumes a legacy code page without one), CRLF line ends (RFC 4180), and every cell that
a spreadsheet would read as a formula neutralised with a leading ``'`` (OWASP's advice).
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Mapping, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TextIO

from cardpress import ids
from cardpress.errors import Diagnostic, Severity
from cardpress.export import ExportSummary
from cardpress.export.apkg import note_tags
from cardpress.load import CLOZE  # the loader's pattern: both agree on what a deletion is
from cardpress.model import Card, Deck, Kind

DIALECTS = ("anki", "plain")

# Anki's stock note types, by the English names a new profile gives them; each has two fields.
STOCK_NOTE_TYPES = {
    Kind.BASIC: "Basic",
    Kind.REVERSED: "Basic (and reversed card)",
    Kind.TYPE: "Basic (type in the answer)",
    Kind.CLOZE: "Cloze",
}

# Column order of the anki dialect. The note type comes first: Anki drops a line that begins
# with '#' as a comment, and a GUID (base91) may begin with '#'; a note type name never does.
ANKI_COLUMNS = ("Note type", "Deck", "Front", "Back", "Tags", "GUID")

PLAIN_HEADER = ("question", "answer", "topic", "tags")

# A cell beginning with one of these is a formula (or becomes one) in Excel, LibreOffice and
# Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_BLOCK_TAGS = "address|blockquote|br|div|h[1-6]|hr|li|ol|p|pre|table|tbody|td|tfoot|th|thead|tr|ul"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_PRE = re.compile(r"(<pre\b[^>]*>)(.*?)(</pre\s*>)", re.DOTALL | re.IGNORECASE)
# A newline after a block-level tag (open or close) or <br>, or before one: it renders as
# nothing.
_NEWLINE_AT_BLOCK = re.compile(
    rf"(</?(?:{_BLOCK_TAGS})\b[^<>]*>)\n|\n(?=</?(?:{_BLOCK_TAGS})\b)", re.IGNORECASE
)


def write_csv(
    deck: Deck,
    path: Path,
    *,
    dialect: str = "anki",
    part: int = 0,
    parts: int = 1,
) -> ExportSummary:
    """Write ``deck`` as CSV to ``path``: ``anki`` for Anki's importer, ``plain`` for others.

    With ``parts`` > 1 only the
    ``part``-th of that many equal runs of rows is written, the header with the first: the
    parts, written apart (by two processes) and joined in order, are the whole file, byte for
    byte. Each part returns the summary of the whole file.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown CSV dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    if not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}")
    names = deck_names(deck)
    # Written row by row (never the whole text in memory); the plain dialect starts with a BOM.
    encoding = "utf-8-sig" if dialect == "plain" and part == 0 else "utf-8"
    with path.open("w", encoding=encoding, newline="") as out:
        if dialect == "anki":
            rows = rows_in_deck_order(deck, names)
            write_anki_csv(deck, out, _run(rows, part, parts), names, header=part == 0)
            decks = _count(len(set(names.values())), "deck")
            text = f"{_count(len(deck.cards), 'note')} for Anki's File > Import, {decks}"
        else:
            write_plain_csv(deck, out, _run(deck.cards, part, parts), header=part == 0)
            text = f"{_count(len(deck.cards), 'row')} of plain CSV"
    warnings: list[Diagnostic] = []
    if deck.media:
        warnings.append(
            Diagnostic(
                deck.location,
                Severity.WARNING,
                f"this deck has {_count(len(deck.media), 'image')}; images cannot travel in a "
                "CSV (use the .apkg)",
            )
        )
    numeric = sorted({n for n in names.values() if _is_deck_id(n)})
    if dialect == "anki" and numeric:
        warnings.append(
            Diagnostic(
                deck.location,
                Severity.WARNING,
                f"Anki's CSV importer reads the deck name {numeric[0]!r} as a deck id and skips "
                "its rows (missing_deck); rename the deck or use the .apkg",
            )
        )
    return ExportSummary(text, tuple(warnings))


def _is_deck_id(name: str) -> bool:
    # Anki's importer takes any name that parses as a 64-bit integer for a deck id.
    return bool(_INTEGER.fullmatch(name)) and -(2**63) <= int(name) < 2**63


# -- the anki dialect ----------------------------------------------------------------------


def anki_csv(deck: Deck) -> str:
    """The text of the ``anki`` dialect: Anki's import headers, then one row per note."""
    out = io.StringIO()
    names = deck_names(deck)
    write_anki_csv(deck, out, rows_in_deck_order(deck, names), names)
    return out.getvalue()


def write_anki_csv(
    deck: Deck,
    out: TextIO,
    rows: Sequence[Card],
    names: Mapping[str, str],
    header: bool = True,
) -> None:
    """Write the ``anki`` dialect's header (if asked) and ``rows`` to ``out``."""
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    if header:
        column = {name: i for i, name in enumerate(ANKI_COLUMNS, start=1)}
        out.write(
            "#separator:Comma\n"
            "#html:true\n"
            f"#notetype column:{column['Note type']}\n"
            f"#deck column:{column['Deck']}\n"
            f"#tags column:{column['Tags']}\n"
            f"#guid column:{column['GUID']}\n"
            "#if matches:update current\n"
            "#columns:"
        )
        writer.writerow(ANKI_COLUMNS)
    key = deck.key
    for card in rows:
        first, second = anki_fields(card)
        writer.writerow(
            [
                STOCK_NOTE_TYPES[card.kind],
                names[card.topic],
                first,
                second,
                " ".join(note_tags(deck, card)),
                ids.guid(key, card.id),
            ]
        )


def deck_names(deck: Deck) -> dict[str, str]:
    """The Anki deck of the cards of each topic (``Deck.deck_name_for``), by topic."""
    titles = dict(zip(map(_TOPIC, deck.cards), map(_TITLE, deck.cards), strict=True))
    return {topic: deck.deck_name_for_topic(topic, title) for topic, title in titles.items()}


_TOPIC, _TITLE = attrgetter("topic"), attrgetter("topic_title")


def rows_in_deck_order(deck: Deck, names: Mapping[str, str] | None = None) -> list[Card]:
    """Cards with parent decks before subdecks, otherwise in authored order.

    Anki's importer creates a row's deck (and its parents) by name; a ``P::C`` row before the
    first ``P`` row makes the later ``P`` rows land in a new deck ``P+``.
    """
    depth = {topic: name.count("::") for topic, name in (names or deck_names(deck)).items()}
    if len(set(depth.values())) <= 1:
        return list(deck.cards)  # one level: the authored order
    return sorted(deck.cards, key=lambda card: depth[card.topic])


def _run(rows: Sequence[Card], part: int, parts: int) -> Sequence[Card]:
    """The ``part``-th of ``parts`` equal runs of ``rows``."""
    return rows[len(rows) * part // parts : len(rows) * (part + 1) // parts]


def anki_fields(card: Card) -> tuple[str, str]:
    """The two fields of the card's stock note type, as one-line HTML.

    Basic and Cloze carry Extra, topic and source in their second field. Reversed and type-in
    cards keep it exactly the answer: the reverse card asks it, and type-in compares with it.
    """
    if card.kind is Kind.CLOZE:
        fields = (card.front, _extra_and_meta(card))
    elif card.kind is Kind.BASIC:
        fields = (card.front, card.back + _extra_and_meta(card))
    else:
        fields = (card.front, card.back)
    return (one_line(fields[0]), one_line(fields[1]))


def _extra_and_meta(card: Card) -> str:
    parts = []
    if card.extra:
        parts.append(f'<div class="cp-extra">{card.extra}</div>')
    meta = " · ".join(filter(None, [html.escape(card.topic_title, quote=False), card.source]))
    if meta:
        parts.append(f'<div class="cp-meta">{meta}</div>')
    return "".join(parts)


def one_line(fragment: str) -> str:
    """An HTML fragment without raw line breaks, rendering as before.

    With ``#html:true`` Anki keeps a raw newline in the field, where the editor shows it but
    the card does not. Each one becomes what it renders as: inside ``<pre>`` a ``<br>``; beside
    a block-level tag (or after ``<br>``) nothing; elsewhere a space.
    """
    if "\n" not in fragment and "\r" not in fragment:
        return fragment  # most fields: already one line
    text = fragment.replace("\r\n", "\n").replace("\r", "\n")
    pieces: list[str] = []
    end = 0
    for m in _PRE.finditer(text):
        pieces.append(_flow_line(text[end : m.start()]))
        # An HTML parser drops a newline right after <pre>; every other one is a line break.
        body = m.group(2).removeprefix("\n").replace("\n", "<br>")
        pieces.append(m.group(1) + body + m.group(3))
        end = m.end()
    pieces.append(_flow_line(text[end:]))
    return "".join(pieces)


def _flow_line(text: str) -> str:
    return _NEWLINE_AT_BLOCK.sub(r"\1", text).replace("\n", " ")


# -- the plain dialect ---------------------------------------------------------------------


def plain_csv(deck: Deck) -> str:
    """The text of the ``plain`` dialect (without its BOM): a header row, then one per card."""
    out = io.StringIO()
    write_plain_csv(deck, out, deck.cards)
    return out.getvalue()


def write_plain_csv(deck: Deck, out: TextIO, rows: Sequence[Card], header: bool = True) -> None:
    """Write the ``plain`` dialect's header (if asked) and ``rows`` to ``out`` (the BOM is the
    file encoding's)."""
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(PLAIN_HEADER)
    for card in rows:
        question, answer = plain_question_answer(card)
        cells = [question, answer, card.topic_title, " ".join(note_tags(deck, card))]
        writer.writerow([neutralise(cell) for cell in cells])


def plain_question_answer(card: Card) -> tuple[str, str]:
    """The authored Markdown of question and answer.

    A cloze becomes a question with every deletion shown as ``[...]`` (or ``[hint]``) and an
    answer with every deletion filled in.
    """
    if card.kind is not Kind.CLOZE:
        return card.front_text, card.back_text
    question = CLOZE.sub(lambda m: f"[{m.group(3) or '...'}]", card.front_text)
    answer = CLOZE.sub(lambda m: m.group(2), card.front_text)
    return question, answer


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates: ``'`` before a formula start."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
