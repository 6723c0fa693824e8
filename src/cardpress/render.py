"""Field text: a small, safe Markdown rendered to HTML that every export shares.

Markdown (CommonMark, line breaks kept) is rendered by cmark-gfm, the CommonMark reference
implementation in C (about 25 times faster here than the pure-Python parsers); the result goes
through nh3's allow-list sanitiser (ammonia), so no script, event handler or ``javascript:``
link survives in any output. Every image source, Markdown or raw ``<img>``, goes through the
caller's resolver, and so does the file of every ``[sound:FILE]`` tag, which Markdown never
sees. MathJax ``\\( \\)`` and ``\\[ \\]`` spans pass through untouched.
"""

from __future__ import annotations

import functools
import html
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import cast

import nh3
from cmarkgfm import _cmark
from cmarkgfm.cmark import Options

from cardpress.format import MAX_NESTING, SOUND

ALLOWED_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "del", "div", "em", "hr", "i", "img", "kbd",
        "li", "mark", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "u", "ul",
        "h1", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td",
        # Readings over characters (furigana, pinyin): inert text, common in language cards.
        "ruby", "rt", "rp",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# MathML Core, for the printable pages' typeset math (export/printable/fields.py): layout
# elements and their presentation attributes only; no maction, no href, no event handler.
MATHML_TAGS = frozenset(
    {
        "math", "mi", "mn", "mo", "ms", "mspace", "mtext", "mrow", "mfrac", "msqrt",
        "mroot", "msub", "msup", "msubsup", "munder", "mover", "munderover", "mtable",
        "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "semantics",
    }
)  # fmt: skip
MATHML_ATTRIBUTES = frozenset(
    {
        "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
        "accent", "accentunder", "linethickness", "columnalign", "rowspacing",
        "columnspacing", "displaystyle", "scriptlevel", "width", "height", "depth", "form",
        "minsize", "maxsize", "movablelimits", "symmetric", "largeop", "notation",
    }
)  # fmt: skip

MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# A field has far fewer than 3,000 distinct characters, so some pair is always free.
_PLACEHOLDER_PAIRS = [(chr(c), chr(c + 1)) for c in range(0xE000, 0xF8FF, 2)]

# Text with none of these characters renders to itself: no Markdown, no HTML, no entity, no
# character the sanitiser would re-encode. Most flashcard fields are such text; they skip the
# parser (a property test proves both paths agree).
_PLAIN = re.compile(
    r"[^\s*_`\[\]!<>&\\#|~=+\-\d.)\ue000\ue001\u00a0\ufeff\x00-\x1f\x7f]"
    r"[^*_`\[\]!<>&\\\n\r\t\u00a0\ue000\ue001\ufeff\x00-\x1f\x7f]*"
)

# Raw HTML is kept by cmark (UNSAFE) because nh3 decides what stays; newlines are line breaks.
_CMARK_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_HARDBREAKS


@dataclass
class Rendered:
    """The HTML of one field, the image sources and sound files it uses (as authored) and the
    relative links the sanitiser removed."""

    html: str
    images: list[str] = field(default_factory=list)
    sounds: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    failure: BaseException | None = None  # raised by a resolver inside the sanitiser
    # The rest of what the sanitiser removed, for a warning (:func:`removed_markup`).
    removed: list[str] = field(default_factory=list)


class TooDeep(ValueError):
    """A field whose elements nest deeper than MAX_NESTING: the sanitiser's time grows with
    the square of the depth (a field of 100,000 '>' took 87 s), so it never gets there."""

    def __init__(self, depth: int) -> None:
        super().__init__(f"nests {depth} levels deep")
        self.depth = depth


ImageResolver = Callable[[str], "str | None"]
"""Maps an authored image path to its media name, or None when it cannot be used."""

SoundResolver = Callable[[str], "str | None"]
"""Maps the file of an authored ``[sound:FILE]`` tag to its media name, or None when it cannot
be used."""


def render(
    text: str,
    resolve_image: ImageResolver | None = None,
    *,
    inline: bool = True,
    resolve_sound: SoundResolver | None = None,
) -> Rendered:
    """Render Markdown ``text`` to sanitised HTML.

    With ``inline`` a text that is a single paragraph comes back without the ``<p>`` wrapper,
    which is what a flashcard field wants. Raises :class:`TooDeep` for a text that nests
    deeper than ``MAX_NESTING``.
    """
    text = text.strip()
    if inline and _PLAIN.fullmatch(text) and not text.endswith((" ", "\\")):
        return Rendered(html=unicodedata.normalize("NFC", text))
    return render_markdown(text, resolve_image, inline=inline, resolve_sound=resolve_sound)


