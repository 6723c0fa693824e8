"""Portable: cardpress runs where POSIX-only names do not exist (Windows), with the same bytes.

The command line runs in a subprocess whose ``sitecustomize`` removes what Windows lacks:
``fcntl`` cannot be imported, and ``os.fork``, ``os.sched_getaffinity`` and
``signal.pthread_sigmask`` are gone. ``check`` and ``build`` must work there (with ``-j 2``
asked for: one process does the work) and write byte-identical outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

WITHOUT_POSIX = """\
import os, signal, sys
sys.modules["fcntl"] = None  # `import fcntl` raises ImportError, as on Windows
for name in ("fork", "forkpty", "register_at_fork", "sched_getaffinity"):
    if hasattr(os, name):
        delattr(os, name)
if hasattr(signal, "pthread_sigmask"):
    del signal.pthread_sigmask
"""

pytestmark = pytest.mark.slow  # subprocesses and whole builds


def _cardpress(args: list[str], cwd: Path, site: Path | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO / "src")])
    return subprocess.run(
        [sys.executable, "-m", "cardpress", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _big_deck(folder: Path, cards: int) -> None:
    """A deck over 1 MB with over 2,000 cards: -j 2 would read and write it in two processes."""
    lines = ["key: big", "name: Big", "cards:"]
    for i in range(cards):
        lines += [
            f"  - id: c{i}",
            f"    front: '*Question* number {i} about {'the topic ' * 10}'",
            f"    back: Answer {i}",
        ]
    (folder / "big.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(WITHOUT_POSIX, encoding="utf-8")
    return folder


def test_the_sitecustomize_removes_what_it_says(site: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util, os, signal\n"
        "try:\n    import fcntl\n    print('fcntl')\nexcept ImportError:\n    print('no fcntl')\n"
        "print(hasattr(os, 'fork'), hasattr(signal, 'pthread_sigmask'))\n"
        "import cardpress, cardpress.cli, cardpress.builder, cardpress.export.apkg\n"
        "print('imported')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO / "src")])}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["no fcntl", "False False", "imported"]


def test_check_and_build_without_posix_give_the_same_bytes(site: Path, tmp_path: Path) -> None:
    outputs = {}
    for name, customised in (("posix", None), ("without", site)):
        work = tmp_path / name
        cards = work / "cards"
        shutil.copytree(FIXTURES / "good", cards)
        _big_deck(cards, 2500)
        checked = _cardpress(["check", "-j", "2", "cards"], work, customised)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout == "2 decks, 2508 cards: OK\n"
        built = _cardpress(["build", "-j", "2", "cards", "-o", "dist"], work, customised)
        assert built.returncode == 0, built.stderr
        assert "Traceback" not in built.stderr
        outputs[name] = {
            str(path.relative_to(work)): path.read_bytes()
            for path in sorted(work.rglob("*"))
            if path.is_file()
        }
    assert outputs["without"] == outputs["posix"]
    # Two decks of four outputs each, and their record.
    assert len([name for name in outputs["posix"] if name.startswith("dist")]) == 9
