"""The JSON Schema of the card format, for editors (completion and validation).

The loader is the authority; this schema mirrors it so that an editor flags the same mistakes
while typing, and never one the loader does not make: the keys come from format.py, and a value
the loader takes is valid here however a YAML tool reads it. The loader takes any scalar as
text exactly as written (``back: no`` is "no", ``1924`` is "1924"), so text here is a string,
a number or a boolean (what a YAML 1.1 or 1.2 tool makes of such a scalar), and a boolean may
be written in any of YAML 1.1's spellings (``yes``, ``off``), which a YAML 1.2 tool reads as
strings. Tests check that the committed ``schema/deck.schema.json`` is current and that every
card file the loader accepts (the fixtures, the example deck) is valid.
"""

from __future__ import annotations

import json
from typing import Any

from cardpress.format import (
    CARD_KEYS,
    DECK_KEYS,
    FORMAT_VERSION,
    GUID_PATTERN,
    ID_PATTERN,
    KINDS,
    NOT_FOR_NOTE_TYPES,
    NOTE_TYPE_KEYS,
    NOTE_TYPE_VERSIONS,
)
from cardpress.model import Kind

SCHEMA_ID = "https://cardpress.invalid/schema/deck-v1.schema.json"

# A scalar the loader reads as text: a number or a boolean is text as written.
_SCALAR = {"type": ["number", "boolean"]}
_ID = {
    "anyOf": [
        {"type": "string", "pattern": ID_PATTERN},
        {"type": "number", "minimum": 0},
        {"type": "boolean"},
    ]
}
_TEXT = {"anyOf": [{"type": "string", "pattern": "\\S"}, _SCALAR]}
_TAGS = {
    "description": "Anki tags: a list, or one string of space-separated tags (empty: none).",
    "anyOf": [
        {
            "type": "array",
            "items": {"anyOf": [{"type": "string", "pattern": "^\\s*\\S+\\s*$"}, _SCALAR]},
        },
        {"type": ["string", "null"]},
        _SCALAR,
    ],
}
# YAML 1.1's booleans (PyYAML's, the loader's); a YAML 1.2 tool reads these words as strings.
_YAML11_BOOLEANS = [
    spelling
    for word in ("yes", "no", "true", "false", "on", "off")
    for spelling in (word, word.capitalize(), word.upper())
]
_BOOLEAN = {"anyOf": [{"type": "boolean"}, {"enum": _YAML11_BOOLEANS}]}

_DECK_PROPS: dict[str, dict[str, Any]] = {
    "format": {
        "description": "Card format version.",
        "enum": [FORMAT_VERSION, str(FORMAT_VERSION)],
    },
    "key": {**_ID, "description": "Stable deck key; part of every note's Anki identity."},
    "name": {**_TEXT, "description": "Anki deck name (use '::' for a parent deck)."},
    "description": {**_TEXT, "description": "Deck description (Markdown)."},
    "tags": _TAGS,
    "source": {**_TEXT, "description": "The work the deck is written from."},
    "topics": {
        "description": "Topic key -> title. Cards must use one of these keys.",
        "type": "object",
        "propertyNames": _ID,
        "additionalProperties": _TEXT,
    },
    "subdecks": {"description": "Put each topic in its own subdeck (default true).", **_BOOLEAN},
    "note_type_version": {
        "description": "Version of cardpress's note types (2 adds a Card ID field). Default: 2, "
        "or 1 for a deck whose lock shows Anki has its notes under version 1.",
        "enum": [*NOTE_TYPE_VERSIONS, *map(str, NOTE_TYPE_VERSIONS)],
        "default": NOTE_TYPE_VERSIONS[-1],
    },
    "note_types": {
        "description": "The deck's own note types (Anki's: fields, templates, CSS), for cards "
        "that name one with note_type.",
        "type": "array",
        "items": {"$ref": "#/$defs/note_type"},
    },
    "topic_tags": {
        "description": "Tag each note topic::KEY of its topic (default true; an imported deck: "
        "false).",
        **_BOOLEAN,
    },
    "keep_media_names": {
        "description": "Media keep their file names in Anki, as the fields name them (default "
        "false: names made from their content).",
        **_BOOLEAN,
    },
    "cards": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/card"}},
}

