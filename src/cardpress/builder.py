"""``build``: every deck to every output, all or nothing.

The stages, in order: load the card files (loader/), make each deck's notes (notes.py),
update its lock (lock.py), run the writers (export/), and put their files in place together
(commit.py). Each output is first written to a temporary file beside its target; only when
every output of every deck is written are they renamed into place. A failure at any step
leaves every folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from cardpress import commit
from cardpress.changes import compare, removed_searches, states
from cardpress.errors import Diagnostic, ExportError, InputError, Severity, sort_diagnostics
from cardpress.export import BuildOptions, ExportSummary, plural

if TYPE_CHECKING:
    from cardpress.export.printable import Measurement
from cardpress.fork import ChildFailed, Forked, can_fork
from cardpress.housekeeping import (
    RECORD,
    Orphan,
    orphan_locks,
    orphan_outputs,
    read_record,
    record_text,
    source_of,
)
from cardpress.loader import LoadResult, load
from cardpress.lock import (
    Lock,
    lock_path,
    newer_than_lock,
    now,
    published_first_fields,
    read_lock,
    update_lock,
)
from cardpress.model import Card, Deck
from cardpress.notes import Notes, guid, make_notes


@dataclass(frozen=True)
class Output:
    """One file a build writes (or would write) and a line saying what it holds."""

    path: Path
    summary: str
    changed: bool


@dataclass
class BuildResult:
    """What a build wrote, and the warnings of the load and the writers; the outputs and
    locks whose card file is gone (housekeeping.py), and those ``clean`` removed."""

    outputs: list[Output] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    removed: list[Orphan] = field(default_factory=list)

    @property
    def stale(self) -> list[Output]:
        """Outputs whose content differs from what is on disk."""
        return [o for o in self.outputs if o.changed]


T = TypeVar("T")

Progress = Callable[[int, int, str], None]
"""``progress(done, total, doing)``: called as a build moves from one step to the next."""

Paths = Path | str | Sequence[Path | str]


@dataclass(frozen=True)
class Changes:
    """What the user says of changes a package import cannot carry (see changes.py)."""

    acknowledge: bool = False  # Anki has them now (done by hand): stop reporting them
    new_key: bool = False  # the deck key changed on purpose: a new deck in Anki
    pushing: bool = False  # push carries them into Anki: not reported (errors still are)


def build(
    paths: Paths,
    out_dir: Path | str = "dist",
    *,
    strict: bool = False,
    check_only: bool = False,
    options: BuildOptions | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    changes: Changes | None = None,
) -> BuildResult:
    """Load the card files under ``paths`` (a file or folder, or several) and write every
    output into ``out_dir``.

    With ``check_only`` nothing is written: the result says which outputs are stale. With
    ``workers`` > 1 big decks are read and written by that many processes where the system
    can fork (call it so only from a single-threaded program); the outputs are the same bytes
    either way. ``progress`` hears of every step (reading the cards, then each output).
    ``changes`` says what the user did about changes a package import cannot carry.
    """
    report = progress or _silent
    report(0, 1, "reading the cards")
    loaded = load(paths, strict=strict, workers=workers)
    return write(
        loaded, out_dir, strict=strict, check_only=check_only, options=options,
        workers=workers, progress=report, changes=changes,
    )  # fmt: skip


def write(
    loaded: LoadResult,
    out_dir: Path | str = "dist",
    *,
    strict: bool = False,
    check_only: bool = False,
    options: BuildOptions | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    changes: Changes | None = None,
    clean: bool = False,
) -> BuildResult:
    """Write every output of decks already loaded (``build`` after its load). ``changes``
    says what the user did about changes a package import cannot carry (changes.py).
    ``clean`` removes, once the build is in place, the outputs recorded in ``out_dir``
    whose card file is gone, and lock files of gone card files that list no card."""
    out = Path(out_dir)
    opts = options or BuildOptions()
    report = progress or _silent
    _check_source_date_epoch()
    decks = [_Deck(deck, out, changes or Changes()) for deck in loaded.decks]
    per_deck = [(deck, deck.jobs(out, opts)) for deck in decks]
    jobs = [job for _, deck_jobs in per_deck for job in deck_jobs]
    result = BuildResult(warnings=list(loaded.warnings))
    record = _record(per_deck, out)
    result.orphans = orphan_outputs(out, record)
    result.orphans += orphan_locks(Path(d.location.path).parent for d in loaded.decks)
    if clean:  # what it removes leaves the record
        for orphan in result.orphans:
            if orphan.path.parent == out:
                record.pop(orphan.path.name, None)
    text = record_text(record)
    jobs.append(Job(out / RECORD, lambda path: _write_record(path, text, len(record))))
    cards = sum(len(deck.cards) for deck in loaded.decks)
    side = workers > 1 and can_fork() and cards >= PARALLEL_MIN_CARDS
    if check_only:
        with tempfile.TemporaryDirectory(prefix="cardpress-check-") as scratch:
            temps = [Path(scratch) / f"{i}{job.target.suffix}" for i, job in enumerate(jobs)]
            _run(decks, jobs, temps, result, side, report, check_only=True)
        _fail_if_strict(result, strict)
        return result
    created = _make_folder(out)
    try:
        for folder in dict.fromkeys(job.target.parent for job in jobs):  # a --lock-folder
            created += _make_folder(folder)
        _commit_all(decks, jobs, out, result, side, strict, report)
    except BaseException:
        for folder in reversed(created):  # a failed build leaves no new empty folders
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    if clean:
        _clean(result)
    return result


def _record(per_deck: Sequence[tuple[_Deck, Sequence[Job]]], out: Path) -> dict[str, str]:
    """The record of the output folder after this build: what was recorded there (while
    the file is there) and this build's outputs in it, each with its card file."""
    record = {name: src for name, src in read_record(out).items() if (out / name).is_file()}
    for deck, jobs in per_deck:
        source = source_of(Path(deck.notes.deck.location.path), out)
        record.update((job.target.name, source) for job in jobs if job.target.parent == out)
    return record


