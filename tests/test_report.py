"""--format json and --format github: the same diagnostics as the text, field for field."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from cardpress.cli import cli
from cardpress.errors import Diagnostic, Severity
from cardpress.model import Location
from cardpress.report import annotation
from tests.conftest import FIXTURES


def _bad_folder(tmp_path: Path) -> Path:
    cards = tmp_path / "cards"
    shutil.copytree(FIXTURES / "good", cards)
    shutil.copy(FIXTURES / "bad" / "several-mistakes.yaml", cards / "broken.yaml")
    return cards


def _text_diagnostics(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.match(r".+:\d+:\d+: \w+: ", line)]


def test_json_holds_every_diagnostic_the_text_shows(tmp_path: Path) -> None:
    cards = _bad_folder(tmp_path)
    runner = CliRunner()
    text = runner.invoke(cli, ["check", str(cards)])

    result = runner.invoke(cli, ["check", "--format", "json", str(cards)])

    assert result.exit_code == text.exit_code == 1
    assert result.stderr == ""  # one document, on standard output, and nothing else
    doc = json.loads(result.stdout)
    assert doc["version"] == 1 and doc["ok"] is False
    found = [
        f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}: {d['message']}"
        for d in doc["diagnostics"]
    ]
    assert found == _text_diagnostics(text.stderr)
    assert doc["errors"] == sum(d["severity"] == "error" for d in doc["diagnostics"]) > 0


def test_json_of_a_clean_check_and_of_a_build(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    shutil.copytree(FIXTURES / "good", cards)
    runner = CliRunner()

    checked = json.loads(runner.invoke(cli, ["check", "--format", "json", str(cards)]).stdout)
    assert (checked["ok"], checked["decks"], checked["cards"], checked["errors"]) == (
        True,
        1,
        8,
        0,
    )

    out = tmp_path / "out"
    built = runner.invoke(cli, ["build", "--format", "json", str(cards), "-o", str(out)])
    assert built.exit_code == 0, built.output
    doc = json.loads(built.stdout)
    assert {Path(o["path"]).name for o in doc["outputs"]} == {
        *(p.name for p in out.iterdir()),  # and the record of them
        "history.lock.json",
    }
    # The CSV's note (images cannot travel) is there, as a note.
    assert [d["severity"] for d in doc["diagnostics"]] == ["note"]

    stale = runner.invoke(
        cli, ["build", "--check", "--format", "json", str(cards), "-o", str(tmp_path / "new")]
    )
    assert stale.exit_code == 1
    doc = json.loads(stale.stdout)
    assert (
        doc["ok"] is False and doc["errors"] == 5
    )  # 4 outputs and their record; the lock is current
    assert all(
        "not current (run: cardpress build --output" in d["message"]
        for d in doc["diagnostics"]
        if d["severity"] == "error"
    )


def test_github_annotations_one_per_diagnostic_on_standard_output(tmp_path: Path) -> None:
    cards = _bad_folder(tmp_path)
    runner = CliRunner()
    text = _text_diagnostics(runner.invoke(cli, ["check", str(cards)]).stderr)

    result = runner.invoke(cli, ["check", "--format", "github", str(cards)])

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(text)
    for line, plain in zip(lines, text, strict=True):
        where, severity, message = re.fullmatch(r"(.+:\d+:\d+): (\w+): (.*)", plain).groups()  # type: ignore[union-attr]
        path, row, col = where.rsplit(":", 2)
        command = {"error": "error", "warning": "warning", "note": "notice"}[severity]
        assert line == (f"::{command} file={path},line={row},col={col},title=cardpress::{message}")


def test_github_escapes_what_would_end_a_property_or_the_command() -> None:
    found = Diagnostic(Location("cards/a,b:c.yaml", 3, 7), Severity.WARNING, "50% done\nnext: line")

    line = annotation(found)

    assert line == (
        "::warning file=cards/a%2Cb%3Ac.yaml,line=3,col=7,title=cardpress::50%25 done%0Anext: line"
    )
    # Unescaped as the runner does it, every value comes back.
    props, message = line.removeprefix("::warning ").split("::", 1)
    values = dict(part.split("=", 1) for part in props.split(","))

    def unescape(text: str) -> str:
        for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
            text = text.replace(code, char)
        return text

    assert unescape(values["file"]) == "cards/a,b:c.yaml"
    assert unescape(message) == "50% done\nnext: line"
