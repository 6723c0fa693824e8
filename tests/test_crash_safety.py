"""Nothing lost: a build that fails at any step, or is killed, leaves every folder as it was."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cardpress import ExportError, build
from cardpress.build import BuildOptions, plan

# The package exports the function build(), which hides the module of the same name.
build_module = importlib.import_module("cardpress.build")


def _snapshot(*folders: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder.parent)): p.read_bytes()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def edited(good_deck: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A deck built once into out/, then edited so that the next build changes every output."""
    out = tmp_path / "out"
    build([good_deck], out)
    text = good_deck.read_text(encoding="utf-8").replace("Mercader", "Mercader del Río")
    good_deck.write_text(text.replace("name: Test History", "name: Test History 2"), "utf-8")
    return good_deck, out


def _job_count(deck_file: Path, out: Path) -> int:
    from cardpress import load_deck

    return len(plan(load_deck(deck_file), out, BuildOptions()))


def test_a_failing_writer_at_any_step_changes_nothing(
    edited: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    deck_file, out = edited
    before = _snapshot(out, deck_file.parent)
    steps = _job_count(deck_file, out)
    assert steps >= 3
    for failing in range(steps):

        def failing_plan(*args: Any, _k: int = failing, **kwargs: Any) -> list[Any]:
            jobs = plan(*args, **kwargs)
            target = jobs[_k][0]

            def broken(path: Path) -> Any:
                path.write_bytes(b"half a file")
                raise OSError(28, "No space left on device", str(path))

            jobs[_k] = (target, broken)
            return jobs

        monkeypatch.setattr(build_module, "plan", failing_plan)
        with pytest.raises(ExportError, match="No space left on device"):
            build([deck_file], out)
        assert _snapshot(out, deck_file.parent) == before, f"step {failing}"


@pytest.mark.parametrize("function", ["replace", "link"])
def test_a_failing_rename_at_any_step_rolls_back(
    edited: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, function: str
) -> None:
    deck_file, out = edited
    before = _snapshot(out, deck_file.parent)
    real: Callable[..., None] = getattr(os, function)
    steps = _job_count(deck_file, out)
    for failing in range(steps):
        calls: list[Any] = []

        def flaky(
            src: Any, dst: Any, _k: int = failing, _real: Any = real, _calls: list[Any] = calls
        ) -> None:
            _calls.append(dst)
            if len(_calls) == _k + 1:
                raise OSError(5, "Input/output error", str(dst))
            _real(src, dst)

        monkeypatch.setattr(os, function, flaky)
        with pytest.raises(ExportError, match="Input/output error"):
            build([deck_file], out)
        monkeypatch.setattr(os, function, real)
        assert _snapshot(out, deck_file.parent) == before, f"{function} step {failing}"


def _big_deck(folder: Path, cards: int) -> Path:
    folder.mkdir(parents=True)
    lines = ["key: big", "name: Big", "cards:"]
    for i in range(cards):
        lines += [f"  - id: c{i}", f"    front: '*Question* {i}'", f"    back: Answer {i}"]
    deck_file = folder / "big.yaml"
    deck_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return deck_file


def _cardpress(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    return subprocess.Popen(
        [sys.executable, "-m", "cardpress", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killed_build_leaves_old_or_new_outputs(tmp_path: Path, sig: signal.Signals) -> None:
    deck_file = _big_deck(tmp_path / "cards", 4000)
    out = tmp_path / "out"
    assert _cardpress("build", str(deck_file), "-o", str(out)).wait() == 0
    deck_file.write_text(deck_file.read_text("utf-8").replace("Answer", "Reply"), "utf-8")
    before = _snapshot(out, deck_file.parent)
    reference = tmp_path / "reference"
    shutil.copytree(tmp_path / "cards", reference / "cards")
    shutil.copytree(out, reference / "out")
    assert _cardpress("build", str(reference / "cards"), "-o", str(reference / "out")).wait() == 0
    after = _snapshot(reference / "out", reference / "cards")
    assert after != before
    for delay in (0.15, 0.3, 0.45, 0.6, 0.8):
        process = _cardpress("build", str(deck_file), "-o", str(out))
        time.sleep(delay)
        process.send_signal(sig)
        process.wait()
        state = _snapshot(out, deck_file.parent)
        temporaries = [name for name in state if "cardpress-" in name]
        if sig == signal.SIGKILL:
            # Nothing can clean up after SIGKILL: the outputs are intact, and the next build
            # removes the leftovers.
            state = {k: v for k, v in state.items() if k not in temporaries}
        else:
            assert temporaries == []
        assert state in (before, after), f"mixed outputs after {sig.name} at {delay} s"
    assert _cardpress("build", str(deck_file), "-o", str(out)).wait() == 0
    assert _snapshot(out, deck_file.parent) == after


def test_racing_builds_leave_a_consistent_result(tmp_path: Path) -> None:
    deck_file = _big_deck(tmp_path / "cards", 1500)
    reference = tmp_path / "reference"
    shutil.copytree(deck_file.parent, reference / "cards")
    assert _cardpress("build", str(reference / "cards"), "-o", str(reference / "out")).wait() == 0

    out = tmp_path / "out"
    racers = [_cardpress("build", str(deck_file), "-o", str(out)) for _ in range(3)]
    assert [p.wait() for p in racers] == [0, 0, 0]
    assert {p.name for p in out.iterdir()} == {p.name for p in (reference / "out").iterdir()}
    for p in out.iterdir():
        assert p.read_bytes() == (reference / "out" / p.name).read_bytes()