def _write_record(path: Path, text: str, count: int) -> ExportSummary:
    path.write_text(text, encoding="utf-8", newline="\n")
    return ExportSummary(f"the record of {plural(count, 'output')} and their card files")


def _clean(result: BuildResult) -> None:
    """Remove the orphans a build may remove: recorded outputs, and locks listing no card."""
    for orphan in result.orphans:
        if orphan.path.name.endswith(".lock.json") and orphan.cards != 0:
            continue  # the record of notes Anki may have: the user's to delete
        try:
            orphan.path.unlink(missing_ok=True)
        except OSError as exc:
            done = ", ".join(str(o.path) for o in result.removed) or "nothing"
            raise ExportError.from_os_error(
                exc, orphan.path, f"the build is in place and removed {done}; cannot remove"
            ) from exc
        result.removed.append(orphan)
    result.orphans = [o for o in result.orphans if o not in result.removed]


def _commit_all(
    decks: Sequence[_Deck],
    jobs: Sequence[Job],
    out: Path,
    result: BuildResult,
    side: bool,
    strict: bool,
    progress: Progress,
) -> None:
    """Write every job's file beside its target, then put them all in place, or none."""
    folders: dict[Path, list[str]] = {}
    for job in jobs:
        folders.setdefault(job.target.parent, []).append(job.target.name)
    with commit.exclusive(folders):
        for folder, names in folders.items():
            commit.sweep(folder, names)
        staged = [(commit.temp_name(job.target), job.target) for job in jobs]
        try:
            for temp, target in staged:
                commit.create(temp, target)
            _run(decks, jobs, [temp for temp, _ in staged], result, side, progress)
            _fail_if_strict(result, strict)
            with commit.signals_deferred():
                commit.commit(staged)
        except OSError as exc:
            raise _export_error(exc, out) from exc
        finally:
            for temp, _ in staged:
                commit.remove(temp)


# From about this many cards a second process for the printable pages pays for its start.
PARALLEL_MIN_CARDS = 2000


Writer = Callable[[Path], ExportSummary]