# Anki's ids: whole numbers of 64 bits.
_ANKI_ID = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
_FIELD_NAME = {"type": "string", "pattern": '^[^#/^\\s:{}"][^:{}"]*$'}
_NOTE_TYPE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {**_TEXT, "description": "The note type's name; cards name it in note_type."},
        "id": {
            **_ANKI_ID,
            "minimum": 1,
            "description": "Anki's note type id (default: made from the deck key and the name).",
        },
        "imported": {
            **_BOOLEAN,
            "description": "Brought in from Anki by cardpress import: its templates are kept "
            "exactly, a script in them is a warning, not an error (default false).",
        },
        "cloze": {**_BOOLEAN, "description": "A cloze note type (default false)."},
        "fields": {
            "type": "array",
            "minItems": 1,
            "items": {
                "anyOf": [
                    _FIELD_NAME,
                    {
                        "type": "object",
                        "properties": {"name": _FIELD_NAME, "id": _ANKI_ID},
                        "required": ["name"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
        "templates": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "name": _TEXT,
                    "id": _ANKI_ID,
                    "front": {"type": "string", "description": "Anki's question template."},
                    "back": {"type": "string", "description": "Anki's answer template."},
                    "browser_front": {"type": "string"},
                    "browser_back": {"type": "string"},
                },
                "required": ["name", "front"],
                "additionalProperties": False,
            },
        },
        "css": {"type": "string"},
        "sort_field": {**_TEXT, "description": "The field Anki's browser sorts by."},
    },
    "required": [k for k, required in NOTE_TYPE_KEYS.items() if required],
    "additionalProperties": False,
}

_CARD_PROPS: dict[str, dict[str, Any]] = {
    "id": {**_ID, "description": "Stable card id: never change it once published."},
    "topic": {**_ID, "description": "One of the deck's topic keys."},
    "kind": {"enum": list(KINDS), "default": Kind.BASIC.value},
    "front": {**_TEXT, "description": "Question (Markdown)."},
    "back": {**_TEXT, "description": "Answer (Markdown)."},
    "text": {**_TEXT, "description": "Cloze text with {{c1::...}} deletions (Markdown)."},
    "source": {**_TEXT, "description": "Where in the source the fact comes from."},
    "extra": {**_TEXT, "description": "Note shown on the back (Markdown)."},
    "tags": _TAGS,
    "guid": {
        "anyOf": [{"type": "string", "pattern": GUID_PATTERN}, {"type": "integer", "minimum": 0}],
        "description": "The card's own Anki GUID (as `cardpress import` writes it for a note "
        "Anki has): it is then this note. Default: made from the deck key and the card id.",
    },
    "note_type": {**_TEXT, "description": "One of the deck's own note types (note_types)."},
    "fields": {
        "description": "The note's fields by name (Markdown), for a card with note_type.",
        "type": "object",
        "propertyNames": _FIELD_NAME,
        "additionalProperties": {"anyOf": [_TEXT, {"type": "null"}]},
    },
    "leak_check": {
        **_BOOLEAN,
        "description": "false: leave the card out of the check for answers that other cards' "
        "questions give away (default true).",
    },
}


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a card file."""
    assert set(_DECK_PROPS) == set(DECK_KEYS) and set(_CARD_PROPS) == set(CARD_KEYS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"cardpress card file (format {FORMAT_VERSION})",
        "type": "object",
        "properties": _DECK_PROPS,
        "required": [k for k, required in DECK_KEYS.items() if required],
        "additionalProperties": False,
        "$defs": {
            "card": {
                "type": "object",
                "properties": _CARD_PROPS,
                "additionalProperties": False,
                "if": {"required": ["note_type"]},
                "then": {
                    "required": ["fields"],
                    "not": {"anyOf": [{"required": [k]} for k in NOT_FOR_NOTE_TYPES]},
                },
                "else": {
                    "not": {"required": ["fields"]},
                    "if": {"properties": {"kind": {"const": "cloze"}}, "required": ["kind"]},
                    "then": {
                        "required": ["text"],
                        "not": {"anyOf": [{"required": ["front"]}, {"required": ["back"]}]},
                    },
                    "else": {"required": ["front", "back"], "not": {"required": ["text"]}},
                },
            },
            "note_type": _NOTE_TYPE,
        },
    }


def schema_json() -> str:
    """The schema as the text ``cardpress schema`` prints and ``schema/`` holds."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
