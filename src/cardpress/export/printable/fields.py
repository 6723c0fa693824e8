"""Card fields made ready for the page: cloze sides, images, sounds, and the sanitiser last.

Card fields come from the loader sanitised (render.py), and most go on the page as they are.
What the pages rewrite goes through ``render.sanitise`` again, as the last step, with only the
classes the rewrite puts in allowed: both sides of a cloze note (a deletion may cut through
markup: ``{{c1::a <b>split}} tag</b>``) and every field with an image.

Images are embedded once per page: an image on 200 cards is not written 200 times. Each
``<img src="NAME">`` of the deck's media becomes ``<img class="cp-imageN" alt="…">``, and the
page's stylesheet gives that class the image, once, as a ``data:`` URI: ``.cp-imageN { content:
url(data:…) }`` (frame.py). An element whose ``content`` is an image is replaced by it (CSS
Generated Content, element replacement): the ``img`` keeps its alt text and is sized and placed
exactly as an ``<img src>`` is, so the fitting needs nothing new, and it prints as an image, not
as a background that "background graphics: off" would drop. The tests print it with Chromium
and find every use drawn in its card at the card's image height. The page has no script
(its Content-Security-Policy allows none, and images from ``data:`` URIs only), which rules out
filling sources in at load time; inline SVG with ``<use>`` would need SVG past the sanitiser.

No ``src`` survives the sanitiser here: it is given no resolver, so its attribute filter drops
every image source. (nh3 checks a URL's scheme before its attribute filter runs, not after:
whatever a resolver returned, a ``data:`` URI included, would go on the page unchecked.) So no
attribute of the page loads anything; the only ``data:`` URIs are the stylesheet's, made from
the deck's own media files. An image that is not one of the deck's media (one the loader could not
resolve) is left out of the page: it could only print as a broken-image box, and it is not
measured either.

Sound does not print: each ``[sound:FILE]`` tag is a ``♪`` on the page, a mark that the card
plays a sound in Anki (a card that only plays one is not blank), and the writers say so in a
note (:func:`sound_note`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from cardpress.errors import Diagnostic, Severity
from cardpress.export import plural
from cardpress.export.printable.blocks import Blocks, paragraph
from cardpress.export.printable.blocks_fast import read_fast
from cardpress.export.printable.fit import Part
from cardpress.format import CLOZE, SOUND, is_sound
from cardpress.model import Card, Deck, Kind, Media, OwnNoteType
from cardpress.render import sanitise
from cardpress.templates import card_ords
from cardpress.templates import render as render_card

BLANK = "[…]"
_SEEN_LIMIT = 1 << 10
_CLOZE_CLASSES = {"span": {"cp-blank", "cp-fill"}}

# An <img> as the sanitiser writes it (lower case, double-quoted values), and its attributes.
_IMG = re.compile(r'<img((?: [a-z]+="[^"]*")*)>')
_ATTRIBUTE = re.compile(r' ([a-z]+)="([^"]*)"')


def image_class(index: int) -> str:
    """The class that shows the deck's image number ``index``."""
    return f"cp-image{index}"


# -- cloze -----------------------------------------------------------------------------------


class ClozeSides(NamedTuple):
    """Both sides of a cloze note, not yet sanitised, and when the deletions are not nested,
    the text of each without the spans put in (for a note with no markup of its own, that is
    what they measure as)."""

    front: str
    back: str
    front_text: str | None = None
    back_text: str | None = None


def cloze_sides(text: str) -> ClozeSides:
    """The front of a cloze note (each deletion a blank, or its hint) and its back (each
    deletion filled in).

    A deletion inside another (``{{c1::Paris {{c2::France}}}}``) is part of its answer: the
    front shows the outer one's blank, the back fills both.
    """
    pieces = CLOZE.split(text)  # text, then for each deletion: number, answer, hint, text
    if text.count("{{") != len(pieces) // 4:  # a "{{" in a deletion: maybe one inside it
        return ClozeSides(*_nested_sides(text))
    front, back = [pieces[0]], [pieces[0]]
    front_text, back_text = [pieces[0]], [pieces[0]]
    for index in range(2, len(pieces), 4):
        answer, hint, after = pieces[index : index + 3]
        blank = f"[{hint}]" if hint else BLANK
        front += ('<span class="cp-blank">', blank, "</span>", after)
        back += ('<span class="cp-fill">', answer, "</span>", after)
        front_text += (blank, after)
        back_text += (answer, after)
    return ClozeSides("".join(front), "".join(back), "".join(front_text), "".join(back_text))