def render_html(text: str) -> str:
    """``render(text).html`` for a field with no image to resolve (the loader's common case)."""
    text = text.strip()
    if _PLAIN.fullmatch(text) and not text.endswith((" ", "\\")):
        return unicodedata.normalize("NFC", text)
    return render_markdown(text).html


def render_markdown(
    text: str,
    resolve_image: ImageResolver | None = None,
    *,
    inline: bool = True,
    resolve_sound: SoundResolver | None = None,
) -> Rendered:
    """The full path of :func:`render`: parse, render, sanitise (no plain-text shortcut).

    The sanitiser is the last step: nothing is put into the HTML after it but the text of
    sound tags (:func:`_sound_tags`). The text is NFC-normalised first (after sanitising, a
    combining character could join the ``>`` that ends a tag and reopen it); sound tags and
    maths are kept from the Markdown parser with placeholders (it would read the ``_`` of
    ``[sound:a_b_.mp3]`` as emphasis, a line ``[sound:x]: y`` as a link definition). Maths is
    put back, escaped, before the sanitiser sees the HTML; sound tags after it.
    """
    result = Rendered(html="")
    text = unicodedata.normalize("NFC", text).strip()
    kept: list[str] = []  # what each placeholder stands for: a formula, or a sound tag's file
    sounds = "[sound:" in text
    pair = None
    if sounds or MATH.search(text):
        pair = next(
            ((a, b) for a, b in _PLACEHOLDER_PAIRS if a not in text and b not in text), None
        )
    if pair is not None:
        open_, close = pair

        def keep(what: str) -> str:
            kept.append(what)
            return f"{open_}{len(kept) - 1}{close}"

        if sounds:
            text = SOUND.sub(lambda m: keep(m.group(0)), text)
        text = MATH.sub(lambda m: keep(m.group(0)), text)
    raw = _markdown_to_html(text).strip()
    depth = nesting(raw)
    if depth > MAX_NESTING:
        raise TooDeep(depth)
    if inline and raw.startswith("<p>") and raw.endswith("</p>") and "<p>" not in raw[3:-4]:
        raw = raw[3:-4]  # a single paragraph: its content, without the wrapper
    placeholder = re.compile(f"{pair[0]}(\\d+){pair[1]}") if pair is not None else None
    if placeholder is not None:
        # Escaped with quotes too: a placeholder may sit inside an attribute value. Sound
        # tags stay placeholders until the sanitiser is done.
        def put_back(m: re.Match[str]) -> str:
            what = kept[int(m.group(1))]
            return m.group(0) if what.startswith("[sound:") else html.escape(what)

        raw = placeholder.sub(put_back, raw)
    if "<" in raw:
        result.removed = removed_markup(raw)
    result.html = sanitise(raw, resolve_image, result)
    if sounds or "[sound:" in result.html:
        result.html = _sound_tags(result.html, kept, placeholder, resolve_sound, result)
    return result


def _sound_tags(
    fragment: str,
    kept: list[str],
    placeholder: re.Pattern[str] | None,
    resolve: SoundResolver | None,
    result: Rendered,
) -> str:
    """``fragment`` (sanitised) with each sound tag naming its media file.

    The tags the author wrote were kept from the parser and the sanitiser as placeholders;
    tags that they made (``\\[sound:x]``, ``&#91;sound:x]``, a removed element inside one)
    are in the text already. Anki plays both, so both are resolved, in the order they come.
    What goes in is text, escaped: a media name, or the file as written where it cannot be
    resolved (an error the resolver reports; without a resolver, ``result.sounds`` tells).
    """
    tags = SOUND if placeholder is None else re.compile(f"{placeholder.pattern}|{SOUND.pattern}")

    def tag(m: re.Match[str]) -> str:
        if placeholder is not None and m.group(1) is not None:  # one the author wrote
            name = kept[int(m.group(1))][len("[sound:") : -1]
        else:  # one made by the parser or the sanitiser: its name is HTML text
            name = html.unescape(m.group(m.lastindex or 0))
        result.sounds.append(name)
        resolved = resolve(name) if resolve is not None else None
        return html.escape(f"[sound:{resolved or name}]")

    return tags.sub(tag, fragment)


