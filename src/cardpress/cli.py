"""The command line: parse options, call the library, print. Errors are translated once, here."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from click.core import ParameterSource

from cardpress import __version__
from cardpress.config import SETTINGS, Config
from cardpress.config import find as find_config
from cardpress.config import read as read_config
from cardpress.errors import CardpressError, Diagnostic, ExportError, InputError, Severity
from cardpress.export import plural
from cardpress.fork import available_cores
from cardpress.loader import check as check_files
from cardpress.loader import find_card_files, load
from cardpress.model import Location
from cardpress.report import FORMATS, annotation, document

if TYPE_CHECKING:
    from cardpress.builder import Output
    from cardpress.housekeeping import Orphan
    from cardpress.push.collection import Pushed

# The exporters' choices, spelled here so that `check` never imports the exporters
# (tests/test_cli.py pins them to cardpress.export.csv and cardpress.export.printable).
CSV_DIALECTS = ("anki", "plain")
PAPERS = ("a4", "letter", "avery5371", "a7", "index3x5")
DUPLEX_MODES = ("long", "short", "none")

_PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
_JOBS = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default="0: one per CPU core",
    help="Processes to use for big decks; 1 runs everything in this process.",
)


_LOCK_FOLDER = click.option(
    "--lock-folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the decks' lock files in this folder (default: beside each card file), e.g. "
    "for card files in a folder that cannot be written.",
)

_OFFSET_LIMIT = 10.0  # mm: more than any printer misplaces a side


def _back_offset(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    """``X,Y`` in millimetres, each within ±10: how far to move every back."""
    try:
        x, y = (float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not X,Y in millimetres (e.g. 1.5,-0.5)") from None
    if not all(abs(v) <= _OFFSET_LIMIT for v in (x, y)):  # a NaN fails this too
        raise click.BadParameter(f"{value!r}: X and Y must each be within ±{_OFFSET_LIMIT:g} mm")
    return (x + 0.0, y + 0.0)  # -0.0 is 0.0


def _only(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """``--only apkg,csv,…``: the outputs to write, each of OUTPUTS, in any case."""
    from cardpress.export import OUTPUTS

    chosen = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    unknown = [name for name in chosen if name not in OUTPUTS]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(map(repr, unknown))}: choose from {', '.join(OUTPUTS)}"
        )
    return chosen


_BACK_OFFSET = click.option(
    "--back-offset",
    metavar="X,Y",
    callback=_back_offset,
    default="0,0",
    show_default=True,
    help="Move every back of NAME.cards.html X mm right and Y mm down (as the back is seen), "
    "to make up for a printer that misplaces the second side; read X,Y off the page of "
    "'cardpress calibrate'.",
)


_Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def _output(what: str) -> _Decorator:
    """``-o DIR`` / ``--output DIR`` (default dist/): the folder to write ``what`` into."""
    return click.option(
        "-o",
        "--output",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("dist"),
        show_default=True,
        help=f"Folder to write {what} into.",
    )


def _paper(help: str) -> _Decorator:
    """``--paper``: one of PAPERS, in any case."""
    return click.option(
        "--paper",
        type=click.Choice(PAPERS, case_sensitive=False),
        default="a4",
        show_default=True,
        help=help,
    )


_BROWSER = click.option("--browser", metavar="PATH", help="The browser that prints --pdf.")


def _again(ctx: click.Context) -> str:
    """The command that brings the outputs up to date: this one without --check, with the
    options given on the command line (a setting of the project's file applies by itself)."""
    words = ["cardpress", ctx.info_name or "build"]
    for param in ctx.command.params:
        name = param.name
        if name in (None, "check_only", "report_format") or not isinstance(param, click.Option):
            continue
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        flag = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
        if param.is_flag:
            words.append(flag)
        else:
            words += [flag, _quoted(ctx.params[name], param)]
    if ctx.get_parameter_source("paths") is ParameterSource.COMMANDLINE:
        words += [_quoted(path, None) for path in ctx.params["paths"]]
    return " ".join(words)


def _quoted(value: object, param: click.Parameter | None) -> str:
    import shlex

    if isinstance(value, tuple) and param is not None and param.name == "only":
        value = ",".join(value)
    elif isinstance(value, tuple) and param is not None and param.name == "back_offset":
        value = ",".join(f"{v:g}" for v in value)
    return shlex.quote(str(value))


def _workers(jobs: int) -> int:
    return jobs or available_cores()


class _Exit(click.ClickException):
    """A failure whose message was already printed."""

    def show(self, file: object = None) -> None:
        pass


_FORMAT = click.option(
    "--format",
    "report_format",
    type=click.Choice(FORMATS, case_sensitive=False),
    default="text",
    show_default=True,
    help="How to report: text (FILE:LINE:COL: error: ...), json (one document on standard "
    "output, for editors and scripts) or github (annotations on the lines of a pull request, "
    "in GitHub Actions).",
)
_FORMAT_KEY = "cardpress.format"
_COLLECTED_KEY = "cardpress.collected"


def _use_format(report_format: str) -> None:
    """Report this command's diagnostics in ``report_format`` (one of FORMATS)."""
    ctx = click.get_current_context()
    ctx.meta[_FORMAT_KEY] = report_format
    ctx.meta[_COLLECTED_KEY] = []


def _format() -> str:
    ctx = click.get_current_context(silent=True)
    return str(ctx.meta.get(_FORMAT_KEY, "text")) if ctx is not None else "text"


def _collected() -> list[Diagnostic]:
    """The diagnostics a --format json command prints in its document at the end."""
    found: list[Diagnostic] = click.get_current_context().meta.setdefault(_COLLECTED_KEY, [])
    return found


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    report_format = _format()
    if report_format == "json":
        _collected().extend(diagnostics)
        return
    for diagnostic in diagnostics:
        if report_format == "github":  # workflow commands are read from standard output
            click.echo(annotation(diagnostic))
        else:
            click.echo(str(diagnostic), err=True)


def _fail(error: CardpressError) -> _Exit:
    if isinstance(error, InputError):
        diagnostics = error.diagnostics
    elif isinstance(error, ExportError):
        diagnostics = [Diagnostic(Location(error.path), Severity.ERROR, error.message)]
    else:
        diagnostics = []
    if _format() == "json":
        found = diagnostics or [Diagnostic(Location(""), Severity.ERROR, str(error))]
        click.echo(document([*_collected(), *found], ok=False))
        return _Exit("")
    if not isinstance(error, InputError):
        if diagnostics and _format() == "github":
            _print_diagnostics(diagnostics)
        else:
            click.echo(str(error), err=True)
        return _Exit("")
    _print_diagnostics(diagnostics)
    errors = _counted(diagnostics, Severity.ERROR)
    warnings = _counted(diagnostics, Severity.WARNING)
    click.echo(f"{plural(errors, 'error')}, {plural(warnings, 'warning')}", err=True)
    return _Exit("")


def _counted(diagnostics: Sequence[Diagnostic], severity: Severity) -> int:
    return sum(1 for d in diagnostics if d.severity is severity)


class _Cardpress(click.Group):
    """The command group: a setting of the project's file that its option rejects is an
    error at the setting's line (a flag's is click's usage error, as ever)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.BadParameter as exc:
            config: Config | None = ctx.meta.get(_CONFIG)
            sub, param = exc.ctx, exc.param
            if config is None or sub is None or param is None or param.name is None:
                raise
            if sub.get_parameter_source(param.name) is not ParameterSource.DEFAULT_MAP:
                raise
            key = next(k for k, s in SETTINGS.items() if s.param == param.name)
            where = config.locations[param.name]
            command = f" (for cardpress {sub.info_name})" if param.name in _SHARED else ""
            message = f"{key}: {exc.message.rstrip('.')}{command}"
            raise _fail(InputError([Diagnostic(where, Severity.ERROR, message)])) from None


_CONFIG = "cardpress.config"
# Options whose choices differ between commands (calibrate's duplex has no "none").
_SHARED = {"duplex"}


@click.group(cls=_Cardpress, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cardpress")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The settings file to use (default: cardpress.toml, or [tool.cardpress] in "
    "pyproject.toml, in this folder or the nearest parent that has one).",
)
@click.option("--no-config", is_flag=True, help="Use no settings file.")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, no_config: bool) -> None:
    """Turn YAML card files into an Anki package, Anki-ready CSV and printable pages.

    Card files live in cards/ (one deck per file); outputs go to dist/. A project's
    settings (cardpress.toml) are the defaults of the options; flags override them.
    Exit codes: 0 ok, 1 invalid input or failed build, 2 usage error.
    """
    if no_config:
        if config_file is not None:
            raise click.UsageError("give --config or --no-config, not both")
        return
    path = config_file or find_config()
    if path is None:
        return
    try:
        config = read_config(path)
    except CardpressError as error:
        raise _fail(error) from None
    ctx.meta[_CONFIG] = config
    ctx.default_map = {
        name: {p.name: config.values[p.name] for p in command.params if p.name in config.values}
        for name, command in cli.commands.items()
    }


@cli.command()
@_PATHS
@_output("the outputs")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 if any output (or lock file) is not current.",
)
@click.option(
    "--csv-dialect",
    type=click.Choice(CSV_DIALECTS, case_sensitive=False),
    default="anki",
    show_default=True,
    help="NAME.csv for Anki's File > Import (anki), or question,answer,topic,tags for "
    "spreadsheets and quiz apps (plain).",
)
@_paper("Paper size of the printable NAME.cards.html and NAME.sheet.html.")
@click.option(
    "--duplex",
    type=click.Choice(DUPLEX_MODES, case_sensitive=False),
    default="long",
    show_default=True,
    help="Where NAME.cards.html puts each back: for two-sided printing flipped on the long "
    "edge (long) or the short edge (short), or in its front's place on a separate sheet (none).",
)
@click.option(
    "--only",
    metavar="OUTPUT,…",
    default="",
    callback=_only,
    help="Write only these outputs (and the lock): apkg, csv, cards, sheet, pdf "
    "(default: all but pdf).",
)
@_BACK_OFFSET
@click.option(
    "--pdf",
    is_flag=True,
    help="Also print the pages to NAME.cards.pdf and NAME.sheet.pdf, with the Chrome, "
    "Chromium or Edge found on this computer (or --browser).",
)
@click.option(
    "--browser",
    metavar="PATH",
    help="The Chrome, Chromium or Edge that prints --pdf (default: the first found; or "
    "CARDPRESS_BROWSER).",
)
@click.option(
    "--acknowledge",
    is_flag=True,
    help="Record the changes an import into Anki cannot make (moved cards, changed kinds, "
    "removed cards and cloze deletions) as done in Anki by hand, so they are reported no more.",
)
@click.option(
    "--new-key",
    is_flag=True,
    help="Accept a changed deck key: a new deck, whose every card is a new note in Anki "
    "(beside the old deck's, without their review history).",
)
@click.option(
    "--clean",
    is_flag=True,
    help="Also remove the outputs this output folder's record lists whose card file is gone, "
    "and lock files of gone card files that list no card.",
)
@_LOCK_FOLDER
@_JOBS
@_FORMAT
def build(
    paths: tuple[Path, ...],
    out_dir: Path,
    strict: bool,
    check_only: bool,
    csv_dialect: str,
    paper: str,
    duplex: str,
    only: tuple[str, ...],
    back_offset: tuple[float, float],
    pdf: bool,
    browser: str | None,
    acknowledge: bool,
    new_key: bool,
    clean: bool,
    lock_folder: Path | None,
    jobs: int,
    report_format: str,
) -> None:
    """Build every deck under PATHS (default: cards/) into the output folder.

    Each card file NAME.yaml becomes NAME.apkg and NAME.csv in the output folder, and
    printable pages: NAME.cards.html (cut-out flashcards) and NAME.sheet.html (a study
    sheet to fold in half); its lock file
    NAME.lock.json (beside the card file) records when each card last changed, so that
    re-importing into Anki updates edited notes and leaves the rest alone, and what Anki
    has of each card, so that changes an import cannot carry are reported. Commit it.
    A build that fails leaves the output folder as it was.

    \b
    Example:
      cardpress build                      # cards/ -> dist/
      cardpress build cards/history.yaml -o out/
      cardpress build --check              # is dist/ up to date?
      cardpress build --csv-dialect plain  # a CSV for spreadsheets
      cardpress build --paper letter --duplex short
      cardpress build --pdf                # and NAME.cards.pdf, NAME.sheet.pdf
      cardpress build --acknowledge        # moved the notes in Anki by hand
    """
    from cardpress.builder import Changes, write
    from cardpress.export import BuildOptions
    from cardpress.lock import lock_path

    _use_format(report_format)
    sources = paths or (Path("cards"),)
    try:
        with _progress_bar(sources) as progress:
            workers = _workers(jobs)
            if progress is not None:
                progress(0, 1, "reading the cards")
            loaded = load(sources, strict=strict, workers=workers, lock_folder=lock_folder)
            _keep_until_exit(loaded)
            locks = {lock_path(deck) for deck in loaded.decks if lock_path(deck).exists()}
            _release_free_memory()
            result = write(
                loaded,
                out_dir,
                strict=strict,
                check_only=check_only,
                changes=Changes(acknowledge=acknowledge, new_key=new_key),
                options=BuildOptions(
                    csv_dialect=csv_dialect,
                    paper=paper,
                    duplex=duplex,
                    only=only,
                    back_offset=back_offset,
                    pdf=pdf,
                    browser=browser,
                ),
                workers=workers,
                progress=progress,
                clean=clean and not check_only,
            )
    except CardpressError as error:
        raise _fail(error) from None
    ctx = click.get_current_context()
    _print_diagnostics(result.warnings)
    if not check_only:
        _print_diagnostics(_lock_moved_on(ctx, result.outputs, out_dir, locks))
    _print_diagnostics(_orphans(result.orphans, failing=check_only))
    outputs = [
        {"path": str(o.path), "summary": o.summary, "changed": o.changed} for o in result.outputs
    ]
    if check_only:
        again = _again(ctx)
        stale = [
            Diagnostic(Location(str(o.path)), Severity.ERROR, f"not current (run: {again})")
            for o in result.stale
        ]
        gone = any(not o.path.name.endswith(".lock.json") for o in result.orphans)
        if _format() == "json":
            click.echo(document([*_collected(), *stale], not stale, outputs=outputs))
        elif _format() == "github":
            _print_diagnostics(stale)
        else:  # FILE: not current (...): the file is not wrong, only old
            for output in result.stale:
                click.echo(f"{output.path}: not current (run: {again})", err=True)
        if result.stale or gone:
            raise _Exit("")
        if _format() != "json":
            click.echo(f"all {len(result.outputs)} outputs are current")
        return
    removed = [str(o.path) for o in result.removed]
    if _format() == "json":
        click.echo(document(_collected(), True, outputs=outputs, removed=removed))
        return
    for output in result.outputs:
        note = "" if output.changed else " (unchanged)"
        click.echo(f"{output.path}: {output.summary}{note}")
    for orphan in result.removed:
        click.echo(f"{orphan.path}: removed (its card file {orphan.card_file} is gone)")


def _orphans(orphans: Sequence[Orphan], *, failing: bool) -> list[Diagnostic]:
    """What to say of outputs and locks whose card file is gone: an output fails
    ``--check`` (the folder holds what no build makes); a lock is only a note."""
    found = []
    for orphan in orphans:
        gone = f"its card file {orphan.card_file} is gone"
        if not orphan.path.name.endswith(".lock.json"):
            severity = Severity.ERROR if failing else Severity.NOTE
            message = f"{gone}; build --clean removes it"
        elif orphan.cards == 0:
            severity, message = (
                Severity.NOTE,
                f"{gone} and it lists no card; build --clean removes it",
            )
        else:
            listed = "cards" if orphan.cards < 0 else plural(orphan.cards, "card")
            severity = Severity.NOTE
            message = (
                f"{gone}, and it lists {listed} whose notes Anki may still have: keep it "
                "while the deck is in Anki (a card file of this name picks it up again), "
                "or delete it"
            )
        found.append(Diagnostic(Location(str(orphan.path)), severity, message))
    return found


def _lock_moved_on(
    ctx: click.Context, outputs: Sequence[Output], out_dir: Path, locks: set[Path]
) -> list[Diagnostic]:
    """A build into a folder other than the usual one (``-o preview/``) that rewrote a lock
    (one of ``locks``, there before) says so: the lock is the record of what the usual
    folder's package gave Anki."""
    given = ParameterSource.COMMANDLINE
    if ctx.get_parameter_source("out_dir") is not given:
        return []
    if ctx.get_parameter_source("lock_folder") is given:  # the user said where locks go
        return []
    usual = Path(ctx.lookup_default("out_dir") or "dist")
    if out_dir.absolute() == usual.absolute():
        return []
    return [
        Diagnostic(
            Location(str(output.path)),
            Severity.NOTE,
            f"updated by this build into {out_dir}, not {usual} (--lock-folder keeps the "
            "locks of such builds elsewhere)",
        )
        for output in outputs
        if output.changed and output.path in locks
    ]


@cli.command()
@_PATHS
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@_LOCK_FOLDER
@_JOBS
@_FORMAT
def check(
    paths: tuple[Path, ...], strict: bool, lock_folder: Path | None, jobs: int, report_format: str
) -> None:
    """Check card files under PATHS (default: cards/) and report every problem.

    Problems are printed as FILE:LINE:COL: error|warning|note: MESSAGE, all at once;
    warnings and notes about changes are against the lock file beside each card file.

    \b
    Example:
      cardpress check
      cardpress check --strict cards/history.yaml
      cardpress check --format github      # in a GitHub Actions workflow
    """
    _use_format(report_format)
    try:
        result = check_files(
            paths or [Path("cards")], strict=strict, workers=_workers(jobs), lock_folder=lock_folder
        )
    except CardpressError as error:
        raise _fail(error) from None
    _print_diagnostics(result.warnings)
    if _format() == "json":
        click.echo(document(_collected(), True, decks=result.decks, cards=result.cards))
        return
    warnings = _counted(result.warnings, Severity.WARNING)
    click.echo(
        f"{plural(result.decks, 'deck')}, {plural(result.cards, 'card')}: OK"
        + (f" ({plural(warnings, 'warning')})" if warnings else "")
    )


@cli.command()
@_PATHS
@click.option(
    "--to",
    "to",
    type=click.Choice(["auto", "collection", "ankiconnect"], case_sensitive=False),
    default="auto",
    show_default=True,
    help="Into a closed collection (collection), a running Anki through the AnkiConnect "
    "add-on (ankiconnect), or whichever is there (auto: AnkiConnect when it answers, else "
    "the profile Anki opened last).",
)
@click.option(
    "--collection",
    "collection",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The collection to push into (a collection.anki2 file); Anki must be closed.",
)
@click.option(
    "--profile",
    help="The Anki profile to push into, by name: its collection in Anki's folder "
    "(ANKI_BASE where set); Anki must be closed.",
)
@click.option(
    "--url",
    default="http://127.0.0.1:8765",
    show_default=True,
    help="Where AnkiConnect listens.",
)
@click.option(
    "--api-key",
    envvar="ANKICONNECT_API_KEY",
    help="AnkiConnect's API key, where one is set (or ANKICONNECT_API_KEY).",
)
@_output("the outputs (push builds first)")
@click.option("--dry-run", is_flag=True, help="Print what push would do; change nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete the notes of cards removed from the card files (default: tag them "
    "cardpress::removed). Asks first on a terminal; elsewhere needs --yes.",
)
@click.option("--yes", is_flag=True, help="Do not ask before --prune deletes notes.")
@click.option(
    "--watch",
    is_flag=True,
    help="Push again on every save of a card file, an image or a sound file, until Ctrl-C.",
)
@_LOCK_FOLDER
@_JOBS
def push(
    paths: tuple[Path, ...],
    to: str,
    collection: Path | None,
    profile: str | None,
    url: str,
    api_key: str | None,
    out_dir: Path,
    dry_run: bool,
    prune: bool,
    yes: bool,
    watch: bool,
    lock_folder: Path | None,
    jobs: int,
) -> None:
    """Build every deck under PATHS (default: cards/), then bring Anki in step with the
    cards: add and update notes, convert notes whose kind changed (review history kept),
    move cards to their decks, delete cards that became empty, and tag (or with --prune
    delete) the notes of removed cards. Only cardpress's own notes are touched; tags added
    in Anki are kept. A closed collection is backed up first.

    \b
    Example:
      cardpress push --dry-run                   # what would it do?
      cardpress push --profile "User 1"          # Anki closed
      cardpress push --to ankiconnect            # Anki running, with AnkiConnect
      cardpress push --collection anki/collection.anki2 --prune --yes
      cardpress push --watch                     # again on every save
    """
    from cardpress.push import ankiconnect
    from cardpress.push import collection as closed

    named = collection is not None or profile is not None
    if collection is not None and profile is not None:
        raise click.UsageError("give --collection or --profile, not both")
    if to == "ankiconnect" and named:
        raise click.UsageError("--collection and --profile are for --to collection")
    if watch and dry_run:
        raise click.UsageError("--watch pushes on every save: it does not go with --dry-run")
    sources = paths or (Path("cards"),)
    workers = _workers(jobs)
    client = ankiconnect.AnkiConnect(url, api_key)
    path = Path()
    try:
        if to == "ankiconnect" or (to == "auto" and not named and client.answers()):
            click.echo(f"pushing into the running Anki (AnkiConnect at {url})")
            way = "ankiconnect"
        else:
            path = _collection_path(collection, profile)
            way = "collection"
    except CardpressError as error:
        raise _fail(error) from None
    if prune and not dry_run and not yes:
        _confirm_prune()

    def once(back_up: bool) -> None:
        loaded = load(sources, workers=workers, lock_folder=lock_folder)
        if way == "ankiconnect":
            done = ankiconnect.push(
                loaded, client, out_dir, dry_run=dry_run, prune=prune, workers=workers
            )
        else:
            done = closed.push(
                loaded, path, out_dir, dry_run=dry_run, prune=prune, workers=workers,
                back_up=back_up,
            )  # fmt: skip
        _print_pushed(done, loaded.warnings, dry_run=dry_run, prune=prune)

    if not watch:
        try:
            once(back_up=True)
        except CardpressError as error:
            raise _fail(error) from None
        return
    _watch(sources, once)


def _print_pushed(
    done: Pushed, warnings: Sequence[Diagnostic], *, dry_run: bool, prune: bool
) -> None:
    _print_diagnostics([*warnings, *(done.build.warnings if done.build else [])])
    if dry_run:
        click.echo(f"{done.collection}: dry run: push would do this (nothing changed)")
    elif done.backups is not None:
        click.echo(f"{done.collection}: pushed (backed up first in {done.backups})")
    else:
        click.echo(f"{done.collection}: pushed")
    for plan in done.plans:
        click.echo(f"{plan.deck.location.path}: {plan.summary(prune=prune)}")
        for line in plan.lines(prune=prune):
            click.echo(line)


def watched(name: str) -> bool:
    """Whether a save of the file ``name`` is one ``push --watch`` pushes again for: a card
    file, an image or a sound file a card can use (not a hidden file: an editor's swap file)."""
    from cardpress.format import AUDIO_SUFFIXES, CARD_FILE_SUFFIXES, IMAGE_MAGIC

    path = Path(name)
    suffixes = (*CARD_FILE_SUFFIXES, *IMAGE_MAGIC, *AUDIO_SUFFIXES)
    return path.suffix.lower() in suffixes and not path.name.startswith(".")


def _watch(sources: Sequence[Path], once: Callable[[bool], None]) -> None:
    """Push now, then again after every save of a card file, an image or a sound file under
    ``sources`` (debounced: a burst of saves is one push), until Ctrl-C. A push that fails
    says why and changes nothing; the next save tries again. Only the first push backs up."""
    import watchfiles

    def wanted(change: watchfiles.Change, name: str) -> bool:
        return watched(name)

    def attempt(back_up: bool) -> None:
        try:
            once(back_up)
        except CardpressError as error:
            _fail(error)  # prints the problems; the next save tries again
            click.echo("nothing pushed; waiting for the next save", err=True)

    attempt(True)
    folders = [source if source.is_dir() else source.parent for source in sources]
    click.echo(f"watching {', '.join(map(str, folders))} (Ctrl-C stops)")
    try:
        for _ in watchfiles.watch(*folders, watch_filter=wanted, debounce=400):
            attempt(False)
    except KeyboardInterrupt:
        click.echo("stopped watching")


def _collection_path(collection: Path | None, profile: str | None) -> Path:
    """The collection named by --collection or --profile, or that of the profile Anki
    opened last (said on standard output)."""
    from cardpress.push.collection import CollectionError, anki_base, last_profile

    if collection is not None:
        return collection
    if profile is None:
        profile = last_profile()
        if profile is None:
            raise CollectionError(
                f"{anki_base()}: error: no Anki profile found to push into (and AnkiConnect "
                "does not answer): give --profile NAME or --collection FILE"
            )
        click.echo(f"pushing into the profile Anki opened last: {profile}")
    from cardpress.push.collection import profile_collection

    return profile_collection(profile)


def _confirm_prune() -> None:
    """--prune deletes notes: ask on a terminal; elsewhere --yes must say so."""
    if not sys.stdin.isatty():
        raise click.UsageError("--prune deletes notes: confirm with --yes (no terminal to ask)")
    if not click.confirm("--prune deletes the notes of removed cards from Anki. Go on?"):
        raise _Exit("")


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cards"),
    show_default=True,
    help="Folder to write the card files, their media and their locks into.",
)
@click.option(
    "--replace", is_flag=True, help="Replace card files, media and locks that are there already."
)
@click.option(
    "--deck",
    "deck_name",
    metavar="NAME",
    help="Text exports and CSV: the deck of rows that name none (default: the file's name).",
)
@_FORMAT
def import_command(
    files: tuple[Path, ...],
    out_dir: Path,
    replace: bool,
    deck_name: str | None,
    report_format: str,
) -> None:
    """Bring Anki packages (.apkg, .colpkg: File > Export in Anki), text exports and CSV in
    as card files.

    Each top-level deck becomes one card file in the output folder (its subdecks become
    topics), with its media beside it and a lock that holds Anki's own times: every card
    keeps its note's GUID and note type, so the next build gives Anki the same notes, which
    an import of the package takes as they are (no duplicate, no conflict, review history
    kept). Whatever a build would not give back exactly is reported at its line.

    \b
    Example:
      cardpress import ~/Downloads/French.apkg
      cardpress build && open dist/french.apkg     # Anki: every note unchanged
    """
    _use_format(report_format)
    import importlib.util

    if importlib.util.find_spec("anki") is None:  # the reader runs Anki's own code
        raise _fail(
            CardpressError(
                "cardpress import reads packages with Anki's own library, which is not "
                "installed: pip install 'cardpress[anki]'"
            )
        )
    from cardpress.importer.run import import_files

    try:
        result = import_files(files, out_dir, replace=replace, deck_name=deck_name)
    except CardpressError as error:
        raise _fail(error) from None
    _print_diagnostics(sorted(result.diagnostics))
    if _format() == "json":
        click.echo(document(_collected(), True, decks=len(result.decks),
                            cards=sum(d.cards for d in result.decks)))  # fmt: skip
        return
    for deck in result.decks:
        media = (
            f", {plural(deck.media, 'media file')} in {deck.path.stem}.media/" if deck.media else ""
        )
        click.echo(
            f"{deck.path}: {plural(deck.cards, 'card')}, {plural(deck.note_types, 'note type')}"
            f"{media} (from {deck.source.name})"
        )
        if deck.text:
            click.echo(f"{deck.lock}: {plural(deck.cards, 'card')}, stamped as new (no times)")
        else:
            click.echo(f"{deck.lock}: Anki's own times of its {plural(deck.cards, 'note')}")
    if not all(deck.text for deck in result.decks):
        click.echo(
            "Next: cardpress build; importing its package into Anki changes nothing until a "
            "card is edited."
        )