def _nested_sides(text: str) -> tuple[str, str]:
    """cloze_sides for deletions within deletions: each is replaced by a placeholder, the
    innermost first, and the sides are put together from the inside out."""
    # A field has far fewer than 3,000 distinct characters, so some pair is always free.
    pairs = ((chr(c), chr(c + 1)) for c in range(0xE000, 0xF8FF, 2))
    opening, closing = next((a, b) for a, b in pairs if a not in text and b not in text)
    deletions: list[tuple[str, str | None]] = []
    while (found := _innermost(text)) is not None:
        deletions.append((found.group(2), found.group(3)))
        text = f"{text[: found.start()]}{opening}{len(deletions) - 1}{closing}{text[found.end() :]}"
    placeholder = re.compile(f"{opening}(\\d+){closing}")
    fills: list[str] = []
    blanks: list[str] = []
    for answer, hint in deletions:  # inner ones first: what a placeholder stands for is made
        filled = placeholder.sub(lambda m: fills[int(m.group(1))], answer)
        fills.append(f'<span class="cp-fill">{filled}</span>')
        shown = f"[{placeholder.sub(lambda m: fills[int(m.group(1))], hint)}]" if hint else BLANK
        blanks.append(f'<span class="cp-blank">{shown}</span>')
    front = placeholder.sub(lambda m: blanks[int(m.group(1))], text)
    return front, placeholder.sub(lambda m: fills[int(m.group(1))], text)


def _innermost(text: str) -> re.Match[str] | None:
    """The first deletion in ``text`` with no other deletion starting inside it."""
    found = CLOZE.search(text)
    while found is not None:
        inner = CLOZE.search(text, found.start() + 1)
        if inner is None or inner.start() >= found.end():
            return found
        found = inner
    return None


# -- images ----------------------------------------------------------------------------------


class Images:
    """The deck's images, numbered as the deck lists its media."""

    def __init__(self, media: Sequence[Media]) -> None:
        self.number = {item.name: index for index, item in enumerate(media)}

    def embed(self, fragment: str, used: set[int]) -> tuple[str, set[str]]:
        """``fragment`` with each of the deck's images named by its class (added to ``used``)
        instead of its source, any other image left out; and the classes put in."""
        classes: set[str] = set()

        def swap(tag: re.Match[str]) -> str:
            attributes = _ATTRIBUTE.findall(tag.group(1))
            source = next((value for name, value in attributes if name == "src"), None)
            number = self.number.get(html.unescape(source)) if source is not None else None
            if number is None:
                return ""
            used.add(number)
            name = image_class(number)
            classes.add(name)
            kept = "".join(f' {key}="{value}"' for key, value in attributes if key != "src")
            return f'<img class="{name}"{kept}>'

        return _IMG.sub(swap, fragment), classes


# -- sound ---------------------------------------------------------------------------------

SOUND_MARK = "\u266a"  # ♪, where a sound tag plays on the card in Anki


def without_sounds(fragment: str) -> str:
    """``fragment`` with each sound tag a ``♪``: text for text (a tag is text in the HTML),
    so nothing needs sanitising again."""
    return SOUND.sub(SOUND_MARK, fragment) if "[sound:" in fragment else fragment


def sound_note(deck: Deck) -> tuple[Diagnostic, ...]:
    """The note the printable pages give for a deck whose cards play sounds: paper cannot
    (a note by design, like the CSV's for media; never a failure, even with --strict)."""
    sounds = sum(1 for item in deck.media if is_sound(item.name))
    if not sounds:
        return ()
    return (
        Diagnostic(
            deck.location,
            Severity.NOTE,
            f"this deck has {plural(sounds, 'sound file')}; the printable pages leave the sound "
            f"out (a {SOUND_MARK} marks where a card plays one in Anki)",
        ),
    )


# -- math ----------------------------------------------------------------------------------

# MathJax's delimiters as the loader keeps them (render.py): \( inline \) and \[ display \],
# with no tag inside (a formula is text; one that Markdown cut up stays as it is).
_MATH = re.compile(r"\\\((?P<inline>[^<]+?)\\\)|\\\[(?P<display>[^<]+?)\\\]")


