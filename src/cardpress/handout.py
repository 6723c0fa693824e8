"""``print``: the printable pages of part of a deck, for handing out one unit at a time.

A selection (topics, card ids) of a deck is printed as a deck of its own: its cut-out cards,
its study sheet and, on request, a worksheet (the sheet with an empty, lined answer column),
each under a name of its own beside, never over, the whole deck's pages that ``build``
writes: ``NAME.PART.cards.html`` and so on, where PART names the topics (``dates+people``)
or, for a choice of cards, their count and a short hash of their ids. The package, the CSV
and the lock are not touched. All files of a run are put in place together, or none.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from cardpress import commit
from cardpress.errors import Diagnostic, ExportError, InputError, Severity
from cardpress.export import BuildOptions, ExportSummary
from cardpress.lock import lock_path, now, read_lock
from cardpress.model import Deck
from cardpress.notes import make_notes


@dataclass(frozen=True)
class Selection:
    """Which cards to print: of the given topics (by key) and with the given ids; empty
    means all of them."""

    topics: tuple[str, ...] = ()
    card_ids: tuple[str, ...] = ()

    def part(self) -> str:
        """The part of the file names that says what was chosen ("" for the whole deck)."""
        parts = list(self.topics)
        if self.card_ids:
            digest = hashlib.sha256("\x1f".join(sorted(self.card_ids)).encode()).hexdigest()
            parts.append(f"{len(self.card_ids)}-cards-{digest[:8]}")
        return "+".join(parts)


@dataclass(frozen=True)
class Printed:
    """One file ``print`` wrote, and what it holds."""

    path: Path
    summary: str


def select(deck: Deck, selection: Selection) -> Deck:
    """The deck with only the selected cards; InputError (at the deck) for a topic or a
    card id it does not have, or for a selection that leaves no card."""
    problems = []
    topics = {card.topic for card in deck.cards} | {key for key, _ in deck.topics}
    for key in selection.topics:
        if key not in topics:
            known = ", ".join(sorted(filter(None, topics))) or "none"
            problems.append(f"no topic {key!r} in this deck (its topics: {known})")
    ids = {card.id for card in deck.cards}
    for card_id in selection.card_ids:
        if card_id not in ids:
            problems.append(f"no card {card_id!r} in this deck")
    cards = tuple(
        card
        for card in deck.cards
        if (not selection.topics or card.topic in selection.topics)
        and (not selection.card_ids or card.id in selection.card_ids)
    )
    if not problems and not cards:
        problems.append("the selection leaves no card to print")
    if problems:
        raise InputError([Diagnostic(deck.location, Severity.ERROR, p) for p in problems])
    return dataclasses.replace(deck, cards=cards)


def print_pages(
    decks: Sequence[Deck],
    out_dir: Path | str,
    selection: Selection,
    options: BuildOptions | None = None,
) -> list[Printed]:
    """Write the pages of the selected cards of each deck into ``out_dir``: cards, sheet,
    and with ``options.worksheet`` the worksheet; with ``options.pdf`` each as PDF too."""
    from cardpress.export import printable
    from cardpress.export.pdf import find_browser

    opts = options or BuildOptions()
    out = Path(out_dir)
    chosen = [select(deck, selection) for deck in decks]  # every error before any writing
    browser = find_browser(opts.browser) if opts.pdf else None
    part = selection.part()
    jobs: list[tuple[Path, Callable[[Path], ExportSummary]]] = []
    for deck in chosen:
        notes = make_notes(deck)
        measured = printable.measure(notes, opts)
        stem = ".".join(filter(None, (deck.file_stem, part)))
        sheet_options = dataclasses.replace(opts, worksheet=False)
        pages: list[tuple[str, Callable[[Path], ExportSummary]]] = [
            ("cards", partial(printable.write_cards, notes, options=opts, measured=measured)),
            (
                "sheet",
                partial(printable.write_sheet, notes, options=sheet_options, measured=measured),
            ),
        ]
        if opts.worksheet:
            worksheet = partial(printable.write_sheet, notes, options=opts, measured=measured)
            pages.append(("worksheet", worksheet))
        stamp = _last_change(deck)
        for layout, write in pages:
            jobs.append((out / f"{stem}.{layout}.html", write))
            if browser is not None:
                pdf = partial(pdf_of, write, browser=browser, stamp=stamp)
                jobs.append((out / f"{stem}.{layout}.pdf", pdf))
    return write_files(out, jobs)


def pdf_of(
    write: Callable[[Path], ExportSummary], path: Path, *, browser: Path, stamp: int
) -> ExportSummary:
    """The page that ``write`` writes, printed to PDF at ``path`` (a job of write_files)."""
    from cardpress.export.pdf import print_pdf

    return print_pdf(write, path, browser, stamp)


def _last_change(deck: Deck) -> int:
    """When the selected cards last changed, by the deck's lock (the PDFs' date); the build
    time where the lock does not know them."""
    try:
        lock = read_lock(lock_path(deck))
    except (OSError, ValueError):
        lock = None
    times = [lock.entries[c.id].mtime for c in deck.cards if lock and c.id in lock.entries]
    return max(times, default=now())


def write_files(
    out: Path, jobs: Sequence[tuple[Path, Callable[[Path], ExportSummary]]]
) -> list[Printed]:
    """Write every job beside its target, then put them all in place together, or none
    (``print`` and ``calibrate``: pages that no build keeps current)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with commit.exclusive([out]):
            staged = [(commit.temp_name(target), target) for target, _ in jobs]
            try:
                summaries = []
                for (temp, target), (_, write) in zip(staged, jobs, strict=True):
                    commit.create(temp, target)
                    summaries.append(write(temp))
                with commit.signals_deferred():
                    commit.commit(staged)
            finally:
                for temp, _ in staged:
                    commit.remove(temp)
    except OSError as exc:
        raise ExportError.from_os_error(exc, out) from exc
    return [Printed(target, str(s)) for (target, _), s in zip(jobs, summaries, strict=True)]
