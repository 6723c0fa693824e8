"""The published JSON Schema: current, valid, and in agreement with the loader."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from cardpress.cli import cli
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
