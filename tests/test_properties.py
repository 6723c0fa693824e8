"""Properties of the whole pipeline (Hypothesis), checked against real Anki.

- Any valid generated deck builds, and its package imports into a fresh collection with every
  field, tag and deck exactly as authored (after the documented rendering).
- The CSV round-trips: the anki dialect through Anki's own importer, the plain dialect through
  Python's ``csv``.
- Any bytes given to the loader either load or raise InputError, never another exception.
- Loading and building are deterministic, and a card's GUID ignores its content.

The generated decks are valid ones; the tests at the end of this file pin, with their minimal
inputs, the bugs these properties found (now refused or normalised by the loader).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import html
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from anki.collection import Collection
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cardpress import InputError, Severity, build
from cardpress.cli import cli
from cardpress.errors import Diagnostic
from cardpress.export import BuildOptions
from cardpress.export.csv import anki_fields, write_csv
from cardpress.format import CLOZE
from cardpress.loader import chunked, load_bytes, load_deck
from cardpress.model import Card, Deck, Location
from cardpress.notes import NOTE_TYPE_SETS, guid, make_notes, note_fields
from cardpress.render import plain_text, render
from tests.conftest import (
    NONE_SKIPPED,
    bucket_sizes,
    decks_of,
    examples,
    fresh_collection,
    import_apkg,
    import_csv,
    neutralised,
    notes_by_guid,
)

EPOCH = 1_700_000_000

# Generated decks are slow to draw (rendering filters) and each example builds a deck and imports
# it into a fresh collection: a few dozen examples per property.
DECK_SETTINGS = settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
REBUILD_SETTINGS = settings(DECK_SETTINGS, max_examples=examples(20))
LOADER_SETTINGS = settings(max_examples=examples(400), deadline=None)


# -- text --------------------------------------------------------------------------------------

# Fragments a card's text is made of: Unicode that must survive (accents, precomposed and
# combining, RTL, emoji, CJK), quotes and separators, Markdown and HTML, and everything YAML
# treats specially (indicators, implicit types that must stay text, significant spaces).
ATOMS = (
    "é", "e\u0301", "ñ", "Ж", "עברית", "مرحبا", "\u200f", "🗡️", "👩‍👩‍👧", "中文", "日本語", "한국어",
    '"', "'", ",", ";", "#", "# ", " #", "*", "**", "_", "`", "[", "]", "(", ")", "- ", "1. ",
    "> ", "|", "~", "\\", "<", ">", "&", "&amp;", "<b>", "</b>", "<i>x</i>", "<br>", "\\(a<b\\)",
    "https://x.org", ": ", ":", "---", "...", "&a", "*a", "!", "!!str", "%", "@", "?", "=", "+",
    "-", "yes", "no", "on", "null", "1924", "1.50", "0x1F", "1e3", ".inf", "2024-01-01",
    " ", "  ", "\n", "\n\n", "\t", "\r\n", "<!-- c -->", "<script>x</script>", "[x]: /u",
)  # fmt: skip
# Any character but controls and surrogates (private-use ones included: the renderer once took
# them for its own placeholders, see test_fixed_bug_placeholder_characters).
CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
# Whole values that YAML reads as something else unless written carefully, and markup that
# renders to nothing.
WHOLE_VALUES = (
    "yes", "no", "No", "on", "off", "y", "true", "False", "null", "~", "1924", "1.50", "-1", "+1",
    "0x1F", "0o17", "1e3", ".inf", ".NaN", "2024-01-01", "12:30", "@x", "*x", "&x", "!x", "%x",
    "`x`", "? x", "- x", "-x", "| x", "> x", "#x", "# x", " x ", "x #y", "a: b", "a:b", "[a]",
    "{a}", "'a'", '"a"', "=1+1", "<<",
    # Markup that renders to nothing (or nothing visible).
    "<!-- c -->", "[x]: /u", "<script>x</script>", "<style>x</style>", "<br>", "<p></p>", "---",
    "***", "&nbsp;", "\u200b", "\\",
)  # fmt: skip
RAW_TEXT = st.one_of(
    st.sampled_from(WHOLE_VALUES),
    st.lists(
        st.one_of(st.sampled_from(ATOMS), st.text(CHARACTERS, min_size=1, max_size=6)),
        min_size=1,
        max_size=6,
    ).map("".join),
)
# Images need files beside the card file (test_load covers them); raw <img> is an error.
_IMAGES = re.compile(r"!\[|<\s*img", re.IGNORECASE)
# What Anki (and genanki) count as a cloze deletion in the stored field.
_ANKI_CLOZE = re.compile(r"\{\{c(\d+)::.+?\}\}", re.DOTALL)


def _renders_to_nothing(text: str) -> bool:
    """Not blank, yet shows nothing: refused (test_fixed_bug_field_that_renders_to_nothing)."""
    return not plain_text(render(text).html).strip()


def _optional_text(text: str) -> bool:
    return bool(text.strip()) and not _IMAGES.search(text)


def _required_text(text: str) -> bool:
    return _optional_text(text) and not _renders_to_nothing(text)


OPTIONAL_TEXT = RAW_TEXT.filter(_optional_text)
REQUIRED_TEXT = RAW_TEXT.filter(_required_text)

IDENTIFIER = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,11}", fullmatch=True),
    st.sampled_from(["yes", "no", "on", "null", "1924", "1.50", "0x1F", "1e3", "007", "a.b"]),
)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# Letters with combining marks, which NFC composes ("e\u0301" is "é").
DECOMPOSED = ("e\u0301", "A\u030a", "n\u0303", "Z\u030c", "\u0415\u0308", "\u304b\u3099")
# A deck-name component as Anki stores it: NFC, trimmed, without "::" (others are
# taken as written, see test_fixed_bug_names_anki_normalises). A single ":" inside is fine.
# Built from a list of pieces: st.text(one_of(...)) would merge the alphabets into one range
# and all but never draw the characters picked out here.
_NAME_TEXT = (
    st.lists(
        st.one_of(
            st.sampled_from([*"aZé中🗡 -_.,'\"#&*!%@?()[]{}|<>=+~/\\", *DECOMPOSED]),
            st.text(CHARACTERS, min_size=1, max_size=2),
        ),
        min_size=1,
        max_size=8,
    )
    .map("".join)
    .filter(lambda s: ":" not in s and "\n" not in s and "\t" not in s)
)
NAME_PART = (
    st.one_of(
        _NAME_TEXT,
        st.tuples(_NAME_TEXT, st.sampled_from([":", ": ", " : "]), _NAME_TEXT).map("".join),
    )
    .map(_nfc)
    .map(str.strip)
    .filter(lambda s: bool(s) and not s.startswith(":") and not s.endswith(":"))
)
DECK_NAME = (
    st.lists(NAME_PART, min_size=1, max_size=3)
    .map("::".join)
    # A deck named like a number is a deck id to Anki's CSV importer (the build warns), and
    # "Default" is Anki's own deck.
    .filter(lambda s: not re.fullmatch(r"[+-]?[0-9]+", s))
    .filter(lambda s: s.split("::")[0].casefold() != "default")
)
# Tags as Anki keeps them: NFC (see test_fixed_bug_names_anki_normalises), no white space.
_TAG_PART = (
    st.lists(
        st.one_of(
            st.sampled_from([*"aZé中🗡-_.'\"()#&%*!@+=/\\", *DECOMPOSED]),
            st.characters(
                codec="utf-8",
                exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
                exclude_characters=":\ue000\ue001",
            ),
        ),
        min_size=1,
        max_size=8,
    )
    .map("".join)
    .map(_nfc)
    .filter(lambda s: not any(c.isspace() for c in s))
)
TAG = (
    st.lists(_TAG_PART, min_size=1, max_size=2)
    .map("::".join)
    .filter(lambda s: s.casefold() != "topic" and not s.casefold().startswith("topic::"))
)

# -- the authored deck -------------------------------------------------------------------------


@dataclass(frozen=True)
class Deletion:
    """``{{cN::answer}}`` or ``{{cN::answer::hint}}``."""

    number: int
    answer: str
    hint: str | None

    @property
    def markup(self) -> str:
        hint = f"::{self.hint}" if self.hint is not None else ""
        return f"{{{{c{self.number}::{self.answer}{hint}}}}}"


@dataclass(frozen=True)
class AuthoredCard:
    """A card as its author wrote it."""

    id: str
    kind: str
    front: str  # a cloze card's text
    back: str  # empty for cloze
    extra: str | None
    source: str | None
    topic: str | None
    tags: tuple[str, ...]
    tags_as_text: bool
    write_kind: bool
    cloze: tuple[str | Deletion, ...] = ()

    def document(self) -> dict[str, object]:
        doc: dict[str, object] = {"id": self.id}
        if self.topic is not None:
            doc["topic"] = self.topic
        if self.write_kind or self.kind != "basic":
            doc["kind"] = self.kind
        if self.kind == "cloze":
            doc["text"] = self.front
        else:
            doc["front"] = self.front
            doc["back"] = self.back
        if self.source is not None:
            doc["source"] = self.source
        if self.extra is not None:
            doc["extra"] = self.extra
        if self.tags:
            doc["tags"] = " ".join(self.tags) if self.tags_as_text else list(self.tags)
        return doc

    @property
    def prompts(self) -> list[str]:
        return [self.front, self.back] if self.kind == "reversed" else [self.front]

    @property
    def card_count(self) -> int:
        if self.kind == "cloze":
            return len({part.number for part in self.cloze if isinstance(part, Deletion)})
        return 2 if self.kind == "reversed" else 1


@dataclass(frozen=True)
class AuthoredDeck:
    """A card file as its author wrote it."""

    key: str
    name: str
    description: str | None
    source: str | None
    tags: tuple[str, ...]
    tags_as_text: bool
    topics: tuple[tuple[str, str], ...] | None
    subdecks: bool | None
    write_format: bool
    cards: tuple[AuthoredCard, ...]
    note_type_version: int | None = None  # not written: a new deck takes version 2

    def document(self) -> dict[str, object]:
        doc: dict[str, object] = {}
        if self.write_format:
            doc["format"] = 1
        doc["key"] = self.key
        doc["name"] = self.name
        if self.description is not None:
            doc["description"] = self.description
        if self.tags:
            doc["tags"] = " ".join(self.tags) if self.tags_as_text else list(self.tags)
        if self.source is not None:
            doc["source"] = self.source
        if self.topics is not None:
            doc["topics"] = dict(self.topics)
        if self.subdecks is not None:
            doc["subdecks"] = self.subdecks
        if self.note_type_version is not None:
            doc["note_type_version"] = self.note_type_version
        doc["cards"] = [card.document() for card in self.cards]
        return doc

    # What the README promises for each card.
    def title(self, card: AuthoredCard) -> str:
        if card.topic is None:
            return ""
        return dict(self.topics)[card.topic] if self.topics is not None else card.topic

    def deck_of(self, card: AuthoredCard) -> str:
        if card.topic is not None and self.subdecks is not False:
            return f"{self.name}::{self.title(card)}"
        return self.name

    def tags_of(self, card: AuthoredCard) -> list[str]:
        tags = list(dict.fromkeys([*self.tags, *card.tags]))
        return [*tags, f"topic::{card.topic}"] if card.topic is not None else tags

    def fields_of(self, card: AuthoredCard) -> list[str]:
        def rendered(text: str | None) -> str:
            return render(text).html if text is not None else ""

        topic = html.escape(self.title(card), quote=False)
        if card.kind == "cloze":
            fields = [rendered(card.front), rendered(card.extra), topic, rendered(card.source)]
        else:
            fields = [
                rendered(card.front),
                rendered(card.back),
                rendered(card.extra),
                topic,
                rendered(card.source),
            ]
        if self.version == 1:
            return fields
        if card.kind in ("basic", "reversed"):  # Add Reverse makes the reverse card
            fields.append("y" if card.kind == "reversed" else "")
        return [*fields, f"{self.key}/{card.id}"]  # Card ID

    @property
    def version(self) -> int:
        """The version of cardpress's note types the deck's notes take."""
        return self.note_type_version or 2

    def all_deck_names(self) -> set[str]:
        """Every deck the package creates (with parents), plus Anki's own Default."""
        names = {"Default"}
        for full in [self.name, *(self.deck_of(card) for card in self.cards)]:
            parts = full.split("::")
            names.update("::".join(parts[:i]) for i in range(1, len(parts) + 1))
        return names