# An HTML open tag as CommonMark recognises raw HTML (cmark passes such tags through, and
# escapes anything else), and one attribute of it.
_OPEN_TAG = re.compile(
    r"<([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*"
    r"(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)*)\s*/?>"
)
_ATTRIBUTE = re.compile(
    r"([A-Za-z_:][A-Za-z0-9_.:-]*)(?:\s*=\s*([^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?"
)
# Elements the sanitiser removes with their content; it keeps the content of the others.
_CONTENT_REMOVED = frozenset({"script", "style"})
# What cmark writes of Markdown that the allow-list leaves out (headings below h4, a list's
# first number, a code block's language): the author wrote no HTML, and is not warned.
_CMARK_OWN = frozenset({"h5", "h6"})
# Elements that HTML's parser renames (the sanitiser keeps them under the new name).
_RENAMED = {"image": "img"}
_CMARK_ATTRIBUTES = frozenset({("ol", "start"), ("code", "class")})


def removed_markup(fragment: str) -> list[str]:
    """What the sanitiser removes from the HTML ``fragment`` besides image sources and
    relative links (the resolver and :class:`Rendered` account for those): each element
    (``<font>``, ``<script> with its content``), attribute (``style= of <span>``) and link
    (``the link 'javascript:...' of <a>``), once, in order."""
    removed: list[str] = []
    for tag, attributes in _OPEN_TAG.findall(fragment):
        tag = tag.lower()
        tag = _RENAMED.get(tag, tag)
        if tag not in ALLOWED_TAGS:
            if tag not in _CMARK_OWN:
                with_content = tag in _CONTENT_REMOVED
                removed.append(f"<{tag}> with its content" if with_content else f"<{tag}>")
            continue
        allowed = ALLOWED_ATTRIBUTES.get(tag, set())
        for name, value in _ATTRIBUTE.findall(attributes):
            name = name.lower()
            if name not in allowed:
                if (tag, name) not in _CMARK_ATTRIBUTES:
                    removed.append(f"{name}= of <{tag}>")
                continue
            link = html.unescape(value.strip("\"'"))
            scheme = _SCHEME.match(link)
            if name == "href" and scheme and scheme.group().strip()[:-1].lower() not in URL_SCHEMES:
                shown = link if len(link) <= 40 else link[:40] + "..."
                removed.append(f"the link {shown!r} of <a> (links may be http, https or mailto)")
    return list(dict.fromkeys(removed))


def sanitise(
    fragment: str,
    resolve_image: ImageResolver | None = None,
    result: Rendered | None = None,
    *,
    classes: Mapping[str, set[str]] | None = None,
    mathml: bool = False,
) -> str:
    """``fragment`` through the allow-list, as HTML that stays the same when normalised.

    Anki stores fields NFC-normalised, so an output that normalisation would change is not
    safe: ``>`` followed by U+0338 becomes one character, and the tag it ended runs on into
    the text. Such output is normalised and cleaned again until it is stable (one round in
    practice); ``classes`` allows these classes on these tags (the printable pages' cloze
    spans), and ``mathml`` lets MathML Core's layout elements through (MATHML_TAGS: the
    pages' typeset math). Every ``<img src>`` goes through ``resolve_image``, and ``result``
    (if given) collects the image sources and the links the sanitiser removed.
    """
    if mathml:  # the printable pages' typeset math (MATHML_TAGS) is let through too
        cleaner = _CLEANERS[(("", ("mathml",)), *_classes_key(classes or {}))]
    else:
        cleaner = _CLEANERS[_classes_key(classes)] if classes else _CLEANER
    into = result if result is not None else Rendered(html="")
    token = _FIELD.set((resolve_image, into))
    try:
        clean = cleaner.clean(fragment).strip()
        for _ in range(_MAX_ROUNDS):
            if unicodedata.is_normalized("NFC", clean):
                break
            clean = cleaner.clean(unicodedata.normalize("NFC", clean)).strip()
        else:  # pragma: no cover - no input has been found that needs this
            clean = html.escape(unicodedata.normalize("NFC", plain_text(clean)), quote=False)
    finally:
        _FIELD.reset(token)
    if into.failure is not None:
        failure, into.failure = into.failure, None
        raise failure
    return clean


_MAX_ROUNDS = 4