def typeset(fragment: str) -> str:
    """``fragment`` with each formula as MathML, which the browser sets as math without any
    script; a formula latex2mathml cannot read stays as its TeX source. The result must go
    through the sanitiser (with ``mathml``), as everything the pages rewrite does."""
    from latex2mathml.converter import convert  # deferred: only pages with math need it

    def one(match: re.Match[str]) -> str:
        tex = html.unescape(match["inline"] or match["display"])
        try:
            return convert(tex, display="block" if match["display"] else "inline")
        except Exception:  # its parser's own errors, whatever they are: keep the source
            return match[0]

    return _MATH.sub(one, fragment)


# -- a note ----------------------------------------------------------------------------------


Ready = tuple[str, str, str, str]
"""A note's HTML as its printed card and its study-sheet row show it: question, answer, extra
and source."""


Sides = tuple[Ready | None, Blocks, Blocks, tuple[Part, ...]]
"""A note made ready and measured: its HTML (None if that is its own fields'), how its
question and answer measure, and the notes under the answer (extra, source)."""


class OwnCard(NamedTuple):
    """One card of a note of a deck's own note type, as printed: Anki's card ordinal (the
    template's, or the cloze number less one) and its two sides' HTML."""

    ord: int
    question: str
    answer: str


def own_cards(own: OwnNoteType, card: Card) -> list[OwnCard]:
    """Every card a note of a deck's own note type makes in Anki (``templates.card_ords``),
    its question and answer from the templates (Anki's template syntax,
    ``templates.render``), sanitised: whatever a template holds, nothing runs on a page. The
    answer is printed behind the question, so it leaves out what ``{{FrontSide}}`` would
    repeat, and the rule (``<hr id=answer>``) that divides the two on a screen. The note
    type's CSS is for Anki's screens: the pages print in their own style."""
    fields = dict(zip(own.fields, card.fields, strict=True))
    qfmts = [template.front for template in own.templates]
    made = []
    for ord_ in card_ords(qfmts, fields, cloze=own.cloze) or (0,):
        template = own.templates[0 if own.cloze else ord_]
        specials = {"Deck": card.topic_title, "Tags": " ".join(card.tags), "Type": own.name,
                    "Card": template.name}  # fmt: skip
        question, _ = render_card(
            template.front, "", fields, ord_, cloze=own.cloze, specials=specials
        )
        # The answer rendered after an empty question: its {{FrontSide}} is empty.
        _, answer = render_card("", template.back, fields, ord_, cloze=own.cloze, specials=specials)
        answer = _ANSWER_RULE.sub("", answer, count=1)
        made.append(OwnCard(ord_, sanitise(question), sanitise(answer)))
    return made


class OwnSides(NamedTuple):
    """A card of a note type of the deck's own, ready for the page and measured."""

    ord: int
    question: str
    question_blocks: Blocks
    answer: str
    answer_blocks: Blocks


# The rule Anki's answer templates put between the question ({{FrontSide}}) and the answer.
_ANSWER_RULE = re.compile(r"^\s*<hr\s+id\s*=\s*[\"']?answer[\"']?\s*/?>", re.IGNORECASE)