def _cloze_piece(text: str) -> bool:
    return "{" not in text and "}" not in text and not _IMAGES.search(text)


def _deletion_text(text: str) -> bool:
    return (
        _required_text(text)
        and _cloze_piece(text)
        and "::" not in text
        and not text.startswith(":")
        and not text.endswith(":")
    )


@st.composite
def cloze_parts(draw: st.DrawFn) -> tuple[str | Deletion, ...]:
    count = draw(st.integers(1, 3))
    parts: list[str | Deletion] = [draw(st.just("") | RAW_TEXT.filter(_cloze_piece))]
    for _ in range(count):
        hint = draw(st.none() | RAW_TEXT.filter(_deletion_text))
        answer = draw(RAW_TEXT.filter(_deletion_text))
        parts.append(Deletion(draw(st.integers(1, 3)), answer, hint))
        parts.append(draw(st.just("") | RAW_TEXT.filter(_cloze_piece)))
    text = "".join(p if isinstance(p, str) else p.markup for p in parts)
    # Anki must find every deletion in the stored (rendered) field.
    numbers = {p.number for p in parts if isinstance(p, Deletion)}
    found = {int(n) for n in _ANKI_CLOZE.findall(render(text).html)}
    assume(found == numbers and not _renders_to_nothing(text))
    return tuple(parts)