@dataclass(frozen=True)
class Job:
    """One file to write, the function that writes it, and whether it is a printable page
    (the pages can be written by a second process)."""

    target: Path
    write: Writer
    page: bool = False
    # Whether what was written (first) says what the target says (second); default: the
    # same bytes.
    same: Callable[[Path, Path], bool] | None = None


class _Deck:
    """A deck on its way out: its notes, and once prepared, its updated lock and the notes
    stamped with the lock's mtimes."""

    def __init__(self, deck: Deck, out: Path, changes: Changes) -> None:
        self.notes = make_notes(deck)  # made when first read: see Notes
        self.out = out
        self.changes = changes
        self.lock_file = lock_path(deck)
        self._prepared: tuple[Notes, Lock] | None = None
        self.previous_format = 0

    def prepare(self) -> list[Diagnostic]:
        """The notes and lock stage: read the lock, compare the cards with it (what a package
        import cannot carry: changes.py), update it, stamp the notes. Returns the warnings and
        notes of the comparison; raises InputError for its errors (a deck key changed)."""
        deck = self.notes.deck
        try:
            previous = read_lock(self.lock_file)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise ExportError(self.lock_file, f"cannot read lock file: {reason}") from exc
        package = self.out / f"{deck.file_stem}.apkg"
        first_field = _FirstFields(package, self.notes)
        new_key = self.changes.new_key
        found = compare(
            deck, previous, states(deck), self.lock_file, new_key=new_key,
            first_field=first_field,
        )  # fmt: skip
        found = sort_diagnostics(found)
        if any(d.severity is Severity.ERROR for d in found):
            raise InputError(found)
        if previous is not None and previous.deck_key != deck.key:  # --new-key: a new deck
            previous = None
        self.previous_format = previous.format if previous is not None else 0
        published = newer_than_lock(package, previous, self.notes)
        acknowledge = self.changes.acknowledge
        searches = {}
        if previous is not None and not acknowledge:
            current = (card.id for card in deck.cards)
            searches = removed_searches(previous, current, first_field)
        if acknowledge:
            found = [
                Diagnostic(d.location, Severity.NOTE, f"acknowledged: {d.message}") for d in found
            ]
        if self.changes.pushing:
            found = []
        lock = update_lock(
            previous, self.notes, published, acknowledge=acknowledge, searches=searches
        )
        entries = lock.entries
        stamped = self.notes.stamped(
            (entries[card.id].mtime for card in deck.cards),
            {type_id: entry.mtime for type_id, entry in lock.note_types.items()},
        )
        self._prepared = (stamped, lock)
        return found

    @property
    def stamped(self) -> Notes:
        assert self._prepared is not None, "prepare() runs before the writers that need it"
        return self._prepared[0]

    @property
    def lock(self) -> Lock:
        assert self._prepared is not None, "prepare() runs before the writers that need it"
        return self._prepared[1]

    def jobs(self, out: Path, options: BuildOptions) -> list[Job]:
        """The files this deck produces, each with the function that writes it."""
        # The writers (genanki, Jinja2) are imported here, not at the top: `cardpress check`
        # and programs that only load cards never pay for them.
        from cardpress.export import printable
        from cardpress.export.apkg import write_apkg
        from cardpress.export.csv import write_csv

        notes, stem = self.notes, self.notes.deck.file_stem
        measured = _Once(lambda: printable.measure(notes, options))
        wanted = set(options.only) or {"apkg", "csv", "cards", "sheet"}
        if options.pdf:
            wanted.add("pdf")
        pdfs = self._pdf_jobs(out, options, measured) if "pdf" in wanted else []
        jobs = [
            Job(out / f"{stem}.apkg", lambda path: write_apkg(self.stamped, path, options)),
            Job(out / f"{stem}.csv", lambda path: write_csv(self.stamped, path, options)),
            Job(
                out / f"{stem}.cards.html",
                lambda path: printable.write_cards(notes, path, options, measured=measured()),
                page=True,
            ),
            Job(
                out / f"{stem}.sheet.html",
                lambda path: printable.write_sheet(notes, path, options, measured=measured()),
                page=True,
            ),
            *pdfs,
            Job(self.lock_file, self.write_lock, same=self.same_lock),
        ]
        kinds = ["apkg", "csv", "cards", "sheet", *(["pdf"] * len(pdfs)), "lock"]
        return [job for job, kind in zip(jobs, kinds, strict=True) if kind in wanted | {"lock"}]

    def _pdf_jobs(
        self, out: Path, options: BuildOptions, measured: _Once[Measurement]
    ) -> list[Job]:
        """NAME.cards.pdf and NAME.sheet.pdf: the pages printed by a browser (export/pdf.py),
        dated by the deck's last change, so they are written after the lock stage."""
        from cardpress.export import printable
        from cardpress.export.pdf import find_browser, print_pdf

        browser = find_browser(options.browser)  # before anything is written: or nothing is
        notes, stem = self.notes, self.notes.deck.file_stem

        def stamp() -> int:
            return max(self.stamped.mtimes, default=now())

        def cards(path: Path) -> ExportSummary:
            return printable.write_cards(notes, path, options, measured=measured())

        def sheet(path: Path) -> ExportSummary:
            return printable.write_sheet(notes, path, options, measured=measured())

        return [
            Job(out / f"{stem}.cards.pdf", lambda p: print_pdf(cards, p, browser, stamp())),
            Job(out / f"{stem}.sheet.pdf", lambda p: print_pdf(sheet, p, browser, stamp())),
        ]

    def write_lock(self, path: Path) -> ExportSummary:
        with path.open("w", encoding="utf-8", newline="\n") as out:
            self.lock.write(out)
        return ExportSummary(plural(len(self.lock.entries), "card"))

    def same_lock(self, written: Path, target: Path) -> bool:
        """Whether the lock just written says what the lock on disk says: the same bytes,
        or a format 1 lock with the same fingerprints and mtimes (``build --check`` does not
        ask for a rebuild only to upgrade it; the next build does)."""
        if not commit.differs(written, target):
            return True
        if self.previous_format != 1:
            return False
        try:
            old = read_lock(target)
            new = read_lock(written)
        except (OSError, ValueError):
            return False
        return (
            old is not None
            and new is not None
            and not new.removed
            and old.mtimes() == new.mtimes()
            and {k: e.fingerprint for k, e in old.entries.items()}
            == {k: e.fingerprint for k, e in new.entries.items()}
        )


