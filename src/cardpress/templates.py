"""Anki's card template syntax, in pure Python, so that a build needs no ``anki`` package.

A note type of the user's (or one ``cardpress import`` brought in) has templates written in
Anki's syntax: ``{{Field}}``, ``{{filter:Field}}``, sections ``{{#Field}}…{{/Field}}`` and
``{{^Field}}…{{/Field}}``. This module reads them as Anki's Rust code does (rslib
``template.rs``), decides which cards a note gets as ``notetype/cardgen.rs`` does, and renders
a card's two sides as Anki's Python layer gets them (``anki/template.py``: rslib renders with
``partial_render``, and Python finishes the filters rslib does not know). Where Anki's behaviour
is odd it is followed all the same, because a card must print as it studies; the few places
where print cannot do what a screen does are named at the function that chooses.

Nothing here runs anything: the result is HTML from the user's own fields and templates, which
the caller sanitises. :func:`scripts_in` says what in a template would run in a browser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.entities import name2codepoint
from html.parser import HTMLParser
from types import MappingProxyType


class TemplateError(ValueError):
    """A template Anki cannot render; ``offset`` is where in the template text it is."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


# The fields Anki fills in itself (rslib notetype/mod.rs SPECIAL_FIELDS). A note field of the
# same name wins over all but FrontSide.
SPECIAL_FIELDS = frozenset(
    {"FrontSide", "Card", "CardFlag", "Deck", "Subdeck", "Tags", "Type", "CardID"}
)

# Rust's ``str::trim`` (the Unicode White_Space property); Python's ``str.strip`` would also
# take U+001C..U+001F, which would make a different field name of ``{{\x1cFront}}``.
_WHITESPACE = "".join(
    [
        *"\t\n\x0b\x0c\r \x85\xa0\u1680",
        *map(chr, range(0x2000, 0x200B)),
        *"\u2028\u2029\u202f\u205f\u3000",
    ]
)
_ALT_DIRECTIVE = "{{=<% %>=}}"  # Anki's legacy switch to <% %> for the rest of the template


@dataclass(frozen=True, slots=True)
class Text:
    """Text, comments (``<!-- -->``) included: they are rendered as they are."""

    text: str
    offset: int


@dataclass(frozen=True, slots=True)
class Replacement:
    """``{{f2:f1:Key}}``: ``filters`` in the order they apply (right to left: f1, then f2)."""

    key: str
    filters: tuple[str, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Section:
    """``{{#Key}}…{{/Key}}`` (shown when Key is not empty), or with ``negated`` ``{{^Key}}``."""

    key: str
    negated: bool
    children: tuple[Node, ...]
    offset: int


Node = Text | Replacement | Section


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed template: its nodes, in order."""

    nodes: tuple[Node, ...]

    def walk(self) -> Iterator[Node]:
        """Every node, sections' children too, in template order."""
        stack = list(reversed(self.nodes))
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Section):
                stack.extend(reversed(node.children))


# Parsing (rslib template.rs: tokens, classify_handle, parse_inner)
# ---------------------------------------------------------------