@st.composite
def authored_cards(
    draw: st.DrawFn,
    card_id: str,
    topics: list[str],
    topic_required: bool,
    tag_pool: list[str],
    kind: str | None = None,
) -> AuthoredCard:
    kind = kind or draw(st.sampled_from(["basic", "reversed", "cloze", "type"]))
    parts: tuple[str | Deletion, ...] = ()
    if kind == "cloze":
        parts = draw(cloze_parts())
        front = "".join(p if isinstance(p, str) else p.markup for p in parts)
        back = ""
    else:
        front, back = draw(REQUIRED_TEXT), draw(REQUIRED_TEXT)
    topic: str | None = None
    if topics and (topic_required or draw(st.booleans())):
        topic = draw(st.sampled_from(topics))
    tags: tuple[str, ...] = ()
    if tag_pool:
        tags = tuple(draw(st.lists(st.sampled_from(tag_pool), unique=True, max_size=3)))
    return AuthoredCard(
        id=card_id,
        kind=kind,
        front=front,
        back=back,
        extra=draw(st.none() | OPTIONAL_TEXT),
        source=draw(st.none() | OPTIONAL_TEXT),
        topic=topic,
        tags=tags,
        tags_as_text=draw(st.booleans()),
        write_kind=draw(st.booleans()),
        cloze=parts,
    )


def _question_key(text: str) -> str:
    # The loader's own folding: two prompts equal under it draw a warning.
    return " ".join(plain_text(render(text).html).casefold().split())


