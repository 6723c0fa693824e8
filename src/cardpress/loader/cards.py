"""Cards: the one validator that turns a card's YAML node into a :class:`Card`, and the rules
across the cards of a deck (unique ids, questions asked once, topic titles).

Every route a card takes through the loader (streamed from a whole file, composed with its
deck, or read in a chunk by another process) ends here, so a card is judged the same way,
with the same messages, wherever it is read.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from cardpress.errors import Diagnostic, Severity
from cardpress.format import (
    CARD_KEYS,
    CLOZE,
    GUID,
    ID,
    KINDS,
    LONG_ANSWER_CHARS,
    MAX_CLOZE_NUMBER,
    MAX_NAME_CHARS,
    MAX_NESTING,
    NOT_FOR_NOTE_TYPES,
    generated_id,
)
from cardpress.loader import hints, values
from cardpress.loader.compose import describe
from cardpress.loader.leaks import LeakEntry, leak_entry
from cardpress.loader.media import Images, unreadable_image_paths
from cardpress.loader.note_types import NoteTypes
from cardpress.loader.values import Report
from cardpress.model import Card, Kind, OwnNoteType
from cardpress.render import TooDeep, plain_text, render, render_html
from cardpress.templates import card_ords

_Fields = dict[str, tuple[yaml.Node, yaml.Node]]
_Text = tuple[str, yaml.Node]  # a field's text and its value node

_CARD_KEYS = values.Keys(CARD_KEYS)
_WHAT = {key: f"card {key}" for key in CARD_KEYS}
_KIND_NAMES = list(KINDS)
# Whether a card has text, front and back keys, as its kind wants them: cloze, or not.
_TEXT_KEYS = {True: (True, False, False), False: (False, True, True)}


@dataclass(frozen=True, slots=True)
class CardContext:
    """What judging a card needs to know besides the card: where to report, the images of
    its file, the deck's topics, and whether its HTML is kept.

    Without ``keep_html`` (``check``, which drops the cards) a field is rendered only where
    rendering can find a problem; the diagnostics are the same either way.
    """

    report: Report
    images: Images
    topics: dict[str, str] | None
    keep_html: bool = True
    note_types: NoteTypes | None = None  # the deck's own, by name


_NONE: tuple[str, tuple[str, ...]] = ("", ())

# A card, the visible text of its front and of its back (the questions it may ask), whether
# it takes part in the check for answers given away (leaks.py), and the images of its front
# and of its back (a question is its text and its pictures).
ReadCard = tuple[Card, str, str, bool, tuple[str, ...], tuple[str, ...]]


def read_card(node: yaml.Node, context: CardContext) -> ReadCard | None:
    """The Card of a card's node, the visible text of its sides and its ``leak_check``, or
    None when it has an error. Its keys are judged first, then its fields; each problem is
    reported as it is found, so that problems at one position keep their order."""
    meant: set[str] = set()  # keys an unknown key was meant to be (reported once, there)
    fields = values.mapping(context.report, node, _CARD_KEYS, "a card", meant)
    if fields is None:
        return None
    if "note_type" in fields or "fields" in fields:
        return _note_card(fields, node, context)
    keys = _keys(fields, node, context, meant)
    if keys is None:
        return None
    ok, kind, first, second, source, extra, card_id, generated, topic, tags = keys
    front = _front(kind, first, context)
    back = _back(second, context) if second is not None else ("", (), "")
    keep = context.keep_html
    extra_html, extra_media = (
        _field_html(extra[1], extra[0], context, needed=keep) if extra else _NONE
    )
    source_html, source_media = (
        _field_html(source[1], source[0], context, needed=keep) if source else _NONE
    )
    leak_check = True
    if "leak_check" in fields:
        leak_check = (
            values.boolean(context.report, fields["leak_check"][1], "leak_check") is not False
        )
    own_guid = _guid(fields["guid"][1], context.report) if "guid" in fields else ""
    if not ok or front is None or back is None or own_guid is None:
        return None
    # Positional: a frozen dataclass takes keywords a third slower, 100,000 times a big deck.
    card = Card(
        card_id, kind, front[0], back[0], topic[0], topic[1], tags, source_html,
        extra_html, context.report.path_text, context.report.line(node),
        node.start_mark.column + 1, front[1] + back[1] + extra_media + source_media, generated,
        own_guid,
    )  # fmt: skip
    return card, front[2], back[2], leak_check, front[1], back[1]


def _note_card(fields: _Fields, node: yaml.Node, context: CardContext) -> ReadCard | None:
    """A card of one of the deck's own note types: ``note_type`` and ``fields`` by name."""
    report = context.report
    ok = True
    for key in NOT_FOR_NOTE_TYPES:
        if key in fields:
            report.error(
                fields[key][0],
                f"a card of a note type of the deck's own keeps its text in 'fields', not {key!r}",
            )
            ok = False
    note_type = _own_note_type(fields, node, context)
    texts = _note_fields(fields, node, context, note_type)
    first_text = next((text for text, _ in (texts or {}).values()), None)
    card_id, generated = _card_id(
        fields, (first_text, node) if first_text is not None else None, node, report
    )
    topic = _topic(fields, node, context, optional=True)
    tags = values.tags(report, fields["tags"][1], "card tags") if "tags" in fields else ()
    own_guid = _guid(fields["guid"][1], report) if "guid" in fields else ""
    if "leak_check" in fields:
        values.boolean(report, fields["leak_check"][1], "leak_check")
    if note_type is None or texts is None or card_id is None or topic is None:
        return None
    html: list[str] = []
    media: list[str] = []
    shown = ""
    for name in note_type.fields:
        if name not in texts:
            html.append("")
            continue
        text, value_node = texts[name]
        field_html, field_media = _field_html(value_node, text, context)
        html.append(field_html)
        media += field_media
        shown = shown or plain_text(field_html)
    filled = {name: value for name, value in zip(note_type.fields, html, strict=True)}
    qfmts = [t.front for t in note_type.templates]
    if not card_ords(qfmts, filled, cloze=note_type.cloze, tags=tags, fallback=False):
        report.error(
            fields["fields"][1] if "fields" in fields else node,
            f"this note makes no card: no template front of note type {note_type.name!r} "
            "shows a field it fills"
            if not note_type.cloze
            else f"this note makes no card: note type {note_type.name!r} is a cloze type, and its "
            "fields hold no cloze deletion",
        )
        return None
    if not ok or own_guid is None:
        return None
    first = html[0]
    card = Card(
        card_id, Kind.NOTE, first, "", topic[0], topic[1], tags, "", "",
        report.path_text, report.line(node), node.start_mark.column + 1, tuple(media),
        generated, own_guid, note_type.name, tuple(html),
    )  # fmt: skip
    return card, shown, "", False, (), ()