def stage(deck: Deck, out_dir: Path | str, changes: Changes | None = None) -> tuple[Notes, Lock]:
    """What a build of ``deck`` into ``out_dir`` would make of its lock, and its notes stamped
    with it, without writing anything (``push`` plans from it). Raises InputError where a
    build would (a changed deck key)."""
    staged = _Deck(deck, Path(out_dir), changes or Changes())
    staged.prepare()
    return staged.stamped, staged.lock


class _FirstFields:
    """A card's first field as Anki has it (changes.FirstField): as the package in the output
    folder published it (read once, on first use: only a build with changes asks), else as
    this build makes it."""

    def __init__(self, package: Path, notes: Notes) -> None:
        self.package = package
        self.notes = notes
        self._published: dict[str, str] | None = None
        self._cards: dict[str, Card] | None = None

    def __call__(self, card_id: str) -> str:
        if self._published is None:
            self._published = published_first_fields(self.package)
        if self._cards is None:
            self._cards = {card.id: card for card in self.notes.deck.cards}
        card = self._cards.get(card_id)
        own = card.guid if card is not None else ""
        found = self._published.get(own or guid(self.notes.deck.key, card_id))
        if found is not None:
            return found
        return card.front if card is not None else ""  # the first field of every kind


class _Once(Generic[T]):
    """A value made on first use, in whichever process uses it."""

    def __init__(self, make: Callable[[], T]) -> None:
        self.make = make
        self.value: T | None = None

    def __call__(self) -> T:
        if self.value is None:
            self.value = self.make()
        return self.value


def _check_source_date_epoch() -> None:
    """SOURCE_DATE_EPOCH, checked before anything is written (the lock stamps with it)."""
    try:
        now()
    except ValueError as exc:
        raise ExportError("SOURCE_DATE_EPOCH", str(exc).removeprefix("SOURCE_DATE_EPOCH ")) from exc


