"""The lock file: read strictly, written only by a build that succeeds, its fix always named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardpress.cli import cli
from tests.conftest import snapshot

START_AFRESH = (
    "deleting the file starts afresh: every card then gets a new time, and the next import "
    "updates every note (review history is kept)"
)
BAD_ENTRY = (
    "the entry of card 'assassin' is not a fingerprint (20 hex digits) and an mtime "
    "(whole seconds from 0 to 253402300799), with its note type and deck (format 2)"
)


def _entry(lock: dict[str, object], **changes: object) -> dict[str, object]:
    cards: dict[str, dict[str, object]] = lock["cards"]  # type: ignore[assignment]
    cards["assassin"].update(changes)
    return lock


def _conflicted(text: str) -> str:
    lines = text.splitlines(keepends=True)
    ours, theirs = lines[3:5], lines[5]
    conflict = ["<<<<<<< HEAD\n", *ours, "=======\n", theirs, ">>>>>>> theirs\n"]
    return "".join([*lines[:3], *conflict, *lines[6:]])


# name -> (how the lock is spoiled, the message after "cannot read lock file: ")
SPOILED: dict[str, tuple[Callable[[str], str], str]] = {
    "merge conflict": (
        _conflicted,
        "it holds merge-conflict markers; take either side, or delete the file: either is "
        "safe (a card edited since gets a newer time than both)",
    ),
    "mtime true": (
        lambda text: json.dumps(_entry(json.loads(text), mtime=True)),
        f"{BAD_ENTRY}; {START_AFRESH}",
    ),
    "mtime too big": (
        lambda text: json.dumps(_entry(json.loads(text), mtime=10**20)),
        f"{BAD_ENTRY}; {START_AFRESH}",
    ),
    "mtime negative": (
        lambda text: json.dumps(_entry(json.loads(text), mtime=-1)),
        f"{BAD_ENTRY}; {START_AFRESH}",
    ),
    "not a fingerprint": (
        lambda text: json.dumps(_entry(json.loads(text), fingerprint="<script>")),
        f"{BAD_ENTRY}; {START_AFRESH}",
    ),
    "not json": (
        lambda text: text[:40],
        "it is not valid JSON (line 3, column 11: Unterminated string starting at); "
        + START_AFRESH,
    ),
    "a number too long": (
        lambda text: text.replace('"format": 2', '"format": ' + "9" * 5000),
        f"it is not a lock file cardpress can read; {START_AFRESH}",
    ),
    "another format": (
        lambda text: text.replace('"format": 2', '"format": 7'),
        f"it is not a cardpress lock file of format 1 or 2; {START_AFRESH}",
    ),
}


@pytest.mark.parametrize("case", sorted(SPOILED))
def test_a_lock_that_cannot_be_read_stops_the_build_and_says_how_to_go_on(
    good_deck: Path, tmp_path: Path, case: str
) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(good_deck), "-o", str(out)]).exit_code == 0
    lock = good_deck.with_name("history.lock.json")
    spoil, message = SPOILED[case]
    lock.write_text(spoil(lock.read_text(encoding="utf-8")), encoding="utf-8")
    before = snapshot(out, good_deck.parent)

    result = runner.invoke(cli, ["build", str(good_deck), "-o", str(out)])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"{lock}: error: cannot read lock file: {message}"
    assert "Traceback" not in result.output
    assert snapshot(out, good_deck.parent) == before


@pytest.mark.parametrize("value", ["-5", "1.5", "soon", "99999999999999999999", "+3"])
def test_source_date_epoch_must_be_a_time_cardpress_can_stamp(
    good_deck: Path, tmp_path: Path, value: str
) -> None:
    result = CliRunner(env={"SOURCE_DATE_EPOCH": value}).invoke(
        cli, ["build", str(good_deck), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "SOURCE_DATE_EPOCH: error: must be whole seconds since 1970, from 0 to 253402300799; "
        f"it is {value!r}"
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