def _own_note_type(fields: _Fields, node: yaml.Node, context: CardContext) -> OwnNoteType | None:
    """The deck's note type a card names (reported when it names none or an unknown one)."""
    report = context.report
    known: Mapping[str, OwnNoteType] = context.note_types or {}
    if "note_type" not in fields:
        report.error(node, "a card with 'fields' needs 'note_type': the note type they belong to")
        return None
    value_node = fields["note_type"][1]
    name = values.scalar(report, value_node, "card note_type")
    if name is None:
        return None
    if name not in known:
        if context.note_types is not None and name in context.note_types.broken:
            return None  # its definition's errors are reported there
        said = (
            f"the deck's note types are {', '.join(map(repr, known))}"
            f"{values.did_you_mean(name, known)}"
            if known
            else "the deck defines none (add it under 'note_types')"
        )
        report.error(value_node, f"unknown note type {name!r}; {said}")
        return None
    return known[name]


def _note_fields(
    fields: _Fields, node: yaml.Node, context: CardContext, note_type: OwnNoteType | None
) -> dict[str, _Text] | None:
    """A card's fields by name, as written, in the order the card gives them."""
    report = context.report
    if "fields" not in fields:
        report.error(node, "a card of a note type needs 'fields': its fields by name")
        return None
    mapping = fields["fields"][1]
    if not isinstance(mapping, yaml.MappingNode):
        report.error(mapping, f"card fields must be a mapping of field name to text, not "
                     f"{describe(mapping)}")  # fmt: skip
        return None
    texts: dict[str, _Text] = {}
    ok = True
    for key_node, value_node in mapping.value:
        name = values.scalar(report, key_node, "field name")
        if name is None:
            ok = False
            continue
        if name in texts:
            report.error(key_node, f"field {name!r} is given twice")
            ok = False
            continue
        if note_type is not None and name not in note_type.fields:
            report.error(
                key_node,
                f"note type {note_type.name!r} has no field {name!r}"
                f"{values.did_you_mean(name, note_type.fields)}",
            )
            ok = False
            continue
        text = values.scalar(report, value_node, f"field {name!r}", required=False)
        if text is None:
            continue  # an empty field: left out
        if note_type is not None and note_type.cloze and CLOZE.search(text):
            ok = _check_cloze(text, value_node, report) and ok
        texts[name] = (text, value_node)
    return texts if ok else None