@cli.command("print")
@_PATHS
@click.option(
    "--topic",
    "topics",
    multiple=True,
    metavar="KEY",
    help="Print the cards of this topic (repeat it for several).",
)
@click.option(
    "--card-ids",
    metavar="ID,…",
    default="",
    help="Print these cards (ids, comma-separated); with --topic, those of them in the topics.",
)
@click.option(
    "--worksheet",
    is_flag=True,
    help="Also write a worksheet: the study sheet with an empty, lined answer column and a "
    "line for the student's name and the date.",
)
@_output("the pages")
@_paper("Paper size.")
@click.option(
    "--duplex",
    type=click.Choice(DUPLEX_MODES, case_sensitive=False),
    default="long",
    show_default=True,
    help="Where each back goes (see build --duplex).",
)
@_BACK_OFFSET
@click.option("--pdf", is_flag=True, help="Also print each page to PDF (see build --pdf).")
@_BROWSER
@_LOCK_FOLDER
def print_command(
    paths: tuple[Path, ...],
    topics: tuple[str, ...],
    card_ids: str,
    worksheet: bool,
    out_dir: Path,
    paper: str,
    duplex: str,
    back_offset: tuple[float, float],
    pdf: bool,
    browser: str | None,
    lock_folder: Path | None,
) -> None:
    """Print part of a deck: the cut-out cards and study sheet of some topics or cards (and
    a worksheet), for handing out one unit at a time. Each file is named after what it holds,
    NAME.PART.cards.html and so on, beside (never over) the pages of the whole deck that
    build writes; the package, the CSV and the lock are not touched.

    \b
    Example:
      cardpress print --topic dates --worksheet      # dist/NAME.dates.worksheet.html, ...
      cardpress print --card-ids lenin-death-year,exile-1929 --pdf
    """
    from cardpress.export import BuildOptions
    from cardpress.handout import Selection, print_pages

    ids = tuple(filter(None, (part.strip() for part in card_ids.split(","))))
    if not topics and not ids and not worksheet:
        raise click.UsageError(
            "say what to print: --topic, --card-ids or --worksheet (build prints the whole deck)"
        )
    options = BuildOptions(
        paper=paper, duplex=duplex, back_offset=back_offset, pdf=pdf, browser=browser,
        worksheet=worksheet,
    )  # fmt: skip
    try:
        loaded = load(paths or (Path("cards"),), lock_folder=lock_folder)
        printed = print_pages(loaded.decks, out_dir, Selection(topics, ids), options)
    except CardpressError as error:
        raise _fail(error) from None
    _print_diagnostics(loaded.warnings)
    for item in printed:
        click.echo(f"{item.path}: {item.summary}")


