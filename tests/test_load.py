"""The loader: every bad-input fixture pinned to its exact diagnostics."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cardpress import InputError, Kind, check, load, load_deck
from cardpress.cli import cli
from cardpress.format import CONTROL
from cardpress.loader import load_bytes
from tests.conftest import FIXTURES, examples

BAD = FIXTURES / "bad"
BAD_CASES = sorted(p.stem for p in BAD.glob("*.expected"))


def test_every_bad_fixture_has_expected_output() -> None:
    inputs = {p.stem if p.is_file() else p.name for p in BAD.iterdir() if p.suffix != ".expected"}
    assert inputs == set(BAD_CASES)


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_reported_exactly(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    target = case if (BAD / case).is_dir() else f"{case}.yaml"

    result = CliRunner().invoke(cli, ["check", target])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (BAD / f"{case}.expected").read_text(encoding="utf-8")
    assert "Traceback" not in result.output


def test_all_problems_of_all_files_come_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    with pytest.raises(InputError) as raised:
        load(["several-mistakes.yaml", "unknown-key.yaml", "duplicate-id-across-files"])
    paths = [d.location.path for d in raised.value.diagnostics]
    assert len(raised.value.diagnostics) == 5 + 2 + 1
    assert paths == sorted(paths)
    lines = [d.location.line for d in raised.value.diagnostics if d.location.path == paths[0]]
    assert lines == sorted(lines)


def test_warnings_pass_and_strict_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    runner = CliRunner()
    relaxed = runner.invoke(cli, ["check", "warn/warnings.yaml"])
    strict = runner.invoke(cli, ["check", "--strict", "warn/warnings.yaml"])
    expected = [
        "warn/warnings.yaml:5:5: {}: card has no id; it gets a new identity in Anki whenever its "
        "text changes (add a stable 'id')",
        "warn/warnings.yaml:10:5: {}: card 'second' asks the same question as card 'first' "
        "(line 7)",
        "warn/warnings.yaml:15:11: {}: answer is 359 characters long; answers over 300 are hard "
        "to recall (split the card)",
    ]
    assert relaxed.exit_code == 0
    assert relaxed.stderr.splitlines() == [e.format("warning") for e in expected]
    assert relaxed.stdout == "1 deck, 4 cards: OK (3 warnings)\n"
    assert strict.exit_code == 1
    assert strict.stderr.splitlines() == [e.format("error") for e in expected] + [
        "3 errors, 0 warnings"
    ]


def test_good_deck_loads_into_typed_cards(good_deck: Path) -> None:
    deck = load_deck(good_deck)
    assert deck.key == "test-history" and deck.name == "Test History"
    assert [c.kind for c in deck.cards][:3] == [Kind.REVERSED, Kind.CLOZE, Kind.TYPE]
    lenin = deck.cards[0]
    assert (lenin.front, lenin.back, lenin.topic, lenin.topic_title) == (
        "Year Lenin died",
        "1924",
        "dates",
        "Dates",
    )
    assert lenin.location.line == 13 and lenin.location.col == 5
    general = next(c for c in deck.cards if c.id == "general-secretary")
    assert general.front == "Stalin's post that controlled <strong>party appointments</strong>"
    assert general.extra == "<p>Two lines:</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>"
    maps = next(c for c in deck.cards if c.id == "maps")
    assert len(set(maps.media)) == 2 and {m.name for m in deck.media} == set(maps.media)


def test_yaml_scalars_stay_text(tmp_path: Path) -> None:
    deck_file = tmp_path / "norway.yaml"
    deck_file.write_text(
        "key: n\nname: N\ncards:\n  - id: a\n    front: Country code of Norway\n    back: no\n"
        "  - id: b\n    front: A year\n    back: 1940\n  - id: c\n    front: A ratio\n"
        "    back: 1.50\n",
        encoding="utf-8",
    )
    assert [c.back for c in load_deck(deck_file).cards] == ["no", "1940", "1.50"]


def test_image_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "deck").mkdir()
    os.symlink(FIXTURES / "outside.png", tmp_path / "deck" / "link.png")
    deck_file = tmp_path / "deck" / "d.yaml"
    deck_file.write_text(
        "key: s\nname: S\ncards:\n  - id: a\n    front: '![x](link.png)'\n    back: b\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as raised:
        load_deck(deck_file)
    assert [d.message for d in raised.value.diagnostics] == [
        "image 'link.png' is outside the card file's folder"
    ]


def test_an_image_spelled_image_is_checked_like_any_other(tmp_path: Path) -> None:
    # HTML parsers read <image> as <img>: the sanitiser keeps it, so its file is checked, in
    # a card that is otherwise plain too (the quick path of the past let it through).
    deck_file = tmp_path / "d.yaml"
    deck_file.write_text(
        'key: k\nname: K\ncards:\n  - id: a\n    front: "Q <image src=missing.png>"\n    back: b\n',
        encoding="utf-8",
    )
    for read in (load, check):
        with pytest.raises(InputError) as raised:
            read(deck_file)
        assert [str(d) for d in raised.value.diagnostics] == [
            f"{deck_file}:5:12: error: image file not found: missing.png"
        ]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        load([tmp_path / "nowhere"])
    assert str(raised.value) == f"{tmp_path / 'nowhere'}: error: no such file or folder"


def test_yaml_bombs_do_not_expand(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    deck_file = tmp_path / "bomb.yaml"
    deck_file.write_text("\n".join(lines) + "\nkey: b\nname: B\ncards: *a11\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_deck(deck_file)
    assert len(raised.value.diagnostics) < 100


_BYTES_NEAR_CONTROLS = st.binary(max_size=40) | st.lists(
    st.sampled_from([b"a", b"\t", b"\n", b"\r", b"\x00", b"\x1f", b"\x7f", b"\xc2", b"\x80",
                     b"\x85", b"\x9f", b"\xa0", b"\xef", b"\xbf", b"\xbe", b"\xbd"]),
    max_size=12,
).map(b"".join)  # fmt: skip


@settings(max_examples=examples(1000))
@given(_BYTES_NEAR_CONTROLS, st.sampled_from([0, (1 << 16) - 4, (1 << 16) - 2]))
def test_a_file_is_refused_exactly_when_it_is_not_utf8_text_without_controls(
    data: bytes, padding: int
) -> None:
    # Padding in a comment moves the bytes across the boundaries of the pieces the file is
    # checked in.
    data = b"#" + b" " * padding + b"\n" + data
    expected: str | None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        expected = "invalid UTF-8 byte"
    else:
        bad = CONTROL.search(text)
        expected = f"control character U+{ord(bad.group()):04X}" if bad else None
    try:
        load_bytes(data, "x.yaml")
    except InputError as error:
        messages = [d.message for d in error.diagnostics]
    else:
        messages = []
    refusals = [m for m in messages if m.startswith(("invalid UTF-8", "control character"))]
    if expected is None:
        assert refusals == []
    else:
        assert len(refusals) == 1 and refusals[0].startswith(expected)


def test_a_pipe_given_as_a_card_file_is_not_read(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    pipe = tmp_path / "deck.yaml"
    os.mkfifo(pipe)
    result = CliRunner().invoke(cli, ["check", str(pipe)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{pipe}: error: not a regular file (a pipe or a device?); give a card file\n"
        "1 error, 0 warnings\n"
    )


def test_a_subfolder_that_cannot_be_read_is_an_error(good_deck: Path) -> None:
    """Its cards would be left out without a word. Root reads any folder: as root the check
    runs without the capabilities that let it (setpriv)."""
    locked = good_deck.parent / "locked"
    locked.mkdir()
    (locked / "more.yaml").write_text("key: more\n", encoding="utf-8")
    locked.chmod(0)
    command = [sys.executable, "-m", "cardpress", "check", str(good_deck.parent)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("as root this needs setpriv (util-linux) to drop the capabilities")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        locked.chmod(0o755)
    assert done.returncode == 1
    assert f"{locked}: error: cannot read folder: Permission denied" in done.stderr.splitlines()
