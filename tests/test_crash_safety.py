"""Nothing lost: a build that fails at any step, or is killed, leaves every folder as it was."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardpress import ExportError, build
from tests.conftest import WRITERS, break_writer, snapshot


@pytest.fixture
def edited(good_deck: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A deck built once into out/, then edited so that the next build changes every output."""
    out = tmp_path / "out"
    build([good_deck], out)
    text = good_deck.read_text(encoding="utf-8").replace("Mercader", "Mercader del Río")
    good_deck.write_text(text.replace("name: Test History", "name: Test History 2"), "utf-8")
    return good_deck, out


@pytest.mark.parametrize("output", sorted(WRITERS))
def test_a_failing_writer_at_any_step_changes_nothing(
    edited: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    deck_file, out = edited
    before = snapshot(out, deck_file.parent)
    break_writer(monkeypatch, output)
    with pytest.raises(ExportError, match="No space left on device"):
        build([deck_file], out)
    assert snapshot(out, deck_file.parent) == before


def _refuse_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hard links refused, as for another user's files (fs.protected_hardlinks) or on FAT."""

    def refused(src: Any, dst: Any, **kwargs: Any) -> None:
        raise PermissionError(1, "Operation not permitted", str(dst))

    monkeypatch.setattr(os, "link", refused)


@pytest.mark.parametrize("links", ["allowed", "refused"])
def test_a_failing_rename_at_any_step_rolls_back(
    edited: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, links: str
) -> None:
    deck_file, out = edited
    before = snapshot(out, deck_file.parent)
    if links == "refused":
        _refuse_links(monkeypatch)
    real = os.replace
    # With links refused each old file is renamed aside first: twice the renames to fail.
    steps = len(WRITERS) * (2 if links == "refused" else 1)
    for failing in range(steps):
        calls: list[Any] = []

        def flaky(src: Any, dst: Any, _k: int = failing, _calls: list[Any] = calls) -> None:
            _calls.append(dst)
            if len(_calls) == _k + 1:
                raise OSError(5, "Input/output error", str(dst))
            real(src, dst)

        monkeypatch.setattr(os, "replace", flaky)
        with pytest.raises(ExportError, match="Input/output error"):
            build([deck_file], out)
        monkeypatch.setattr(os, "replace", real)
        assert snapshot(out, deck_file.parent) == before, f"links {links}, step {failing}"


def test_outputs_that_cannot_be_linked_are_replaced(
    edited: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After a root build into a bind mount, or on FAT and many SMB shares, the old files
    cannot be hard-linked aside: they are renamed aside, and the build goes through."""
    deck_file, out = edited
    reference = tmp_path / "reference"
    shutil.copytree(deck_file.parent, reference / "cards")
    shutil.copytree(out, reference / "out")
    build([reference / "cards"], reference / "out")
    _refuse_links(monkeypatch)
    build([deck_file], out)
    assert snapshot(out, deck_file.parent) == snapshot(reference / "out", reference / "cards")


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


def _writing(out: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Wait until the build has begun writing its outputs (its first temporary file is in
    ``out``); returns when that was (time.monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.is_dir() and any(".cardpress-tmp" in p.name for p in out.iterdir()):
            return time.monotonic()
        assert process.poll() is None, "the build ended before it wrote anything"
        time.sleep(0.002)
    raise AssertionError("the build never began writing")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killed_build_leaves_old_or_new_outputs(tmp_path: Path, sig: signal.Signals) -> None:
    """The signal lands while the outputs are being written (after the first temporary file
    appeared, before the build ended: it exits by the signal, not with 0), at moments spread
    over the writing; every time the folders hold the old outputs or the new ones."""
    deck_file = _big_deck(tmp_path / "cards", 4000)
    out = tmp_path / "out"
    assert _cardpress("build", str(deck_file), "-o", str(out)).wait() == 0
    deck_file.write_text(deck_file.read_text("utf-8").replace("Answer", "Reply"), "utf-8")
    before = snapshot(out, deck_file.parent)
    reference = tmp_path / "reference"
    shutil.copytree(tmp_path / "cards", reference / "cards")
    shutil.copytree(out, reference / "out")
    calibration = _cardpress("build", str(reference / "cards"), "-o", str(reference / "out"))
    began = _writing(reference / "out", calibration)
    assert calibration.wait() == 0
    writing = time.monotonic() - began  # how long writing the outputs takes
    after = snapshot(reference / "out", reference / "cards")
    assert after != before
    for share in (0.0, 0.1, 0.2, 0.3, 0.4):
        # Builds take longer or shorter from run to run: a signal that came after the end is
        # sent again, earlier.
        for attempt in range(4):
            process = _cardpress("build", str(deck_file), "-o", str(out))
            moment = share * writing / 2**attempt
            time.sleep(max(_writing(out, process) + moment - time.monotonic(), 0))
            process.send_signal(sig)
            if process.wait() != 0:
                break
        else:
            raise AssertionError(f"every {sig.name} near {share:.0%} of the writing came late")
        state = snapshot(out, deck_file.parent)
        temporaries = [name for name in state if "cardpress-" in name]
        if sig == signal.SIGKILL:
            # Nothing can clean up after SIGKILL: the outputs are intact, the leftovers prove
            # it struck mid-write, and the next build removes them.
            assert temporaries, "SIGKILL left no temporary file: it did not strike mid-write"
            state = {k: v for k, v in state.items() if k not in temporaries}
        else:
            assert temporaries == []
        assert state in (before, after), f"mixed outputs after {sig.name} at {share:.0%}"
    assert _cardpress("build", str(deck_file), "-o", str(out)).wait() == 0
    assert snapshot(out, deck_file.parent) == after


@pytest.mark.slow
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


def test_a_build_removes_only_its_own_leftovers(good_deck: Path, tmp_path: Path) -> None:
    """Leftovers of a killed build go; files of the user's that look alike stay."""
    cards = good_deck.parent
    out = tmp_path / "out"
    out.mkdir()
    # The user's: a card file and notes that merely contain "cardpress".
    shared = cards / ".team.cardpress-shared.yaml"
    shared.write_text(
        "key: team\nname: Team\ncards:\n  - id: t\n    front: Team question\n    back: Team\n",
        encoding="utf-8",
    )
    users = [
        shared,
        out / ".notes.cardpress-tmp",
        out / ".history.apkg.cardpress-bak",
        out / ".history.apkg.old.cardpress-tmp",
        out / ".other.apkg.0123456789ab.cardpress-tmp",  # not an output of this build
    ]
    for path in users[1:]:
        path.write_bytes(b"mine")
    # A killed build's: temporary outputs, a backup, a CSV half, the package's scratch file.
    leftovers = [
        out / ".history.apkg.0123456789ab.cardpress-tmp",
        out / ".history.csv.0123456789ab.cardpress-tmp-2",
        out / ".history.cards.html.fedcba987654.cardpress-bak",
        out / "..history.apkg.0123456789ab.cardpress-tmp.00112233aabb.cardpress-tmp",
        cards / ".history.lock.json.0123456789ab.cardpress-tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"left behind")
    build([good_deck, shared], out)
    assert all(path.exists() for path in users)
    assert not any(path.exists() for path in leftovers)
    assert (out / "history.apkg").exists() and (out / ".team.cardpress-shared.apkg").exists()


@contextlib.contextmanager
def _mounted(folder: Path, options: str) -> Iterator[Path]:
    """A small tmpfs (or a read-only bind mount) at ``folder``, for a real full disk."""
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("a real full or read-only file system needs root on Linux to mount")
    kind = ["--bind", str(folder)] if "bind" in options else ["-t", "tmpfs", "tmpfs"]
    mount = subprocess.run(["mount", *kind, str(folder)], capture_output=True, check=False)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount here: {mount.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.slow
@pytest.mark.parametrize("size", ["100k", "400k", "700k"])
def test_a_full_disk_is_an_error_that_names_the_output(tmp_path: Path, size: str) -> None:
    deck_file = _big_deck(tmp_path / "cards", 1000)
    with _mounted(tmp_path / "disk", f"size={size}") as disk:
        out = disk / "out" / "new"
        built = _cardpress_run("build", str(deck_file), "-o", str(out))
        assert built.returncode == 1
        assert "Traceback" not in built.stderr
        last = built.stderr.splitlines()[-1]
        assert re.fullmatch(
            rf"{re.escape(str(out))}/big\.(apkg|csv|cards\.html|sheet\.html): error: cannot "
            r"write: (No space left on device|database or disk is full)",
            last,
        ), last
        assert list(disk.iterdir()) == []  # the folders it made are gone again
    assert sorted(p.name for p in deck_file.parent.iterdir()) == ["big.yaml"]


@pytest.mark.slow
def test_a_read_only_card_folder_names_the_lock_file(tmp_path: Path) -> None:
    deck_file = _big_deck(tmp_path / "cards", 10)
    with _mounted(tmp_path / "cards", "bind,ro"):
        built = _cardpress_run("build", str(deck_file), "-o", str(tmp_path / "out"))
    assert built.returncode == 1
    assert built.stderr.splitlines()[-1] == (
        f"{tmp_path / 'cards' / 'big.lock.json'}: error: cannot write: Read-only file system"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", [["check"], ["build", "-o", "OUT"], ["schema"]])
def test_output_that_cannot_be_written_is_a_message(tmp_path: Path, command: list[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    deck_file = _big_deck(tmp_path / "cards", 3)
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cardpress",
                *args,
                *([str(deck_file)] if args[0] != "schema" else []),
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr == "cardpress: error: cannot write the output: No space left on device\n"


@pytest.mark.slow
def test_outputs_that_are_not_files_are_errors(good_deck: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("mine", encoding="utf-8")
    inside = _cardpress_run("build", str(good_deck), "-o", str(a_file / "sub"))
    assert inside.stderr.splitlines()[-1] == (
        f"{a_file / 'sub'}: error: cannot create output folder: Not a directory"
    )
    out = tmp_path / "out"
    (out / "history.csv").mkdir(parents=True)
    folder = _cardpress_run("build", str(good_deck), "-o", str(out))
    assert folder.returncode == 1
    assert folder.stderr.splitlines()[-1] == (
        f"{out / 'history.csv'}: error: cannot write: Is a directory"
    )
    assert sorted(p.name for p in out.iterdir()) == ["history.csv"]


def _cardpress_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cardpress", *args],
        env={**os.environ, "SOURCE_DATE_EPOCH": "1767225600"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("spelling", ["relative and absolute", "symbolic link", "itself"])
def test_the_card_folder_as_output_folder_under_another_spelling(
    good_deck: Path, tmp_path: Path, spelling: str
) -> None:
    """The card folder and the output folder are one folder, spelled two ways: it is locked
    once (it used to be locked twice, and the build waited for itself forever)."""
    cards = good_deck.parent
    if spelling == "symbolic link":
        out = tmp_path / "link"
        out.symlink_to(cards, target_is_directory=True)
    else:
        out = cards
    source = "cards" if spelling == "relative and absolute" else str(cards)
    done = subprocess.run(
        [sys.executable, "-m", "cardpress", "build", source, "-o", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (cards / "history.apkg").exists() and (cards / "history.lock.json").exists()


@pytest.mark.slow
def test_sigterm_to_the_whole_build_while_it_waits_for_its_worker(tmp_path: Path) -> None:
    """SIGTERM to the process group of a two-process build, at many moments: it stops with
    its outputs old or new, and never with a traceback (a pipe was once closed twice)."""
    deck_file = _big_deck(tmp_path / "cards", 4000)
    out = tmp_path / "out"
    assert _cardpress("build", str(deck_file), "-o", str(out)).wait() == 0
    before = snapshot(out, deck_file.parent)
    started = time.monotonic()
    assert _cardpress("build", "-j", "2", str(deck_file), "-o", str(out)).wait() == 0
    duration = time.monotonic() - started
    for step in range(12):
        process = subprocess.Popen(
            [sys.executable, "-m", "cardpress", "build", "-j", "2", str(deck_file), "-o", str(out)],
            env={**os.environ, "SOURCE_DATE_EPOCH": "1767225600"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(duration * (0.2 + 0.07 * step))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert "Traceback" not in stderr and "Bad file descriptor" not in stderr, stderr
        assert [n for n in snapshot(out, deck_file.parent) if "cardpress-" in n] == []
        assert snapshot(out, deck_file.parent) == before


@pytest.mark.slow
def test_a_build_where_fork_fails_writes_in_one_process(tmp_path: Path) -> None:
    """fork() refused (EAGAIN under a process limit): -j 2 does the work in one process."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import errno, os\n"
        "def fork():\n"
        "    raise BlockingIOError(errno.EAGAIN, 'Resource temporarily unavailable')\n"
        "os.fork = fork\n",
        encoding="utf-8",
    )
    deck_file = _big_deck(tmp_path / "cards", 4000)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600", "PYTHONPATH": str(site)}
    for out in ("refused", "one"):
        done = subprocess.run(
            [sys.executable, "-m", "cardpress", "build", "-j", "2" if out == "refused" else "1",
             str(deck_file), "-o", str(tmp_path / out)],
            env=env if out == "refused" else {**env, "PYTHONPATH": ""},
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        deck_file.with_name("big.lock.json").unlink()
    assert snapshot(tmp_path / "refused") == {
        k.replace("one/", "refused/"): v for k, v in snapshot(tmp_path / "one").items()
    }


def test_a_rebuild_keeps_the_mode_the_user_gave_an_output(
    edited: tuple[Path, Path],
) -> None:
    deck_file, out = edited
    (out / "history.apkg").chmod(0o600)
    (out / "history.csv").chmod(0o640)
    build([deck_file], out)
    assert stat.S_IMODE((out / "history.apkg").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "history.csv").stat().st_mode) == 0o640


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_build_exits_as_shells_expect(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    """Ctrl-C and SIGTERM end a build with 128 + the signal's number (130, 143), so scripts
    and CI tell a stopped build from a failed one (1)."""
    deck_file = _big_deck(tmp_path / "cards", 4000)
    out = tmp_path / "out"
    for _ in range(4):
        process = _cardpress("build", str(deck_file), "-o", str(out))
        _writing(out, process)
        process.send_signal(sig)
        code = process.wait()
        if code != 0:  # not too late
            break
        shutil.rmtree(out)
    assert code == status
