"""Shared test helpers: fixture copies and a real Anki collection."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection, ImportAnkiPackageRequest, ImportCsvRequest
from hypothesis import settings

# Hypothesis runs few examples by default (a quick run while working) and the numbers each
# property test asks for in CI (HYPOTHESIS_PROFILE=ci, which .ci/run sets).
settings.register_profile("quick", deadline=None)
settings.register_profile("ci", deadline=None, print_blob=True)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")
settings.load_profile(PROFILE)


def examples(thorough: int) -> int:
    """How many examples a property test runs: ``thorough`` in CI, a fifth of it (at least
    ten) in the quick default."""
    return thorough if PROFILE == "ci" else max(10, thorough // 5)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that print with Chromium (they use the module's ``renders``) are slow."""
    for item in items:
        if "renders" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent

# The import log's buckets; everything but "new" and "updated" means Anki skipped something.
PROBLEM_BUCKETS = (
    "duplicate",
    "conflicting",
    "first_field_match",
    "missing_notetype",
    "missing_deck",
    "empty_first_field",
)

# The bucket sizes of an import in which Anki skipped nothing.
NONE_SKIPPED = dict.fromkeys(PROBLEM_BUCKETS, 0)


# The good deck pinned to cardpress's note types version 1 (its `format: 1` line becomes
# `note_type_version: 1`: no line moves, so the messages' positions stay), for the tests of
# what a deck of version 1 does; a deck that does not say takes version 2.
VERSION_1 = ("format: 1\n", "note_type_version: 1\n")


@pytest.fixture
def good_deck(tmp_path: Path) -> Path:
    """A private copy of the feature-complete test deck (the build writes a lock beside it)."""
    target = tmp_path / "cards"
    shutil.copytree(FIXTURES / "good", target)
    return target / "history.yaml"


@pytest.fixture
def collection(tmp_path: Path) -> Iterator[Collection]:
    """A fresh Anki collection, like a new profile: stock note types and the Default deck."""
    with fresh_collection(tmp_path / "anki") as col:
        yield col


@contextlib.contextmanager
def fresh_collection(folder: Path) -> Iterator[Collection]:
    """A new collection in ``folder`` (created), closed when done."""
    folder.mkdir(parents=True)
    col = Collection(str(folder / "collection.anki2"))
    try:
        yield col
    finally:
        col.close()


def import_apkg(col: Collection, path: Path) -> Any:
    """Import a package with the options Anki's import dialog shows by default."""
    options = col._backend.get_import_anki_package_presets()
    response = col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=options)
    )
    return response.log


def import_csv(col: Collection, path: Path) -> Any:
    """Import a CSV as File > Import does: read the file's headers, then import."""
    metadata = col.get_csv_metadata(str(path), None)
    return col.import_csv(ImportCsvRequest(path=str(path), metadata=metadata)).log


def bucket_sizes(log: Any) -> dict[str, int]:
    """How many notes each bucket of an import log holds."""
    return {name: len(getattr(log, name)) for name in ("new", "updated", *PROBLEM_BUCKETS)}


def notes_by_guid(col: Collection) -> dict[str, Any]:
    """Every note of the collection, keyed by GUID."""
    notes = [col.get_note(nid) for nid in col.find_notes("")]
    return {note.guid: note for note in notes}


CHROMIUM = Path(os.environ.get("CARDPRESS_CHROMIUM", "/usr/lib/chromium/chromium"))


def chromium(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a fresh profile and no network chatter; fail if it is absent."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
            "or point CARDPRESS_CHROMIUM at the browser binary"
        )
    with tempfile.TemporaryDirectory(prefix="cardpress-chromium-") as profile:
        return subprocess.run(
            [
                str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={profile}", *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )  # fmt: skip


def browser_dom(page: Path) -> str:
    """The DOM of ``page`` as Chromium has it once the page has loaded and its events ran."""
    done = chromium("--virtual-time-budget=2000", "--dump-dom", page.resolve().as_uri())
    if done.returncode != 0 or "<body" not in done.stdout:
        pytest.fail(f"Chromium could not load {page}: {done.stderr[-2000:]}")
    return done.stdout


# Each output's writer, by the module and name a build calls it through.
WRITERS = {
    "apkg": ("cardpress.export.apkg", "write_apkg"),
    "csv": ("cardpress.export.csv", "write_csv"),
    "cards": ("cardpress.export.printable", "write_cards"),
    "sheet": ("cardpress.export.printable", "write_sheet"),
    "lock": ("cardpress.lock", "Lock.write"),
}


def break_writer(monkeypatch: pytest.MonkeyPatch, output: str, *, in_child_of: int = 0) -> None:
    """Make one output's writer write half a file and fail as a full disk does (only in a
    process forked from ``in_child_of``, if given)."""
    module_name, name = WRITERS[output]
    owner: Any = importlib.import_module(module_name)
    if "." in name:
        class_name, name = name.split(".")
        owner = getattr(owner, class_name)
    real = getattr(owner, name)

    def broken(*args: Any, **kwargs: Any) -> Any:
        if in_child_of and os.getpid() == in_child_of:
            return real(*args, **kwargs)
        path = next(a for a in args if isinstance(a, Path | io.TextIOBase))
        if isinstance(path, Path):
            path.write_bytes(b"half a file")
        else:
            path.write("half a file")
        raise OSError(28, "No space left on device", str(getattr(path, "name", path)))

    monkeypatch.setattr(owner, name, broken)


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under ``folders`` (named from each folder's parent) and its bytes."""
    return {
        str(path.relative_to(folder.parent)): path.read_bytes()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def edit(deck_file: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in a card file with ``new`` (it must be there)."""
    text = deck_file.read_text(encoding="utf-8")
    assert old in text
    deck_file.write_text(text.replace(old, new, 1), encoding="utf-8")


def decks_of(col: Collection, note: Any) -> set[str]:
    """The names of the decks a note's cards are in."""
    return {col.decks.name(card.did) for card in note.cards()}


def neutralised(cell: str) -> str:
    """A plain CSV cell as the README says it is written: a formula start gets a quote."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
