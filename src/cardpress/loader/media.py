"""Images: local files inside the card file's folder, of a type cardpress can pack.

An image is named after its content (``stem-<hash>.suffix``), so two files of one name in two
folders never collide in Anki's flat media folder, and an edited image gets a new name.

SVG images: only static, self-contained drawings are packed. An SVG is a document, not only a
picture: it can hold scripts, event handlers, embedded HTML (``foreignObject``) and references
to other files. Shown with ``<img>`` none of that runs, but a packed file can also be opened by
itself (Anki's media folder, a browser), where it would. So an SVG is parsed as XML
(defusedxml: no DTD, no entities) and refused, with the reason, when it holds anything that can
run or reach outside the file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

import yaml

from cardpress.format import CONTROL, IMAGE_MAGIC
from cardpress.loader.values import Report
from cardpress.model import Media


class Images:
    """The images the cards of one card file use, by their media names."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.media: dict[str, Media] = {}

    def resolve(self, src: str, node: yaml.Node, report: Report) -> str | None:
        """The media name of the image ``src`` (as authored), or None: reported at ``node``."""
        try:
            path, data = self._read(src)
        except _Refused as refused:
            report.error(node, str(refused))
            return None
        suffix = path.suffix.lower()
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", unicodedata.normalize("NFC", path.stem))
        name = f"{stem.strip('-') or 'image'}-{hashlib.sha256(data).hexdigest()[:10]}{suffix}"
        self.media[name] = Media(name, path)
        return name

    def _read(self, src: str) -> tuple[Path, bytes]:
        """The image's resolved path and its bytes, once it is known to be packable."""
        rel = _relative_path(src)
        try:
            resolved = (self.base / rel).resolve(strict=True)
        except (OSError, RuntimeError):
            raise _Refused(f"image file not found: {rel}") from None
        if not resolved.is_relative_to(self.base.resolve()):
            raise _Refused(f"image {rel!r} is outside the card file's folder")
        if not resolved.is_file():
            raise _Refused(f"image {rel!r} is not a file")
        try:
            data = resolved.read_bytes()
        except OSError as exc:
            raise _Refused(f"cannot read image {rel!r}: {exc.strerror}") from None
        suffix = resolved.suffix.lower()
        magic = IMAGE_MAGIC.get(suffix)
        if magic is None or not data.startswith(magic):
            raise _Refused(f"{rel!r} is not an image cardpress can pack (png, jpg, gif, webp, svg)")
        problem = svg_problem(data) if suffix == ".svg" else None
        if problem:
            raise _Refused(
                f"SVG image {rel!r} cannot be packed: {problem}; cardpress packs only "
                "drawings without scripts, event handlers or references to other files"
            )
        return resolved, data


class _Refused(Exception):
    """Why an image cannot be packed: the message for the card file's author."""


def _relative_path(src: str) -> str:
    """The file path an image source names, relative to the card file's folder."""
    if not src:
        raise _Refused("image without a path")
    if urlsplit(src).scheme:
        raise _Refused(f"image {src!r} is not a local file; copy it next to the card file")
    rel = unquote(src)
    if CONTROL.search(rel) or "\n" in rel or "\t" in rel or "\r" in rel:
        raise _Refused(f"image path {rel!r} contains a control character")
    if rel.startswith(("/", "\\")) or Path(rel).is_absolute():
        raise _Refused(f"image path {rel!r} is absolute; use a path relative to the card file")
    return rel


SVG_NAMESPACE = "http://www.w3.org/2000/svg"

# Elements that run code, embed other documents, or react to events.
_ACTIVE = frozenset(
    {"script", "foreignObject", "handler", "listener", "iframe", "embed", "object", "audio",
     "video", "canvas"}
)  # fmt: skip
# Animation elements can set an attribute to a value that runs (href="javascript:...").
_ANIMATIONS = frozenset({"set", "animate", "animateMotion", "animateTransform"})
# url(...) that is not a fragment of this file, and @import, in CSS.
_EXTERNAL_CSS = re.compile(r"url\(\s*['\"]?\s*(?!#)|@import|expression\(", re.IGNORECASE)
_RASTER_DATA = re.compile(r"data:image/(?:png|jpeg|gif|webp)[;,]", re.IGNORECASE)


def svg_problem(data: bytes) -> str | None:
    """Why ``data`` cannot be packed as an SVG image, or None when it can."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        return "it declares a DTD or entities"
    except (ParseError, ValueError):
        return "it is not a well-formed SVG (XML) file"
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        return "it is not an SVG file (its root element is not <svg>)"
    if b"<?xml-stylesheet" in data:
        return "it loads a style sheet"
    for element in root.iter():
        problem = _element_problem(element)
        if problem:
            return problem
    return None


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def _element_problem(element: Element) -> str | None:
    tag = _local(element.tag) if isinstance(element.tag, str) else ""
    if tag in _ACTIVE:
        return f"it holds a <{tag}> element"
    if tag == "style" and _EXTERNAL_CSS.search(element.text or ""):
        return "its style sheet refers to another file"
    for name, value in element.attrib.items():
        problem = _attribute_problem(tag, _local(name), value)
        if problem:
            return problem
    return None


def _attribute_problem(tag: str, local: str, value: str) -> str | None:
    if local.lower().startswith("on"):
        return f"it has an event handler ({local}=)"
    if local == "href" and not (value.strip().startswith("#") or _RASTER_DATA.match(value)):
        return f"it refers to another file or URL ({local}={value[:40]!r})"
    if _EXTERNAL_CSS.search(value):
        return f"its {local}= attribute refers to another file"
    if (
        tag in _ANIMATIONS
        and local == "attributeName"
        and (value.strip().lower().endswith("href") or value.strip().lower().startswith("on"))
    ):
        return f"it animates the attribute {value.strip()!r}"
    return None
