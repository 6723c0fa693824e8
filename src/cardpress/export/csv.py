"""CSV export: one file for Anki's File ▸ Import, or a plain one for spreadsheets.

The ``anki`` dialect carries Anki's text-import headers, so the importer maps every column
without asking. A CSV can only name note types that already exist in the collection, and a
fresh profile has only Anki's stock ones, so rows target those by their English names
(``notes.STOCK_NAMES``); the GUIDs are the package's. Imported on top of our ``.apkg`` every row
therefore meets its GUID under a different note type, and Anki skips it as "conflicting":
no duplicates, but no updates either. In a collection that only ever saw the CSV, a re-imported
edited row updates its note in place (``#if matches:update current`` pins that choice, which
Anki otherwise takes from the user's last CSV import).

The ``plain`` dialect is for spreadsheets and quiz apps: what each card shows, as plain text
taken from its sanitised fields, UTF-8 with a BOM
(Excel assumes a legacy code page without one), CRLF line ends (RFC 4180), and every cell that
a spreadsheet would read as a formula neutralised with a leading ``'`` (OWASP's advice).
"""

from __future__ import annotations

import csv
import html
import re
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from cardpress.errors import Diagnostic, Severity
from cardpress.export import BuildOptions, ExportSummary, plural
from cardpress.format import CLOZE, SOUND, cloze_question, is_sound
from cardpress.model import Card, Kind, Media
from cardpress.notes import STOCK_NAMES, Notes
from cardpress.render import plain_text

DIALECTS = ("anki", "plain")

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


def write_csv(notes: Notes, path: Path, options: BuildOptions | None = None) -> ExportSummary:
    """Write ``notes`` as CSV to ``path``: ``anki`` for Anki's importer, ``plain`` for others."""
    dialect = (options or BuildOptions()).csv_dialect
    if dialect not in DIALECTS:
        raise ValueError(f"unknown CSV dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    deck = notes.deck
    # The Anki decks the notes fill (the deck itself is listed even when its cards are all in
    # subdecks), with their notes.
    names = {name: members for name, members in notes.decks().items() if members}
    # Written row by row (never the whole text in memory); the plain dialect starts with a BOM.
    encoding = "utf-8-sig" if dialect == "plain" else "utf-8"
    with path.open("w", encoding=encoding, newline="") as out:
        if dialect == "anki":
            _write_anki(notes, names, out)
            text = (
                f"{plural(len(notes), 'note')} for Anki's File > Import, "
                f"{plural(len(names), 'deck')}"
            )
        else:
            _write_plain(notes, out)
            text = f"{plural(len(notes), 'row')} of plain CSV"
    warnings: list[Diagnostic] = []
    if deck.media:
        warnings.append(  # by design, not a mistake: a note, which never fails --strict
            Diagnostic(deck.location, Severity.NOTE, _media_left_out(deck.media))
        )
    numeric = sorted(name for name in names if _is_deck_id(name))
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


def _media_left_out(media: Sequence[Media]) -> str:
    """What the note says of the deck's media files, which a CSV cannot carry (its rows keep
    the references, images and sound tags, which Anki finds only where the files are)."""
    sounds = sum(1 for item in media if is_sound(item.name))
    kinds = [(n, word) for n, word in ((len(media) - sounds, "image"), (sounds, "sound file")) if n]
    has = " and ".join(plural(n, word) for n, word in kinds)
    what = " and ".join(f"{word}s" for _, word in kinds)
    return (
        f"this deck has {has}; {what} cannot travel in a CSV "
        "(use the .apkg, or leave the CSV out with --only)"
    )


def _is_deck_id(name: str) -> bool:
    # Anki's importer takes any name that parses as a 64-bit integer for a deck id.
    return bool(_INTEGER.fullmatch(name)) and -(2**63) <= int(name) < 2**63


# -- the anki dialect ----------------------------------------------------------------------


def _write_anki(notes: Notes, decks: Mapping[str, Sequence[int]], out: TextIO) -> None:
    """Anki's import headers, then one row per note, parent decks before their subdecks."""
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    column = {name: i for i, name in enumerate(ANKI_COLUMNS, start=1)}
    # A deck's own note types may have more fields than two: their rows go on in columns of
    # their own after the GUID (Anki fills a note's fields from the columns that are neither
    # its note type, deck, tags nor GUID, in order, and leaves the empty ones out).
    widest = max((len(own.fields) for own in notes.deck.note_types), default=2)
    more = tuple(f"Field {n}" for n in range(3, widest + 1))
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
    writer.writerow(ANKI_COLUMNS + more)
    for note in notes.select(rows_in_deck_order(decks, len(notes))):
        card = note.card
        if card.kind is Kind.NOTE:
            # The note type of the deck's own, by its name: it is in the collection once the
            # deck's package was imported (a CSV cannot bring a note type).
            fields = [one_line(field) for field in note.fields]
            fields += [""] * (2 - len(fields))
            name = note.note_type.name
        else:
            fields = list(anki_fields(card))
            name = STOCK_NAMES[card.kind]
        tags = " ".join(note.tags)
        writer.writerow([name, note.deck, fields[0], fields[1], tags, note.guid, *fields[2:]])


def rows_in_deck_order(decks: Mapping[str, Sequence[int]], count: int) -> Iterable[int]:
    """The notes' indexes, parent decks before subdecks, otherwise in authored order.

    Anki's importer creates a row's deck (and its parents) by name; a ``P::C`` row before the
    first ``P`` row makes the later ``P`` rows land in a new deck ``P+``. ``decks`` maps each
    deck name to its notes (``Notes.decks``).
    """
    if len({name.count("::") for name in decks}) <= 1:
        return range(count)  # one level: the authored order
    depth = array("l", [0]) * count
    for name, members in decks.items():
        level = name.count("::")
        for index in members:
            depth[index] = level
    return sorted(range(count), key=depth.__getitem__)  # stable: authored order within a level


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


def _write_plain(notes: Notes, out: TextIO) -> None:
    """A header row, then one row per card (the BOM is the file encoding's)."""
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(PLAIN_HEADER)
    for note in notes:
        question, answer = plain_question_answer(note.card)
        cells = [question, answer, note.card.topic_title, " ".join(note.tags)]
        writer.writerow([neutralise(cell) for cell in cells])


def plain_question_answer(card: Card) -> tuple[str, str]:
    """Question and answer as plain text: what the card shows, without markup.

    The text comes from the sanitised fields, so nothing the sanitiser removed (a script, a
    handler) reaches a cell, and no sound tag. A cloze becomes a question with every deletion
    shown as ``[...]`` (or ``[hint]``) and an answer with every deletion filled in.
    """
    if card.kind is not Kind.CLOZE:
        return _plain(card.front), _plain(card.back)
    question = cloze_question(card.front)
    answer = CLOZE.sub(lambda m: m.group(2), card.front)
    return _plain(question), _plain(answer)


def _plain(fragment: str) -> str:
    """A field as plain text; a sound tag, which plays nothing in a cell, is left out."""
    if "[sound:" in fragment:
        fragment = SOUND.sub("", fragment)
    return plain_text(fragment)


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates: ``'`` before a formula start."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
