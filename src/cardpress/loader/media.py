"""Media: images and sound files, local files inside the card file's folder, of a type
cardpress can pack, judged by their content.

An image (``![alt](flag.png)``, ``<img src>``) and a sound file (``[sound:clip.mp3]``) follow
one rule: the path is relative to the card file's folder and stays inside it (no ``..`` out, no
absolute path, no symlink out), the file exists, and its first bytes say it is of the type its
suffix names. Each is named after its content (``stem-<hash>.suffix``), so two files of one name
in two folders never collide in Anki's flat media folder (``audio/clip.mp3`` and
``clip.mp3`` are two files), and an edited file gets a new name.

Sound files: mp3, ogg, opus, wav, m4a and webm, the formats Anki's player (mpv) plays on every
platform. An MP3 is an MPEG audio layer III frame (after an ID3 tag, if any); an Ogg file's
first stream is Vorbis, Opus, FLAC or Speex audio (``.opus``: Opus only); a WAV file is RIFF
WAVE; an m4a file is an MPEG-4 (ISO base media) file; a webm file is an EBML document of type
``webm``. A small table: the file type libraries at hand (filetype 1.2, puremagic 1.30) miss
MP3 frames of MPEG 2.5 (what LAME writes at low sample rates), cannot tell Opus from Vorbis,
and take a Theora video for Ogg audio.

SVG images: only static, self-contained drawings are packed. An SVG is a document, not only a
picture: it can hold scripts, event handlers, embedded HTML (``foreignObject``) and references
to other files. Shown with ``<img>`` none of that runs, but a packed file can also be opened by
itself (Anki's media folder, a browser), where it would. So an SVG is parsed as XML
(defusedxml: no DTD, no entities) and refused, with the reason, when it holds anything that can
run or reach outside the file.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import yaml

from cardpress.format import AUDIO_SUFFIXES, CONTROL, IMAGE_MAGIC
from cardpress.loader.values import Report
from cardpress.model import Media


class Images:
    """The media files (images and sound files) the cards of one card file use, by their
    media names."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.media: dict[str, Media] = {}
        # The deck's keep_media_names: each file is packed under its own name (NFC), as an
        # imported deck's fields name them, not a name made from its content.
        self.keep_names = False

    def resolve(self, src: str, node: yaml.Node, report: Report) -> str | None:
        """The media name of the image ``src`` (as authored), or None: reported at ``node``."""
        return self._resolve(src, _IMAGE, node, report)

    def resolve_sound(self, name: str, node: yaml.Node, report: Report) -> str | None:
        """The media name of the sound file a ``[sound:name]`` tag names (as authored), or
        None: reported at ``node``."""
        return self._resolve(name, _SOUND, node, report)

    def _resolve(self, src: str, kind: _Kind, node: yaml.Node, report: Report) -> str | None:
        try:
            path, data = self._read(src, kind)
        except _Refused as refused:
            report.error(node, str(refused))
            return None
        if self.keep_names:
            name = unicodedata.normalize("NFC", PurePosixPath(_relative_path(src, kind)).name)
            other = self.media.get(name)
            if other is not None and other.path != path:
                report.error(
                    node,
                    f"two files are named {name!r} ({other.path.relative_to(self.base.resolve())}"
                    f" and {path.relative_to(self.base.resolve())}); with keep_media_names a "
                    "name is one file in Anki's media folder",
                )
                return None
            self.media[name] = Media(name, path)
            return name
        suffix = path.suffix.lower()
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", unicodedata.normalize("NFC", path.stem))
        name = f"{stem.strip('-') or kind.stem}-{hashlib.sha256(data).hexdigest()[:10]}{suffix}"
        self.media[name] = Media(name, path)
        return name

    def _read(self, src: str, kind: _Kind) -> tuple[Path, bytes]:
        """The file's resolved path and its bytes, once it is known to be packable."""
        rel = _relative_path(src, kind)
        what = kind.noun
        try:
            resolved = (self.base / rel).resolve(strict=True)
        except (OSError, RuntimeError):
            raise _Refused(f"{kind.file} not found: {rel}") from None
        if not resolved.is_relative_to(self.base.resolve()):
            raise _Refused(f"{what} {rel!r} is outside the card file's folder")
        if not resolved.is_file():
            raise _Refused(f"{what} {rel!r} is not a file")
        try:
            data = resolved.read_bytes()
        except OSError as exc:
            raise _Refused(f"cannot read {what} {rel!r}: {exc.strerror}") from None
        problem = kind.problem(rel, resolved, data)
        if problem:
            raise _Refused(problem)
        return resolved, data


