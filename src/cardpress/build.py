"""``build``: every deck to every output, all or nothing.

Each output is first written to a hidden temporary file in its own folder; only when every
output of every deck has been written are they renamed into place (``os.replace`` is atomic on
one file system). A failure at any step removes the temporary files and leaves the output
folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cardpress import commit, ids
from cardpress.errors import Diagnostic, ExportError, InputError, Severity
from cardpress.export import ExportSummary
from cardpress.fork import ChildFailed, Forked
from cardpress.load import find_card_files, keep_until_exit, load, paused_gc
from cardpress.model import Deck


@dataclass(frozen=True)
class Output:
    """One file a build writes (or would write) and a line saying what it holds."""

    path: Path
    summary: str
    changed: bool


@dataclass
class BuildResult:
    """What a build wrote, and the warnings of the load."""

    outputs: list[Output] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def stale(self) -> list[Output]:
        """Outputs whose content differs from what is on disk."""
        return [o for o in self.outputs if o.changed]


Writer = Callable[[Path], ExportSummary]


@dataclass(frozen=True)
class Parts:
    """A writer whose file can also be written in parts, each by another process, and joined.

    ``write(path, part, parts)`` writes the ``part``-th of ``parts`` pieces of the file; the
    pieces joined in order are the whole file, and each returns the whole file's summary.
    """

    write: Callable[[Path, int, int], ExportSummary]

    def __call__(self, path: Path) -> ExportSummary:
        return self.write(path, 0, 1)


Progress = Callable[[int, int, str], None]
"""``progress(done, total, doing)``: called as a build moves from one step to the next."""


@dataclass(frozen=True)
class BuildOptions:
    """Choices that shape the outputs (the CLI's build options)."""

    csv_dialect: str = "anki"
    paper: str = "a4"
    duplex: str = "long"


def lock_path(deck: Deck) -> Path:
    """Where a deck's lock file lives: beside its card file."""
    source = Path(deck.location.path)
    return source.with_name(source.stem + ".lock.json")


def read_lock(deck: Deck) -> ids.Lock | None:
    """The deck's lock file, or None when there is none (a first build)."""
    path = lock_path(deck)
    try:
        return ids.Lock.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: error: cannot read lock file: {exc}") from exc


def plan(deck: Deck, out_dir: Path, options: BuildOptions) -> list[tuple[Path, Writer]]:
    """The files one deck produces, each with the function that writes it.

    The lock is computed by the first writer that needs it, so the printable pages, which do
    not, can start (in a second process) as soon as the deck is loaded. GUIDs are computed as
    rows are written (a tenth of a second at 100,000 cards): a table of them would be 11 MB.
    """
    # The exporters (genanki, Jinja2) are imported here, not at the top: `cardpress check`
    # and programs that only load cards never pay for them.
    from cardpress.export import apkg
    from cardpress.export import html as html_export
    from cardpress.export.csv import write_csv
    from cardpress.published import newer_than_lock

    stem = deck.file_stem

    @functools.cache
    def lock() -> ids.Lock:
        previous = read_lock(deck)
        known = previous.mtimes if previous is not None and previous.deck_key == deck.key else {}
        guids = ((card.id, ids.guid(deck.key, card.id)) for card in deck.cards)
        published = newer_than_lock(out_dir / f"{stem}.apkg", known, guids)
        return ids.update_lock(previous, deck.key, apkg.iter_fingerprints(deck), published)

    def write_lock(path: Path) -> ExportSummary:
        with path.open("w", encoding="utf-8") as out:
            lock().write_json(out)
        return ExportSummary(f"{len(lock().entries)} cards")

    def write_package(path: Path) -> ExportSummary:
        mtimes = lock().mtimes
        return ExportSummary(str(apkg.write_apkg(deck, path, mtimes=mtimes)))

    def write_csv_part(path: Path, part: int, parts: int) -> ExportSummary:
        return write_csv(deck, path, dialect=options.csv_dialect, part=part, parts=parts)

    def write_cards(path: Path) -> ExportSummary:
        return html_export.write_html(
            deck, path, layout="cards", paper=options.paper, duplex=options.duplex
        )

    def write_sheet(path: Path) -> ExportSummary:
        return html_export.write_html(deck, path, layout="sheet", paper=options.paper)

    return [
        (out_dir / f"{stem}.apkg", write_package),
        (out_dir / f"{stem}.csv", Parts(write_csv_part)),
        (out_dir / f"{stem}.cards.html", write_cards),
        (out_dir / f"{stem}.sheet.html", write_sheet),
        (lock_path(deck), write_lock),
    ]


def build(
    paths: Sequence[Path | str],
    out_dir: Path | str = "dist",
    *,
    strict: bool = False,
    check_only: bool = False,
    options: BuildOptions | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> BuildResult:
    """Load the card files under ``paths`` and write every output into ``out_dir``.

    With ``check_only`` nothing is written: the result says which outputs are stale. With
    ``workers`` > 1 big decks are read and written by that many processes (forked: call it
    only from a single-threaded program); the outputs are the same bytes either way.
    ``progress`` hears of every step (reading the cards, then each output).
    """
    # A build allocates millions of objects and frees none in cycles: the cycle collector
    # would only re-scan the growing deck, again and again (seconds at 100k cards).
    with paused_gc():
        return _build(
            paths,
            Path(out_dir),
            strict,
            check_only,
            options or BuildOptions(),
            workers,
            progress or _silent,
        )


def _silent(done: int, total: int, doing: str) -> None:
    pass


def _build(
    paths: Sequence[Path | str],
    out: Path,
    strict: bool,
    check_only: bool,
    opts: BuildOptions,
    workers: int,
    progress: Progress,
) -> BuildResult:
    files, _ = find_card_files([Path(p) for p in paths])
    progress(0, 1 + JOBS_PER_DECK * len(files), "reading the cards")
    loaded = load(paths, strict=strict, workers=workers)
    jobs = [job for deck in loaded.decks for job in plan(deck, out, opts)]
    keep_until_exit(jobs)  # the decks, and the lock the writers make
    if not check_only:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"{out}: error: cannot create output folder: {exc.strerror}") from exc
    result = BuildResult(warnings=loaded.warnings)
    cards = sum(len(deck.cards) for deck in loaded.decks)
    side = workers > 1 and cards >= PARALLEL_MIN_CARDS
    if check_only:
        with tempfile.TemporaryDirectory(prefix="cardpress-check-") as scratch:
            temps = [Path(scratch) / f"{i}{target.suffix}" for i, (target, _) in enumerate(jobs)]
            _write_all(jobs, temps, result, side, progress)
        _fail_if_strict(result, strict)
        return result
    folders: dict[Path, list[str]] = {}
    for target, _ in jobs:
        folders.setdefault(target.parent, []).append(target.name)
    with commit.exclusive(folders):
        for folder, names in folders.items():
            commit.sweep(folder, names)
        staged: list[tuple[Path, Path]] = []
        try:
            for target, _ in jobs:
                staged.append((commit.temp_beside(target), target))
            _write_all(jobs, [temp for temp, _ in staged], result, side, progress)
            _fail_if_strict(result, strict)
            with commit.signals_deferred():
                commit.commit(staged)
        except OSError as exc:
            where = exc.filename or out
            raise ExportError(f"{where}: error: cannot write: {exc.strerror}") from exc
        finally:
            for temp, _ in staged:
                temp.unlink(missing_ok=True)
    return result


JOBS_PER_DECK = 5  # .apkg, .csv, .cards.html, .sheet.html, .lock.json

# From about this many cards a second process for the printable pages pays for its start.
PARALLEL_MIN_CARDS = 2000


def _write_all(
    jobs: list[tuple[Path, Writer]],
    temps: list[Path],
    result: BuildResult,
    side: bool,
    progress: Progress,
) -> None:
    """Run every writer into its temporary file, in job order.

    With ``side`` the printable pages (the HTML writers, a third of the work) and the second
    half of each file written in parts (the CSV) are written by a forked second process, while
    this one writes the package, the first halves and the lock file; then the halves are
    joined. Both processes finish at about the same time.
    """
    forked = [i for i, (target, _) in enumerate(jobs) if side and target.suffix == ".html"]
    # Each split writer and its second half's file, named like its temporary file, so that a
    # killed build's sweep removes it too.
    halves = {
        i: (writer, commit.derived(temps[i], "2"))
        for i, (_, writer) in enumerate(jobs)
        if side and isinstance(writer, Parts)
    }

    def pages() -> dict[int, ExportSummary]:
        done = {i: jobs[i][1](temps[i]) for i in forked}
        for writer, half in halves.values():
            writer.write(half, 1, 2)
        return done

    summaries: dict[int, ExportSummary] = {}
    total = 1 + len(jobs)
    with contextlib.ExitStack() as stack:
        for _, half in halves.values():
            stack.callback(half.unlink, missing_ok=True)
        worker = stack.enter_context(Forked(pages)) if forked or halves else None
        for i, (target, writer) in enumerate(jobs):
            if i not in forked:
                progress(1 + len(summaries), total, f"writing {target.name}")
                if i in halves:
                    summaries[i] = halves[i][0].write(temps[i], 0, 2)
                else:
                    summaries[i] = writer(temps[i])
        if worker is not None:
            names = ", ".join(jobs[i][0].name for i in [*forked, *halves])
            progress(1 + len(summaries) - len(halves), total, f"writing {names}")
            try:
                summaries.update(worker.result())
            except ChildFailed as exc:
                first = (forked or list(halves))[0]
                raise ExportError(f"{jobs[first][0]}: error: {exc}") from exc
            for i, (_, half) in halves.items():
                _append(temps[i], half)
    progress(total, total, "done")
    for i, (target, _) in enumerate(jobs):
        result.warnings.extend(summaries[i].warnings)
        result.outputs.append(Output(target, summaries[i].text, commit.differs(temps[i], target)))


def _append(path: Path, tail: Path) -> None:
    """Append the file ``tail`` to ``path``, a megabyte at a time."""
    with path.open("ab") as out, tail.open("rb") as source:
        shutil.copyfileobj(source, out, 1 << 20)


def _fail_if_strict(result: BuildResult, strict: bool) -> None:
    # The loader already failed on its own warnings; these are the exports' (e.g. overlong text).
    if strict and result.warnings:
        raise InputError(
            [Diagnostic(d.location, Severity.ERROR, d.message) for d in result.warnings]
        )
