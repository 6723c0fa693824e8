"""An Anki field's HTML as the text of a card file that builds back to the same field.

A card file's text is Markdown with raw HTML kept, rendered and sanitised by
:func:`cardpress.render.render`. So the field a build gives is at best the Anki field through
the same sanitiser (:func:`cardpress.render.sanitise`), its media named as in Anki: that is
the *target*, and every text this module writes is rendered and compared with it.

Candidate texts, most readable first; the first that renders to the target is taken:

1. Markdown, by markdownify (MIT; html2text is GPL-3.0, which an MIT project cannot ship):
   strong, em, code, links, pictures with alt text, and paragraphs, lists, headings and line
   breaks the way cmark writes them (a field cardpress built itself comes back as its
   Markdown). Anki's editor writes ``<b>``, ``<i>``, ``<u>``, ``<div>`` and ``<br>``, which no
   Markdown gives back (``**`` renders ``<strong>``; a line break renders ``<br>`` and a
   newline), so
2. the same with only strong, em, code, links and pictures as Markdown and every other element
   as the HTML it is, text escaped for Markdown;
3. the target's HTML itself, which Markdown leaves alone: one line of inline HTML with its text
   escaped (a field that starts with text or an inline element), or an HTML block (a field
   that starts with a block element; cmark passes such a block through untouched up to a
   blank line, so the text holds no blank line);
4. that HTML block behind a lone ``</div>``, which makes any field an HTML block and which the
   sanitiser drops without a trace (the HTML parser ignores an end tag that closes nothing):
   for a field that starts with a ``<p>`` (render takes a lone paragraph out of its ``<p>``),
   or whose text cmark would read otherwise.

Maths (``\\(…\\)``, ``\\[…\\]``) is written as it is, which render escapes as Anki has it; a
backslash that would start a formula where the field has none is written ``&#92;``. Sound
tags and image sources name media files, which the caller places beside the card file and
names by ``media`` (media name -> path relative to the card file).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote

import yaml
from markdownify import MarkdownConverter

from cardpress.format import SOUND
from cardpress.render import (
    MATH,
    Rendered,
    TooDeep,
    _sound_tags,
    removed_markup,
    render,
    sanitise,
)

__all__ = ["FieldText", "field_text", "yaml_scalar"]


@dataclass(frozen=True, slots=True)
class FieldText:
    """What a card file holds for one Anki field, and how the field comes back from it.

    ``html`` is the field as a build gives it at best: the Anki field through cardpress's
    sanitiser, its pictures and sound tags naming the same media files. ``exact`` says that
    ``text`` renders to ``html`` (checked by rendering it); else ``built`` is what it renders
    to. ``removed`` is what the sanitiser took from the Anki field (``<font>``, ``style= of
    <span>``, ``<script> with its content``) and media that the package does not hold;
    ``unchanged`` that the build gives Anki's field byte for byte (the sanitiser also writes
    some HTML its own way: ``<br/>`` as ``<br>``, ``<table>`` with its ``<tbody>``).
    """

    text: str
    exact: bool
    html: str
    built: str
    removed: tuple[str, ...]
    unchanged: bool


def field_text(field: str, media: Mapping[str, str] | None = None) -> FieldText:
    """The card-file text for the Anki field ``field`` (its HTML as stored).

    ``media`` maps the media names the field uses (an ``<img src>``, a ``[sound:FILE]``) to
    their paths relative to the card file, as ``/``-separated paths; a picture or sound tag
    whose file is not in it is left out, and said so in ``removed``.
    """
    media = media or {}
    by_path = {path: name for name, path in media.items()}
    original = unicodedata.normalize("NFC", field)
    target, removed = _target(original, media)

    def image(src: str) -> str | None:
        return by_path.get(unquote(src))

    def sound(path: str) -> str | None:
        return by_path.get(path)

    built = ""
    for text in _candidates(target, media):
        try:
            built = render(text, image, resolve_sound=sound).html
        except TooDeep as exc:
            built = f"(not rendered: the text {exc})"
            continue
        if built == target:
            return FieldText(text, True, target, built, removed, target == original)
    text = _html_text(target, media)
    return FieldText(text, False, target, built, removed, target == original)


def _target(original: str, media: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """The field as cardpress would build it, and what that leaves out of ``original``."""

    def image(src: str) -> str | None:
        if src in media:
            return src
        return unquote(src) if unquote(src) in media else None

    found = Rendered(html="")
    target = sanitise(original, image, found)
    for _ in range(_MAX_ROUNDS):
        # What the sanitiser writes is read again as it is, but for elements it let nest
        # where what held them apart is removed (<h2><font><h2>): any text renders to its
        # output sanitised again.
        again = sanitise(target, lambda src: src)
        if again == target:
            break
        target = again
    removed = removed_markup(original) if "<" in original else []
    removed += [_missing_picture(src) for src in found.images if not image(src)]
    removed += [f"the link {link!r} (links may be http, https or mailto)" for link in found.links]

    def keep(m: re.Match[str]) -> str:
        name = html.unescape(m.group(1))
        if name in media or "<" in name:  # no file (an unclosed tag that runs on): left be
            return m.group(0)
        removed.append(f"the sound {name!r} (not among the media)")
        return ""

    if "[sound:" in target:
        target = SOUND.sub(keep, target).strip()
        # Written as render writes every sound tag once the sanitiser is done.
        target = _sound_tags(target, [], None, lambda name: name, Rendered(html=""))
    return target, tuple(dict.fromkeys(removed))


_MAX_ROUNDS = 4


def _missing_picture(src: str) -> str:
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", src):
        return f"the picture {src!r} (not a file of the package; cards show only their own files)"
    return f"the picture {src!r} (not among the media)"


def _candidates(target: str, media: Mapping[str, str]) -> Iterator[str]:
    """The texts to try, most readable first (see the module's docstring), each once."""
    makers: list[Callable[[], str]] = [
        lambda: _markdown(target, media, blocks=True),
        lambda: _markdown(target, media, blocks=False),
        lambda: _html_text(target, media),
        lambda: "</div>" + _html_text(target, media, block=True),
    ]
    if not _SAID_BETTER.search(target):
        # Words, and elements that Markdown cannot say (most fields): the field itself.
        makers.insert(0, lambda: _with_media_paths(target, media))
    seen: set[str] = set()
    for make in makers:
        text = make()
        if text not in seen:
            seen.add(text)
            yield text


# What the Markdown candidates write more readably than the field's HTML: an entity, and
# the elements they write as Markdown.
_SAID_BETTER = re.compile(r"&|<(?:strong|em|code|a|p|ul|ol|h[1-4]|blockquote|pre)\b|<img[^>]* alt=")


def _with_media_paths(target: str, media: Mapping[str, str]) -> str:
    """``target`` with its pictures and sound tags naming their paths (the field itself
    where it names no media)."""
    if "<img" not in target and "[sound:" not in target:
        return target
    return _html_text(target, media, block=True)


# -- Markdown, by markdownify ----------------------------------------------------------------

# What Markdown says as cmark writes it, kept as Markdown in every candidate.
_MARKDOWN_INLINE = frozenset({"strong", "em", "code", "a", "img", "[document]"})
# What cmark writes for Markdown's blocks and line breaks: Markdown in the first candidate.
_MARKDOWN_BLOCKS = frozenset({"p", "ul", "ol", "li", "h1", "h2", "h3", "h4", "blockquote", "pre"})
_VOID = frozenset({"br", "hr", "img"})


def _markdown(target: str, media: Mapping[str, str], *, blocks: bool) -> str:
    """``target`` as Markdown by markdownify, HTML where Markdown has nothing (or, without
    ``blocks``, where cmark's form of it differs from what Anki's editor writes)."""
    kept: list[str] = []
    protected = _protect(target, media, kept)
    text = _Converter(media, blocks=blocks).convert(protected)
    for i, what in enumerate(kept):
        text = text.replace(_placeholder(i), what)
    return text


# Private-use characters stand for what markdownify must not escape (a formula, a sound tag);
# a field holding one is written as HTML (the candidate fails its check).
def _placeholder(i: int) -> str:
    return chr(0xF0000 + i)


def _protect(target: str, media: Mapping[str, str], kept: list[str]) -> str:
    """``target`` with each formula (one with no tag inside) and sound tag replaced by a
    placeholder; ``kept`` gets what each stands for in the card file's text."""

    def keep(m: re.Match[str]) -> str:
        if m.group(0).startswith("[sound:"):
            what = f"[sound:{media.get(html.unescape(m.group(1)), m.group(1))}]"
        elif "<" in m.group(0):
            return m.group(0)
        else:
            what = html.unescape(m.group(0))
        kept.append(what)
        return _placeholder(len(kept) - 1)

    return re.sub(f"{SOUND.pattern}|{MATH.pattern}", keep, target, flags=re.DOTALL)


class _Converter(MarkdownConverter):
    """markdownify with the elements Markdown cannot give back written as HTML."""

    def __init__(self, media: Mapping[str, str], *, blocks: bool) -> None:
        super().__init__(escape_misc=True, autolinks=False)
        self.media = media
        self.markdown = _MARKDOWN_INLINE | (_MARKDOWN_BLOCKS if blocks else frozenset())

    def convert(self, html: str) -> str:
        text = super().convert(html)
        # A line break: cmark writes one as "<br>" and a newline.
        return text.replace("<br>&#10;", "\n")

    def get_conv_fn(self, tag_name: str) -> Callable[..., str] | None:
        if tag_name in self.markdown:
            return super().get_conv_fn(tag_name)  # type: ignore[misc, no-any-return]
        return self._as_html

    def convert_img(self, el: Any, text: str, parent_tags: set[str]) -> str:
        attributes = dict(el.attrs)
        src = _media_src(attributes.get("src", ""), self.media)
        alt = attributes.get("alt", "")
        if list(attributes) != ["src", "alt"] or not alt or re.search(r"[\[\]\\\n]", alt):
            return self._as_html(el, text, parent_tags)  # cmark writes alt="" for no alt
        return f"![{alt}]({src})"

    def convert_a(self, el: Any, text: str, parent_tags: set[str]) -> str:
        if list(el.attrs) not in (["href", "rel"], ["href", "title", "rel"]):
            return self._as_html(el, text, parent_tags)
        return super().convert_a(el, text, parent_tags)  # type: ignore[misc, no-any-return]

    def escape(self, text: str, parent_tags: set[str]) -> str:
        text = super().escape(text, parent_tags)  # type: ignore[misc]
        # An escaped "]" would end a formula (\[…\]) for render; "[" is escaped already.
        text = str(text).replace("\\]", "]")
        return text.replace("\xa0", "&nbsp;").replace("\n", "&#10;")

    def _as_html(self, el: Any, text: str, parent_tags: set[str]) -> str:
        name = el.name
        attributes = dict(el.attrs)
        if name == "img" and "src" in attributes:
            attributes["src"] = _media_src(attributes["src"], self.media)
        start = _start_tag(name, attributes)
        return start if name in _VOID else f"{start}{text}</{name}>"


def _media_src(src: str, media: Mapping[str, str]) -> str:
    """An image source as the card file writes it: its path, percent-encoded as a URL."""
    path = media.get(src)
    return quote(path) if path is not None else src


def _start_tag(name: str, attributes: Mapping[str, Any]) -> str:
    parts = [name]
    for key, value in attributes.items():
        value = " ".join(value) if isinstance(value, list) else str(value)
        parts.append(f'{key}="{value.replace("&", "&amp;").replace(chr(34), "&quot;")}"')
    return "<" + " ".join(parts) + ">"


# -- HTML that Markdown leaves alone ---------------------------------------------------------

# An HTML block that cmark passes through to the first blank line: a line that starts with
# one of these elements (CommonMark's HTML blocks of type 6; type 1's <pre> runs to </pre>).
_BLOCK_START = re.compile(
    r"<(?:address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|"
    r"details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|"
    r"h[1-6]|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|"
    r"optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|"
    r"track|ul|pre)(?:[\s/>]|$)",
    re.IGNORECASE,
)


def _html_text(target: str, media: Mapping[str, str], *, block: bool | None = None) -> str:
    """``target`` as HTML that Markdown leaves alone: an HTML block when it starts with a block
    element (or ``block`` says so), else one line of inline HTML with its text escaped."""
    if block is None:
        block = bool(_BLOCK_START.match(target))
    writer = _HtmlWriter(media, markdown=not block)
    writer.feed(target)
    writer.close()
    return "".join(writer.out)


class _HtmlWriter(HTMLParser):
    """Writes sanitised HTML back out, tags as they are (pictures naming their paths), text
    escaped for an HTML block or for inline HTML in a Markdown paragraph."""

    def __init__(self, media: Mapping[str, str], *, markdown: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.media = media
        self.markdown = markdown
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "img" and "src" in attributes:
            attributes["src"] = _media_src(attributes["src"], self.media)
        self.out.append(_start_tag(tag, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        first = not self.out
        pieces: list[str] = []
        end = 0
        for m in re.finditer(f"{SOUND.pattern}|{MATH.pattern}", data, flags=re.DOTALL):
            pieces.append(self._escape(data[end : m.start()], first and not pieces))
            if m.group(1) is not None:
                pieces.append(f"[sound:{self.media.get(m.group(1), m.group(1))}]")
            else:
                pieces.append(m.group(0))  # a formula, which render escapes itself
            end = m.end()
        pieces.append(self._escape(data[end:], first and not pieces))
        self.out.append("".join(pieces))

    def _escape(self, text: str, first: bool) -> str:
        """Text as it must be written to come back as itself."""
        out = []
        for i, char in enumerate(text):
            following = text[i + 1 : i + 2]
            if char == "\\":
                # "\(" or "\[" would open a formula for render; "\\(" does too.
                if following in ("(", ")", "[", "]") or not following:
                    out.append("&#92;")
                else:
                    out.append("\\\\" if self.markdown else "\\")
            elif char in _ENTITIES:
                out.append(_ENTITIES[char])
            elif self.markdown and char in "*_`[":  # "\]" would close a formula "\["
                out.append("\\" + char)
            else:
                out.append(char)
        written = "".join(out)
        if self.markdown and first:
            written = _escape_line_start(written)
        return written


_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\xa0": "&nbsp;",
    "\n": "&#10;",
    "\r": "&#13;",
}
# What makes the start of a line a block for cmark: a heading, a quote, a list item, a rule, a
# table or code fence, an indented code block (stripped by render).
_LINE_START = re.compile(r"(\s*)([#>+\-=*_`~|]|\d{1,9}(?=[.)]))")


def _escape_line_start(text: str) -> str:
    """``text``, the start of the field, with a backslash before what cmark would read as the
    start of a block (a list item's number keeps its digits: ``1\\.``)."""
    m = _LINE_START.match(text)
    if m is None:
        return text
    if m.group(2)[0].isdigit():
        end = m.end()
        return text[:end] + "\\" + text[end:]
    if text[m.start(2) - 1 : m.start(2)] == "\\":
        return text
    return text[: m.start(2)] + "\\" + text[m.start(2) :]


# -- YAML ------------------------------------------------------------------------------------


def yaml_scalar(text: str, indent: int = 2) -> str:
    """``text`` as a YAML scalar to write after a key (``front: <here>``), the lines of a block
    scalar indented by ``indent`` spaces (the key's column plus two): a literal block (``|-``)
    for text with newlines where YAML can hold it so, else what PyYAML's ``safe_dump`` writes
    (plain where that reads back as the same string, else quoted)."""
    dumped = yaml.dump(
        {"k": text}, Dumper=_Dumper, allow_unicode=True, width=1_000_000, sort_keys=False
    )
    value = dumped[len("k: ") : -1]  # the dump's last newline; a "|+" block keeps the others
    head, _, rest = value.partition("\n")
    if not rest:
        return head
    pad = " " * (indent - 2)
    return head + "\n" + "\n".join(pad + line if line else line for line in rest.split("\n"))


class _Dumper(yaml.SafeDumper):
    """safe_dump, with text that holds newlines as a literal block where YAML allows one."""


# Line breaks that PyYAML writes as they are, where a reader folds them (YAML 1.1 breaks).
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")


def _represent_text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = None
    if _OTHER_BREAKS.search(data) or data.endswith("\n"):
        style = '"'  # escaped; a block that keeps final newlines ends PyYAML's document ("...")
    elif "\n" in data:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_text)