def _image_problem(rel: str, path: Path, data: bytes) -> str | None:
    """Why the image ``rel`` (at ``path``, holding ``data``) cannot be packed, or None."""
    suffix = path.suffix.lower()
    magic = IMAGE_MAGIC.get(suffix)
    if magic is None or not data.startswith(magic):
        return f"{rel!r} is not an image cardpress can pack (png, jpg, gif, webp, svg)"
    problem = svg_problem(data) if suffix == ".svg" else None
    if problem:
        return (
            f"SVG image {rel!r} cannot be packed: {problem}; cardpress packs only "
            "drawings without scripts, event handlers or references to other files"
        )
    return None


def _sound_problem(rel: str, path: Path, data: bytes) -> str | None:
    """Why the sound file ``rel`` (at ``path``, holding ``data``) cannot be packed, or None."""
    problem = sound_problem(path, data)
    return f"sound file {rel!r} {problem}" if problem else None


@dataclass(frozen=True)
class _Kind:
    """What a media reference names: how messages call it and its file, whether it is a URL
    (an image source, percent-encoded) or a plain file name (a sound tag's), the stem of a
    file whose name has no letter or digit, and why a file's content cannot be packed."""

    noun: str
    file: str
    url: bool
    stem: str
    problem: Callable[[str, Path, bytes], str | None]


_IMAGE = _Kind("image", "image file", url=True, stem="image", problem=_image_problem)
_SOUND = _Kind("sound file", "sound file", url=False, stem="sound", problem=_sound_problem)


# A URL's scheme, as urlsplit finds it (which raises on some paths, like "//[").
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class _Refused(Exception):
    """Why a media file cannot be packed: the message for the card file's author."""


def _relative_path(src: str, kind: _Kind) -> str:
    """The file path a reference names, relative to the card file's folder.

    An image source is a URL (``my%20flag.png``); a sound tag names its file as it is, as
    Anki reads it (``[sound:my clip.mp3]``), HTML entities decoded.
    """
    what = kind.noun
    if not src:
        raise _Refused(f"{what} without a path")
    if _SCHEME.match(src):
        raise _Refused(f"{what} {src!r} is not a local file; copy it next to the card file")
    rel = unquote(src) if kind.url else html.unescape(src)
    if CONTROL.search(rel) or "\n" in rel or "\t" in rel or "\r" in rel:
        raise _Refused(f"{what} path {rel!r} contains a control character")
    if rel.startswith(("/", "\\")) or Path(rel).is_absolute():
        raise _Refused(f"{what} path {rel!r} is absolute; use a path relative to the card file")
    return rel


# -- sound files -----------------------------------------------------------------------------

_OGG_AUDIO = {
    b"\x01vorbis": "Ogg Vorbis",
    b"OpusHead": "Opus",
    b"\x7fFLAC": "Ogg FLAC",
    b"Speex   ": "Ogg Speex",
}
# The suffix of each kind of audio (audio_type's names), and what each suffix may hold.
_SUFFIX_OF = {
    "MP3": ".mp3", **dict.fromkeys(("Ogg Vorbis", "Ogg FLAC", "Ogg Speex"), ".ogg"),
    "Opus": ".opus", "WAV": ".wav", "MPEG-4": ".m4a", "WebM": ".webm",
}  # fmt: skip
_HOLDS = {
    suffix: {kind for kind, own in _SUFFIX_OF.items() if own == suffix} for suffix in AUDIO_SUFFIXES
}
_HOLDS[".ogg"].add("Opus")  # Ogg Opus is often named .ogg
_NAMED = ", ".join(suffix[1:] for suffix in AUDIO_SUFFIXES)


