"""A deck's own note types (``note_types:``): judged once, before its cards.

A note type is Anki's: an id, a name, fields, card templates in Anki's template syntax and CSS,
standard (one card per template) or cloze (one card per deletion number). Anki takes a package's
note type for one it has when the id is the same and so is the *schema*, its fields and
templates matched by id (or by name where there is no id); the loader makes sure the schema is
one Anki accepts: at least one field, names Anki would not change (rslib ``NoteField::fix_name``
strips or replaces the others), each unique, templates that refer only to fields that exist and
never hold anything that runs (a script or an event handler: the templates of an imported note
type are kept as Anki has them, with a warning, by ``cardpress import``).
"""

from __future__ import annotations

import hashlib
import re

import yaml

from cardpress.format import MAX_NAME_CHARS, NOTE_TYPE_KEYS, TEMPLATE_KEYS
from cardpress.loader import values
from cardpress.loader.compose import describe
from cardpress.loader.values import Report
from cardpress.model import OwnNoteType, Template
from cardpress.notes import NOTE_TYPE_BY_ID
from cardpress.templates import (
    TemplateError,
    empty_replacement,
    field_references,
    parse,
    scripts_in,
)

_NOTE_TYPE_KEYS = values.Keys(NOTE_TYPE_KEYS)
_TEMPLATE_KEYS = values.Keys(TEMPLATE_KEYS)
_FIELD_KEYS = values.Keys({"name": True, "id": False})
# What Anki does not keep in a field name (rslib notetype/fields.rs fix_name): these characters
# anywhere, and '#', '/' and '^' at the start, where the template syntax reads them.
_BAD_FIELD_CHARS = re.compile(r'[:{}"]')
_BAD_FIELD_START = ("#", "/", "^")
# Anki's ids are signed 64-bit integers; a note type's is positive.
_MAX_ID = (1 << 63) - 1
_CLOZE_REPLACEMENT = re.compile(r"\{\{[^{}]*\bcloze:[^{}]*\}\}")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_CSS_END = re.compile(r"</\s*style", re.IGNORECASE)


def own_note_type_id(deck_key: str, name: str) -> int:
    """The id of a note type written without one: fixed by the deck key and its name, in the
    range of the millisecond times Anki gives its own (and below 2**53, which JavaScript, and
    so Anki's editor, holds exactly)."""
    digest = hashlib.sha256(f"cardpress\x1fnote type\x1f{deck_key}\x1f{name}".encode()).digest()
    return (1 << 41) + int.from_bytes(digest[:6], "big") % (1 << 51)


class NoteTypes(dict[str, OwnNoteType]):
    """A deck's own note types by name; ``broken`` names those that have an error (reported
    there: a card that names one is not reported again)."""

    broken: frozenset[str] = frozenset()


def read_note_types(node: yaml.Node, report: Report, deck_key: str | None) -> NoteTypes:
    """The deck's own note types by name (those without an error)."""
    found = NoteTypes()
    if not isinstance(node, yaml.SequenceNode):
        report.error(node, f"note_types must be a list of note types, not {describe(node)}")
        return found
    ids: dict[int, str] = {}
    broken: set[str] = set()
    for item in node.value:
        note_type = _note_type(item, report, deck_key or "")
        if note_type is None:
            broken.add(_written_name(item))
            continue
        folded = note_type.name.casefold()
        if any(name.casefold() == folded for name in found):
            report.error(item, f"note type {note_type.name!r} is defined twice")
        elif note_type.id in ids:
            report.error(item, f"note type id {note_type.id} is taken by {ids[note_type.id]!r}")
            broken.add(note_type.name)
        else:
            found[note_type.name] = note_type
            ids[note_type.id] = note_type.name
    found.broken = frozenset(broken)
    return found


