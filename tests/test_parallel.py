"""More than one process (``-j``): the same decks, messages and bytes as one process.

A big card file is read in chunks by forked workers (loader/chunked.py), and a big build
writes its printable pages in a second process (builder.py). These tests lower the size limits
so small files take the same paths, and compare every result with the one-process result.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cardpress import ExportError, InputError, build, builder, fork, load
from cardpress.cli import cli
from cardpress.fork import ChildFailed, Forked
from cardpress.loader import check
from cardpress.loader import chunked as chunked_reading
from tests.conftest import break_writer, snapshot

HEAD = """\
format: 1
key: big
name: Big deck
tags: [big]
topics:
  one: One
  two: Two
cards:
"""


def card(i: int, **extra: str) -> str:
    kind = ("basic", "reversed", "cloze", "type")[i % 4]
    lines = [f"  - id: c{i}", f"    topic: {('one', 'two')[i % 2]}", f"    kind: {kind}"]
    if kind == "cloze":
        lines.append(f'    text: "Item {{{{c1::number {i}}}}} is *here*"')
    else:
        lines += [f"    front: Question number {i}?", f"    back: Answer {i} **bold**"]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def deck_text(n: int = 40, special: dict[int, str] | None = None) -> str:
    special = special or {}
    return HEAD + "".join(special.get(i, card(i)) for i in range(n))


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every file is read in chunks; returns the list of chunk workers started (one per fork)."""
    monkeypatch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 0)
    return count_forks(monkeypatch)