# What a card's keys say: whether they are usable, its kind, its text fields (first, second,
# source, extra), its id and whether it was made up, its topic and title, and its tags.
_Keys = tuple[
    bool, Kind, _Text, "_Text | None", "_Text | None", "_Text | None", str, bool,
    tuple[str, str], tuple[str, ...],
]  # fmt: skip


def _keys(fields: _Fields, node: yaml.Node, context: CardContext, meant: set[str]) -> _Keys | None:
    """Judge a card's keys, and its fields as text; None when it has no text to judge more."""
    report = context.report
    kind, ok = _kind(fields, report) if "kind" in fields else (Kind.BASIC, True)
    cloze = kind is Kind.CLOZE
    if ("text" in fields, "front" in fields, "back" in fields) != _TEXT_KEYS[cloze]:
        ok = _report_keys(kind, fields, node, report, meant) and ok
    first = _text(fields, "text" if cloze else "front", report)
    second = None if cloze else _text(fields, "back", report)
    source = _text(fields, "source", report)
    extra = _text(fields, "extra", report)
    card_id, generated = _card_id(fields, first, node, report)
    topic = _topic(fields, node, context)
    tags = values.tags(report, fields["tags"][1], "card tags") if "tags" in fields else ()
    if first is None or (second is None and not cloze):
        return None
    if card_id is None or topic is None:
        return False, kind, first, second, source, extra, "", generated, ("", ""), tags
    return ok, kind, first, second, source, extra, card_id, generated, topic, tags


def _text(fields: _Fields, key: str, report: Report) -> _Text | None:
    """A text field's value and node, or None when it is absent or not usable (reported)."""
    if key not in fields:
        return None
    node = fields[key][1]
    value = values.scalar(report, node, _WHAT[key])
    if value is None:
        return None
    if isinstance(node, yaml.ScalarNode) and not node.style and report.source:
        # Unquoted text ends where a comment starts (' #'): say so, if one follows it.
        line = report.comment_after(node)
        if line:
            report.warn(node, f"{_WHAT[key]} {hints.comment_cut(line, key)}")
    return value, node


def _kind(fields: _Fields, report: Report) -> tuple[Kind, bool]:
    """The kind a card says it is, and whether it is usable.

    Kinds are names of the card format, written as the README and the JSON Schema (which
    editors complete from) write them: lowercase, like the keys. An unusable kind is reported
    once; the card is then judged as the kind its keys make it (``text``: a cloze, else
    basic), so that its other problems are found without a message for each key.
    """
    node = fields["kind"][1]
    raw = values.scalar(report, node, "card kind")
    kind = None if raw is None else KINDS.get(raw.strip())
    if kind is not None:
        return kind, True
    if raw is not None:
        word = raw.strip()
        hint = (
            f"; kinds are written in lowercase: {word.lower()!r}"
            if word.lower() in KINDS
            else values.did_you_mean(word, _KIND_NAMES)
        )
        expected = ", ".join(_KIND_NAMES)
        report.error(node, f"unknown card kind {raw!r}; expected one of {expected}{hint}")
    shaped = "text" in fields and "front" not in fields and "back" not in fields
    return (Kind.CLOZE if shaped else Kind.BASIC), False


def _report_keys(
    kind: Kind, fields: _Fields, node: yaml.Node, report: Report, meant: set[str]
) -> bool:
    """Whether the card has the text keys its kind takes, and no other (reports which; a
    key that an unknown key was meant to be is reported there only)."""
    cloze = kind is Kind.CLOZE
    ok = True
    for key in ("front", "back") if cloze else ("text",):
        if key in fields:
            hint = "'text'" if cloze else "'front' and 'back'"
            report.error(fields[key][0], f"{kind.value} cards take {hint}, not {key!r}")
            ok = False
    for key in ("text",) if cloze else ("front", "back"):
        if key not in fields:
            if key not in meant:
                report.error(node, f"{kind.value} card is missing required key {key!r}")
            ok = False
    return ok


