"""The project's settings file: found, applied to every command, overridden by flags, and
judged by the same options as the flags, with every mistake at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner, Result

from cardpress.cli import cli
from tests.conftest import FIXTURES, import_apkg, notes_by_guid


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the good deck in cards/, a subfolder to run from), current folder."""
    shutil.copytree(FIXTURES / "good", tmp_path / "cards")
    (tmp_path / "notes").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_settings_apply_from_a_parent_folder_with_paths_relative_to_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "cardpress.toml").write_text(
        'cards = "cards"\noutput = "out"\npaper = "Letter"\nduplex = "none"\n'
        'outputs = ["apkg", "sheet"]\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(project / "notes")

    result = run("build")

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (project / "out").iterdir()) == [
        ".cardpress.outputs.json",  # what cardpress wrote there (housekeeping.py)
        "history.apkg",
        "history.sheet.html",
    ]
    assert "(Letter" in result.stdout and "../out/history.apkg" in result.stdout
    assert "size: letter;" in (project / "out" / "history.sheet.html").read_text(encoding="utf-8")
    # --check uses the settings: what the build wrote is current.
    assert run("build", "--check").exit_code == 0


def test_a_flag_overrides_its_setting_and_check_says_which_command_brings_it_up_to_date(
    project: Path,
) -> None:
    (project / "cardpress.toml").write_text('paper = "letter"\n', encoding="utf-8")
    assert run("build").exit_code == 0

    result = run("build", "--check", "--paper", "A4", "--duplex", "short")

    assert result.exit_code == 1
    assert (
        "dist/history.cards.html: not current (run: cardpress build --paper a4 --duplex short)"
        in (result.stderr)
    )
    # The settings alone: current, and the command to run is plain `cardpress build`.
    assert run("build", "--check").exit_code == 0


def test_pyproject_table_is_used_and_a_pyproject_without_one_is_passed_over(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.cardpress]\noutput = "site"\n', encoding="utf-8"
    )
    inner = project / "notes"
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n', encoding="utf-8")
    monkeypatch.chdir(inner)

    result = run("build", "../cards", "--only", "csv")

    assert result.exit_code == 0, result.output
    assert (project / "site" / "history.csv").is_file()
    # cardpress.toml comes first in a folder that has both.
    (project / "cardpress.toml").write_text('output = "first"\n', encoding="utf-8")
    assert run("build", "../cards", "--only", "csv").exit_code == 0
    assert (project / "first" / "history.csv").is_file()
    # --no-config: the defaults.
    assert run("--no-config", "build", "../cards", "--only", "csv").exit_code == 0
    assert (inner / "dist" / "history.csv").is_file()


def test_every_mistake_of_the_file_at_its_line_and_nothing_written(project: Path) -> None:
    (project / "cardpress.toml").write_text(
        "# settings\npaper = 'a4'\npapr = 'letter'\njobs = 'two'\nback-offset = [1]\n",
        encoding="utf-8",
    )

    result = run("build")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "cardpress.toml:3:1: error: unknown setting 'papr'; did you mean 'paper'?",
        "cardpress.toml:4:1: error: jobs must be a whole number",
        "cardpress.toml:5:1: error: back-offset must be [X, Y], two numbers of millimetres",
        "3 errors, 0 warnings",
    ]
    assert not (project / "dist").exists()


def test_a_value_its_option_rejects_is_an_error_at_its_line(project: Path) -> None:
    (project / "cardpress.toml").write_text(
        "[paths]\n\n# a table of its own is not ours\n", encoding="utf-8"
    )
    assert run("build").stderr.startswith("cardpress.toml:1:1: error: unknown setting 'paths'")

    (project / "cardpress.toml").write_text('duplex = "none"\noutputs = "apkg,zip"\n')
    built = run("build")
    assert built.exit_code == 1
    assert built.stderr.splitlines()[0] == (
        "cardpress.toml:2:1: error: outputs: 'zip': choose from apkg, csv, cards, sheet, pdf"
    )
    # The calibration page has no "none": the same setting, judged by calibrate's option.
    calibrated = run("calibrate")
    assert calibrated.stderr.splitlines()[0] == (
        "cardpress.toml:1:1: error: duplex: 'none' is not one of 'long', 'short' "
        "(for cardpress calibrate)"
    )
    # A flag given: the setting does not matter.
    assert run("calibrate", "--duplex", "long").exit_code == 0
    assert not (project / "dist" / "history.apkg").exists()


def test_a_toml_syntax_error_is_located(project: Path) -> None:
    (project / "cardpress.toml").write_text('paper = "a4"\nduplex = long\n', encoding="utf-8")

    result = run("check")

    assert result.exit_code == 1
    assert result.stderr.startswith("cardpress.toml:2:10: error: TOML syntax error: Invalid value")


def test_lock_folder_keeps_the_card_folder_untouched_and_check_reads_it(
    project: Path, collection: Collection
) -> None:
    (project / "cardpress.toml").write_text('lock-folder = "locks"\n', encoding="utf-8")
    before = sorted(p.name for p in (project / "cards").iterdir())

    result = run("build")

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (project / "cards").iterdir()) == before
    assert (project / "locks" / "history.lock.json").is_file()
    # The lock there is the one the changes are judged against: a moved card is reported.
    deck = project / "cards" / "history.yaml"
    text = deck.read_text(encoding="utf-8")
    moved = text.replace("topic: people", "topic: places", 1)
    assert moved != text
    deck.write_text(moved, encoding="utf-8")
    checked = run("check")
    assert checked.exit_code == 0 and "moved from deck" in checked.stderr
    # ... and the package it makes is the same notes in Anki.
    import_apkg(collection, project / "dist" / "history.apkg")
    assert len(notes_by_guid(collection)) == 8


def test_a_build_elsewhere_says_it_updated_the_lock(project: Path) -> None:
    assert run("build").exit_code == 0
    deck = project / "cards" / "history.yaml"
    deck.write_text(
        deck.read_text(encoding="utf-8").replace("Year Lenin died", "Year in which Lenin died", 1),
        encoding="utf-8",
    )

    result = run("build", "-o", "preview")

    assert result.exit_code == 0, result.output
    assert (
        "cards/history.lock.json: note: updated by this build into preview, not dist "
        "(--lock-folder keeps the locks of such builds elsewhere)"
    ) in result.stderr
    # Into the usual folder: nothing to say.
    deck.write_text(
        deck.read_text(encoding="utf-8").replace("Year in which Lenin died", "Year Lenin died", 1),
        encoding="utf-8",
    )
    assert "note: updated" not in run("build").stderr
