"""Outputs and locks whose card file is gone: reported, and removed by --clean only where
cardpress recorded them as its own (never another file, never a lock that lists cards)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardpress.cli import cli
from cardpress.housekeeping import RECORD
from tests.conftest import FIXTURES


@pytest.fixture
def two_decks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cards/history.yaml and cards/second.yaml (another deck), built into dist/."""
    cards = tmp_path / "cards"
    shutil.copytree(FIXTURES / "good", cards)
    text = (cards / "history.yaml").read_text(encoding="utf-8")
    second = text.replace("key: test-history", "key: second").replace(
        "name: Test History", "name: Second"
    )
    (cards / "second.yaml").write_text(second, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run("build").exit_code == 0
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_the_record_names_each_output_with_its_card_file(two_decks: Path) -> None:
    record = json.loads((two_decks / "dist" / RECORD).read_text(encoding="utf-8"))

    assert record["outputs"] == {
        f"{stem}.{kind}": f"../cards/{stem}.yaml"
        for stem in ("history", "second")
        for kind in ("apkg", "csv", "cards.html", "sheet.html")
    }
    # A build of one deck keeps the other's entries.
    assert run("build", "cards/history.yaml").exit_code == 0
    again = json.loads((two_decks / "dist" / RECORD).read_text(encoding="utf-8"))
    assert again == record


def test_outputs_of_a_deleted_card_file_fail_check_and_clean_removes_only_them(
    two_decks: Path,
) -> None:
    dist = two_decks / "dist"
    (dist / "notes.txt").write_text("mine", encoding="utf-8")  # the user's own file
    (two_decks / "cards" / "second.yaml").unlink()

    checked = run("build", "--check")

    assert checked.exit_code == 1
    assert (
        "dist/second.apkg: error: its card file cards/second.yaml is gone; build --clean removes it"
    ) in checked.stderr.splitlines()
    # A plain build says so and removes nothing.
    built = run("build")
    assert built.exit_code == 0
    assert (
        "dist/second.csv: note: its card file cards/second.yaml is gone; build --clean "
        "removes it" in built.stderr
    )
    assert (dist / "second.csv").exists()

    cleaned = run("build", "--clean")

    assert cleaned.exit_code == 0, cleaned.output
    removed = [line for line in cleaned.stdout.splitlines() if "removed" in line]
    assert removed == [
        f"dist/second.{kind}: removed (its card file cards/second.yaml is gone)"
        for kind in ("apkg", "cards.html", "csv", "sheet.html")  # sorted by name
    ]
    assert sorted(p.name for p in dist.iterdir()) == [
        RECORD,
        "history.apkg",
        "history.cards.html",
        "history.csv",
        "history.sheet.html",
        "notes.txt",
    ]
    assert run("build", "--check").exit_code == 0


def test_a_lock_of_a_deleted_card_file_is_kept_while_it_lists_cards(two_decks: Path) -> None:
    cards = two_decks / "cards"
    (cards / "second.yaml").unlink()

    cleaned = run("build", "--clean")

    assert cleaned.exit_code == 0
    assert (cards / "second.lock.json").exists()
    assert (
        "cards/second.lock.json: note: its card file cards/second.yaml is gone, and it lists "
        "8 cards whose notes Anki may still have: keep it while the deck is in Anki (a card "
        "file of this name picks it up again), or delete it"
    ) in cleaned.stderr
    # A lock that lists no card holds nothing to keep: --clean removes it.
    lock = json.loads((cards / "second.lock.json").read_text(encoding="utf-8"))
    lock["cards"] = {}
    (cards / "second.lock.json").write_text(json.dumps(lock), encoding="utf-8")
    assert "cards/second.lock.json: removed" in run("build", "--clean").stdout
    assert not (cards / "second.lock.json").exists()


def test_an_unrecorded_file_is_never_removed_even_with_an_output_name(two_decks: Path) -> None:
    dist = two_decks / "dist"
    (dist / "third.apkg").write_bytes(b"not ours")  # named like an output, but not recorded

    cleaned = run("build", "--clean")

    assert cleaned.exit_code == 0 and "third" not in cleaned.output
    assert (dist / "third.apkg").read_bytes() == b"not ours"
    # A record that names a file outside the folder is not followed.
    record = json.loads((dist / RECORD).read_text(encoding="utf-8"))
    record["outputs"]["../cards/history.yaml"] = "../cards/gone.yaml"
    (dist / RECORD).write_text(json.dumps(record), encoding="utf-8")
    assert run("build", "--clean").exit_code == 0
    assert (two_decks / "cards" / "history.yaml").exists()