@st.composite
def authored_decks(draw: st.DrawFn, max_cards: int = 15) -> AuthoredDeck:
    declared = draw(st.booleans())
    # Topic keys and titles differ beyond case: Anki's deck names and tags ignore case
    # (titles: see test_fixed_bug_topic_titles_equal_but_for_case).
    keys = draw(st.lists(IDENTIFIER, min_size=int(declared), max_size=4, unique_by=str.casefold))
    topics: tuple[tuple[str, str], ...] | None = None
    if declared:
        titles = draw(
            st.lists(NAME_PART, min_size=len(keys), max_size=len(keys), unique_by=str.casefold)
        )
        topics = tuple(zip(keys, titles, strict=True))
    # Tags are distinct beyond case: Anki merges "Foo" and "foo" into the first one it met.
    pool = draw(st.lists(TAG, max_size=6, unique_by=str.casefold))
    count = draw(st.integers(1, max_cards))
    ids = draw(st.lists(IDENTIFIER, min_size=count, max_size=count, unique=True))
    cards = tuple(draw(authored_cards(card_id, keys, declared, pool)) for card_id in ids)
    prompts = [_question_key(prompt) for card in cards for prompt in card.prompts]
    assume(len(set(prompts)) == len(prompts))
    return AuthoredDeck(
        key=draw(IDENTIFIER),
        name=draw(DECK_NAME),
        description=draw(st.none() | OPTIONAL_TEXT),
        source=draw(st.none() | OPTIONAL_TEXT),
        tags=tuple(draw(st.lists(st.sampled_from(pool), unique=True, max_size=3))) if pool else (),
        tags_as_text=draw(st.booleans()),
        topics=topics,
        subdecks=draw(st.none() | st.booleans()),
        write_format=draw(st.booleans()),
        cards=cards,
        note_type_version=draw(st.none() | st.sampled_from([1, 2])),
    )


# -- YAML text ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Emission:
    """How a card file is written: every choice must give the same deck."""

    scalar_style: str | None
    flow: bool | None
    width: int
    line_break: str
    explicit_start: bool
    bom: bool
    schema_comment: bool


EMISSIONS = st.builds(
    Emission,
    scalar_style=st.sampled_from([None, None, '"', "'", "|", ">"]),
    flow=st.sampled_from([False, None, True]),
    width=st.sampled_from([80, 20, 10_000]),
    line_break=st.sampled_from(["\n", "\r\n"]),
    explicit_start=st.booleans(),
    bom=st.booleans(),
    schema_comment=st.booleans(),
)


def emit(deck: AuthoredDeck, how: Emission) -> bytes:
    """The card file's bytes; rejects the example if PyYAML cannot write it faithfully."""
    document = deck.document()
    text = yaml.safe_dump(
        document,
        allow_unicode=True,
        sort_keys=False,
        default_style=how.scalar_style,
        default_flow_style=how.flow,
        width=how.width,
        line_break=how.line_break,
        explicit_start=how.explicit_start,
    )
    # PyYAML's emitter folds a ">" scalar that starts with a space where YAML keeps the line
    # break (" a- b" comes back as " a-\nb"); its own pure-Python reader is the referee.
    assume(yaml.load(text, Loader=yaml.SafeLoader) == document)
    if how.schema_comment:
        text = "# yaml-language-server: $schema=../schema/deck.schema.json\n" + text
    return ("\ufeff" if how.bom else "").encode() + text.encode("utf-8")


