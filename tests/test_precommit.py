"""The pre-commit hook: a manifest pre-commit itself accepts, whose command checks a deck."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pre_commit.clientlib import load_manifest

from cardpress.cli import cli
from tests.conftest import FIXTURES, REPO


def test_the_hook_manifest_is_valid_and_runs_cardpress_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (hook,) = load_manifest(str(REPO / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "cardpress-check" and hook["language"] == "python"
    command, *args = shlex.split(hook["entry"])
    assert command == "cardpress"  # the console script pyproject.toml installs
    assert not hook["pass_filenames"]  # the decks as a whole, from the project's folder

    cards = tmp_path / "cards"
    shutil.copytree(FIXTURES / "good", cards)
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)  # pre-commit runs hooks from the repository's top
    assert runner.invoke(cli, [*args, *hook["args"]]).exit_code == 0
    shutil.copy(FIXTURES / "bad" / "several-mistakes.yaml", cards / "broken.yaml")
    failed = runner.invoke(cli, [*args, *hook["args"]])
    assert failed.exit_code == 1 and "cards/broken.yaml:" in failed.stderr
