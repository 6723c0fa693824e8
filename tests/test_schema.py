"""The published JSON Schema: current, valid, and in agreement with the loader."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from cardpress.cli import cli
from cardpress.errors import InputError
from cardpress.loader import load
from cardpress.schema import schema, schema_json
from tests.conftest import FIXTURES, REPO

COMMITTED = REPO / "schema" / "deck.schema.json"


def test_committed_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_json(), (
        "schema/deck.schema.json is stale: run `cardpress schema > schema/deck.schema.json`"
    )


def test_schema_command_prints_it() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0 and json.loads(result.stdout) == schema()


def test_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize(
    "deck_file",
    [FIXTURES / "good" / "history.yaml", *sorted((REPO / "cards").glob("*.yaml"))],
    ids=lambda p: p.name,
)
def test_loadable_decks_validate(deck_file: Path) -> None:
    data = yaml.safe_load(deck_file.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema())


@pytest.mark.parametrize(
    "case",
    ["unknown-key", "missing-required", "wrong-types", "cloze-problems", "unknown-topic-kind"],
)
def test_schema_flags_what_the_loader_rejects(case: str) -> None:
    data = yaml.safe_load((FIXTURES / "bad" / f"{case}.yaml").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema())
    assert list(validator.iter_errors(data)), f"schema accepts {case}.yaml"


def _as_json(value: object) -> object:
    """What a YAML tool hands a JSON Schema validator: dates as the text they were."""
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _accepted_card_files() -> list[Path]:
    """Every card file among the fixtures (and the example deck) that the loader accepts."""
    found = []
    for path in sorted([*FIXTURES.rglob("*.yaml"), *(REPO / "cards").glob("*.yaml")]):
        try:
            load([path])
        except InputError:
            continue
        found.append(path)
    return found


@pytest.mark.parametrize(
    "deck_file", _accepted_card_files(), ids=lambda p: p.parent.name + "/" + p.name
)
def test_every_card_file_the_loader_accepts_is_valid(deck_file: Path) -> None:
    data = _as_json(yaml.safe_load(deck_file.read_text(encoding="utf-8")))
    jsonschema.validate(data, schema())


# Scalars as a user types them: YAML 1.1 (PyYAML, the loader) reads some as booleans, numbers,
# dates or null; the loader takes every one but null and blank as the text written.
SCALARS = ["no", "yes", "On", "true", "FALSE", "1924", "1.5", "0x1F", "-3", "2024-01-01",
           "1e3", "null", "~", "''", "'  '", "word", "two words"]  # fmt: skip


@pytest.mark.parametrize("where", ["back", "front", "extra", "source", "id", "topic-title",
                                   "tags", "tag", "subdecks", "leak_check"])  # fmt: skip
@pytest.mark.parametrize("value", SCALARS)
def test_schema_accepts_every_value_the_loader_accepts(
    where: str, value: str, tmp_path: Path
) -> None:
    """Never a false error in an editor: each scalar, in each place, is valid for the schema
    when the loader takes it, however a YAML tool reads it (1.1 here, as the loader)."""
    card = {"back": "b", "front": "q", "topic": "t"}
    deck = {"key": "d", "name": "D", "topics": {"t": "T"}}
    text = {"back": "back", "front": "front", "extra": "extra", "source": "source"}
    lines = [f"{k}: {v}" for k, v in deck.items() if k != "topics"]
    lines += ["topics:", f"  t: {value if where == 'topic-title' else 'T'}"]
    if where == "subdecks":
        lines.append(f"subdecks: {value}")
    lines.append("cards:")
    lines.append(f"  - id: {value if where == 'id' else 'a'}")
    for key, default in card.items():
        lines.append(f"    {key}: {value if text.get(where) == key else default}")
    if where in text and where not in card:
        lines.append(f"    {where}: {value}")
    if where == "tags":
        lines.append(f"    tags: {value}")
    if where == "tag":
        lines.append(f"    tags: [{value}]")
    if where == "leak_check":
        lines.append(f"    leak_check: {value}")
    path = tmp_path / "d.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load([path])
    except InputError:
        return  # the loader says what is wrong; the schema may or may not see it
    data = _as_json(yaml.safe_load(path.read_text(encoding="utf-8")))
    jsonschema.validate(data, schema())