@cli.command()
@_output("the page")
@_paper("Paper size, as you print your cards.")
@click.option(
    "--duplex",
    type=click.Choice(["long", "short"], case_sensitive=False),
    default="long",
    show_default=True,
    help="The edge the sheet flips on, as you print your cards.",
)
@_BACK_OFFSET
@click.option("--pdf", is_flag=True, help="Also print the page to PDF (see build --pdf).")
@_BROWSER
def calibrate(
    out_dir: Path,
    paper: str,
    duplex: str,
    back_offset: tuple[float, float],
    pdf: bool,
    browser: str | None,
) -> None:
    """Write a calibration page: print it two-sided, hold it to the light, and read the
    --back-offset that lines your printer's backs up with their fronts.

    The page is calibration.PAPER.DUPLEX.html in the output folder (and .pdf with --pdf);
    it never replaces a deck's pages.

    \b
    Example:
      cardpress calibrate --paper letter
      cardpress calibrate --back-offset 1,-0.5   # check a correction
    """
    from functools import partial

    from cardpress.export import BuildOptions
    from cardpress.export.printable.calibration import write_calibration
    from cardpress.handout import pdf_of, write_files

    options = BuildOptions(paper=paper, duplex=duplex, back_offset=back_offset)
    target = out_dir / f"calibration.{paper}.{duplex}.html"
    page = partial(write_calibration, options=options)
    try:
        jobs = [(target, page)]
        if pdf:
            from cardpress.export.pdf import find_browser

            found = find_browser(browser)  # a fixed date: the page holds no cards
            jobs.append((target.with_suffix(".pdf"), partial(pdf_of, page, browser=found, stamp=0)))
        written = write_files(out_dir, jobs)
    except CardpressError as error:
        raise _fail(error) from None
    for item in written:
        click.echo(f"{item.path}: {item.summary}")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def init(folder: Path) -> None:
    """Start a folder of cards in FOLDER (default: here): cards/my-deck.yaml, a first deck
    with one card of each kind that builds clean; schema/deck.schema.json, which the card
    file names so that editors complete and check it; cardpress.toml, the project's
    settings (paper, outputs, ...); and a .gitignore for dist/. Nothing is written over: a
    file that is there already stops it, and nothing is written.

    \b
    Example:
      cardpress init my-cards && cd my-cards && cardpress build
    """
    from importlib.resources import files

    from cardpress.config import CONFIG_FILE, STARTER
    from cardpress.schema import schema_json

    starter = (files("cardpress") / "starter" / "deck.yaml").read_text(encoding="utf-8")
    wanted = {
        folder / "cards" / "my-deck.yaml": starter,
        folder / "schema" / "deck.schema.json": schema_json(),
        folder / CONFIG_FILE: STARTER,
    }
    there = [name for name in wanted if name.exists()]
    if there:
        for name in there:
            click.echo(f"{name}: error: there already; init writes nothing over", err=True)
        raise _Exit("")
    gitignore = folder / ".gitignore"
    if not gitignore.exists():
        wanted[gitignore] = "# cardpress: the outputs are made again by `cardpress build`\ndist/\n"
    try:
        for path, text in wanted.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        from cardpress.errors import ExportError

        raise _fail(ExportError.from_os_error(exc, folder)) from None
    for path in wanted:
        click.echo(f"{path}: written")
    here = "" if folder == Path(".") else f"cd {folder} && "
    click.echo(
        f"next: {here}cardpress build   (the lock file it writes beside the deck: commit it)"
    )


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the card format.

    Point your editor at it for completion and validation, e.g. with the YAML
    language server: put '# yaml-language-server: $schema=PATH' on a card file's first line.

    \b
    Example:
      cardpress schema > schema/deck.schema.json
    """
    from cardpress.schema import schema_json

    click.echo(schema_json(), nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    # SIGTERM unwinds like Ctrl-C, so a stopped build removes its temporary files. Click
    # turns the interrupt into "Aborted!"; run() exits with 128 + the signal's number.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    # A run allocates a deck's worth of objects and makes no garbage cycles worth collecting:
    # the cycle collector would only walk the whole deck again, more often the bigger it is.
    gc.disable()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="cardpress")
    except OSError as exc:
        # The library turns its own I/O errors into CardpressError: what reaches here is the
        # output of the command itself failing (`> /dev/full`, a closed pipe).
        _output_failed(exc)


def _output_failed(exc: OSError) -> NoReturn:
    """Leave quietly when the reader went away (`| head`); else say why output failed."""
    with contextlib.suppress(OSError, ValueError):
        # Point stdout at nothing, so that flushing it on the way out raises no second error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if not isinstance(exc, BrokenPipeError):
        with contextlib.suppress(OSError):
            click.echo(f"cardpress: error: cannot write the output: {exc.strerror}", err=True)
    sys.exit(1)


# Inputs from this size on (about 5,000 cards, a second or more) get a progress bar.
PROGRESS_MIN_BYTES = 1 << 20


@contextlib.contextmanager
def _progress_bar(paths: Sequence[Path]) -> Iterator[Callable[[int, int, str], None] | None]:
    """A progress bar on standard error for a long build, when it is a terminal.

    Never in a pipe, a file or a CI log (click hides its bar when the stream is not a
    terminal; this does not even start one), never for a small deck.
    """
    files, _ = find_card_files(list(paths))
    size = sum(f.stat().st_size for f in files if f.is_file())
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    doing = ""
    bar: click._termui_impl.ProgressBar[int] = click.progressbar(
        length=1,
        label="cardpress build",
        file=sys.stderr,
        show_eta=False,
        item_show_func=lambda _: doing,
    )

    def progress(done: int, total: int, now: str) -> None:
        nonlocal doing
        doing = now
        bar.length = total
        bar.update(done - bar.pos)

    with bar:
        yield progress


def run() -> NoReturn:
    """The ``cardpress`` command: :func:`main`, then an exit that skips freeing the deck.

    Python would free every object one by one, when a load or build returns and again at exit
    (0.1 s at 100,000 cards); the operating system takes the whole process back at once.
    Output is flushed first, and nothing else runs at exit: cardpress registers no exit
    handlers, and its files are closed by then.
    """
    try:
        main()
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
            code = 1
    if _STOPPED_BY and code:
        code = 128 + _STOPPED_BY[0]
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the output is gone (a full disk, a closed pipe): so is the message
            code = code or 1
    os._exit(code)


# What a run loaded stays referenced until os._exit ends the process (see run).
_KEPT: list[object] = []


def _keep_until_exit(value: object) -> None:
    _KEPT.append(value)


def _release_free_memory() -> None:
    """Hand the memory that reading freed back to the system (glibc's malloc_trim).

    Parsing leaves the heap full of freed holes between the cards it kept: at 100k cards the
    process holds 175 MB for 75 MB of deck, and the process a build forks for the printable
    pages would inherit all of it. Trimming takes 3 ms and leaves 127 MB. Nothing happens
    where the C library has no malloc_trim (macOS, Windows, musl).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


# The signal that stopped the run, if one did: the exit status is then 128 + its number, as
# shells report a command a signal ended (130 for Ctrl-C, 143 for SIGTERM).
_STOPPED_BY: list[int] = []


def _terminate(signum: int, frame: object) -> None:
    _STOPPED_BY.append(signum)
    raise KeyboardInterrupt