def _guid(node: yaml.Node, report: Report) -> str | None:
    """A card's own Anki GUID (``guid:``), or None when it is not one."""
    value = values.scalar(report, node, "card guid")
    if value is None:
        return None
    if not GUID.fullmatch(value):
        report.error(
            node,
            f"card guid {value!r} is not an Anki GUID: 1 to 64 printable ASCII characters, "
            "no spaces (copy it from Anki's Browse > Info, or leave it out: cardpress makes "
            "one from the deck key and the card id)",
        )
        return None
    return value


def _card_id(
    fields: _Fields, first: _Text | None, node: yaml.Node, report: Report
) -> tuple[str | None, bool]:
    """The card's id (None when it is not usable) and whether it was made up: a card without
    an id gets one from its first field, with a warning."""
    if "id" in fields:
        return values.identifier(report, fields["id"][1], "card id"), False
    if first is None:
        return None, False
    report.warn(
        node,
        "card has no id; it gets a new identity in Anki whenever its "
        "text changes (add a stable 'id')",
    )
    return generated_id(first[0]), True


def _topic(
    fields: _Fields, node: yaml.Node, context: CardContext, *, optional: bool = False
) -> tuple[str, str] | None:
    """The card's topic and its title ("" and "" without one), or None when it is wrong.
    An ``optional`` topic may be left out even where the deck declares topics: a card of a
    note type of the deck's own then goes in the deck itself (as an imported deck's cards
    that are in the top deck, not in a subdeck)."""
    report, topics = context.report, context.topics
    if "topic" not in fields:
        if topics and not optional:
            report.error(node, "card is missing required key 'topic' (the deck declares topics)")
            return None
        return "", ""
    value_node = fields["topic"][1]
    value = values.identifier(report, value_node, "card topic")
    if value is None:
        return None
    if topics is None:
        return sys.intern(value), value
    if value not in topics:
        known = (
            f"the deck's topics are {', '.join(topics)}{values.did_you_mean(value, topics)}"
            if topics
            else "the deck declares no topics (its 'topics' mapping is empty)"
        )
        report.error(value_node, f"unknown topic {value!r}; {known}")
        return None
    return sys.intern(value), topics[value]


# A field's HTML, the media names of its images, and its visible text.
_Field = tuple[str, tuple[str, ...], str]


def _front(kind: Kind, first: _Text, context: CardContext) -> _Field | None:
    """The first field, or None when it cannot make a card (reported)."""
    text, node = first
    cloze = kind is Kind.CLOZE
    cloze_ok = not cloze or _check_cloze(text, node, context.report)
    field, shows = _side(node, text, "card text" if cloze else "card front", context)
    if cloze and cloze_ok and not CLOZE.search(field[0]):
        context.report.error(node, "cloze text loses its deletions when rendered as Markdown")
        return None
    return field if shows and cloze_ok else None


def _back(second: _Text, context: CardContext) -> _Field | None:
    """The back, or None when it shows nothing (reported); warns when the answer is long."""
    text, node = second
    field, shows = _side(node, text, "card back", context)
    if not shows:
        return None
    answer = field[2]
    if len(answer) > LONG_ANSWER_CHARS:
        context.report.warn(
            node,
            f"answer is {len(answer)} characters long; answers over "
            f"{LONG_ANSWER_CHARS} are hard to recall (split the card)",
        )
    return field


def _side(node: yaml.Node, text: str, what: str, context: CardContext) -> tuple[_Field, bool]:
    """A field that makes a side of the card, and whether it shows anything: Anki makes no
    card from an empty side (reported)."""
    errors = len(context.report.diagnostics)
    html, media = _field_html(node, text, context)
    visible = plain_text(html)
    shows = bool(visible) or "<img" in html
    if not shows and _no_error_since(context.report, errors):  # one message for one mistake
        context.report.error(node, f"{what} shows nothing once rendered (Markdown or HTML only)")
    return (html, media, visible), shows


def _no_error_since(report: Report, count: int) -> bool:
    """Whether the report gained no error since it held ``count`` diagnostics."""
    return not any(d.severity is Severity.ERROR for d in report.diagnostics[count:])


