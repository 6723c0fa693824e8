"""The command line: output, exit codes, and a failed build that changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardpress import __version__
from cardpress.cli import cli
from cardpress.config import read as read_config
from cardpress.housekeeping import RECORD
from tests.conftest import FIXTURES, REPO, edit, snapshot


def test_build_prints_one_line_per_file(good_deck: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(good_deck.parent), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"{out / 'history.apkg'}: 8 notes, 11 cards, 4 decks, 2 media files" in lines
    assert f"{good_deck.with_name('history.lock.json')}: 8 cards" in lines
    assert len(lines) == len([p for p in out.iterdir()]) + 1  # + the lock file
    again = CliRunner().invoke(cli, ["build", str(good_deck.parent), "-o", str(out)])
    assert all(line.endswith("(unchanged)") for line in again.stdout.splitlines())


def test_build_check_reports_stale_outputs(good_deck: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    stale = runner.invoke(cli, ["build", "--check", str(good_deck), "-o", str(out)])
    assert stale.exit_code == 1
    again = f"cardpress build --output {out} {good_deck}"  # what was asked for, without --check
    assert f"{out / 'history.apkg'}: not current (run: {again})" in stale.stderr
    assert not out.exists()
    runner.invoke(cli, ["build", str(good_deck), "-o", str(out)])
    fresh = runner.invoke(cli, ["build", "--check", str(good_deck), "-o", str(out)])
    assert fresh.exit_code == 0 and fresh.stdout.startswith("all ")


def test_failed_build_leaves_output_folder_as_it_was(good_deck: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(good_deck), "-o", str(out)]).exit_code == 0
    before = snapshot(out)
    broken = good_deck.with_name("broken.yaml")
    shutil.copy(FIXTURES / "bad" / "several-mistakes.yaml", broken)
    good_deck.write_text(
        good_deck.read_text(encoding="utf-8").replace("Mercader", "Merc"), encoding="utf-8"
    )

    result = runner.invoke(cli, ["build", str(good_deck.parent), "-o", str(out)])

    assert result.exit_code == 1
    # The mistakes of broken.yaml; its id "expelled", which history.yaml has too, is none:
    # card ids need be unique within a deck only.
    assert result.stderr.endswith("5 errors, 0 warnings\n")
    assert snapshot(out) == before


def test_failure_while_writing_leaves_no_trace(
    good_deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(good_deck), "-o", str(out)]).exit_code == 0
    before = snapshot(out)
    good_deck.write_text(
        good_deck.read_text(encoding="utf-8").replace("Mercader", "Merc"), encoding="utf-8"
    )
    real_replace = os.replace
    calls = []

    def failing_replace(src: str | Path, dst: str | Path) -> None:
        calls.append(dst)
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", failing_replace)
    result = runner.invoke(cli, ["build", str(good_deck), "-o", str(out)])
    monkeypatch.setattr(os, "replace", real_replace)

    assert result.exit_code == 1 and calls
    assert "cannot write: No space left on device" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(out) == before  # no temporary files left either


def test_usage_errors_exit_2() -> None:
    result = CliRunner().invoke(cli, ["build", "--no-such-option"])
    assert result.exit_code == 2
    assert "No such option '--no-such-option'" in result.stderr


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).stdout == f"cardpress, version {__version__}\n"
    for command in ("build", "check", "schema"):
        help_text = runner.invoke(cli, [command, "--help"]).stdout
        assert "Example:" in help_text


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cardpress", "check", str(FIXTURES / "good")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "1 deck, 8 cards: OK\n", "")


def test_unreadable_input_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "cards.yaml"
    folder.mkdir()
    (folder / "inner.yaml").write_bytes(b"\x00\x01binary\xff")
    result = CliRunner().invoke(cli, ["check", str(folder)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "error:" in result.stderr


def test_strict_build_fails_on_export_warnings_and_writes_nothing(
    good_deck: Path, tmp_path: Path
) -> None:
    """A writer's warning (text too long for a printed card) fails --strict; what an output
    cannot carry by design (images in a CSV) is a note, which never does."""
    out = tmp_path / "out"
    fine = CliRunner().invoke(cli, ["build", "--strict", str(good_deck), "-o", str(out)])
    assert fine.exit_code == 0, fine.output
    assert "note: this deck has 2 images; images cannot travel in a CSV" in fine.stderr
    edit(good_deck, "back: Mercader\n", "back: Mercader\n    extra: " + "and so on " * 150 + "\n")
    before = snapshot(out, good_deck.parent)

    result = CliRunner().invoke(cli, ["build", "--strict", str(good_deck), "-o", str(out)])

    assert result.exit_code == 1
    assert "error: card 'assassin': the answer of printed card" in result.stderr
    assert snapshot(out, good_deck.parent) == before


def test_only_writes_the_outputs_asked_for_and_the_lock(good_deck: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["build", str(good_deck), "-o", str(out), "--only", "apkg,Sheet"]
    )

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [RECORD, "history.apkg", "history.sheet.html"]
    assert good_deck.with_name("history.lock.json").is_file()
    assert "images cannot travel in a CSV" not in result.stderr  # no CSV, nothing to say
    check = CliRunner().invoke(
        cli, ["build", "--check", str(good_deck), "-o", str(out), "--only", "apkg,sheet"]
    )
    assert check.exit_code == 0 and "all 4 outputs are current" in check.stdout  # and the record
    bad = CliRunner().invoke(cli, ["build", str(good_deck), "--only", "apkg,deck"])
    assert bad.exit_code == 2 and "'deck': choose from apkg, csv, cards, sheet, pdf" in bad.output


def test_the_cli_offers_exactly_the_exporters_choices() -> None:
    from cardpress import cli as cli_module
    from cardpress.export import csv as csv_export
    from cardpress.export import printable

    assert cli_module.CSV_DIALECTS == csv_export.DIALECTS
    assert tuple(printable.PAPERS) == cli_module.PAPERS
    assert cli_module.DUPLEX_MODES == printable.DUPLEX_MODES


def test_check_does_not_import_the_exporters() -> None:
    code = (
        "import sys; from cardpress.cli import main\n"
        "try:\n    main(['check', 'cards'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('genanki', 'jinja2', 'sqlite3', 'cardpress.export.apkg')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _build_with_stderr_on_a_terminal(deck: Path, out: Path) -> tuple[int, str]:
    """Run `cardpress build` with standard error on a pseudo-terminal; returns what it showed."""
    import pty

    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cardpress", "build", str(deck), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=child,
    )
    os.close(child)
    shown = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the terminal closed: the build is over
            break
        if not data:
            break
        shown += data
    os.close(main)
    return process.wait(), shown.decode("utf-8", "replace")


def _big_deck(folder: Path) -> Path:
    from tests.test_parallel import deck_text

    deck = folder / "big.yaml"
    deck.write_text(deck_text(12000), encoding="utf-8")
    assert deck.stat().st_size >= 1 << 20  # PROGRESS_MIN_BYTES
    return deck


@pytest.mark.slow
def test_a_long_build_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    code, shown = _build_with_stderr_on_a_terminal(_big_deck(tmp_path), tmp_path / "out")
    assert code == 0
    assert "cardpress build" in shown
    assert "writing big.apkg" in shown
    assert "100%" in shown


@pytest.mark.slow
def test_no_progress_bar_in_a_pipe_or_for_a_small_deck(tmp_path: Path, good_deck: Path) -> None:
    piped = subprocess.run(
        [sys.executable, "-m", "cardpress", "build", str(_big_deck(tmp_path)), "-o",
         str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    assert piped.stderr == ""
    assert "%" not in piped.stdout
    code, shown = _build_with_stderr_on_a_terminal(good_deck, tmp_path / "small")
    assert code == 0
    assert "note: this deck has 2 images" in shown  # standard error is shown...
    assert "cardpress build" not in shown and "%" not in shown  # ...but no bar


def test_option_values_are_taken_in_any_case(good_deck: Path, tmp_path: Path) -> None:
    """The output says "A4": --paper A4 is taken, as every choice is, whatever its case."""
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["build", str(good_deck), "-o", str(out), "--paper", "A4", "--duplex", "Short",
         "--csv-dialect", "PLAIN"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(A4, short-edge duplex)" in result.stdout
    assert (out / "history.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # the plain dialect


def test_a_first_run_without_cards_says_where_cards_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(cli, ["build"])

    assert result.exit_code == 1
    assert result.stderr.startswith("cards: error: no such file or folder: cardpress reads card ")
    assert "cardpress build my-deck.yaml" in result.stderr
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("portrait.png", "a PNG image"), ("deck.apkg", "a zip file"), ("notes.pdf", "a PDF")],
)
def test_a_file_that_is_no_card_file_is_named_for_what_it_is(
    tmp_path: Path, name: str, kind: str
) -> None:
    starts = {".png": b"\x89PNG\r\n\x1a\n", ".apkg": b"PK\x03\x04", ".pdf": b"%PDF-1.7\n"}
    path = tmp_path / name
    path.write_bytes(starts[path.suffix] + bytes(range(256)))

    result = CliRunner().invoke(cli, ["check", str(path)])

    assert result.exit_code == 1
    assert f"{path}:1:1: error: this is {kind}" in result.stderr
    assert "not a card file" in result.stderr and "UTF-8" not in result.stderr


def test_init_starts_a_folder_that_builds_clean_and_never_writes_over(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "my-cards"

    result = runner.invoke(cli, ["init", str(folder)])

    assert result.exit_code == 0, result.output
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "dist/"
    deck = folder / "cards" / "my-deck.yaml"
    schema = (folder / "schema" / "deck.schema.json").read_text(encoding="utf-8")
    assert deck.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=../schema/deck.schema.json\n"
    )
    assert schema == runner.invoke(cli, ["schema"]).stdout
    settings = read_config(folder / "cardpress.toml")  # read as every command reads it
    assert settings.values["paper"] == "a4" and str(settings.values["out_dir"]).endswith("dist")
    built = runner.invoke(
        cli, ["build", "--strict", str(folder / "cards"), "-o", str(folder / "dist")]
    )
    assert built.exit_code == 0, built.output
    assert built.stderr == ""  # not a warning, not a note
    kinds = {"basic", "reversed", "cloze", "type"}
    assert all(f"kind: {k}" in deck.read_text(encoding="utf-8") for k in kinds - {"basic"})

    deck.write_text("key: mine\n", encoding="utf-8")  # the user's work since
    again = runner.invoke(cli, ["init", str(folder)])
    assert again.exit_code == 1
    assert f"{deck}: error: there already; init writes nothing over" in again.stderr
    assert deck.read_text(encoding="utf-8") == "key: mine\n"


@pytest.mark.parametrize(
    ("name", "pushes"),
    [("cards/deck.yaml", True), ("cards/img/map.PNG", True), ("cards/audio/clip.mp3", True),
     ("cards/clip.opus", True), ("cards/.deck.yaml.swp", False), ("cards/.clip.mp3", False),
     ("cards/notes.txt", False)],
)  # fmt: skip
def test_watch_pushes_again_for_card_files_images_and_sound_files(name: str, pushes: bool) -> None:
    from cardpress.cli import watched

    assert watched(name) is pushes
