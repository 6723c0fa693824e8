"""What both pages share: the document frame (Jinja templates), escaping, accent colours, the
images' stylesheet rules, and writing a page as it is made.

Decks of 100,000 cards print to pages of 100 MB and more, so a page is written as it is made,
never held whole in memory: Jinja renders the document frame (head, styles, the how-to header),
and the pages themselves, tens of thousands of identical little structures, are joined in
cards.py and sheet.py from markup pieces, which Jinja would otherwise spend seconds on.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from cardpress.export.printable.fields import image_class
from cardpress.format import IMAGE_MIME
from cardpress.model import Deck

if TYPE_CHECKING:
    import jinja2

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

# Topic accent colours, chosen to stay distinct in greyscale too.
ACCENTS = ("#2e6a99", "#b4532a", "#3d7a4a", "#7b4f9c", "#9a7417", "#2d7d7d")


def escape(text: str) -> str:
    """``text`` for HTML, escaped exactly as Jinja's autoescape (MarkupSafe) escapes it."""
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def accents(deck: Deck) -> dict[str, int]:
    """The accent colour of each topic: the deck's topics in their order, then any other in the
    order of its first card."""
    topics = [key for key, _ in deck.topics]
    topics += filter(None, map(attrgetter("topic"), deck.cards))
    return {key: index % len(ACCENTS) for index, key in enumerate(dict.fromkeys(topics))}


def notes_markup(extra: str, source: str) -> str:
    """The notes under an answer."""
    below = f'<div class="extra">{extra}</div>\n' if extra else ""
    if source:
        below += f'<div class="source">{source}</div>\n'
    return below


class ImageRule(NamedTuple):
    """An image of the page: the class that shows it and its data, as the stylesheet has it."""

    name: str
    uri: str


def image_rules(deck: Deck, used: Iterable[int]) -> list[ImageRule]:
    """The stylesheet's rule for each image the page shows (by number in ``deck.media``): the
    only copy of its data in the page. The URI is written unquoted in ``url()``: base64 and the
    MIME types need no quoting, and autoescaping in a <style> would break quotes."""
    rules = []
    for number in sorted(used):
        item = deck.media[number]
        mime = IMAGE_MIME.get(Path(item.name).suffix.lower(), "application/octet-stream")
        data = base64.b64encode(item.path.read_bytes()).decode("ascii")
        rules.append(ImageRule(image_class(number), f"data:{mime};base64,{data}"))
    return rules


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # deferred: the command line imports this package for its option names

    return jinja2.Environment(
        loader=jinja2.PackageLoader("cardpress.export.printable", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: object) -> Iterable[str]:
    """The document of template ``name``, in pieces as it is made."""
    return _environment().get_template(name).generate(**context)


def write_page(path: Path, write: Callable[[TextIO], None]) -> None:
    """Call ``write`` with ``path`` open for text; if it fails, the file is removed rather than
    left half-written."""
    try:
        # Pages are a few kilobytes each: a bigger buffer writes many at a time.
        with path.open("w", encoding="utf-8", newline="\n", buffering=1 << 18) as out:
            write(out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
