"""Diagnostics for machines: JSON for editors and scripts, annotations for GitHub Actions.

The text form (``file:line:col: severity: message``) is ``str(Diagnostic)``; these are the
same diagnostics, field for field, in the shapes ``--format json`` and ``--format github``
print.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cardpress.errors import Diagnostic, Severity

FORMATS = ("text", "json", "github")
JSON_VERSION = 1  # of the document --format json prints: fields are only ever added

# GitHub's workflow commands: ::error, ::warning and ::notice.
_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def as_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    """One diagnostic as a JSON object; ``line`` and ``column`` are 1-based, or null."""
    loc = diagnostic.location
    return {
        "file": loc.path,
        "line": loc.line or None,
        "column": loc.col or None,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
    }


def document(diagnostics: Iterable[Diagnostic], ok: bool, **fields: object) -> str:
    """The one JSON document a command prints: whether it succeeded, its diagnostics with
    their counts, and what else it has to say (outputs, decks and cards)."""
    found = [as_dict(d) for d in diagnostics]
    counts = {s.value + "s": sum(1 for d in found if d["severity"] == s.value) for s in Severity}
    doc: dict[str, object] = {"version": JSON_VERSION, "ok": ok, **counts, **fields}
    doc["diagnostics"] = found
    return json.dumps(doc, indent=2, ensure_ascii=False)


def annotation(diagnostic: Diagnostic) -> str:
    """A GitHub Actions workflow command that shows the diagnostic on the file's line in a
    pull request (``::error file=F,line=L,col=C,title=cardpress::MESSAGE``)."""
    loc = diagnostic.location
    props: Mapping[str, object] = {
        "file": loc.path,
        **({"line": loc.line} if loc.line else {}),
        **({"col": loc.col} if loc.col else {}),
        "title": "cardpress",
    }
    joined = ",".join(f"{k}={_escape(str(v), property=True)}" for k, v in props.items())
    return f"::{_COMMANDS[diagnostic.severity]} {joined}::{_escape(diagnostic.message)}"


def _escape(text: str, *, property: bool = False) -> str:
    """Escaped as the runner unescapes a command's data (and a property's value)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text
