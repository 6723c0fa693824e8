"""Benchmark cardpress against a minimal genanki script, as whole processes.

For each deck size (synthetic decks from ``generate.py``) it runs, R times and interleaved:

* ``cardpress build DECK -o OUT``: every output, default options, on a fresh copy of the deck
  folder without a lock file (so every run stamps every card, the same work each time), with
  ``SOURCE_DATE_EPOCH`` set;
* the same build again after one card was edited (``generate.py --edit``), with the lock file
  and every output of the build before it in place: the everyday case of a rebuild;
* ``cardpress check DECK``;
* ``minimal_genanki.py DECK.yaml OUT.apkg``, the baseline;

each in a fresh interpreter, and reports per command and size the median wall time, cards per
second and peak memory, the ratio of cardpress build time to the baseline, the cost per card at
the largest size relative to 10k, and PASS/FAIL for each target of issue 7. The report is
Markdown on stdout.

Memory is the peak of the whole process tree: a big build forks a second process for the
printable pages, which shares much of its memory with the first (copy-on-write). A thread here
samples, every few milliseconds, the proportional set size (PSS: each resident page divided by
the number of processes sharing it) of the command and all its descendants, and keeps the
largest sum: memory the machine really gave the command, shared pages counted once. Reading a
process's PSS makes the kernel walk its page tables (milliseconds for a few hundred MB), which
slows the process it measures, so memory is measured in runs of its own, after the timed ones.
The largest single process's peak RSS (``ru_maxrss`` from ``os.wait4``, free) is reported beside
it, from the timed runs.

Example:
    python bench/run.py                              # 1k, 10k, 100k; 5 runs each
    python bench/run.py --sizes 1000,10000 --repeat 3 --json /tmp/bench.json
"""

# ruff: noqa: RUF001
# (The report uses the multiplication sign and the en dash on purpose.)
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from generate import DEFAULT_SEED

BENCH = Path(__file__).resolve().parent
BASELINE_SCRIPT = BENCH / "minimal_genanki.py"
GENERATE_SCRIPT = BENCH / "generate.py"
SOURCE_DATE_EPOCH = "1700000000"
COMMANDS = ("build", "rebuild", "check", "baseline")
# With --before: the same cardpress commands of another installation, run interleaved.
BEFORE_COMMANDS = ("build-before", "rebuild-before", "check-before")
LABELS = {
    "build": "cardpress build",
    "rebuild": "cardpress rebuild",
    "check": "cardpress check",
    "baseline": "minimal genanki",
    "build-before": "build (before)",
    "rebuild-before": "rebuild (before)",
    "check-before": "check (before)",
}
OUTPUT_SUFFIXES = (".apkg", ".csv", ".cards.html", ".sheet.html")
MB = 1_000_000


@dataclass
class Sample:
    """One timed run of one command."""

    wall: float  # seconds
    cpu: float  # user + system seconds of the child and its children
    rss_kb: int  # the largest peak resident set of one process of the tree (Linux: KiB)
    exit_code: int
    pss_kb: int | None = None  # memory runs: the peak of the tree's summed PSS, sampled (KiB)


@dataclass
class Measurement:
    """Every run of one command at one size, and what it summarises to."""

    command: str
    cards: int
    samples: list[Sample] = field(default_factory=list)  # timed runs
    memory: list[Sample] = field(default_factory=list)  # memory runs
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        runs = self.samples + self.memory
        return bool(self.samples) and all(s.exit_code == 0 for s in runs)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_mb(self) -> float:
        return statistics.median(s.rss_kb for s in self.samples) * 1024 / MB

    @property
    def pss_mb(self) -> float | None:
        peaks = [s.pss_kb for s in self.memory if s.pss_kb is not None]
        return statistics.median(peaks) * 1024 / MB if peaks else None

    @property
    def per_card_us(self) -> float:
        return self.wall / self.cards * 1e6

    def summary(self) -> dict[str, object]:
        return {
            "command": self.command,
            "cards": self.cards,
            "ok": self.ok,
            "median_wall_s": round(self.wall, 4) if self.samples else None,
            "median_cpu_s": round(self.cpu, 4) if self.samples else None,
            "median_peak_tree_pss_mb": None if self.pss_mb is None else round(self.pss_mb, 1),
            "median_peak_rss_mb": round(self.rss_mb, 1) if self.samples else None,
            "cards_per_s": round(self.cards / self.wall) if self.samples else None,
            "samples": [asdict(s) for s in self.samples],
            "memory_samples": [asdict(s) for s in self.memory],
            "errors": self.errors,
        }