def _tokens(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, content, offset) for each token: "text", "comment", or "handle" (what is
    between the delimiters). A ``{{`` without a later ``}}`` and a ``<!--`` without a later
    ``-->`` are plain text, as in Anki."""
    start, end, pos = "{{", "}}", 0
    stripped = text.lstrip(_WHITESPACE)
    if stripped.startswith(_ALT_DIRECTIVE):
        while stripped.startswith(_ALT_DIRECTIVE):
            stripped = stripped[len(_ALT_DIRECTIVE) :]
        start, end, pos = "<%", "%>", len(text) - len(stripped)
    text_from, handles, comments = pos, True, True
    while handles or comments:
        at_handle = text.find(start, pos) if handles else -1
        at_comment = text.find("<!--", pos) if comments else -1
        if at_handle < 0 and at_comment < 0:
            break
        at = min(i for i in (at_handle, at_comment) if i >= 0)
        opener, closer = (start, end) if at == at_handle else ("<!--", "-->")
        close = text.find(closer, at + len(opener))
        if close < 0:  # nothing closes at or after here either
            handles, comments = (False, comments) if opener == start else (handles, False)
            pos = at + 1
            continue
        if at > text_from:
            yield "text", text[text_from:at], text_from
        if opener == start:
            yield "handle", text[at + len(opener) : close], at
        else:
            yield "comment", text[at : close + len(closer)], at
        pos = text_from = close + len(closer)
    if text_from < len(text):
        yield "text", text[text_from:], text_from


def parse(text: str) -> Parsed:
    """A template as Anki parses it. Raises :class:`TemplateError` for a section closed
    without being opened, closed by the wrong name, or never closed (Anki's messages). An
    empty ``{{}}`` parses, as in Anki: :func:`empty_replacement` finds it."""
    stack: list[tuple[str, bool, int, list[Node]]] = []
    nodes: list[Node] = []
    for kind, content, offset in _tokens(text):
        if kind != "handle":
            nodes.append(Text(content, offset))
            continue
        handle = content.lstrip("{").strip(_WHITESPACE)
        mark = handle[:1] if len(handle.encode()) >= 2 else ""
        if mark in ("#", "^"):
            stack.append((handle[1:].lstrip(_WHITESPACE), mark == "^", offset, nodes))
            nodes = []
        elif mark == "/":
            closed = handle[1:].lstrip(_WHITESPACE)
            if not stack:
                raise TemplateError(
                    f"Found '{{{{/{closed}}}}}', but missing '{{{{#{closed}}}}}' or "
                    f"'{{{{^{closed}}}}}'",
                    offset,
                )
            key, negated, opened_at, parent = stack.pop()
            if key != closed:
                raise TemplateError(
                    f"Found '{{{{/{closed}}}}}', but expected '{{{{/{key}}}}}'", offset
                )
            parent.append(Section(key, negated, tuple(nodes), opened_at))
            nodes = parent
        else:
            *filters, key = handle.split(":")
            nodes.append(Replacement(key, tuple(reversed(filters)), offset))
    if stack:
        key, _, opened_at, _ = stack[-1]
        raise TemplateError(f"Missing '{{{{/{key}}}}}'", opened_at)
    return Parsed(tuple(nodes))


def empty_replacement(parsed: Parsed) -> TemplateError | None:
    """The first ``{{}}`` of a template, as the error :func:`render` raises for it (Anki's
    words), or None. Anki saves a note type with one (an empty name is left for add-ons'
    filters, ``{{myfilter:}}``) and then fails to render every card."""
    for node in parsed.walk():
        if isinstance(node, Replacement) and not node.key and not node.filters:
            return TemplateError("Found '{{}}', but there is no field called ''", node.offset)
    return None


def _is_cloze_section(key: str) -> bool:
    """``{{#c2}}``: true on card 2 of any note type, and never a field reference (rslib
    takes what follows the c as Rust parses a u32, a "+" allowed)."""
    number = re.fullmatch(r"c\+?([0-9]+)", key)
    return number is not None and int(number.group(1)) < 2**32


def field_references(text: str) -> list[tuple[str, int]]:
    """The fields a template names (in replacements and sections) with their offsets, as
    Anki checks them when a note type is saved: special fields, cloze sections (``{{#c1}}``)
    and the empty name of ``{{filter:}}`` are not references. Raises :class:`TemplateError`."""
    return [
        (node.key, node.offset)
        for node in parse(text).walk()
        if isinstance(node, Replacement | Section)
        and node.key
        and node.key not in SPECIAL_FIELDS
        and not (isinstance(node, Section) and _is_cloze_section(node.key))
    ]


# Which cards a note gets (rslib notetype/cardgen.rs)
# ---------------------------------------------------


def field_is_empty(value: str) -> bool:
    """Anki's test (rslib template.rs ``field_is_empty``): only ASCII whitespace and empty
    ``<br>``/``<div>`` tags. A non-breaking space or ``&nbsp;`` is content."""
    return _EMPTY_FIELD.fullmatch(value) is not None


_EMPTY_FIELD = re.compile(r"(?:[ \t\n\x0b\x0c\r]|</?(?:br|div) ?/?>)*", re.IGNORECASE)


def _renders(nodes: Sequence[Node], nonempty: Collection[str]) -> bool:
    """rslib's ``renders_with_fields``: some replacement of a non-empty field would show."""
    for node in nodes:
        if isinstance(node, Replacement) and node.key in nonempty:
            return True
        if (
            isinstance(node, Section)
            and (node.key in nonempty) != node.negated
            and _renders(node.children, nonempty)
        ):
            return True
    return False


def card_ords(
    qfmts: Sequence[str],
    fields: Mapping[str, str],
    *,
    cloze: bool,
    tags: Sequence[str] = (),
    fallback: bool = True,
) -> tuple[int, ...]:
    """The ordinals of the cards Anki makes for a new note, ascending.

    ``fields`` is every field of the note type, name to value. A standard note type gets a card
    for each template whose front would show a non-empty field (sections count; a template
    that does not parse gets none); special fields count as filled (Anki fills them), but
    ``{{FrontSide}}`` does not and ``{{Tags}}`` only if the note has ``tags``. A cloze note
    type gets a card for each deletion number in any of the note's fields (not only the one
    the template shows; nested deletions too, c0 never), c1 being card 0. Anki puts every
    number above 500 on card 499 (once per number; it is given here once), which then shows
    its "no cloze 500 found" message unless there is a c500.

    When nothing qualifies Anki still makes card 0, so that no note is without cards (it
    shows "the front of this card is blank" or "no cloze found"); ``fallback=False`` gives
    the empty tuple instead, for a caller that wants to say so.
    """
    if cloze:
        numbers = {n for value in fields.values() for n in _cloze_numbers(_parse_clozes(value))}
        ords = tuple(sorted({min(n - 1, 499) for n in numbers}))
    else:
        nonempty = {name for name, value in fields.items() if not field_is_empty(value)}
        nonempty |= {
            name
            for name in SPECIAL_FIELDS - {"FrontSide"}
            if name not in fields and (name != "Tags" or tags)
        }
        ords = tuple(i for i, qfmt in enumerate(qfmts) if _qualifies(qfmt, nonempty))
    return ords or ((0,) if fallback else ())


def _qualifies(qfmt: str, nonempty: Collection[str]) -> bool:
    try:
        return _renders(parse(qfmt).nodes, nonempty)
    except TemplateError:
        return False


# Rendering (rslib template.rs render_into, template_filters.rs, anki/template.py)
# --------------------------------------------------------------------------------

_NO_SPECIALS: Mapping[str, str] = MappingProxyType({})


def render(
    qfmt: str,
    afmt: str,
    fields: Mapping[str, str],
    card_ord: int,
    *,
    cloze: bool,
    specials: Mapping[str, str] = _NO_SPECIALS,
) -> tuple[str, str]:
    """The question and answer HTML of card ``card_ord`` (for a cloze note type, pass its
    first template: Anki renders every card with it), as Anki renders them before its own
    post-processing: ``[sound:…]`` stays as it is (Anki makes it a play button).

    ``specials`` gives Anki's special fields (Tags, Deck, Subdeck, Type, Card, CardFlag,
    CardID); one not given is empty, and a note field of the same name wins. ``{{c2}}`` and
    ``{{#c2}}`` are "1" on card 1 (c2), as Anki has them. ``{{FrontSide}}`` is empty on the
    question and the rendered question on the answer, whatever filters it has.

    Filters, applied right to left: ``text``, ``cloze``, ``cloze-only``, ``furigana``,
    ``kana``, ``kanji`` and ``tts …`` as Anki's; ``hint`` gives the field itself (a printed
    page has no link to click); ``type`` (and ``type:cloze``, ``type:nc``) gives nothing on
    the question, where Anki puts an input box, and on the answer the text to be typed (the
    field's, or the card's deletions', HTML stripped and escaped) where Anki shows the
    comparison with what was typed. An unknown filter, like Anki without the add-on that
    makes it, leaves the value as it is and ends the chain: filters left of it do nothing.
    An empty field name with filters (``{{myfilter:}}``) gives nothing.

    Anki renders both kinds of note type alike (``cloze`` is taken for the caller's clarity):
    only its message for a card it would not make differs, and render() gives no message, it
    renders such a card all the same (see :func:`card_ords`). Image occlusion deletions
    (``{{c1::image-occlusion:…}}``) are shown as text, not drawn. Raises
    :class:`TemplateError` for a template that does not parse or names a field the note does
    not have.
    """
    values = {name: "" for name in SPECIAL_FIELDS - {"FrontSide"}}
    values.update(specials)
    values.update(fields)
    values.setdefault(f"c{card_ord + 1}", "1")
    nonempty = {name for name, value in values.items() if not field_is_empty(value)}
    question = _Renderer(values, nonempty, card_ord, None).render(parse(qfmt).nodes)
    answer = _Renderer(values, nonempty, card_ord, question).render(parse(afmt).nodes)
    return question, answer


@dataclass(frozen=True, slots=True)
class _Renderer:
    values: Mapping[str, str]
    nonempty: Collection[str]
    card_ord: int
    front_side: str | None  # None on the question

    def render(self, nodes: Sequence[Node]) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Section):
                if node.key in self.nonempty:
                    shown = not node.negated
                elif node.key in self.values or _is_cloze_section(node.key):
                    shown = node.negated
                else:
                    mark = "^" if node.negated else "#"
                    raise TemplateError(
                        f"Found '{{{{{mark}{node.key}}}}}', but there is no field called "
                        f"'{node.key}'",
                        node.offset,
                    )
                children = self.render(node.children)  # a hidden section's errors count too
                if shown:
                    out.append(children)
            elif node.key == "FrontSide":
                out.append(self.front_side or "")
            elif node.key or not node.filters:
                out.append(self._replace(node))
        return "".join(out)

    def _replace(self, node: Replacement) -> str:
        value = self.values.get(node.key)
        if value is None:
            found = "".join(f"{name}:" for name in reversed(node.filters)) + node.key
            raise TemplateError(
                f"Found '{{{{{found}}}}}', but there is no field called '{node.key}'",
                node.offset,
            )
        filters = node.filters
        if filters[-1:] == ("type",):
            return self._type_answer(filters, value)
        question = self.front_side is None
        for name in filters:
            if name in _FILTERS:
                value = _FILTERS[name](value)
            elif name == "cloze":
                value = _strip_html_in_mathjax(_reveal(value, self.card_ord + 1, question))
            elif name == "cloze-only":
                value = _reveal_only(value, self.card_ord + 1, question)
            elif name.startswith("tts "):
                value = f"[anki:tts lang={name[4:]}]{value}[/anki:tts]"
            elif name:  # unknown (an empty name, from '::', is skipped)
                break
        return value

    def _type_answer(self, filters: tuple[str, ...], value: str) -> str:
        """``{{type:…}}`` on paper: see :func:`render`."""
        if self.front_side is None:
            return ""
        if filters == ("cloze", "type"):
            deletions = list(_revealed(_parse_clozes(value), self.card_ord + 1, False))
            value = deletions[0] if len(set(deletions)) == 1 else ", ".join(deletions)
        return html.escape(_strip_html(value), quote=False)


# Filters (rslib template_filters.rs, text.rs)
# --------------------------------------------

_HTML = re.compile(
    r"(<!--.*?-->)|(<style.*?>.*?</style>)|(<script.*?>.*?</script>)|(<.*?>)",
    re.DOTALL | re.IGNORECASE,
)
# What Anki's entity decoder (the htmlescape crate) takes after an "&": a decimal or lower-x hex
# number, or a name, up to the next ";".
_ENTITY = re.compile(r"&(?:#([0-9]+)|#x([0-9a-fA-F]+)|([^#;][^;]*));")


def _strip_html(text: str) -> str:
    """rslib ``strip_html``: tags, comments, style and script elements removed, then entities
    decoded, but only if every ``&`` starts an entity Anki knows (the HTML 4 ones: no
    ``&apos;``), or nothing is decoded; a non-breaking space becomes a space."""
    text = _HTML.sub("", text)
    decoded: list[str] = []
    at = text.find("&")
    if at < 0:
        return text
    done = 0
    while at >= 0:
        match = _ENTITY.match(text, at)
        if match is None:
            return text
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            code = name2codepoint.get(name, -1)
        else:
            code = int(decimal, 10) if decimal else int(hexadecimal, 16)
        if not 0 <= code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return text
        decoded += [text[done:at], chr(code)]
        done = match.end()
        at = text.find("&", done)
    return ("".join(decoded) + text[done:]).replace("\xa0", " ")


_RUBY = re.compile(r" ?([^ >]+?)\[(.+?)\]")


def _ruby(pick: str) -> Callable[[str], str]:
    """The furigana, kana and kanji filters: ``漢字[かんじ]`` as ruby, or one half of it;
    a ``[sound:…]`` is left alone."""

    def replace(match: re.Match[str]) -> str:
        base, reading = match.groups()
        if reading.startswith("sound:"):
            return match.group(0)
        if pick == "kana":
            return reading
        if pick == "kanji":
            return base
        return f"<ruby><rb>{base}</rb><rt>{reading}</rt></ruby>"

    return lambda text: _RUBY.sub(replace, text.replace("&nbsp;", " "))


_FILTERS: dict[str, Callable[[str], str]] = {
    "text": _strip_html,
    "hint": lambda text: text,
    "furigana": _ruby("furigana"),
    "kana": _ruby("kana"),
    "kanji": _ruby("kanji"),
}


# Cloze deletions (rslib cloze.rs)
# --------------------------------


@dataclass(slots=True)
class _Cloze:
    """``{{c1,2::text::hint}}``: its numbers (sorted, once each), text and inner deletions."""

    ordinals: tuple[int, ...]
    nodes: list[str | _Cloze]
    hint: str | None = None

    def shown_hint(self) -> str:
        """The hint, or "..." if none was given (an empty one is shown empty)."""
        return "..." if self.hint is None else self.hint

    def clozed_text(self) -> str:
        return "".join(n if isinstance(n, str) else n.clozed_text() for n in self.nodes)


_CLOZE_MARK = re.compile(r"\{\{c([0-9,]*)::|\}\}")


def _cloze_tokens(text: str) -> Iterator[str | tuple[int, ...] | None]:
    """Text, an opening (its numbers) or a closing (None), as rslib's tokenizer: an opening
    needs at least one number that fits in 16 bits."""
    pos = done = 0
    while (match := _CLOZE_MARK.search(text, pos)) is not None:
        ordinals: tuple[int, ...] | None = None
        if match.group(1) is not None:
            numbers = {int(n) for n in match.group(1).split(",") if n and int(n) < 65536}
            if not numbers:
                pos = match.start() + 1
                continue
            ordinals = tuple(sorted(numbers))
        if match.start() > done:
            yield text[done : match.start()]
        yield ordinals
        pos = done = match.end()
    if done < len(text):
        yield text[done:]


def _parse_clozes(text: str) -> list[str | _Cloze]:
    """Text and deletions, nested ones inside theirs. As in Anki, a deletion never closed is
    dropped with its text, openings nested more than ten deep are ignored, and a stray ``}}``
    is text."""
    open_clozes: list[_Cloze] = []
    output: list[str | _Cloze] = []
    for token in _cloze_tokens(text):
        if isinstance(token, tuple):
            if len(open_clozes) < 10:
                open_clozes.append(_Cloze(token, []))
        elif isinstance(token, str):
            if not open_clozes:
                output.append(token)
                continue
            cloze = open_clozes[-1]
            if not token.startswith("image-occlusion:") and "::" in token:
                token, cloze.hint = token.split("::", 1)
            cloze.nodes.append(token)
        elif open_clozes:
            cloze = open_clozes.pop()
            (open_clozes[-1].nodes if open_clozes else output).append(cloze)
        else:
            output.append("}}")
    return output


def _cloze_numbers(nodes: Sequence[str | _Cloze]) -> Iterator[int]:
    """The deletion numbers, nested ones too, but 0."""
    for node in nodes:
        if isinstance(node, _Cloze):
            yield from (n for n in node.ordinals if n)
            yield from _cloze_numbers(node.nodes)


def _attribute(text: str) -> str:
    """htmlescape's ``encode_attribute``, which Anki's ``data-cloze`` is written with."""
    named = {'"': "&quot;", "&": "&amp;", "'": "&#x27;", "<": "&lt;", ">": "&gt;"}
    return "".join(
        named.get(c)
        or (f"&#x{ord(c):02X};" if ord(c) < 256 and not (c.isascii() and c.isalnum()) else c)
        for c in text
    )


def _reveal(text: str, number: int, question: bool) -> str:
    """The ``cloze`` filter: deletion ``number`` hidden (question) or marked (answer), the
    others shown, each in Anki's markup; nothing if the text has no deletion ``number``."""
    found = False

    def reveal(cloze: _Cloze) -> str:
        nonlocal found
        active = number in cloze.ordinals
        found |= active
        numbers = ",".join(map(str, cloze.ordinals))
        inner = "".join(n if isinstance(n, str) else reveal(n) for n in cloze.nodes)
        if question and active:
            return (
                f'<span class="cloze" data-cloze="{_attribute(inner)}" '
                f'data-ordinal="{numbers}">[{cloze.shown_hint()}]</span>'
            )
        css_class = "cloze" if active else "cloze-inactive"
        return f'<span class="{css_class}" data-ordinal="{numbers}">{inner}</span>'

    out = "".join(n if isinstance(n, str) else reveal(n) for n in _parse_clozes(text))
    return out if found else ""


def _revealed(nodes: Sequence[str | _Cloze], number: int, question: bool) -> Iterator[str]:
    """Each deletion ``number``'s hint (question) or text (answer), nested ones too."""
    for node in nodes:
        if isinstance(node, _Cloze):
            if number in node.ordinals:
                yield node.shown_hint() if question else node.clozed_text()
            yield from _revealed(node.nodes, number, question)


def _reveal_only(text: str, number: int, question: bool) -> str:
    """The ``cloze-only`` filter: only the deletions ``number``, joined by commas."""
    return ", ".join(_revealed(_parse_clozes(text), number, question))


_MATHJAX = re.compile(r"(\\[(\[])(.*?)(\\[\])])", re.DOTALL)


def _strip_html_in_mathjax(text: str) -> str:
    """Tags inside ``\\(…\\)`` and ``\\[…\\]`` removed (entities kept), as the cloze
    filter does: a deletion's markup must not break the formula."""
    return _MATHJAX.sub(lambda m: m.group(1) + _HTML.sub("", m.group(2)) + m.group(3), text)


# What could run (for the loader's check)
# ---------------------------------------


class _ScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        if tag == "script":
            self.found.append(f"<script> element at line {line}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}> at line {line}")
            elif value and _runs_script(value, tag, name):
                self.found.append(f"javascript: URL in {name} of <{tag}> at line {line}")
            elif value and name == "srcdoc" and scripts_in(value):
                self.found.append(f"script in the srcdoc of <{tag}> at line {line}")
            elif value and tag in _FRAMES and _url(value).startswith("data:"):
                self.found.append(f"data: document in {name} of <{tag}> at line {line}")


# Elements that show a document of their own, which a data: URL can fill with script.
_FRAMES = frozenset({"iframe", "frame", "object", "embed"})


def _url(value: str) -> str:
    """An attribute's URL as a browser reads it: tabs and newlines anywhere and spaces and
    controls around it ignored, the scheme in any case."""
    return re.sub(r"[\t\n\r]", "", value).strip("".join(map(chr, range(33)))).lower()


def _runs_script(value: str, tag: str, name: str) -> bool:
    """A ``javascript:`` URL, also as a ``<meta http-equiv=refresh>`` target."""
    url = _url(value)
    if tag == "meta" and name == "content":
        url = re.sub(r"^[0-9.;,\s]*(url\s*=\s*)?['\"]?", "", url)
    return url.startswith("javascript:")


def scripts_in(text: str) -> list[str]:
    """What in a template could run in a browser, each said briefly: ``<script>`` elements,
    ``on…`` event handler attributes, ``javascript:`` URLs (in any attribute, an SVG
    ``<animate to=…>`` or a meta refresh too), an iframe ``srcdoc`` holding any of these,
    and a ``data:`` URL as the document of an iframe, frame, object or embed.
    Read with Python's HTML parser, as a browser reads tags: what an HTML comment holds
    does not run and is not counted."""
    finder = _ScriptFinder()
    finder.feed(text)
    finder.close()
    return finder.found
