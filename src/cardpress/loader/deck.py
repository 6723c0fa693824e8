"""Decks: a card file read whole in this process, the deck's own keys and topics, and the
checks across the files of one load.

Reading a whole file here is the reference for every diagnostic: chunked.py reads big files
faster, and gives up (so that the file is read here) whenever it meets anything that could
make a message other than a warning.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cardpress.errors import Diagnostic
from cardpress.format import (
    DECK_KEYS,
    FORMAT_VERSION,
    MAX_CARDS_PER_DECK,
    MAX_NAME_CHARS,
    MAX_NESTING,
    MAX_PROBLEMS_PER_FILE,
    NOTE_TYPE_VERSIONS,
)
from cardpress.loader import hints, values
from cardpress.loader.cards import CardContext, DeckCards
from cardpress.loader.compose import MAP, SEQ, AliasLimit, Composer, describe, is_key
from cardpress.loader.leaks import leak_warnings
from cardpress.loader.media import Images
from cardpress.loader.note_types import NoteTypes, read_note_types
from cardpress.loader.values import Report, TooManyProblems, error
from cardpress.model import Deck, Location
from cardpress.render import TooDeep, render

_DECK_KEYS = values.Keys(DECK_KEYS)

CardRow = tuple[str, int, int, bool, str, str, str, tuple[int, ...], str, str]
"""A card judged but not kept (``check``): its id, line, column, whether the id was made,
what the lock compares (kind, topic key and title, cloze numbers), its first field (the
note's, for the Anki search that finds it), and its own GUID ("" where it has none)."""


CardEntry = tuple[str, Location, bool]
"""A card of a deck for the checks across files: its id, where it is, whether the id was made."""


@dataclass
class FileRead:
    """What reading one card file gave: its deck (None when it has errors), its diagnostics,
    and the cards that were judged but not kept (``check`` of a file read in chunks)."""

    deck: Deck | None
    diagnostics: list[Diagnostic]
    rows: list[CardRow] = field(default_factory=list)
    # The topic titles of the cards only counted (rows), for the checks across files.
    titles: set[str] = field(default_factory=set)

    def topic_titles(self) -> set[str]:
        """The titles of the topics (subdecks) the deck's cards use."""
        kept = {card.topic_title for card in self.deck.cards} if self.deck else set()
        return {title for title in kept | self.titles if title}

    def cards(self) -> int:
        return (len(self.deck.cards) if self.deck else 0) + len(self.rows)

    def entries(self) -> list[CardEntry]:
        """Every card of the deck, those kept and those only counted."""
        if self.deck is None:
            return []
        entries = [(card.id, card.location, card.generated_id) for card in self.deck.cards]
        path = self.deck.location.path
        entries += [(row[0], Location(path, row[1], row[2]), row[3]) for row in self.rows]
        return entries


@dataclass
class StreamedCards:
    """The cards of a deck, judged while the file was read."""

    node: yaml.Node  # the cards list, for positions (its items are not kept)
    topics: dict[str, str] | None
    read: DeckCards
    note_types: NoteTypes | None = None


def read_whole(path: Path, data: bytes, *, keep_html: bool = True) -> FileRead:
    """Read a card file's bytes in this process: the reference for every diagnostic."""
    report = Report(path, source=data)
    images = Images(path.parent)
    deck = None
    try:
        deck = _document(Composer(data), report, images, keep_html)
    except yaml.MarkedYAMLError as exc:
        _report_yaml_error(report, exc)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        report.file_error(f"YAML error: {first_line}")
    except TooManyProblems:
        last = max(d.location for d in report.diagnostics)
        report.diagnostics.append(
            error(
                last,
                f"stopped after {MAX_PROBLEMS_PER_FILE} problems in this file; "
                "fix these and check again",
            )
        )
    return FileRead(deck, report.diagnostics)


def _report_yaml_error(report: Report, exc: yaml.MarkedYAMLError) -> None:
    """A YAML error as the mistake it most likely is (hints.py), else as libyaml says it."""
    hint = None if isinstance(exc, AliasLimit) else hints.syntax_hint(report.lines(), exc)
    if hint is not None:
        report.file_error(f"YAML syntax error: {hint.message}", hint.line, hint.col)
        return
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = "" if isinstance(exc, AliasLimit) else "YAML syntax error: "
    message = f"{what}{exc.problem or exc.context or 'invalid YAML'}"
    context = exc.context_mark
    if exc.problem and exc.context and context is not None and context is not mark:
        message += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    if "tab" in message:
        message += "; indent with spaces, not tabs"
    report.file_error(message, line, col)


def _document(composer: Composer, report: Report, images: Images, keep_html: bool) -> Deck | None:
    """Read the file's single document; cards are judged as they stream in."""
    composer.next()  # StreamStart
    if isinstance(composer.peek(), yaml.StreamEndEvent):
        report.file_error("file is empty; expected a deck mapping")
        return None
    composer.next()  # DocumentStart
    streamed: StreamedCards | None = None
    first = composer.peek()
    if isinstance(first, yaml.MappingStartEvent) and first.tag in (None, "!", MAP):
        root, streamed = _root_mapping(composer, report, images, keep_html)
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
    return build_deck(root, report, images, streamed, keep_html=keep_html)


def _root_mapping(
    composer: Composer, report: Report, images: Images, keep_html: bool
) -> tuple[yaml.Node, StreamedCards | None]:
    """The deck mapping, with the first ``cards`` list turned into Cards as it is read.

    The cards can be judged as they come only when the deck's topics are known by then:
    read before them, or nowhere in the file.
    """
    start = composer.next()
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    streamed: StreamedCards | None = None
    topics: yaml.Node | None = None
    note_types: yaml.Node | None = None
    seen_cards = False
    while not isinstance(composer.peek(), yaml.MappingEndEvent):
        key = composer.node()
        value = composer.peek()
        if (
            not seen_cards
            and is_key(key, "cards")
            and isinstance(value, yaml.SequenceStartEvent)
            and value.tag in (None, "!", SEQ)
            and (topics is not None or not composer.may_have("topics"))
            and (note_types is not None or not composer.may_have("note_types"))
            and (images.keep_names or not composer.may_have("keep_media_names"))
        ):
            deck_topics = read_topics(topics, report) if topics is not None else None
            own = {str(k.value): (k, v) for k, v in pairs if isinstance(k, yaml.ScalarNode)}
            deck_types = _own_note_types(note_types, own, report)
            context = CardContext(report, images, deck_topics, keep_html, deck_types)
            streamed = _stream_cards(composer, context)
            pairs.append((key, streamed.node))
        else:
            # Topics may still come after the cards: keep their nodes, judge them at the end.
            pairs.append((key, composer.node()))
            if topics is None and is_key(key, "topics"):
                topics = pairs[-1][1]
            if note_types is None and is_key(key, "note_types"):
                note_types = pairs[-1][1]
            if is_key(key, "keep_media_names"):
                value_node = pairs[-1][1]
                images.keep_names = isinstance(value_node, yaml.ScalarNode) and str(
                    value_node.value
                ).lower() in ("true", "yes", "on", "y")
        seen_cards = seen_cards or is_key(key, "cards")
    end = composer.next()
    return yaml.MappingNode(MAP, pairs, start.start_mark, end.end_mark), streamed


def _stream_cards(composer: Composer, context: CardContext) -> StreamedCards:
    """The cards list, judged card by card as it is read: only one card's nodes at a time."""
    start = composer.next()
    shell = yaml.SequenceNode(SEQ, [], start.start_mark, None)
    cards = DeckCards()
    count = 0
    last: tuple[yaml.Node, int] | None = None  # the card just read, and the problems before it
    while not isinstance(_peek_after(composer, context.report, last), yaml.SequenceEndEvent):
        count += 1
        if count > MAX_CARDS_PER_DECK:
            composer.skip()
        else:
            node = composer.node()
            last = (node, len(context.report.diagnostics))
            cards.add(node, context)
    shell.end_mark = composer.next().end_mark
    if count == 0:
        context.report.error(shell, "the deck has no cards")
    if count > MAX_CARDS_PER_DECK:
        _too_many_cards(context.report, shell, count)
        return StreamedCards(shell, context.topics, DeckCards(), context.note_types)
    return StreamedCards(shell, context.topics, cards, context.note_types)


def _peek_after(composer: Composer, report: Report, last: tuple[yaml.Node, int] | None) -> Any:
    """The next event after the card ``last`` (its node, and the problems before it). A YAML
    error right after a card forgets what was said of that card as a whole (a key it lacks,
    say): the line that breaks the YAML may be that key, indented wrong. One message for one
    mistake."""
    try:
        return composer.peek()
    except yaml.MarkedYAMLError:
        if last is not None:
            node, count = last
            where = report.location(node)
            kept = report.diagnostics[count:]
            del report.diagnostics[count:]
            report.diagnostics += [d for d in kept if d.location != where]
        raise


def _too_many_cards(report: Report, node: yaml.Node, count: int) -> None:
    report.error(
        node,
        f"the deck has {count} cards; the limit is "
        f"{MAX_CARDS_PER_DECK} (split it into several card files)",
    )


def build_deck(
    root: yaml.Node,
    report: Report,
    images: Images,
    streamed: StreamedCards | None = None,
    *,
    keep_html: bool = True,
) -> Deck | None:
    """The Deck of a deck mapping whose cards were judged already (``streamed``) or are in it."""
    fields = values.mapping(report, root, _DECK_KEYS, "the deck")
    if fields is None:
        return None
    texts = _deck_texts(fields, report)
    key = values.identifier(report, fields["key"][1], "deck key") if "key" in fields else None
    tags = values.tags(report, fields["tags"][1], "deck tags") if "tags" in fields else ()
    subdecks = True
    if "subdecks" in fields:
        subdecks = values.boolean(report, fields["subdecks"][1], "subdecks") is not False
    version = 0  # not said: the loader takes it from the lock (lock.note_type_version_of)
    if "note_type_version" in fields:
        version = _note_type_version(fields["note_type_version"][1], report) or 0
    topic_tags = keep_media_names = None
    if "topic_tags" in fields:
        topic_tags = values.boolean(report, fields["topic_tags"][1], "topic_tags")
    if "keep_media_names" in fields:
        keep_media_names = values.boolean(report, fields["keep_media_names"][1], "keep_media_names")
        images.keep_names = keep_media_names is True
    if streamed is None:
        topics, note_types, read = _topics_and_cards(fields, report, images, keep_html)
    else:
        topics, note_types, read = streamed.topics, streamed.note_types, streamed.read
    name = _deck_name(fields["name"][1], texts.get("name"), report) if "name" in fields else None
    description = _description(fields, texts.get("description"), report)
    if key is None or name is None or description is None:
        return None
    deck = Deck(
        key=key,
        name=name,
        description=description,
        tags=tags,
        source=(texts.get("source") or "").strip(),
        topics=tuple((topics or {}).items()),
        subdecks=subdecks,
        cards=tuple(read.cards),
        location=report.location(root),
        media=tuple(images.media[n] for n in sorted(images.media)),
        note_type_version=version,
        note_types=tuple((note_types or {}).values()),
        topic_tags=topic_tags is not False,
        keep_media_names=keep_media_names is True,
    )
    if not report.has_errors():  # across the deck's cards: once every card is read
        titles = [*(topics or {}).values(), *read.titles.values()]
        report.diagnostics += leak_warnings(read.leak_entries(), report.path_text, name, titles)
    return deck


def _note_type_version(node: yaml.Node, report: Report) -> int | None:
    """The deck's note_type_version: 1 or 2 (None, reported, for anything else)."""
    text = node.value if isinstance(node, yaml.ScalarNode) else None
    for version in NOTE_TYPE_VERSIONS:
        if isinstance(text, str) and text.strip() == str(version):
            return version
    versions = " or ".join(map(str, NOTE_TYPE_VERSIONS))
    given = repr(text) if isinstance(text, str) and text else describe(node)
    report.error(node, f"note_type_version must be {versions}, not {given}")
    return None


def _deck_texts(
    fields: dict[str, tuple[yaml.Node, yaml.Node]], report: Report
) -> dict[str, str | None]:
    """The deck's name, description and source as written; checks its format version."""
    texts: dict[str, str | None] = {}
    for name in ("name", "description", "source"):
        if name in fields:
            texts[name] = values.scalar(
                report, fields[name][1], f"deck {name}", required=name == "name"
            )
    if "format" in fields:
        fmt = values.scalar(report, fields["format"][1], "format")
        if fmt is not None and fmt.strip() != str(FORMAT_VERSION):
            report.error(
                fields["format"][1],
                f"unsupported format {fmt!r}; this cardpress reads format {FORMAT_VERSION}",
            )
    return texts


def _description(
    fields: dict[str, tuple[yaml.Node, yaml.Node]], text: str | None, report: Report
) -> str | None:
    """The deck's description as sanitised HTML ("" without one), or None (reported)."""
    if not text:
        return ""
    node = fields["description"][1]
    try:
        rendered = render(text, lambda src: None)
    except TooDeep as exc:
        report.error(node, f"deck description {exc}; the limit is {MAX_NESTING}")
        return None
    if rendered.images:
        report.error(
            node,
            f"deck description shows an image ({rendered.images[0]!r}); a deck description cannot: "
            "Anki's Check Media looks for images in notes only, and would list it as unused",
        )
        return None
    if rendered.sounds:
        report.error(
            node,
            f"deck description plays a sound ([sound:{rendered.sounds[0]}]); a deck description "
            "cannot: Anki plays sounds on cards only (put it on a card)",
        )
        return None
    for link in rendered.links:
        report.error(
            node,
            f"link {link!r} is not an absolute URL; links must start with http://, https:// "
            "or mailto:",
        )
    return None if rendered.links else rendered.html


def _deck_name(node: yaml.Node, value: str | None, report: Report) -> str | None:
    """The deck name as Anki stores it: NFC, each ``::`` part trimmed."""
    if value is None:
        return None
    parts = [part.strip() for part in unicodedata.normalize("NFC", value).split("::")]
    if not all(parts):
        report.error(node, f"deck name {value.strip()!r} has an empty part between '::'")
        return None
    longest = max(parts, key=len)
    if len(longest) > MAX_NAME_CHARS:
        report.error(
            node,
            f"deck name part {longest[:40]!r}... is {len(longest)} characters; the limit is "
            f"{MAX_NAME_CHARS} (every note names its deck)",
        )
        return None
    return "::".join(parts)


def read_topics(node: yaml.Node, report: Report) -> dict[str, str] | None:
    """The deck's topics: topic key -> title, as Anki will name their subdecks."""
    if not isinstance(node, yaml.MappingNode):
        report.error(node, f"topics must be a mapping of topic key to title, not {describe(node)}")
        return None
    topics: dict[str, str] = {}
    titles: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = values.identifier(report, key_node, "topic key")
        title = values.scalar(report, value_node, "topic title")
        if key is None or title is None:
            continue
        if key in topics:
            report.error(key_node, f"duplicate topic {key!r}")
            continue
        if "::" in title and not all(part.strip() for part in title.split("::")):
            # '::' nests the subdeck deeper (an imported deck's Top::A::B is topic "A::B").
            report.error(value_node, "topic title has an empty level between '::' separators")
            continue
        if len(title.strip()) > MAX_NAME_CHARS:
            report.error(
                value_node,
                f"topic title is {len(title.strip())} characters; the limit is "
                f"{MAX_NAME_CHARS} (every note of the topic names it)",
            )
            continue
        # Titles name subdecks: Anki compares deck names NFC-normalised and ignoring case.
        title = unicodedata.normalize("NFC", title.strip())
        if title.casefold() in titles:
            first = report.location(titles[title.casefold()])
            report.error(
                value_node,
                f"topic title {title!r} is already used at line {first.line} "
                "(Anki's deck names ignore case)",
            )
        titles[title.casefold()] = value_node
        topics[key] = title
    return topics


def _topics_and_cards(
    fields: dict[str, tuple[yaml.Node, yaml.Node]], report: Report, images: Images, keep_html: bool
) -> tuple[dict[str, str] | None, NoteTypes | None, DeckCards]:
    """The topics and cards of a deck composed whole (its cards could not be streamed)."""
    topics = read_topics(fields["topics"][1], report) if "topics" in fields else None
    note_types = _own_note_types(fields.get("note_types", (None, None))[1], fields, report)
    context = CardContext(report, images, topics, keep_html, note_types)
    cards = _cards(fields["cards"][1], context) if "cards" in fields else DeckCards()
    return topics, note_types, cards


def _own_note_types(
    node: yaml.Node | None, fields: Mapping[str, tuple[yaml.Node, yaml.Node]], report: Report
) -> NoteTypes | None:
    """The deck's own note types (``note_types``), with the deck key they take their ids
    from; None where there are none, or an error (reported)."""
    if node is None:
        return None
    key_node = fields["key"][1] if "key" in fields else None
    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
    return read_note_types(node, report, str(key))


def _cards(node: yaml.Node, context: CardContext) -> DeckCards:
    """The cards of a cards list composed with its deck (not streamed)."""
    report = context.report
    cards = DeckCards()
    if not isinstance(node, yaml.SequenceNode):
        report.error(node, f"cards must be a list, not {describe(node)}")
        return cards
    values.check_tag(report, node)
    if not node.value:
        report.error(node, "the deck has no cards")
    if len(node.value) > MAX_CARDS_PER_DECK:
        _too_many_cards(report, node, len(node.value))
        return cards
    for item in node.value:
        cards.add(item, context)
    return cards


def cross_file_checks(
    decks: Iterable[tuple[Deck, list[CardEntry], Iterable[str]]],
) -> list[Diagnostic]:
    """What two card files of one load may not share: a file name, a deck key or name. Card
    ids may repeat across decks: a note's GUID is its deck key and its id, and no two decks
    share a key."""
    problems: list[Diagnostic] = []
    keys: dict[str, Location] = {}
    names: dict[str, tuple[str, Location]] = {}  # folded Anki deck name -> name, whose
    stems: dict[str, list[Location]] = {}
    for deck, _cards, titles in decks:
        problems += _same_file_name(deck, stems)
        if deck.key in keys:
            problems.append(
                error(deck.location, f"deck key {deck.key!r} is already used by {keys[deck.key]}")
            )
        keys.setdefault(deck.key, deck.location)
        problems += _shared_deck_names(deck, titles, names)
    return problems


def _shared_deck_names(
    deck: Deck, titles: Iterable[str], names: dict[str, tuple[str, Location]]
) -> list[Diagnostic]:
    """The Anki decks this deck fills that an earlier file fills too: Anki takes deck names
    that differ only in case for one deck, and a topic's subdeck can be another file's deck."""
    problems = []
    own = [deck.name, *(deck.deck_name_for_topic(title, title) for title in titles)]
    for name in dict.fromkeys(own):
        folded = name.casefold()
        found = names.get(folded)
        if found is None:
            names[folded] = (name, deck.location)
            continue
        other, where = found
        if where.path == deck.location.path:
            continue
        if name == deck.name == other:
            problems.append(error(deck.location, f"deck name {name!r} is already used by {where}"))
        else:
            what = "deck name" if name == deck.name else "topic subdeck"
            problems.append(
                error(
                    deck.location,
                    f"{what} {name!r} is the same Anki deck as {other!r} of {where} (Anki's "
                    "deck names ignore case); rename one",
                )
            )
    return problems


def _same_file_name(deck: Deck, stems: dict[str, list[Location]]) -> list[Diagnostic]:
    """Outputs and the lock are named after the card file: two files of one name (in two
    folders, or .yaml and .yml) would overwrite each other's. Case-insensitive file systems
    (macOS, Windows) take Deck and deck for one name."""
    stem = deck.file_stem.casefold()
    folder = Path(deck.location.path).parent
    problems = []
    if stem in stems:
        # Name the file in the same folder if there is one: they share the lock too.
        same = [o for o in stems[stem] if Path(o.path).parent == folder]
        other = (same or stems[stem])[0].path
        lock = " and lock file" if same else ""
        problems.append(
            error(
                deck.location,
                f"card file has the same name as {other}: both would write the same "
                f"outputs ({deck.file_stem}.apkg, ...){lock}; rename one",
            )
        )
    stems.setdefault(stem, []).append(deck.location)
    return problems