@dataclass
class Target:
    """One target of issue 7 and how the measurement compares."""

    name: str
    measured: str
    passed: bool | None  # None: not measured at these sizes

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


SAMPLE_INTERVAL = 0.005  # seconds between two memory samples


def _pss_kb(pid: int) -> int:
    """A process's proportional set size in KiB (0 if it has gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """A process and its descendants, from each thread's ``children`` list in /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children", "rb") as f:
                    todo.extend(int(child) for child in f.read().split())
            except (OSError, ValueError):
                pass
    return found


class TreeMemory(threading.Thread):
    """Samples the summed PSS of a process tree until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            total = sum(_pss_kb(pid) for pid in _tree(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_process(
    argv: Sequence[str], env: dict[str, str], log: Path, sample_memory: bool = False
) -> Sample:
    """Run one command to its end in a fresh process; time it, and sample its memory if asked.

    The process is reaped only after the sampler has stopped: until then its pid, and so its
    /proc entry, cannot belong to anything else.
    """
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        memory = TreeMemory(proc.pid) if sample_memory else None
        if memory is not None:
            memory.start()
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet reaped
        wall = time.perf_counter() - start
        if memory is not None:
            memory.stop()
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    peak = memory.peak_kb if memory is not None else None
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode, peak)


def cardpress_command() -> list[str]:
    """The console script beside this interpreter (what users run), else ``python -m``."""
    script = shutil.which("cardpress", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "cardpress"]


class Bench:
    """The work folder, the decks in it, and one method per command."""

    def __init__(self, work: Path, seed: int, before: Sequence[str] = ()) -> None:
        self.work = work
        self.seed = seed
        self.cardpress = cardpress_command()
        self.before = list(before)  # another installation's cardpress, to compare with
        self.env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
        # genanki leaves its temporary database behind; keep those inside the work folder.
        tmp = work / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.env["TMPDIR"] = str(tmp)
        self.env.pop("CI", None)
        # Time cardpress as installed, with its bytecode cached: the warm-up round writes the
        # .pyc files of an editable install, unless the environment forbids it.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.decks: dict[int, Path] = {}

    def deck(self, cards: int) -> Path:
        """The pristine deck folder of a size (generated once).

        In a process of its own: this one stays small, so that what its forked children start
        with (and ``ru_maxrss`` remembers across their ``exec``) is not a big deck's text.
        """
        if cards not in self.decks:
            argv = [sys.executable, str(GENERATE_SCRIPT), str(cards), "--seed", str(self.seed)]
            argv += ["-o", str(self.work / "decks")]
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            self.decks[cards] = self.work / "decks" / f"bench-{cards}"
        return self.decks[cards]

    def log(self, command: str, cards: int) -> Path:
        return self.work / f"{command}-{cards}.log"

    def build(self, cards: int, sample_memory: bool = False, before: bool = False) -> Sample:
        name = "build-before" if before else "build"
        run = self.work / "runs" / f"{name}-{cards}"
        shutil.rmtree(run, ignore_errors=True)
        deck_dir = run / "cards"
        shutil.copytree(self.deck(cards), deck_dir)
        for lock in deck_dir.glob("*.lock.json"):
            lock.unlink()
        cardpress = self.before if before else self.cardpress
        argv = [*cardpress, "build", str(deck_dir), "-o", str(run / "out")]
        return run_process(argv, self.env, self.log(name, cards), sample_memory)

    def rebuild(self, cards: int, sample_memory: bool = False, before: bool = False) -> Sample:
        """A build after one card was edited: the lock and every output are there already."""
        name = "rebuild-before" if before else "rebuild"
        run = self.work / "runs" / f"{name}-{cards}"
        deck_dir = run / "cards"
        cardpress = self.before if before else self.cardpress
        argv = [*cardpress, "build", str(deck_dir), "-o", str(run / "out")]
        if not run.exists():  # the first build, untimed
            shutil.copytree(self.deck(cards), deck_dir)
            for lock in deck_dir.glob("*.lock.json"):
                lock.unlink()
            run_process(argv, self.env, self.log(name, cards))
        # In a process of its own, like the generating: this one stays small.
        deck_file = deck_dir / f"bench-{cards}.yaml"
        edit = [sys.executable, str(GENERATE_SCRIPT), "--edit", str(deck_file)]
        subprocess.run(edit, check=True, stdout=subprocess.DEVNULL)
        return run_process(argv, self.env, self.log(name, cards), sample_memory)

    def check(self, cards: int, sample_memory: bool = False, before: bool = False) -> Sample:
        name = "check-before" if before else "check"
        cardpress = self.before if before else self.cardpress
        argv = [*cardpress, "check", str(self.deck(cards))]
        return run_process(argv, self.env, self.log(name, cards), sample_memory)

    def baseline(self, cards: int, sample_memory: bool = False) -> Sample:
        run = self.work / "runs" / f"baseline-{cards}"
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir(parents=True)
        deck_file = self.deck(cards) / f"bench-{cards}.yaml"
        argv = [sys.executable, str(BASELINE_SCRIPT), str(deck_file), str(run / "out.apkg")]
        sample = run_process(argv, self.env, self.log("baseline", cards), sample_memory)
        for leftover in Path(self.env["TMPDIR"]).iterdir():
            leftover.unlink()
        return sample

    @property
    def commands(self) -> tuple[str, ...]:
        return COMMANDS + (BEFORE_COMMANDS if self.before else ())

    def runner(self, command: str) -> Callable[[int, bool], Sample]:
        runners: dict[str, Callable[[int, bool], Sample]] = {
            "build": self.build,
            "rebuild": self.rebuild,
            "check": self.check,
            "baseline": self.baseline,
            "build-before": lambda cards, memory: self.build(cards, memory, before=True),
            "rebuild-before": lambda cards, memory: self.rebuild(cards, memory, before=True),
            "check-before": lambda cards, memory: self.check(cards, memory, before=True),
        }
        return runners[command]

    def outputs(self, cards: int) -> dict[str, object]:
        """What the last build and baseline of a size wrote: sizes and the zip compression."""
        out = self.work / "runs" / f"build-{cards}" / "out"
        found: dict[str, object] = {}
        for suffix in OUTPUT_SUFFIXES:
            path = out / f"bench-{cards}{suffix}"
            found[suffix] = path.stat().st_size if path.exists() else None
        found["apkg_compressed"] = _compressed(out / f"bench-{cards}.apkg")
        baseline = self.work / "runs" / f"baseline-{cards}" / "out.apkg"
        found["baseline_apkg"] = baseline.stat().st_size if baseline.exists() else None
        return found


def _compressed(apkg: Path) -> bool | None:
    try:
        with zipfile.ZipFile(apkg) as zf:
            return all(i.compress_type != zipfile.ZIP_STORED for i in zf.infolist() if i.file_size)
    except (OSError, zipfile.BadZipFile):
        return None


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def measure(
    bench: Bench, sizes: Sequence[int], repeat: int, memory_repeat: int
) -> dict[tuple[str, int], Measurement]:
    """Per size, run every command R times interleaved (timed), then M times more, interleaved
    too, sampling memory; all after one untimed warm-up round."""
    results: dict[tuple[str, int], Measurement] = {}
    smallest = min(sizes)
    # Warm-up: byte-compile any source edited since the last run and fill the page cache.
    for command in bench.commands:
        bench.runner(command)(smallest, False)
    for cards in sizes:
        print(
            f"measuring {cards} cards ({repeat} timed runs and {memory_repeat} memory runs "
            "of each)...",
            file=sys.stderr,
            flush=True,
        )
        bench.deck(cards)
        for command in bench.commands:
            results[(command, cards)] = Measurement(command, cards)
        for sample_memory in [False] * repeat + [True] * memory_repeat:
            for command in bench.commands:
                sample = bench.runner(command)(cards, sample_memory)
                result = results[(command, cards)]
                (result.memory if sample_memory else result.samples).append(sample)
                if sample.exit_code != 0:
                    message = _tail(bench.log(command, cards))
                    result.errors.append(f"exit {sample.exit_code}: {message}")
                    label = f"{LABELS[command]} {cards}: exit {sample.exit_code}"
                    print(f"{label}\n{message}", file=sys.stderr)
    return results


def linearity(results: dict[tuple[str, int], Measurement], command: str) -> float | None:
    """Cost per card at the largest size over the cost per card at 10k (1.0 = linear)."""
    sizes = sorted(c for (cmd, c) in results if cmd == command)
    if 10_000 not in sizes or sizes[-1] <= 10_000:
        return None
    small, large = results[(command, 10_000)], results[(command, sizes[-1])]
    if not (small.ok and large.ok):
        return None
    return large.per_card_us / small.per_card_us


def targets(results: dict[tuple[str, int], Measurement]) -> list[Target]:
    """The targets of issue 7 (2-core machine)."""
    found: list[Target] = []

    def get(command: str, cards: int) -> Measurement | None:
        return results.get((command, cards))

    # Every output at 100k: a first build, and a rebuild after an edit (the everyday case).
    for command in ("build", "rebuild"):
        m = get(command, 100_000)
        if m is None:
            found.append(Target(f"100k {command} ≤ 5 s", "not run", None))
            found.append(Target(f"100k {command} ≤ 250 MB peak memory", "not run", None))
            continue
        found.append(Target(f"100k {command} ≤ 5 s", _fmt_s(m), m.ok and m.wall <= 5))
        found.append(
            Target(
                f"100k {command} ≤ 250 MB peak memory",
                f"{m.pss_mb:.0f} MB" if m.ok and m.pss_mb else "not measured",
                m.ok and m.pss_mb is not None and m.pss_mb <= 250,
            )
        )
    ratio = linearity(results, "build")
    largest = max(c for (_, c) in results)
    large = f"{largest:,}" if largest > 10_000 else "100,000"
    found.append(
        Target(
            f"build cost per card at {large} ≤ 1.1× of 10,000",
            f"{ratio:.2f}×" if ratio is not None else "not run",
            None if ratio is None else ratio <= 1.1,
        )
    )
    check_100k = get("check", 100_000)
    found.append(
        Target(
            "100k check ≤ 2 s",
            _fmt_s(check_100k) if check_100k else "not run",
            None if check_100k is None else check_100k.ok and check_100k.wall <= 2,
        )
    )
    # Against another installation (--before), at the largest size: within 15 %.
    for command in ("build", "rebuild", "check"):
        now, then = get(command, largest), get(f"{command}-before", largest)
        if now is None or then is None:
            continue
        ok = now.ok and then.ok
        found.append(
            Target(
                f"{large} {command} within 15 % of before (time)",
                f"{now.wall / then.wall:.2f}×" if ok else "failed",
                ok and now.wall <= 1.15 * then.wall,
            )
        )
        if now.pss_mb is not None and then.pss_mb is not None:
            found.append(
                Target(
                    f"{large} {command} within 15 % of before (memory)",
                    f"{now.pss_mb / then.pss_mb:.2f}×",
                    ok and now.pss_mb <= 1.15 * then.pss_mb,
                )
            )
    build_1k = get("build", 1_000)
    found.append(
        Target(
            "1k build ≤ 0.3 s",
            _fmt_s(build_1k) if build_1k else "not run",
            None if build_1k is None else build_1k.ok and build_1k.wall <= 0.3,
        )
    )
    return found


def _fmt_s(m: Measurement) -> str:
    return f"{m.wall:.2f} s" if m.ok else "failed"


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def report(
    results: dict[tuple[str, int], Measurement],
    found: list[Target],
    outputs: dict[int, dict[str, object]],
    repeat: int,
    memory_repeat: int,
) -> str:
    """The Markdown report."""
    sizes = sorted({c for (_, c) in results})
    lines = [
        f"## cardpress benchmark: median of {repeat} timed runs and {memory_repeat} memory runs",
        "",
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; each run a fresh process; "
        "wall, CPU and largest RSS (the peak resident memory of the biggest process) from the "
        "timed runs; peak MB, the process tree's largest summed PSS (shared pages counted "
        f"once, sampled every {SAMPLE_INTERVAL * 1000:g} ms), from the memory runs; "
        "1 MB = 10⁶ bytes.",
        "",
        "| cards | command | wall s | min–max s | CPU s | cards/s | peak MB "
        "| largest RSS MB | × baseline |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    commands = [c for c in (*COMMANDS, *BEFORE_COMMANDS) if any(k[0] == c for k in results)]
    for cards in sizes:
        baseline = results.get(("baseline", cards))
        for command in commands:
            m = results.get((command, cards))
            if m is None:
                continue
            if not m.ok:
                lines.append(f"| {_n(cards)} | {LABELS[command]} | failed | | | | | | |")
                continue
            walls = [s.wall for s in m.samples]
            ratio = ""
            if command != "baseline" and baseline is not None and baseline.ok:
                ratio = f"{m.wall / baseline.wall:.2f}×"
            lines.append(
                f"| {_n(cards)} | {LABELS[command]} | {m.wall:.3f} | "
                f"{min(walls):.3f}–{max(walls):.3f} | {m.cpu:.2f} | {_n(cards / m.wall)} | "
                f"{_mb(m.pss_mb)} | {m.rss_mb:.0f} | {ratio} |"
            )
    lines += ["", "### Cost per card", ""]
    lines += [
        "| command | " + " | ".join(f"µs/card at {_n(c)}" for c in sizes) + " | linearity |",
        "| --- | " + " | ".join("---:" for _ in sizes) + " | ---: |",
    ]
    for command in commands:
        cells = []
        for cards in sizes:
            m = results.get((command, cards))
            cells.append(f"{m.per_card_us:.1f}" if m is not None and m.ok else "")
        per_card = linearity(results, command)
        lin = f"{per_card:.2f}×" if per_card is not None else "n/a"
        lines.append(f"| {LABELS[command]} | " + " | ".join(cells) + f" | {lin} |")
    lines += [
        "",
        "Linearity is the cost per card at the largest size over the cost per card at 10,000 "
        "(1.00× = linear; startup makes small decks cost more per card).",
        "",
        "### Outputs (last build)",
        "",
        "| cards | .apkg | .apkg compressed | baseline .apkg | .csv | .cards.html | .sheet.html |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for cards in sizes:
        o = outputs.get(cards, {})

        def size(key: str, o: dict[str, object] = o) -> str:
            value = o.get(key)
            return f"{value / MB:.1f} MB" if isinstance(value, int) else "missing"

        compressed = {True: "yes", False: "no", None: "?"}[_opt_bool(o.get("apkg_compressed"))]
        lines.append(
            f"| {_n(cards)} | {size('.apkg')} | {compressed} | {size('baseline_apkg')} | "
            f"{size('.csv')} | {size('.cards.html')} | {size('.sheet.html')} |"
        )
    lines += ["", "### Targets (issue 7, 2-core machine)", ""]
    lines += ["| target | measured | result |", "| --- | ---: | --- |"]
    lines += [f"| {t.name} | {t.measured} | {t.verdict} |" for t in found]
    return "\n".join(lines) + "\n"


def _opt_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive numbers of cards")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the exit code."""
    parser = argparse.ArgumentParser(description="Benchmark cardpress build and check.")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[1_000, 10_000, 100_000],
        help="deck sizes in cards, comma-separated (default: 1000,10000,100000)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per command and size")
    parser.add_argument(
        "--memory-repeat",
        type=int,
        default=3,
        help="memory runs per command and size (0: no tree PSS, only the largest RSS)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--enforce", action="store_true", help="exit 1 if any target fails")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the decks")
    parser.add_argument(
        "--workdir", type=Path, help="keep decks and outputs here (default: a temporary folder)"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another installation's cardpress command (e.g. an older checkout's "
        ".venv/bin/cardpress): its build, rebuild and check run interleaved with these, and "
        "the report compares them",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.memory_repeat < 0:
        parser.error("--memory-repeat must be 0 or more")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="cardpress-bench-"))
    try:
        bench = Bench(work.resolve(), args.seed, [str(args.before)] if args.before else ())
        results = measure(bench, args.sizes, args.repeat, args.memory_repeat)
        outputs = {cards: bench.outputs(cards) for cards in args.sizes}
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    found = targets(results)
    print(report(results, found, outputs, args.repeat, args.memory_repeat), end="")
    if args.json:
        data = {
            "machine": {
                "system": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "repeat": args.repeat,
            "memory_repeat": args.memory_repeat,
            "seed": args.seed,
            "results": [m.summary() for m in results.values()],
            "linearity": {c: linearity(results, c) for c in bench.commands},
            "outputs": {str(c): o for c, o in outputs.items()},
            "targets": [asdict(t) | {"verdict": t.verdict} for t in found],
        }
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    failed = any(t.passed is False for t in found) or any(not m.ok for m in results.values())
    return 1 if args.enforce and failed else 0


if __name__ == "__main__":
    sys.exit(main())