def _written_name(node: yaml.Node) -> str:
    """The name a note type with an error spells, if any ("" else)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (
                isinstance(key, yaml.ScalarNode)
                and key.value == "name"
                and isinstance(value, yaml.ScalarNode)
            ):
                return str(value.value)
    return ""


def _note_type(node: yaml.Node, report: Report, deck_key: str) -> OwnNoteType | None:
    fields = values.mapping(report, node, _NOTE_TYPE_KEYS, "a note type")
    if fields is None or "name" not in fields:
        return None
    name = values.scalar(report, fields["name"][1], "note type name")
    if name is None:
        return None
    ok = _name_fits(name, fields["name"][1], report, "note type name")
    note_type_id = own_note_type_id(deck_key, name)
    if "id" in fields:
        found_id = _id(fields["id"][1], report, "note type id", positive=True)
        if found_id in NOTE_TYPE_BY_ID:
            report.error(fields["id"][1], f"note type id {found_id} is one of cardpress's own")
            found_id = None
        ok = ok and found_id is not None
        note_type_id = found_id or 0
    imported = False
    if "imported" in fields:
        imported = values.boolean(report, fields["imported"][1], "imported") is True
    cloze = False
    if "cloze" in fields:
        cloze = values.boolean(report, fields["cloze"][1], "cloze") is True
    names, ids = _fields(fields["fields"][1], report) if "fields" in fields else ((), ())
    templates: tuple[Template, ...] | None = ()
    if "templates" in fields:
        # Templates refer to fields: only to fields without an error (None: not judged), or
        # each use of a field whose definition is wrong would be reported again.
        known = names if names or "fields" not in fields else None
        templates = _templates(fields["templates"][1], report, known, cloze, imported)
    css = ""
    if "css" in fields:
        css = values.scalar(report, fields["css"][1], "note type css", required=False) or ""
        if _CSS_END.search(css):
            report.error(fields["css"][1], "note type css cannot hold '</style' (it would end it)")
            ok = False
    sort_field = 0
    if "sort_field" in fields and names:
        chosen = values.scalar(report, fields["sort_field"][1], "sort_field")
        if chosen is not None and chosen in names:
            sort_field = names.index(chosen)
        elif chosen is not None:
            report.error(
                fields["sort_field"][1],
                f"sort_field {chosen!r} is not a field of {name!r}"
                f"{values.did_you_mean(chosen, names)}",
            )
            ok = False
    if not ok or not names or templates is None or not templates:
        return None
    return OwnNoteType(
        name, note_type_id, cloze, names, ids, templates, css, sort_field, report.line(node)
    )


def _name_fits(name: str, node: yaml.Node, report: Report, what: str) -> bool:
    if name != name.strip():
        report.error(node, f"{what} {name!r} begins or ends with a space; Anki would trim it")
        return False
    if len(name) > MAX_NAME_CHARS:
        report.error(node, f"{what} is {len(name)} characters; the limit is {MAX_NAME_CHARS}")
        return False
    return True


def _id(node: yaml.Node, report: Report, what: str, *, positive: bool) -> int | None:
    """An Anki id: an integer (signed 64-bit; positive for a note type)."""
    text = str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""
    if _INTEGER.fullmatch(text):
        number = int(text)
        if (1 if positive else -_MAX_ID - 1) <= number <= _MAX_ID:
            return number
    sign = "a positive whole number" if positive else "a whole number"
    report.error(node, f"{what} must be {sign} of at most 64 bits, as Anki's ids are")
    return None


def _fields(node: yaml.Node, report: Report) -> tuple[tuple[str, ...], tuple[int | None, ...]]:
    """The note type's field names and Anki field ids; () when they have an error."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        report.error(node, "fields must be a list of at least one field name")
        return (), ()
    names: list[str] = []
    ids: list[int | None] = []
    ok = True
    for item in node.value:
        field_id: int | None = None
        if isinstance(item, yaml.MappingNode):
            keys = values.mapping(report, item, _FIELD_KEYS, "a field")
            if keys is None or "name" not in keys:
                ok = False
                continue
            name_node = keys["name"][1]
            if "id" in keys:
                field_id = _id(keys["id"][1], report, "field id", positive=False)
                ok = ok and field_id is not None
        else:
            name_node = item
        name = values.scalar(report, name_node, "field name")
        if name is None or not _field_name_fits(name, name_node, report):
            ok = False
            continue
        if any(name.casefold() == other.casefold() for other in names):
            report.error(name_node, f"field {name!r} is listed twice")
            ok = False
            continue
        names.append(name)
        ids.append(field_id)
    return (tuple(names), tuple(ids)) if ok else ((), ())