@contextlib.contextmanager
def source_date_epoch(value: int) -> Iterator[None]:
    """``SOURCE_DATE_EPOCH`` for the duration (monkeypatch is per test, not per example)."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(value)
    try:
        yield
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def write_card_file(folder: Path, data: bytes) -> Path:
    path = folder / "cards" / "deck.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _fields(card: Card, deck_key: str, version: int = 2) -> tuple[str, ...]:
    """The fields cardpress's model says a card's note has, in note types ``version`` (a new
    deck that does not say takes 2)."""
    return note_fields(card, NOTE_TYPE_SETS[version][card.kind], deck_key)


def _by_id(deck: Deck) -> dict[str, Card]:
    return {card.id: card for card in deck.cards}


# -- 1. the package ----------------------------------------------------------------------------


@DECK_SETTINGS
@given(authored_decks(), EMISSIONS)
def test_any_valid_deck_imports_into_anki_exactly_as_authored(
    authored: AuthoredDeck, how: Emission
) -> None:
    with tempfile.TemporaryDirectory() as tmp, source_date_epoch(EPOCH):
        folder = Path(tmp)
        card_file = write_card_file(folder, emit(authored, how))
        result = build([card_file], folder / "dist")
        # Random texts give answers away now and then (a short answer inside another card's
        # question), and hold markup the sanitiser removes: those warnings have their own
        # tests (test_leaks.py, test_messages.py); this one is about import.
        own_tests = ("gives away the answer", "HTML removed from this text")
        assert [w for w in result.warnings if not any(t in w.message for t in own_tests)] == []
        loaded = _by_id(load_deck(card_file))

        with fresh_collection(folder / "anki") as col:
            log = import_apkg(col, folder / "dist" / "deck.apkg")

            assert bucket_sizes(log) == {
                "new": len(authored.cards),
                "updated": 0,
                **NONE_SKIPPED,
            }
            notes = notes_by_guid(col)
            assert set(notes) == {guid(authored.key, card.id) for card in authored.cards}
            dues = []
            for card in authored.cards:
                note = notes[guid(authored.key, card.id)]
                # Exactly as authored, after the documented rendering...
                assert list(note.fields) == authored.fields_of(card)
                # ...which is what cardpress's own model says it exports.
                version = authored.version
                assert list(note.fields) == list(_fields(loaded[card.id], authored.key, version))
                assert sorted(note.tags) == sorted(authored.tags_of(card))
                assert (
                    note.note_type()["name"] == NOTE_TYPE_SETS[version][loaded[card.id].kind].name
                )
                assert decks_of(col, note) == {authored.deck_of(card)}
                assert len(note.cards()) == card.card_count
                assert note.mod == EPOCH
                dues.append(min(c.due for c in note.cards()))
            assert dues == sorted(dues)  # new cards come in authored order
            assert {d.name for d in col.decks.all_names_and_ids()} == authored.all_deck_names()
            top = col.decks.by_name(authored.name)
            assert top is not None
            own = render(authored.description).html if authored.description else ""
            source = (authored.source or "").strip()
            named = f'<p class="cp-source">Source: {html.escape(source)}</p>' if source else ""
            assert top["desc"] == "\n".join(filter(None, (own, named)))
            assert col.card_count() == sum(card.card_count for card in authored.cards)
            assert list(col.get_empty_cards().notes) == []


# -- 2. the CSV --------------------------------------------------------------------------------


def _shown(kind: str, fields: list[str]) -> tuple[str, str]:
    """What the README says the plain CSV holds: question and answer as the card shows them."""
    if kind != "cloze":
        return plain_text(fields[0]), plain_text(fields[1])
    question = CLOZE.sub(lambda m: f"[{m.group(3) or '...'}]", fields[0])
    return plain_text(question), plain_text(CLOZE.sub(lambda m: m.group(2), fields[0]))


@DECK_SETTINGS
@given(authored_decks(), EMISSIONS)
def test_the_csv_round_trips(authored: AuthoredDeck, how: Emission) -> None:
    with tempfile.TemporaryDirectory() as tmp, source_date_epoch(EPOCH):
        folder = Path(tmp)
        card_file = write_card_file(folder, emit(authored, how))
        build([card_file], folder / "dist")
        deck = load_deck(card_file)
        loaded = _by_id(deck)

        # The anki dialect, through Anki's own importer: the package's notes, decks and tags.
        with (
            fresh_collection(folder / "from-csv") as col,
            fresh_collection(folder / "from-apkg") as other,
        ):
            log = import_csv(col, folder / "dist" / "deck.csv")
            import_apkg(other, folder / "dist" / "deck.apkg")

            assert bucket_sizes(log) == {
                "new": len(authored.cards),
                "updated": 0,
                **NONE_SKIPPED,
            }
            ours, theirs = notes_by_guid(col), notes_by_guid(other)
            assert set(ours) == set(theirs)
            assert set(ours) == {guid(authored.key, card.id) for card in authored.cards}
            for card in authored.cards:
                g = guid(authored.key, card.id)
                assert decks_of(col, ours[g]) == decks_of(other, theirs[g])
                assert decks_of(col, ours[g]) == {authored.deck_of(card)}
                assert sorted(ours[g].tags) == sorted(theirs[g].tags)
                assert sorted(ours[g].tags) == sorted(authored.tags_of(card))
                assert list(ours[g].fields) == list(anki_fields(loaded[card.id]))
                assert len(ours[g].cards()) == len(theirs[g].cards()) == card.card_count
            assert {d.name for d in col.decks.all_names_and_ids()} <= authored.all_deck_names()
            assert list(col.get_empty_cards().notes) == []

            stored = {
                card.id: theirs[guid(authored.key, card.id)].fields for card in authored.cards
            }

        # The plain dialect, through Python's csv: the visible text of what Anki stored from
        # the package (deletions as [...] or [hint], or filled in), formulas neutralised.
        plain = folder / "plain.csv"
        write_csv(make_notes(deck), plain, BuildOptions(csv_dialect="plain"))
        with plain.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["question", "answer", "topic", "tags"]
        expected = [
            [*_shown(card.kind, stored[card.id]), authored.title(card),
             " ".join(authored.tags_of(card))]
            for card in authored.cards
        ]  # fmt: skip
        assert rows[1:] == [[neutralised(cell) for cell in row] for row in expected]


# -- 3. the loader under arbitrary input -------------------------------------------------------


@pytest.fixture(scope="module")
def card_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one real image, so that generated image references can resolve."""
    folder = tmp_path_factory.mktemp("cards")
    (folder / "img").mkdir()
    (folder / "img" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    (folder / "img" / "fake.png").write_bytes(b"not a png")
    return folder


def _outcome(data: bytes, path: Path, workers: int = 1) -> object:
    try:
        result = load_bytes(data, path, workers=workers)
    except InputError as error:
        return ("error", [str(d) for d in error.diagnostics])
    return ("ok", result.decks, [str(d) for d in result.warnings])


def check_load(data: bytes, path: Path, *, chunks: bool = False) -> None:
    """``data`` loads or raises InputError whose every diagnostic is well-formed; (with
    ``chunks``) reading it in chunks, however small, in one process or two, changes nothing."""
    outcome = _outcome(data, path)
    if chunks:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(chunked, "PARALLEL_MIN_BYTES", 0)
            assert _outcome(data, path) == outcome
            assert _outcome(data, path, workers=2) == outcome
    try:
        result = load_bytes(data, path)
    except InputError as error:
        diagnostics = error.diagnostics
        assert diagnostics
        assert any(d.severity is Severity.ERROR for d in diagnostics)
    else:
        assert len(result.decks) == 1
        diagnostics = result.warnings
        assert all(d.severity is Severity.WARNING for d in diagnostics)
    # YAML's line breaks; libyaml places an error at the end of the stream one line further.
    lines = len(_LINE_BREAK.findall(data.decode("utf-8", "replace"))) + 2
    for d in diagnostics:
        assert d.location.path == str(path)
        assert 0 <= d.location.line <= lines
        assert d.location.col >= 0
        assert d.message.strip()
        assert "\n" not in str(d)  # one line per problem: FILE:LINE:COL: error: MESSAGE
    assert diagnostics == sorted(diagnostics, key=_position)


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _position(d: Diagnostic) -> tuple[str, int, int]:
    return (d.location.path, d.location.line, d.location.col)


@LOADER_SETTINGS
@given(data=st.binary(max_size=2000))
def test_any_bytes_load_or_raise_input_error(data: bytes, card_folder: Path) -> None:
    check_load(data, card_folder / "x.yaml")


YAML_FRAGMENTS = (
    *("format", "key", "name", "description", "tags", "source", "topics", "subdecks", "cards"),
    "note_type_version",
    *("id", "topic", "kind", "front", "back", "text", "extra", "basic", "reversed", "cloze"),
    *("type", "1", "true", "false", "yes", "no", "~", "null", "1924", "1.50", "0o17", ".nan"),
    *(": ", ":", "- ", "-", "\n", "\n  ", "\n    ", "\n      ", "  ", " ", "\t", "\r\n", "\r"),
    *("{", "}", "[", "]", ", ", "? ", "&a ", "*a", "&b ", "*b", "<<: ", "<<: *a", "!!str "),
    *("!!python/object/apply:os.system ['true'] ", "!!python/name:os.system ", "!!binary "),
    *("!!map ", "!!seq ", "!!set ", "!!omap ", "!!int ", "!!float ", "!!bool ", "!!null "),
    *("!!timestamp ", "!local ", "!<tag:x> ", "%YAML 1.1\n", "%TAG !e! tag:e,2000:\n"),
    *("---\n", "...\n", "'", '"', "''", '""', "|", "|-", "|+", ">", ">2", "#", "# c\n", "\\"),
    *("\\u00e9", "\\x00", "\\ud800", '"\\', "{{c1::x}}", "{{c0::x}}", "{{c1::}}", "{{c1::a::b}}"),
    *("![a](img/a.png)", "![a](img/fake.png)", "![a](img/none.png)", "![a](../a.png)"),
    *("![a](/etc/passwd)", "![a](https://x.org/a.png)", "![a](img%2Fa.png)", "![](<>)"),
    *("<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:alert(1))"),
    *("[x]: /u", "<!--", "-->", "\\(", "\\)", "é", "e\u0301", "🗡️", "עברית", "中文", "\u200f"),
    *("\ufeff", "\u2028", "\u2029", "\x85", "\x00", "\x1b", "\ufffe", "\ud7ff", "x" * 300),
    *("[" * 40, "{" * 40, "- " * 30, "a: " * 30),
)
YAMLISH = st.lists(
    st.one_of(st.sampled_from(YAML_FRAGMENTS), st.text(CHARACTERS, max_size=4)), max_size=60
).map("".join)


@LOADER_SETTINGS
@given(text=YAMLISH, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_yamlish_text_loads_or_raises_input_error(
    text: str, encoding: str, card_folder: Path
) -> None:
    check_load(text.encode(encoding), card_folder / "x.yaml")


@st.composite
def mutated_decks(draw: st.DrawFn) -> bytes:
    """A valid card file with a few edits: inputs close enough to valid to reach deep."""
    data = emit(draw(authored_decks(max_cards=4)), draw(EMISSIONS)).decode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 12)))
        insert = draw(
            st.just("") | st.sampled_from(YAML_FRAGMENTS) | st.text(CHARACTERS, max_size=3)
        )
        data = data[:start] + insert + data[end:]
    return data.encode("utf-8")


