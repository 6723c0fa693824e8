"""SVG images: only static, self-contained drawings are packed.

An SVG is a document, not only a picture: it can hold scripts, event handlers, embedded HTML
(``foreignObject``) and references to other files. Shown with ``<img>`` none of that runs, but
a packed file can also be opened by itself (Anki's media folder, a browser), where it would.
So an SVG is parsed as XML (defusedxml: no DTD, no entities) and refused, with the reason,
when it holds anything that can run or reach outside the file.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

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
        local = _local(name)
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
