"""Card files: finding them, and reading their bytes once they are known to be UTF-8 text
without control characters, under the size limit."""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from pathlib import Path

from cardpress.errors import Diagnostic
from cardpress.format import CARD_FILE_SUFFIXES, CONTROL, MAX_FILE_BYTES
from cardpress.loader.values import error
from cardpress.model import Location


def find_card_files(paths: Sequence[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Expand folders to the card files inside them (sorted, so builds are reproducible)."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found, unreadable = _card_files_in(path)
            problems += unreadable
            if not found and not unreadable:
                problems.append(error(Location(str(path)), "no card files (*.yaml) in folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            problems.append(
                error(
                    Location(str(path)),
                    "not a regular file (a pipe or a device?); give a card file",
                )
            )
        elif path == Path("cards"):  # the default: a first run in a folder of its own
            problems.append(
                error(
                    Location(str(path)),
                    "no such file or folder: cardpress reads card files (YAML) from cards/ "
                    "unless told where they are, e.g. `cardpress build my-deck.yaml`; "
                    "`cardpress init` starts a folder with a first deck",
                )
            )
        else:
            problems.append(error(Location(str(path)), "no such file or folder"))
    unique = list(dict.fromkeys(files))
    return unique, problems


def _card_files_in(folder: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The card files under ``folder``, sorted; a subfolder that cannot be read is an error
    (its cards would be left out without a word)."""
    found: list[Path] = []
    problems: list[Diagnostic] = []

    def unreadable(exc: OSError) -> None:
        where = exc.filename or folder
        problems.append(error(Location(str(where)), f"cannot read folder: {exc.strerror}"))

    for root, _, names in os.walk(folder, onerror=unreadable):
        for name in names:
            path = Path(root, name)
            if path.suffix in CARD_FILE_SUFFIXES and path.is_file():
                found.append(path)
    return sorted(found), problems


def read_card_file(path: Path, data: bytes | None = None) -> bytes | Diagnostic:
    """The bytes of the card file at ``path`` (``data`` when given), or what is wrong with them.

    The parser reads the bytes as they are (libyaml decodes UTF-8 itself): a decoded copy of
    the whole file would hold four bytes a character as soon as it has one emoji.
    """
    if data is None:
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                return error(Location(str(path)), _too_big(size))
            data = path.read_bytes()
        except OSError as exc:
            return error(Location(str(path)), f"cannot read file: {exc.strerror}")
    if len(data) > MAX_FILE_BYTES:
        return error(Location(str(path)), _too_big(len(data)))
    kind = _binary_kind(data)
    if kind:
        return error(
            Location(str(path), 1, 1),
            f"this is {kind}, not a card file (card files are YAML text, see the README)",
        )
    encoding = _wide_encoding(data)
    if encoding:
        return error(Location(str(path), 1, 1), f"file is {encoding}; save it as UTF-8")
    if _is_clean_text(data):
        return data
    return _text_problem(path, data)


# Files people give by mistake, by the bytes they start with.
_BINARY = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip file (an Anki package, a Word or OpenOffice document, …)"),
    (b"SQLite format 3\x00", "an SQLite database (an Anki collection?)"),
    (b"\x1f\x8b", "a gzip file"),
)


def _binary_kind(data: bytes) -> str:
    """What a file that is certainly not text is, by its first bytes; "" otherwise."""
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image"
    return next((kind for magic, kind in _BINARY if data.startswith(magic)), "")


def _wide_encoding(data: bytes) -> str:
    """The name of the UTF-16 or UTF-32 encoding a file is saved in, or "": from its
    byte-order mark, or without one, from its first characters being ASCII with the zero
    bytes those encodings give them (as a card file's first line is)."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    for width, name in ((4, "UTF-32"), (2, "UTF-16")):
        head = data[: 16 * width]
        if len(head) >= 4 * width and len(head) % width == 0:
            units = [head[i : i + width] for i in range(0, len(head), width)]
            if _ascii(units) or _ascii([unit[::-1] for unit in units]):
                return f"{name} (without a byte-order mark)"
    return ""


def _ascii(units: list[bytes]) -> bool:
    """Whether these code units (little-endian) are all printable ASCII or line breaks."""
    return all(
        (32 <= unit[0] < 127 or unit[0] in b"\t\n\r") and not any(unit[1:]) for unit in units
    )


def _too_big(size: int) -> str:
    return f"file is {size} bytes; the limit is {MAX_FILE_BYTES}"


def _is_clean_text(data: bytes, piece: int = 1 << 16) -> bool:
    """Whether ``data`` is UTF-8 without a control character, decoded a piece at a time: a
    piece's text is small and gone before the next is decoded."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), piece):
            if CONTROL.search(decoder.decode(view[start : start + piece])):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _text_problem(path: Path, data: bytes) -> Diagnostic:
    """Where ``data`` stops being UTF-8 text, or its first control character (the slow path,
    for a file known to have one of them): the whole file is decoded to say exactly where."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return error(
            Location(str(path), line, col),
            f"invalid UTF-8 byte 0x{data[exc.start]:02x}; save the file as UTF-8",
        )
    bad = CONTROL.search(text)
    assert bad is not None
    line = text.count("\n", 0, bad.start()) + 1
    col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
    return error(
        Location(str(path), line, col),
        f"control character U+{ord(bad.group()):04X} is not allowed in a card file",
    )
