"""Benchmark ``cardpress push`` (issue 14's targets), as whole processes.

* the example deck (``cards/``) into a closed collection that already holds it: ≤ 1 s;
* the same into a running Anki desktop through AnkiConnect: ≤ 2 s (needs ``aqt`` and the
  AnkiConnect add-on, found through ``CARDPRESS_ANKICONNECT`` as the tests find it; without
  them that line says why it was not run);
* 10,000 cards (``generate.py``) of which 100 were edited, into a closed collection that holds
  the deck: ≤ 10 s.

Each measurement is the median of ``--repeat`` runs; every run pushes into the collection as
the run before left it, so each is the everyday case of a push after an edit (for the example
deck, an unchanged push; for 10,000 cards, a push of the 100 edits, undone and redone in
turn). The report is Markdown on stdout.

Example:
    python bench/push.py
    CARDPRESS_ANKICONNECT=../shared/vendor/anki-connect/plugin python bench/push.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TARGETS = {"example, closed": 1.0, "example, AnkiConnect": 2.0, "10k, 100 edited": 10.0}


def _cardpress(*args: str, cwd: Path) -> float:
    """Run one cardpress command; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cardpress", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _fresh_collection(path: Path) -> None:
    from anki.collection import Collection

    Collection(str(path)).close()


def _median(runs: int, once: Callable[[int], float]) -> float:
    return statistics.median(once(i) for i in range(runs))


def example_closed(work: Path, runs: int) -> float:
    folder = work / "example"
    shutil.copytree(ROOT / "cards", folder / "cards")
    _fresh_collection(folder / "collection.anki2")
    push = ("push", "--collection", "collection.anki2", "-o", "dist")
    _cardpress(*push, cwd=folder)  # the first push: the collection now holds the deck
    return _median(runs, lambda _: _cardpress(*push, cwd=folder))


def example_ankiconnect(work: Path, runs: int) -> float | str:
    sys.path.insert(0, str(ROOT))
    addon = os.environ.get("CARDPRESS_ANKICONNECT")
    if not addon or not (Path(addon) / "__init__.py").is_file():
        return "not run: CARDPRESS_ANKICONNECT names no AnkiConnect add-on"
    try:
        import aqt  # noqa: F401
    except ImportError:
        return "not run: Anki desktop (aqt) is not installed"
    from tests.anki_desktop import running_anki

    folder = work / "example-ankiconnect"
    shutil.copytree(ROOT / "cards", folder / "cards")
    deck = folder / "cards" / "stalin-trotsky.yaml"
    text = deck.read_text(encoding="utf-8")
    deck.write_text(re.sub(r"(?m)^name: (.*)$", r"name: \1\nnote_type_version: 2", text, count=1))
    (folder / "cards" / "stalin-trotsky.lock.json").unlink()
    base = work / "anki-desktop"
    base.mkdir()
    with running_anki(base, Path(addon)) as url:
        push = ("push", "--to", "ankiconnect", "--url", url, "-o", "dist")
        _cardpress(*push, cwd=folder)
        return _median(runs, lambda _: _cardpress(*push, cwd=folder))


def edited_10k(work: Path, runs: int) -> float:
    decks = work / "decks"
    subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "10000", "-o", str(decks)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    deck = decks / "bench-10000" / "bench-10000.yaml"
    original = deck.read_text(encoding="utf-8")
    edited, count = re.subn(
        r"(?m)^(    back: [A-Za-z][A-Za-z0-9 ]*)$", r"\1 edited", original, count=100
    )
    assert count == 100, count
    _fresh_collection(work / "collection.anki2")
    push = ("push", str(deck.parent), "--collection", "collection.anki2", "-o", "out")
    _cardpress(*push, cwd=work)

    def once(i: int) -> float:
        deck.write_text(edited if i % 2 == 0 else original, encoding="utf-8")
        time.sleep(1)  # each edit a second newer than the push before it
        return _cardpress(*push, cwd=work)

    return _median(runs, once)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cardpress-bench-push-") as scratch:
        work = Path(scratch)
        measured: dict[str, float | str] = {
            "example, closed": example_closed(work, args.repeat),
            "example, AnkiConnect": example_ankiconnect(work, args.repeat),
            "10k, 100 edited": edited_10k(work, args.repeat),
        }
    print(f"## cardpress push: median of {args.repeat} runs\n")
    print("| push | target | measured | result |")
    print("| --- | ---: | ---: | --- |")
    for name, value in measured.items():
        target = TARGETS[name]
        if isinstance(value, str):
            print(f"| {name} | ≤ {target:g} s | {value} | n/a |")
        else:
            verdict = "PASS" if value <= target else "FAIL"
            print(f"| {name} | ≤ {target:g} s | {value:.2f} s | {verdict} |")


if __name__ == "__main__":
    main()