class Fields:
    """Makes notes ready for the page, and collects the images the cards use."""

    def __init__(self, media: Sequence[Media], note_types: Sequence[OwnNoteType] = ()) -> None:
        self.images = Images(media)
        self.note_types = {own.name: own for own in note_types}
        self.used: set[int] = set()
        # Fields with markup repeat (a formula, a template's lines) and take longest to read:
        # each is read once while it is remembered. Plain text is read again: remembering it
        # costs more.
        self.seen: dict[str, Blocks] = {}
        # Cloze notes made ahead (see prepare), by their text, until measured.
        self.clozes: dict[str, tuple[str, str, str | None, str | None]] = {}

    def note(self, card: Card) -> Sides:
        """A note's question and answer (a cloze's two sides) and its notes, ready and
        measured. A note prints as one card, question in front and answer and notes behind;
        a reversed note as a second card too, the other way round. (A note of the deck's own
        note type prints its templates' cards: :meth:`own_cards`.)"""
        if card.kind is Kind.CLOZE:
            question, question_blocks, answer, answer_blocks = self.cloze(card.front)
        else:
            question, question_blocks = self.field(card.front)
            answer, answer_blocks = self.field(card.back)
        notes: tuple[Part, ...] = ()
        extra = source = ""
        if card.extra:
            extra, blocks = self.field(card.extra)
            notes = (("extra", extra, blocks),) if extra else ()
        if card.source:
            source, blocks = self.field(card.source)
            notes += (("source", source, blocks),) if source else ()
        if (
            question == card.front
            and answer == card.back
            and extra == card.extra
            and source == card.source
        ):
            return None, question_blocks, answer_blocks, notes
        return (question, answer, extra, source), question_blocks, answer_blocks, notes

    def own_cards(self, card: Card) -> list[OwnSides]:
        """Every card of a note of the deck's own note type (``own_cards``), ready and
        measured, in Anki's order: the first is the note's (its study-sheet row, its number
        on the cards page), the others print after it."""
        made = []
        for own in own_cards(self.note_types[card.note_type], card):
            question, question_blocks = self.field(own.question)
            answer, answer_blocks = self.field(own.answer)
            made.append(OwnSides(own.ord, question, question_blocks, answer, answer_blocks))
        return made

    def field(self, fragment: str, used: set[int] | None = None) -> tuple[str, Blocks]:
        """A field's HTML for the page (the loader's, the very string, unless it has images,
        sounds or math) and how it measures; the images it shows are added to ``used`` (the
        cards' by default)."""
        fragment = without_sounds(fragment)
        math = "\\(" in fragment or "\\[" in fragment
        if "<" not in fragment and "&" not in fragment and not math:
            return fragment, paragraph(fragment)  # plain text, as most fields are
        if "<img" in fragment or math:
            classes: set[str] = set()
            if "<img" in fragment:
                fragment, classes = self.images.embed(fragment, self.used if used is None else used)
            if math:
                fragment = typeset(fragment)
            fragment = sanitise(
                fragment, classes={"img": classes} if classes else None, mathml=math
            )
        return fragment, self.read(fragment)

    def read(self, fragment: str) -> Blocks:
        """How a fragment measures."""
        if "<" not in fragment and "&" not in fragment:
            return paragraph(fragment)
        blocks = self.seen.get(fragment)
        if blocks is None:
            if len(self.seen) >= _SEEN_LIMIT:
                self.seen.clear()  # a bound on memory; the common fields come back soon enough
            blocks = self.seen[fragment] = read_fast(fragment)
        return blocks

    def prepare(self, cards: Iterable[Card]) -> None:
        """Make both sides of every cloze note among ``cards`` now, ahead of measuring.

        nh3 cleans a side in about 8 microseconds when called again and again, and in about 13
        between the Python work of measuring, which pushes its code and tables out of the
        processor's caches: at 100,000 cards, sanitising first saves a tenth of a second.
        """
        for card in cards:
            if card.kind is Kind.CLOZE:
                self.clozes[card.front] = self._clean_cloze(card.front)

    def cloze(self, text: str) -> tuple[str, Blocks, str, Blocks]:
        """Both sides of a cloze note, sanitised again (their spans may cut through markup
        the deletions cross), and how each measures."""
        made = self.clozes.pop(text, None)
        front, back, front_text, back_text = made or self._clean_cloze(text)
        if front_text is not None and back_text is not None:
            # The spans are the sides' only markup, and inline: they measure as their text.
            return front, paragraph(front_text), back, paragraph(back_text)
        # Not remembered: the sides of a note are its own.
        return front, read_fast(front), back, read_fast(back)

    def _clean_cloze(self, text: str) -> tuple[str, str, str | None, str | None]:
        """Both sides of a cloze note, sanitised; and their text, when the spans put in are
        all their markup and the sanitiser left them as they were."""
        sides = cloze_sides(without_sounds(text))
        front, back = sides.front, sides.back
        classes = _CLOZE_CLASSES
        if "<img" in text:
            front, images = self.images.embed(front, self.used)
            back, more = self.images.embed(back, self.used)
            classes = {**_CLOZE_CLASSES, "img": images | more}
        math = "\\(" in text or "\\[" in text
        if math:
            front, back = typeset(front), typeset(back)
        clean_front = sanitise(front, classes=classes, mathml=math)
        clean_back = sanitise(back, classes=classes, mathml=math)
        if "<" in text or "&" in text or clean_front != front or clean_back != back:
            return clean_front, clean_back, None, None
        return clean_front, clean_back, sides.front_text, sides.back_text