def sound_problem(path: Path, data: bytes) -> str | None:
    """Why ``data``, the content of ``path``, cannot be packed as a sound file (the end of a
    sentence that names the file), or None when it can."""
    suffix = path.suffix.lower()
    if suffix not in _HOLDS:
        return f"is not of a type cardpress packs; use one of {_NAMED}"
    found = audio_type(data)
    if found is None:
        return f"is not audio: its content is none of {_NAMED}"
    if found in _HOLDS[suffix]:
        return None
    return f"holds {found} audio, not {suffix[1:]}: name it {path.stem + _SUFFIX_OF[found]!r}"


def audio_type(data: bytes) -> str | None:
    """The kind of audio ``data`` starts as (``MP3``, ``Opus``, ``Ogg Vorbis``, ``Ogg FLAC``,
    ``Ogg Speex``, ``WAV``, ``MPEG-4``, ``WebM``), or None."""
    if data.startswith(b"OggS"):
        return _ogg_codec(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "WAV"
    if data[4:8] == b"ftyp":
        return "MPEG-4"
    if data.startswith(b"\x1a\x45\xdf\xa3") and _ebml_doctype(data) == b"webm":
        return "WebM"
    if _mp3_frame(data):
        return "MP3"
    return None


def _ogg_codec(data: bytes) -> str | None:
    """The codec of an Ogg file's first stream, if it is audio: its first packet starts right
    after the first page's header (27 bytes) and segment table."""
    if len(data) < 27:
        return None
    packet = data[27 + data[26] :]
    return next((name for magic, name in _OGG_AUDIO.items() if packet.startswith(magic)), None)


def _mp3_frame(data: bytes) -> bool:
    """Whether ``data`` starts with an MPEG audio layer III frame header, after an ID3v2 tag
    if it has one (its size is four 7-bit bytes; a footer adds 10)."""
    start = 0
    if data.startswith(b"ID3") and len(data) >= 10:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        start = 10 + size + (10 if data[5] & 0x10 else 0)
    header = data[start : start + 4]
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return False  # no frame sync (11 bits set)
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate, rate = header[2] >> 4, (header[2] >> 2) & 3
    # version 1 is reserved, layer 1 is layer III, bitrate 15 and rate 3 are invalid
    return version != 1 and layer == 1 and bitrate != 15 and rate != 3


def _ebml_doctype(data: bytes) -> bytes | None:
    """The DocType of an EBML (Matroska, WebM) file's header: element 0x4282 with a size in
    EBML's variable-length form (the count of leading zero bits is the count of more bytes)."""
    at = data.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 2 >= len(data):
        return None
    first = data[at + 2]
    more = 8 - first.bit_length()  # leading zero bits
    if first == 0 or more > 7:
        return None
    size = first & (0xFF >> (more + 1))
    for byte in data[at + 3 : at + 3 + more]:
        size = (size << 8) | byte
    start = at + 3 + more
    return data[start : start + size]


# -- SVG -------------------------------------------------------------------------------------

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


# A Markdown image: its alt text and what stands between the parentheses; a title after a path.
_MARKDOWN_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^()\n]*)\)")
_TITLE = re.compile(r"\s+(\"[^\"]*\"|'[^']*'|\([^()]*\))$")


def unreadable_image_paths(text: str) -> list[tuple[str, str, str, str]]:
    """The Markdown images of ``text`` whose path CommonMark cannot read, so that the image
    shows as text: each as written, with its alt text, its path and its title ("" or with the
    space before it). A path with a space must be written ``<like this>`` or with ``%20``."""
    found = []
    for m in _MARKDOWN_IMAGE.finditer(text):
        inside = m.group(2).strip()
        title = _TITLE.search(inside)
        path = inside[: title.start()] if title else inside
        if not path.startswith("<") and any(c.isspace() for c in path):
            found.append((m.group(0), m.group(1), path, title.group(0) if title else ""))
    return found