@settings(
    LOADER_SETTINGS, max_examples=examples(300), suppress_health_check=[HealthCheck.filter_too_much]
)
@given(data=mutated_decks())
def test_edited_valid_files_load_or_raise_input_error(data: bytes, card_folder: Path) -> None:
    check_load(data, card_folder / "x.yaml", chunks=True)


@settings(LOADER_SETTINGS, max_examples=examples(150))
@given(authored=authored_decks(), how=EMISSIONS)
def test_valid_decks_load_the_same_on_every_path(
    authored: AuthoredDeck, how: Emission, card_folder: Path
) -> None:
    """The quick card path and the chunked reader are optimisations: same decks, same words."""
    check_load(emit(authored, how), card_folder / "x.yaml", chunks=True)


_CHECK_LINE = re.compile(r"(?::(\d+)(?::(\d+))?)?: (error|warning): (.+)")


@settings(
    LOADER_SETTINGS, max_examples=examples(100), suppress_health_check=[HealthCheck.filter_too_much]
)
@given(data=mutated_decks())
def test_check_reports_every_problem_sorted_by_position(data: bytes, card_folder: Path) -> None:
    path = card_folder / "checked.yaml"
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    if result.exit_code == 1:
        assert re.fullmatch(r"\d+ errors?, \d+ warnings?", lines.pop())
        assert any(": error: " in line for line in lines)
    else:
        assert re.fullmatch(r"1 deck, \d+ cards?: OK( \(\d+ warnings?\))?", result.stdout.strip())
    positions = []
    for line in lines:
        assert line.startswith(str(path))
        match = _CHECK_LINE.fullmatch(line.removeprefix(str(path)))
        assert match, line
        positions.append((int(match[1] or 0), int(match[2] or 0)))
    assert positions == sorted(positions)