def _check_cloze(text: str, node: yaml.Node, report: Report) -> bool:
    """Whether a cloze text has deletions Anki makes cards of (reports why not)."""
    deletions = list(CLOZE.finditer(text))
    if not deletions:
        report.error(node, "cloze text has no deletion; mark one like {{c1::answer}}")
        return False
    ok = True
    for m in deletions:
        number = int(m.group(1))  # ASCII digits: CLOZE takes no other
        if not m.group(2).strip():
            report.error(node, f"empty cloze deletion {m.group(0)!r}")
            ok = False
        elif number == 0:
            report.error(node, "cloze numbers start at c1, not c0")
            ok = False
        elif number > MAX_CLOZE_NUMBER:
            report.error(
                node,
                f"cloze number c{m.group(1)[:20]} is too big; Anki numbers a note's cards up to "
                f"c{MAX_CLOZE_NUMBER}",
            )
            ok = False
    return ok


def _field_html(
    node: yaml.Node, text: str, context: CardContext, *, needed: bool = True
) -> tuple[str, tuple[str, ...]]:
    """A field's HTML and the media names of its images; reports images that cannot be packed,
    links that are not absolute URLs and text that nests too deep. Without ``needed`` the HTML
    is made only when it may hold such a problem (else ``""``)."""
    try:
        if "<" not in text and "[" not in text:
            # No image and no link can be written without either: nothing to resolve.
            if needed or _may_nest_too_deep(text):
                return render_html(text), ()
            return "", ()
        return _resolved(node, text, context)
    except TooDeep as exc:
        context.report.error(
            node, f"text {exc} (block quotes, lists or tags); the limit is {MAX_NESTING}"
        )
        return "", ()


def _may_nest_too_deep(text: str) -> bool:
    """Whether ``text`` could nest deeper than MAX_NESTING: each level takes a marker (a
    quote's '>', a list's '-', '*', '+', '.' or ')', a tag's '<')."""
    if len(text) <= MAX_NESTING:
        return False
    markers = sum(text.count(marker) for marker in "<>-*+.)")
    return markers > MAX_NESTING


def _resolved(node: yaml.Node, text: str, context: CardContext) -> tuple[str, tuple[str, ...]]:
    """A field that may hold images, sound tags or links, rendered with its images and sound
    files resolved."""
    names: list[str] = []

    def resolver(src: str) -> str | None:
        name = context.images.resolve(src, node, context.report)
        if name:
            names.append(name)
        return name

    def sound_resolver(file: str) -> str | None:
        name = context.images.resolve_sound(file, node, context.report)
        if name:
            names.append(name)
        return name

    for written, alt, path, title in unreadable_image_paths(text):
        context.report.add(
            Diagnostic(
                context.report.locate(node, written),
                Severity.ERROR,
                f"image path {path!r} has a space, which Markdown cannot read (the image "
                f"would show as text); write ![{alt}](<{path}>{title}) or "
                f"![{alt}]({path.replace(' ', '%20')}{title})",
            )
        )
    rendered = render(text, resolver, resolve_sound=sound_resolver)
    if rendered.removed:
        context.report.warn(
            node,
            f"HTML removed from this text: {', '.join(rendered.removed)}; cards keep only "
            "the HTML that cardpress allows (see the README)",
        )
    for link in rendered.links:
        context.report.error(
            node,
            f"link {link!r} is not an absolute URL; links must start with "
            "http://, https:// or mailto: (a link to a file of the deck would open it "
            "inside Anki)",
        )
    return rendered.html, tuple(names)