def _markdown_to_html(text: str) -> str:
    """cmark's ``cmark_markdown_to_html``, freeing its buffer as cmark's API requires.

    ``cmarkgfm.markdown_to_html`` never frees it: about 250 bytes lost per call, 2 GB after
    1.5 million fields (found by fuzz/fuzz_render.py; upstream issue theacodes/cmarkgfm#53).
    """
    data = text.encode()
    buffer = _cmark.lib.cmark_markdown_to_html(data, len(data), _CMARK_OPTIONS)
    try:
        return str(_cmark.ffi.string(buffer).decode())
    finally:
        free = _c_free()
        if free is not None:
            free(int(_cmark.ffi.cast("uintptr_t", buffer)))


@functools.cache
def _c_free() -> Callable[[int], None] | None:
    """The C library's ``free``, which cmark allocates with, where it can be found for sure.

    On Linux and macOS cmark and Python share the system C library. Windows wheels link a C
    runtime of their own, whose ``free`` cannot be told apart from another one's from here:
    there the buffers are left to the process's end (about 250 bytes per field with markup).
    Looked up on first use, never at import: nothing platform-specific runs then.
    """
    if sys.platform == "win32":
        return None
    import ctypes

    try:
        free = ctypes.CDLL(None).free
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no C library to ask
        return None
    free.argtypes = [ctypes.c_void_p]
    free.restype = None
    return cast("Callable[[int], None]", free)


_TAG_OPEN_CLOSE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]*?(/?)>")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip


def nesting(fragment: str) -> int:
    """How deep the elements of an HTML fragment nest (unclosed ones count as open); 0 for a
    fragment with too few tags to nest deeper than MAX_NESTING (no need to count them)."""
    if fragment.count("<") <= MAX_NESTING:
        return 0
    depth = deepest = 0
    for close, tag, self_closing in _TAG_OPEN_CLOSE.findall(fragment):
        if close:
            depth = max(depth - 1, 0)
        elif not self_closing and tag.lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


# The field being cleaned: nh3 calls the filter for every attribute it keeps.
_FIELD: ContextVar[tuple[ImageResolver | None, Rendered]] = ContextVar("_FIELD")


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    # Never raises: nh3 would print the exception, drop the attribute and go on.
    resolve, result = _FIELD.get()
    try:
        if attribute == "src" and element == "img":
            result.images.append(value)
            return resolve(value) if resolve else None
        if attribute == "href" and not _SCHEME.match(value):
            # A relative link would open a packed file (an SVG, say) in Anki's webview;
            # nh3 itself removes links of other schemes than URL_SCHEMES.
            result.links.append(value)
            return None
    except BaseException as exc:  # raised again once nh3 has returned (see sanitise)
        result.failure = result.failure or exc
        return None
    return value


# A URL's scheme as RFC 3986 spells it (urlsplit raises on some relative URLs, like "//[").
_SCHEME = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*:")


def _cleaner(classes: Mapping[str, set[str]] | None = None, *, mathml: bool = False) -> nh3.Cleaner:
    tags, attributes = set(ALLOWED_TAGS), {k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()}
    if mathml:
        tags |= MATHML_TAGS
        attributes.update((tag, set(MATHML_ATTRIBUTES)) for tag in MATHML_TAGS)
    return nh3.Cleaner(
        tags=tags,
        attributes=attributes,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        attribute_filter=_filter_attribute,
        allowed_classes={k: set(v) for k, v in (classes or {}).items()},
    )


def _classes_key(classes: Mapping[str, set[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((tag, tuple(sorted(names))) for tag, names in classes.items()))


class _Cleaners(dict[tuple[tuple[str, tuple[str, ...]], ...], nh3.Cleaner]):
    def __missing__(self, key: tuple[tuple[str, tuple[str, ...]], ...]) -> nh3.Cleaner:
        mathml = bool(key) and key[0] == ("", ("mathml",))
        classes = {tag: set(names) for tag, names in key if tag}
        cleaner = self[key] = _cleaner(classes, mathml=mathml)
        return cleaner


_CLEANER = _cleaner()
_CLEANERS = _Cleaners()


_TAG = re.compile(r"<[^>]*>")


def plain_text(fragment: str) -> str:
    """The visible text of an HTML fragment (for plain exports and duplicate checks)."""
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()  # no tag, no entity: the fragment is its own text
    # cmark writes a line break as "<br>" and a newline: one line break, not two.
    text = _BREAK.sub("\n", fragment)
    return html.unescape(_TAG.sub("", text)).strip()


_BREAK = re.compile(r"<br\s*/?>\n?")