# -- 4. more properties ------------------------------------------------------------------------


@settings(DECK_SETTINGS, max_examples=examples(100))
@given(authored_decks(), EMISSIONS, EMISSIONS)
def test_loading_is_deterministic_and_ignores_how_yaml_is_written(
    authored: AuthoredDeck, how: Emission, other: Emission
) -> None:
    path = Path("cards") / "deck.yaml"
    first = load_bytes(emit(authored, how), path)
    assert load_bytes(emit(authored, how), path) == first
    again = load_bytes(emit(authored, other), path)
    assert [_without_locations(d) for d in again.decks] == [
        _without_locations(d) for d in first.decks
    ]


def _without_locations(deck: Deck) -> Deck:
    nowhere = Location("")
    cards = tuple(dataclasses.replace(card, path="", line=0, col=0) for card in deck.cards)
    return dataclasses.replace(deck, cards=cards, location=nowhere)


@REBUILD_SETTINGS
@given(authored_decks(), EMISSIONS)
def test_builds_are_byte_identical(authored: AuthoredDeck, how: Emission) -> None:
    with tempfile.TemporaryDirectory() as tmp, source_date_epoch(EPOCH):
        folder = Path(tmp)
        card_file = write_card_file(folder, emit(authored, how))
        build([card_file], folder / "one")
        lock = card_file.with_name("deck.lock.json")
        first_lock = lock.read_bytes()
        build([card_file], folder / "two")  # with the lock the first build wrote
        assert lock.read_bytes() == first_lock
        lock.unlink()
        build([card_file], folder / "three")  # a fresh checkout without a lock
        assert lock.read_bytes() == first_lock
        names = sorted(p.name for p in (folder / "one").iterdir())
        assert len(names) == 5  # four outputs and their record
        for name in names:
            data = (folder / "one" / name).read_bytes()
            assert (folder / "two" / name).read_bytes() == data
            assert (folder / "three" / name).read_bytes() == data


@st.composite
def edited_decks(draw: st.DrawFn) -> tuple[AuthoredDeck, AuthoredDeck]:
    """A deck, and the same deck with the text of some cards rewritten."""
    deck = draw(authored_decks(max_cards=8))
    cards = []
    for card in deck.cards:
        if draw(st.booleans()):
            cards.append(card)
            continue
        new = draw(authored_cards(card.id, [], False, [], card.kind))
        cards.append(
            dataclasses.replace(
                card, front=new.front, back=new.back, extra=new.extra, cloze=new.cloze
            )
        )
    edited = dataclasses.replace(deck, cards=tuple(cards))
    prompts = [_question_key(prompt) for card in edited.cards for prompt in card.prompts]
    assume(len(set(prompts)) == len(prompts))
    return deck, edited


@REBUILD_SETTINGS
@given(edited_decks(), EMISSIONS)
def test_edited_text_updates_the_same_notes(
    decks: tuple[AuthoredDeck, AuthoredDeck], how: Emission
) -> None:
    before, after = decks
    first, second = emit(before, how), emit(after, how)
    with tempfile.TemporaryDirectory() as tmp, source_date_epoch(EPOCH):
        folder = Path(tmp)
        card_file = write_card_file(folder, first)
        build([card_file], folder / "dist")
        old = _by_id(load_deck(card_file))
        with fresh_collection(folder / "anki") as col:
            import_apkg(col, folder / "dist" / "deck.apkg")
            ids_before = {g: note.id for g, note in notes_by_guid(col).items()}

            card_file.write_bytes(second)
            build([card_file], folder / "dist")  # beside the first build's lock file
            new = _by_id(load_deck(card_file))
            version = after.version

            def fields(card: Card) -> tuple[str, ...]:
                return _fields(card, after.key, version)

            changed = {i for i in new if fields(new[i]) != fields(old[i])}
            log = import_apkg(col, folder / "dist" / "deck.apkg")

            sizes = bucket_sizes(log)
            assert sizes == {
                **NONE_SKIPPED,
                "new": 0,
                "updated": len(changed),
                "duplicate": len(new) - len(changed),
            }
            notes = notes_by_guid(col)
            assert {g: note.id for g, note in notes.items()} == ids_before
            for card_id, card in new.items():
                note = notes[guid(after.key, card_id)]
                assert list(note.fields) == list(fields(card))
                assert note.mod == (EPOCH + 1 if card_id in changed else EPOCH)