@dataclass
class DeckCards:
    """The cards of one deck, judged one at a time, and the rules across them.

    Keeps positions, never nodes, so a card's nodes can go as soon as it is judged.
    """

    cards: list[Card] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # card id -> its line
    # question -> the first card asking it (its line is in ``ids``): no tuple per card,
    # which would be garbage after the load, holes among the cards' objects.
    questions: dict[str, str] = field(default_factory=dict)
    # What the check for answers given away needs of each card (leaks.py), in file order:
    # the cards read here as they were read (made into entries only if the deck has no error,
    # see :meth:`leak_entries`), then the entries that workers made of theirs (chunked.py).
    asked: list[tuple[str, int, int, Kind, str, str]] = field(default_factory=list)
    leaks: list[LeakEntry] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # case-folded -> the first spelling
    made: set[str] = field(default_factory=set)  # the ids made up for cards without one
    title_of: dict[str, str] = field(default_factory=dict)  # a title -> its entry in titles

    def add(self, node: yaml.Node, context: CardContext) -> None:
        """Judge the card at ``node`` and keep it if it has no error."""
        judged = read_card(node, context)
        if judged is None:
            self._other_errors(node, context.report)
            return
        card, front, back, leak_check, front_images, back_images = judged
        if not self._fits(card, node, context.report):
            return
        self.ids[card.id] = card.line
        if card.generated_id:
            self.made.add(card.id)
        asks = [(front, front_images)]
        if card.kind is Kind.REVERSED:
            asks.append((back, back_images))
        if card.kind is not Kind.NOTE:  # its templates ask its questions
            self._ask(card, asks, node, context.report)
        if leak_check:
            # A made-up id names no card: the warnings name it by its line (leaks.py).
            own = "" if card.generated_id else card.id
            self.asked.append((own, card.line, card.col, card.kind, front, back))
        self.cards.append(card)

    def _other_errors(self, node: yaml.Node, report: Report) -> None:
        """For a card with errors: whether its id is taken too (every problem of a card in
        one run), and it takes the id (one card with an id, then its copy with a fix)."""
        card_id = _written_id(node)
        if card_id is None:
            return
        line = report.line(node)
        if card_id in self.ids:
            first = self.ids[card_id]
            report.error(node, f"duplicate card id {card_id!r} (first at line {first})")
        else:
            self.ids[card_id] = line

    def leak_entries(self) -> list[LeakEntry]:
        """The cards' entries for the check for answers given away, in file order."""
        return [*(leak_entry(*card) for card in self.asked), *self.leaks]

    def _fits(self, card: Card, node: yaml.Node, report: Report) -> bool:
        """Whether the card's topic title and id fit the cards before it (reports why not)."""
        fits = True
        title = self.title_of.get(card.topic_title)
        if title is None:  # a title not seen yet: the first title with its case-folded form
            title = self.titles.setdefault(card.topic_title.casefold(), card.topic_title)
            self.title_of[card.topic_title] = title
        if title != card.topic_title:
            # Undeclared topics become subdecks too, and Anki's deck names ignore case.
            report.error(node, f"topic {card.topic!r} differs from topic {title!r} only in case")
            fits = False
        if card.id in self.ids:
            first = self.ids[card.id]
            if card.generated_id:
                field = "text" if card.kind is Kind.CLOZE else "front"
                report.error(
                    node,
                    f"card has the same {field} as the card at line {first}, and neither has "
                    "an id: Anki would take them for one note (give each a stable 'id')",
                )
            else:
                report.error(node, f"duplicate card id {card.id!r} (first at line {first})")
            fits = False
        elif not fits:
            self.ids[card.id] = card.line
        return fits

    def _name(self, card_id: str) -> str:
        """A card as a message names it: by its id, or by its line when it has none."""
        line = self.ids[card_id]
        if card_id in self.made:
            return f"the card at line {line}"
        return f"card {card_id!r} (line {line})"

    def _ask(
        self, card: Card, asks: list[tuple[str, tuple[str, ...]]], node: yaml.Node, report: Report
    ) -> None:
        """Note the questions of a card (its front, and its back if it is reversed), each its
        text and its images; warns about one an earlier card asks already."""
        for prompt, images in asks:
            folded = " ".join(prompt.casefold().split())
            if images:  # the same words under another picture ask another question
                folded = " ".join((folded, *images))
            if not folded:
                continue
            other_id = self.questions.get(folded)
            if other_id is None:
                self.questions[folded] = card.id
            else:
                this = "card" if card.generated_id else f"card {card.id!r}"
                report.warn(node, f"{this} asks the same question as {self._name(other_id)}")


def _written_id(node: yaml.Node) -> str | None:
    """The id a card's node spells, if it is one (a card with errors: see DeckCards.add)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if (
            isinstance(key, yaml.ScalarNode)
            and key.value == "id"
            and isinstance(value, yaml.ScalarNode)
            and isinstance(value.value, str)
            and len(value.value) <= MAX_NAME_CHARS
            and ID.fullmatch(value.value)
        ):
            return value.value
    return None