def _silent(done: int, total: int, doing: str) -> None:
    pass


def _make_folder(out: Path) -> list[Path]:
    """Make the output folder and any missing parent; returns those it made, outermost first."""
    missing = [folder for folder in (out, *out.parents) if not folder.exists()][::-1]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ExportError(out, "cannot write into it: it is a file, not a folder") from exc
    except OSError as exc:
        raise ExportError.from_os_error(exc, out, "cannot create output folder") from exc
    return missing


def _run(
    decks: Sequence[_Deck],
    jobs: Sequence[Job],
    temps: Sequence[Path],
    result: BuildResult,
    side: bool,
    progress: Progress,
    *,
    check_only: bool = False,
) -> None:
    """The notes and lock stage, then every writer into its temporary file, in job order.
    ``check_only``: an output counts as current where its job's ``same`` says so (a format 1
    lock that says what the new one says); a build reports it as changed, and upgrades it.

    With ``side`` the printable pages (whole files, a third of the work), which need neither
    notes nor lock, are written by a second process, forked first: the notes and the lock
    are then made in this process only, after the fork, so that neither process holds a
    copy of the other's memory (a copy made page by page as soon as either touches what
    the other shares: about 50 MB at 100,000 cards).
    """
    aside = [i for i, job in enumerate(jobs) if side and job.page]
    summaries: dict[int, ExportSummary] = {}
    total = 2 + len(jobs)  # reading the cards, the lock, then each output

    def pages() -> dict[int, ExportSummary]:
        return {i: _write(jobs[i], temps[i]) for i in aside}

    worker = Forked.start(pages) if aside else None
    if worker is None:
        aside = []  # one process: no second one asked for, or none to be had
    with worker if worker is not None else contextlib.nullcontext():
        progress(1, total, "updating the lock")
        for deck in decks:
            result.warnings += deck.prepare()
        for i, job in enumerate(jobs):
            if i not in aside:
                progress(2 + len(summaries), total, f"writing {job.target.name}")
                summaries[i] = _write(job, temps[i])
        if worker is not None:
            names = ", ".join(jobs[i].target.name for i in aside)
            progress(2 + len(summaries), total, f"writing {names}")
            try:
                summaries.update(worker.result())
            except ChildFailed as exc:
                raise ExportError(jobs[aside[0]].target, str(exc)) from exc
    progress(total, total, "done")
    for i, job in enumerate(jobs):
        # A note two outputs give in the same words (both printable pages) is said once.
        said = set(result.warnings)
        result.warnings.extend(d for d in summaries[i].warnings if d not in said)
        if check_only and job.same is not None:
            changed = not job.same(temps[i], job.target)
        else:
            changed = commit.differs(temps[i], job.target)
        result.outputs.append(Output(job.target, summaries[i].text, changed))


def _write(job: Job, temp: Path) -> ExportSummary:
    """Run one writer; what goes wrong on the way is an error that names its output."""
    import sqlite3  # the package writer's errors (a full disk) come from SQLite

    try:
        return job.write(temp)
    except OSError as exc:
        raise _export_error(exc, job.target) from exc
    except sqlite3.Error as exc:
        raise ExportError(job.target, f"cannot write: {exc}") from exc


def _export_error(exc: OSError, default: Path) -> ExportError:
    """The error for an OSError: the file it names, or where that is one of our temporary
    files, the file it stands for (a user knows dist/deck.apkg, not .deck.apkg.<hex>...)."""
    name = exc.filename
    if name is not None:
        path = Path(name)
        target = commit.owner(path.name)
        name = path.with_name(target) if target is not None else path
    return ExportError(name or default, f"cannot write: {exc.strerror or exc}")


def _fail_if_strict(result: BuildResult, strict: bool) -> None:
    # The loader already failed on its own warnings; these are the writers' (e.g. long text).
    warnings = [d for d in result.warnings if d.severity is Severity.WARNING]
    if strict and warnings:
        raise InputError([Diagnostic(d.location, Severity.ERROR, d.message) for d in warnings])


__all__ = ["BuildOptions", "BuildResult", "Changes", "Job", "Output", "build", "stage", "write"]