def _field_name_fits(name: str, node: yaml.Node, report: Report) -> bool:
    if not _name_fits(name, node, report, "field name"):
        return False
    bad = _BAD_FIELD_CHARS.search(name)
    if bad or name.startswith(_BAD_FIELD_START):
        what = repr(bad.group()) if bad else f"a leading {name[0]!r}"
        report.error(
            node,
            f"field name {name!r} holds {what}, which Anki's templates read as syntax "
            "(Anki would rename the field)",
        )
        return False
    return True


def _templates(
    node: yaml.Node, report: Report, fields: tuple[str, ...] | None, cloze: bool, imported: bool
) -> tuple[Template, ...] | None:
    """The note type's card templates, or None when one has an error (reported)."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        report.error(node, "templates must be a list of at least one card template")
        return None
    if cloze and len(node.value) != 1:
        report.error(node, "a cloze note type has exactly one template (its cards are numbers)")
        return None
    found: list[Template] = []
    ok = True
    for item in node.value:
        template = _template(item, report, fields, cloze, imported)
        if template is None:
            ok = False
        elif any(t.name.casefold() == template.name.casefold() for t in found):
            report.error(item, f"template {template.name!r} is listed twice")
            ok = False
        else:
            found.append(template)
    return tuple(found) if ok else None


def _template(
    node: yaml.Node, report: Report, fields: tuple[str, ...] | None, cloze: bool, imported: bool
) -> Template | None:
    keys = values.mapping(report, node, _TEMPLATE_KEYS, "a template")
    if keys is None or "name" not in keys:
        return None
    name = values.scalar(report, keys["name"][1], "template name")
    ok = name is not None and _name_fits(name, keys["name"][1], report, "template name")
    template_id = None
    if "id" in keys:
        template_id = _id(keys["id"][1], report, "template id", positive=False)
        ok = ok and template_id is not None
    sides: dict[str, str] = {}
    for side in ("front", "back", "browser_front", "browser_back"):
        if side not in keys:
            continue
        required = side == "front"
        text = values.scalar(report, keys[side][1], f"template {side}", required=required) or ""
        if not _template_text_fits(text, keys[side][1], report, side, fields, imported):
            ok = False
        sides[side] = text
    front = sides.get("front", "")
    if ok and front and not _asks_a_field(front, cloze):
        what = "{{cloze:FIELD}}" if cloze else "a field"
        report.error(keys["front"][1], f"template front uses no {what}, so it makes no card")
        ok = False
    if not ok or name is None or "front" not in sides:
        return None
    return Template(
        name, front, sides.get("back", ""), template_id,
        sides.get("browser_front", ""), sides.get("browser_back", ""),
    )  # fmt: skip


def _template_text_fits(
    text: str,
    node: yaml.Node,
    report: Report,
    side: str,
    fields: tuple[str, ...] | None,
    imported: bool,
) -> bool:
    """Whether a template side parses, refers only to the note type's fields and holds
    nothing that runs (each problem reported where it is). A note type ``imported`` from Anki
    keeps what runs, as Anki has it: a warning, not an error."""
    try:
        empty = empty_replacement(parse(text))
    except TemplateError as exc:
        report.error(node, f"template {side}: {exc}")
        return False
    if empty is not None:  # Anki would fail every card
        report.error(node, f"template {side}: {empty}")
        return False
    ok = True
    known = set(fields or ())
    for name in dict.fromkeys(name for name, _ in field_references(text)):
        if fields is not None and name not in known:
            report.error(
                node,
                f"template {side} refers to field {name!r}, which the note type does not have"
                f"{values.did_you_mean(name, known)}",
            )
            ok = False
    for script in scripts_in(text):
        if imported:
            report.warn(
                node,
                f"template {side} holds {script}; it is kept as Anki has it (the package "
                "carries it, Anki runs it; the printed pages never do): read it before you "
                "share the deck",
            )
            continue
        report.error(
            node,
            f"template {side} holds {script}; templates cannot run scripts (cardpress "
            "never writes one into a package, a CSV or a page)",
        )
        ok = False
    return ok


def _asks_a_field(front: str, cloze: bool) -> bool:
    """Whether a template's front uses a field (a cloze's: through ``cloze:``), as Anki asks
    of every template before it saves a note type."""
    if cloze:
        return _CLOZE_REPLACEMENT.search(front) is not None
    return bool(field_references(front))
