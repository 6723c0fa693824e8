"""Field text: a small, safe Markdown rendered to HTML that every export shares.

Markdown (CommonMark, line breaks kept) is rendered by markdown-it-py; the result goes through
nh3's allow-list sanitiser, so no script, event handler or ``javascript:`` link survives in any
output. MathJax ``\\( \\)`` and ``\\[ \\]`` spans pass through untouched.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "del", "div", "em", "hr", "i", "img", "kbd",
        "li", "mark", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "u", "ul",
        "h1", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_RAW_IMG = re.compile(r"<\s*img\b", re.IGNORECASE)

# Text with none of these characters renders to itself: no Markdown, no HTML, no entity, no
# character the sanitiser would re-encode. Most flashcard fields are such text; they skip the
# parser (a property test proves both paths agree).
_PLAIN = re.compile(
    r"[^\s*_`\[\]!<>&\\#|~=+\-\d.)\ue000\ue001\u00a0\ufeff\x00-\x1f\x7f]"
    r"[^*_`\[\]!<>&\\\n\r\t\u00a0\ue000\ue001\ufeff\x00-\x1f\x7f]*"
)

_md = MarkdownIt("commonmark", {"html": True, "breaks": True})


@dataclass
class Rendered:
    """The HTML of one field, the images it uses (as authored) and its problems."""

    html: str
    images: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


ImageResolver = Callable[[str], "str | None"]
"""Maps an authored image path to its media name, or None when it cannot be used."""


def render(
    text: str, resolve_image: ImageResolver | None = None, *, inline: bool = True
) -> Rendered:
    """Render Markdown ``text`` to sanitised HTML.

    With ``inline`` a text that is a single paragraph comes back without the ``<p>`` wrapper,
    which is what a flashcard field wants.
    """
    text = text.strip()
    if inline and _PLAIN.fullmatch(text) and not text.endswith((" ", "\\")):
        return Rendered(html=unicodedata.normalize("NFC", text))
    return render_markdown(text, resolve_image, inline=inline)


def render_markdown(
    text: str, resolve_image: ImageResolver | None = None, *, inline: bool = True
) -> Rendered:
    """The full path of :func:`render`: parse, render, sanitise (no plain-text shortcut)."""
    result = Rendered(html="")
    maths: list[str] = []

    def keep_math(m: re.Match[str]) -> str:
        maths.append(m.group(0))
        return f"\ue000{len(maths) - 1}\ue001"

    protected = _MATH.sub(keep_math, text.strip())
    tokens = _md.parse(protected)
    for token in _walk(tokens):
        if token.type in ("html_inline", "html_block") and _RAW_IMG.search(token.content):
            result.problems.append("raw <img> tags are not allowed; use Markdown ![alt](path)")
        if token.type == "image":
            src = str(token.attrGet("src") or "")
            result.images.append(src)
            name = resolve_image(src) if resolve_image else None
            token.attrSet("src", name or "")
    if (
        inline
        and len(tokens) == 3
        and tokens[0].type == "paragraph_open"
        and tokens[2].type == "paragraph_close"
    ):
        raw = _md.renderer.render(tokens[1].children or [], _md.options, {})
    else:
        raw = _md.renderer.render(tokens, _md.options, {})
    clean = nh3.clean(
        raw.strip(),
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
    )
    restored = _PLACEHOLDER.sub(lambda m: html.escape(maths[int(m.group(1))], quote=False), clean)
    # Anki stores text NFC-normalised; doing it here keeps every export equal to what Anki holds.
    result.html = unicodedata.normalize("NFC", restored).strip()
    return result


def _walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        out.append(token)
        if token.children:
            out.extend(_walk(token.children))
    return out


_TAG = re.compile(r"<[^>]*>")


def plain_text(fragment: str) -> str:
    """The visible text of an HTML fragment (for plain exports and duplicate checks)."""
    text = re.sub(r"<br\s*/?>", "\n", fragment)
    return html.unescape(_TAG.sub("", text)).strip()