# -- bugs these properties found, fixed; each pins its minimal input ------------------------


def _imported_both_ways(
    tmp_path: Path, dist: Path
) -> Iterator[tuple[str, Collection, dict[str, Any]]]:
    """The built deck imported into a fresh collection as .apkg, then as CSV."""
    for route, importer, name in (
        ("apkg", import_apkg, "deck.apkg"),
        ("csv", import_csv, "deck.csv"),
    ):
        with fresh_collection(tmp_path / route) as col:
            importer(col, dist / name)
            yield route, col, notes_by_guid(col)


def _build_or_refuse(folder: Path, body: str) -> tuple[Deck, Path] | None:
    """Build ``body``; None when the loader refuses it with an InputError (one way to fix)."""
    card_file = write_card_file(folder, body.encode("utf-8"))
    try:
        build([card_file], folder / "dist")
    except InputError:
        return None
    return load_deck(card_file), folder / "dist"


@pytest.mark.parametrize(
    "card",
    [
        '{id: a, front: "[x]: /u", back: b}',  # a Markdown link reference definition
        '{id: a, kind: reversed, front: q, back: "<!-- c -->"}',
        '{id: a, kind: reversed, front: q, back: "<br>"}',
        '{id: a, kind: cloze, text: "[{{c1::a}}]: /u"}',
    ],
)
def test_fixed_bug_field_that_renders_to_nothing(card: str, tmp_path: Path) -> None:
    # Anki would make a note without its card (or an empty card): the loader refuses it.
    assert _build_or_refuse(tmp_path, f"key: k\nname: N\ncards:\n  - {card}\n") is None


@pytest.mark.parametrize("front", ["\ue0000\ue001", "\\(x\\) \ue0000\ue001"])
def test_fixed_bug_placeholder_characters(front: str, card_folder: Path) -> None:
    data = f"key: k\nname: N\ncards:\n  - id: a\n    front: {json.dumps(front)}\n    back: b\n"
    path = card_folder / "x.yaml"
    check_load(data.encode(), path)
    assert load_bytes(data.encode(), path).decks[0].cards[0].front == front


@pytest.mark.parametrize(
    "head",
    [
        'name: "A :: B"',
        'name: "e\\u0301"',
        'name: N\ntopics: {t: "e\\u0301"}',
        'name: N\ntags: ["e\\u0301"]',
    ],
)
def test_fixed_bug_names_anki_normalises(head: str, tmp_path: Path) -> None:
    topic = ", topic: t" if "topics" in head else ""
    body = (
        f"key: k\n{head}\ncards:\n"
        f"  - {{id: a, front: q1, back: a{topic}}}\n  - {{id: b, front: q2, back: a{topic}}}\n"
    )
    built = _build_or_refuse(tmp_path, body)
    assert built is not None  # Anki takes these names; so does cardpress, normalised as Anki
    deck, dist = built
    for route, col, notes in _imported_both_ways(tmp_path, dist):
        for ours in make_notes(deck):
            note = notes[ours.guid]
            assert decks_of(col, note) == {ours.deck}, route
            assert sorted(note.tags) == sorted(ours.tags), route


@pytest.mark.parametrize(
    ("head", "topics"),
    [("topics: {a: Dates, b: dates}\n", ("a", "b")), ("", ("X", "x"))],
)
def test_fixed_bug_topic_titles_equal_but_for_case(
    head: str, topics: tuple[str, str], tmp_path: Path
) -> None:
    body = (
        f"key: k\nname: N\n{head}cards:\n"
        f"  - {{id: a, topic: {topics[0]}, front: q1, back: a}}\n"
        f"  - {{id: b, topic: {topics[1]}, front: q2, back: a}}\n"
    )
    built = _build_or_refuse(tmp_path, body)
    if built is None:
        return
    deck, dist = built
    for route, col, notes in _imported_both_ways(tmp_path, dist):
        for card in deck.cards:
            note = notes[guid(deck.key, card.id)]
            assert decks_of(col, note) == {deck.deck_name_for(card)}, route


@pytest.mark.parametrize(
    "body",
    [
        'key: k\nname: N\ncards:\n  - {id: "a\\n", front: q, back: a}\n',
        'key: "k\\n"\nname: N\ncards:\n  - {id: a, front: q, back: a}\n',
        'key: k\nname: N\ncards:\n  - {id: a, topic: "t\\n", front: q, back: a}\n',
    ],
)
def test_fixed_bug_identifier_with_trailing_newline(body: str, card_folder: Path) -> None:
    with pytest.raises(InputError):
        load_bytes(body.encode(), card_folder / "x.yaml")