def count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the workers the loader forks (the builder's second process is not counted)."""
    started: list[int] = []

    class Counted(Forked[Any]):
        def __init__(self, fn: Any) -> None:
            started.append(1)
            super().__init__(fn)

    monkeypatch.setattr(fork, "Forked", Counted)
    return started


def outcome(path: Path, workers: int) -> Any:
    """The load's decks and warnings, or the diagnostics of its InputError."""
    try:
        result = load([path], workers=workers)
    except InputError as error:
        return ("error", [str(d) for d in error.diagnostics])
    return ("ok", result.decks, [str(d) for d in result.warnings])


def checked(path: Path, workers: int) -> Any:
    """What `check` says: the same errors as `load`, or counts and warnings."""
    try:
        result = check([path], workers=workers)
    except InputError as error:
        return ("error", [str(d) for d in error.diagnostics])
    return ("ok", result.decks, result.cards, [str(d) for d in result.warnings])


def read_whole(read: Any, path: Path) -> Any:
    """``read(path, 1)`` with the file read whole, in one process: the reference."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 1 << 62)
        return read(path, 1)


def same_either_way(path: Path, workers: int = 2) -> Any:
    """The file gives the same load and check read whole, in chunks in this process, and in
    chunks by ``workers`` processes (where its size and layout let it be read in chunks)."""
    one = read_whole(outcome, path)
    assert outcome(path, 1) == one
    assert outcome(path, workers) == one
    summary = one if one[0] == "error" else ("ok", 1, len(one[1][0].cards), one[2])
    assert read_whole(checked, path) == summary
    assert checked(path, 1) == summary
    assert checked(path, workers) == summary
    return one


def test_a_clean_file_is_read_in_chunks_to_the_same_deck(
    tmp_path: Path, chunked: list[int]
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(deck_text(60), encoding="utf-8")
    for workers in (2, 3, 4):
        chunked.clear()
        result = same_either_way(path, workers)
        assert len(chunked) == 2 * (workers - 1)  # load, then check
        assert chunked_reading.read_in_chunks(path, path.read_bytes(), workers) is not None
        assert result[0] == "ok"
        deck = result[1][0]
        assert [c.id for c in deck.cards] == [f"c{i}" for i in range(60)]
        # Positions in later chunks are file positions, not chunk positions.
        assert deck.cards[59].location.line == deck_text(60).splitlines().index("  - id: c59") + 1


@pytest.mark.slow
def test_a_real_big_file_takes_the_chunked_path_without_lowered_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(deck_text(12000), encoding="utf-8")
    assert path.stat().st_size > chunked_reading.PARALLEL_MIN_BYTES
    started = count_forks(monkeypatch)
    assert same_either_way(path)[0] == "ok"
    assert started == [1, 1]  # load, then check


def test_one_worker_or_no_fork_means_one_process(
    tmp_path: Path, chunked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(deck_text(60), encoding="utf-8")
    one = chunked_reading.read_in_chunks(path, path.read_bytes(), 1)
    assert one is not None  # in chunks, but all of them here
    monkeypatch.setattr(fork, "can_fork", lambda: False)
    assert chunked_reading.read_in_chunks(path, path.read_bytes(), 4) == one
    assert outcome(path, 4) == read_whole(outcome, path)
    assert chunked == []


@pytest.mark.parametrize("workers", [2, 4, 8])
def test_the_chunks_share_the_cards_out_as_documented(tmp_path: Path, workers: int) -> None:
    data = deck_text(8000).encode()
    first_item = data.index(b"cards:\n") + len(b"cards:\n")
    bounds = chunked_reading.chunk_bounds(data, first_item, 2, workers)
    assert len(bounds) == workers - 1
    starts, ends = [first_item, *bounds], [*bounds, len(data)]
    sizes = [end - start for start, end in zip(starts, ends, strict=True)]
    cards = len(data) - first_item
    weight = chunked_reading.PARENT_WEIGHT
    expected = [weight / (weight + workers - 1)] + [1 / (weight + workers - 1)] * (workers - 1)
    one_card = len(card(1).encode()) + 40
    for size, share in zip(sizes, expected, strict=True):
        assert abs(size - share * cards) <= one_card
    # Every chunk starts at an item of the cards list.
    assert all(data[bound : bound + 8] == b"  - id: " for bound in bounds)


@pytest.mark.parametrize(
    "special",
    [
        # an error in the second chunk: one-process messages, all of them
        {35: card(35, front="x") + "    bogus: 1\n", 50: "  - id: c50\n    front: no back\n"},
        # a card id used in both chunks
        {45: card(3).replace("topic: two", "topic: one")},
        # the same question in both chunks (a warning)
        {44: card(0).replace("id: c0", "id: twin")},
        # warnings inside the second chunk only: kept, with file positions
        {42: "  - topic: one\n    front: No id here\n    back: b\n"},
        # a deck key after the cards
        {59: card(59) + "source: after the cards\n"},
        # an alias in a later chunk to an anchor in the first
        {1: card(1, source="&src shared"), 50: card(50, source="*src")},
        # a topic whose title differs only in case, across chunks
        {55: card(55).replace("topic: two", "topic: ONE")},
        # lists nested 50,000 deep, in the parent's chunk and in a worker's
        {5: card(5) + "    extra: " + "[" * 50_000 + "]" * 50_000 + "\n"},
        {45: "  - " + "- " * 50_000 + "x\n"},
    ],
    ids=[
        *("errors", "dup-id", "dup-question", "warnings", "key-after", "alias", "topic-case"),
        *("deep-flow-parent", "deep-block-worker"),
    ],
)
def test_surprises_in_a_later_chunk_give_the_one_process_result(
    tmp_path: Path, chunked: list[int], special: dict[int, str]
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(deck_text(60, special), encoding="utf-8")
    same_either_way(path)
    assert chunked  # the chunked reader ran, and what it found sent the file back to one process


def test_a_boundary_line_inside_quoted_text_falls_back(tmp_path: Path, chunked: list[int]) -> None:
    # Inside a quoted scalar libyaml accepts a line that looks like a new item: cutting there
    # leaves the first chunk unterminated, and the file is read in one process.
    lines = "".join(f"\n  - id: fake{j}\n" for j in range(200))
    special = {30: f'  - id: c30\n    topic: one\n    front: "quoted{lines}  end"\n    back: b\n'}
    path = tmp_path / "big.yaml"
    path.write_text(deck_text(40, special), encoding="utf-8")
    result = same_either_way(path)
    assert chunked
    assert result[0] == "ok"
    assert len(result[1][0].cards) == 40


@pytest.mark.parametrize(
    "text",
    [
        deck_text(40).replace("\n", "\r\n"),
        deck_text(40)
        .replace("cards:\n", "cards:\n", 1)
        .replace("  - id:", "- id:")
        .replace("\n    ", "\n  "),
        HEAD.replace("topics:\n  one: One\n  two: Two\n", "")
        + deck_text(40).split("cards:\n", 1)[1]
        + "topics:\n  one: One\n  two: Two\n",
        "%YAML 1.1\n---\n" + deck_text(40),
        deck_text(40).replace("Question number 7?", '"Question\u2028number 7?"'),
    ],
    ids=["crlf", "column-0-items", "topics-last", "directive", "unicode-line-separator"],
)
def test_other_layouts_give_the_one_process_result(
    tmp_path: Path, chunked: list[int], text: str
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    assert same_either_way(path)[0] == "ok"


@pytest.mark.parametrize("dialect", ["anki", "plain"])
def test_a_build_with_jobs_writes_the_same_bytes(
    tmp_path: Path,
    good_deck: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunked: list[int],
    dialect: str,
) -> None:
    monkeypatch.setattr(builder, "PARALLEL_MIN_CARDS", 0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outputs = {}
    for jobs in (1, 2):
        good_deck.with_name("history.lock.json").unlink(missing_ok=True)
        out = tmp_path / f"out{jobs}"
        args = ["build", str(good_deck), "-o", str(out), "-j", str(jobs), "--csv-dialect", dialect]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        # Every output, and nothing else: no half of a CSV left behind.
        outputs[jobs] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        outputs[jobs]["lock"] = good_deck.with_name("history.lock.json").read_bytes()
    assert outputs[1] == outputs[2]
    assert len(outputs[2]) == 6  # five outputs and their record
    assert chunked  # the loader forked too


@pytest.mark.parametrize("output", ["cards", "sheet"])
def test_a_writer_failing_in_the_second_process_changes_nothing(
    tmp_path: Path, good_deck: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    monkeypatch.setattr(builder, "PARALLEL_MIN_CARDS", 0)
    out = tmp_path / "out"
    build([good_deck], out)

    before = snapshot(out, good_deck.parent)
    break_writer(monkeypatch, output, in_child_of=os.getpid())
    good_deck.write_text(good_deck.read_text("utf-8").replace("Test History", "Changed"), "utf-8")
    before = snapshot(out, good_deck.parent)
    with pytest.raises(ExportError, match="No space left on device"):
        build([good_deck], out, workers=2)
    assert (
        snapshot(out, good_deck.parent) == before
    )  # no output, lock or half file changed or left behind


def test_forked_returns_values_and_raises_what_the_child_raised() -> None:
    def work() -> dict[str, Any]:
        return {"pid": os.getpid(), "big": "x" * 1_000_000}

    with Forked(work) as worker:
        value = worker.result()
    assert value["pid"] != os.getpid()
    assert len(value["big"]) == 1_000_000

    def fails() -> None:
        raise OSError(28, "No space left on device", "/somewhere")

    with Forked(fails) as failing, pytest.raises(OSError) as caught:
        failing.result()
    assert (caught.value.errno, caught.value.filename) == (28, "/somewhere")


def test_a_killed_worker_is_reported_not_hung() -> None:
    def dies() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with Forked(dies) as worker, pytest.raises(ChildFailed, match="signal 9"):
        worker.result()


def test_a_killed_chunk_worker_means_one_process_reads_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 0)

    class Dying(Forked[Any]):
        def __init__(self, fn: Any) -> None:
            super().__init__(lambda: os.kill(os.getpid(), signal.SIGKILL))

    monkeypatch.setattr(fork, "Forked", Dying)
    path = tmp_path / "big.yaml"
    path.write_text(deck_text(40), encoding="utf-8")
    assert chunked_reading.read_in_chunks(path, path.read_bytes(), 2) is None
    assert outcome(path, 2) == outcome(path, 1)
