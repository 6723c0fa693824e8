"""The baseline: the least a YAML-to-Anki script can do with today's tools, done the fast way.

libyaml's ``CSafeLoader``, one ``genanki.Note`` per card with genanki's built-in note types, the
fields as raw text (no Markdown, no sanitising, no checks), one deck, and genanki's own
``Package.write_to_file`` (an uncompressed zip). cardpress does much more per card; the ratio of
its build time to this script's says what that costs.

Example:
    python bench/minimal_genanki.py bench/decks/bench-1000/bench-1000.yaml /tmp/baseline.apkg
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import genanki
import yaml

MODELS = {
    "basic": genanki.BASIC_MODEL,
    "reversed": genanki.BASIC_AND_REVERSED_CARD_MODEL,
    "type": genanki.BASIC_TYPE_IN_THE_ANSWER_MODEL,
    "cloze": genanki.CLOZE_MODEL,
}


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(tag) for tag in value]


def build(deck_path: Path, out: Path) -> int:
    """Write ``deck_path`` as an Anki package to ``out``; return the number of notes."""
    with deck_path.open("rb") as stream:
        data = yaml.load(stream, Loader=yaml.CSafeLoader)
    deck = genanki.Deck(zlib.crc32(str(data["key"]).encode()) + (1 << 30), str(data["name"]))
    deck_tags = _tags(data.get("tags"))
    for card in data["cards"]:
        kind = card.get("kind", "basic")
        if kind == "cloze":
            fields = [str(card["text"]), str(card.get("extra", ""))]
        else:
            fields = [str(card["front"]), str(card["back"])]
        tags = [*deck_tags, *_tags(card.get("tags"))]
        if "topic" in card:
            tags.append(f"topic::{card['topic']}")
        deck.add_note(genanki.Note(model=MODELS[kind], fields=fields, tags=tags))
    genanki.Package(deck).write_to_file(str(out))
    return len(data["cards"])


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: DECK.yaml OUT.apkg."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.exit("usage: minimal_genanki.py DECK.yaml OUT.apkg")
    notes = build(Path(args[0]), Path(args[1]))
    print(f"{args[1]}: {notes} notes")


if __name__ == "__main__":
    main()
