"""Putting a build's files in place: all of them, or none.

Every output is written to a temporary file beside its target first. Only when all are written
are they renamed onto their targets; a failure on the way puts the old files back. Builds into
the same folders take turns, and the next build removes the temporary files of one that was
killed; it removes nothing else: only names this module makes, of the files being built.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import stat
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType

# ".NAME.<12 hex digits>.cardpress-tmp" (or -bak), and files derived from one ("-2", "-db").
_OWN_NAME = re.compile(r"\.(?P<target>.+)\.[0-9a-f]{12}\.cardpress-(?:tmp|bak)(?:-[a-z0-9]+)?")


def temp_name(target: Path, kind: str = "tmp") -> Path:
    """A name beside ``target`` that only this module makes, for a temporary file.

    Names come first and files second, so that whoever removes the files on the way out
    knows every name before any file exists: Ctrl-C between creating a file and noting its
    name would leave it behind.
    """
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.cardpress-{kind}")


def create(path: Path, target: Path) -> None:
    """Create the empty temporary file ``path`` for ``target``, with the mode ``target`` has
    (a user's ``chmod`` survives a rebuild) or the mode a new file gets."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IMODE(target.stat().st_mode))


@contextlib.contextmanager
def scratch(beside: Path) -> Iterator[Path]:
    """A scratch file beside ``beside``, removed when the block ends, however it ends (and
    by the next build's sweep if the process is killed)."""
    path = temp_name(beside)
    try:
        create(path, beside)
        yield path
    finally:
        remove(path)


def remove(path: Path) -> None:
    """Remove a temporary file if it is there, on the way out of a build that may be failing:
    an error here (a read-only file system says so even for a file that is not there) must
    not hide the build's own. What cannot be removed, the next build sweeps."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def derived(temp: Path, suffix: str) -> Path:
    """The name of a scratch file that belongs to the temporary file ``temp`` (swept with it)."""
    return temp.with_name(f"{temp.name}-{suffix}")


def owner(name: str) -> str | None:
    """The target whose temporary file ``name`` is (through any number of such names)."""
    match = _OWN_NAME.fullmatch(name)
    if match is None:
        return None
    target = match.group("target")
    return owner(target) or target


def sweep(folder: Path, targets: Iterable[str]) -> None:
    """Remove what a killed build of ``targets`` (file names in ``folder``) left behind."""
    wanted = set(targets)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if owner(entry.name) in wanted and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def commit(staged: Sequence[tuple[Path, Path]]) -> None:
    """Rename every temporary file onto its target; on any failure put the old files back.

    The old file gets a second name first (a hard link, or where links are refused, a
    rename), so that it can be put back.
    """
    for _, target in staged:  # before anything moves: a folder in a file's place
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
    done: list[tuple[Path, Path | None]] = []
    backup: Path | None = None
    try:
        for temp, target in staged:
            backup = _keep(target)
            os.replace(temp, target)
            done.append((target, backup))
            backup = None
    except BaseException:
        if backup is not None:  # the target was kept but not replaced: put it back
            _restore(backup, target)
        for target, old in reversed(done):
            if old is not None:
                os.replace(old, target)
            else:
                target.unlink(missing_ok=True)
        raise
    for _, old in done:
        if old is not None:
            old.unlink(missing_ok=True)


def _keep(target: Path) -> Path | None:
    """A second name for ``target``'s current file, or None if there is none."""
    if not os.path.lexists(target):
        return None
    backup = target.with_name(f".{target.name}.{secrets.token_hex(6)}.cardpress-bak")
    try:
        # A hard link: the target never goes missing, even briefly.
        os.link(target, backup)
    except OSError:
        # Refused (another user's file under fs.protected_hardlinks, file systems without
        # hard links: FAT, many SMB shares): renamed instead, and put back on failure.
        os.replace(target, backup)
    return backup


def _restore(backup: Path, target: Path) -> None:
    if os.path.lexists(target):
        backup.unlink(missing_ok=True)  # it was a link: the target is still there
    else:
        os.replace(backup, target)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done, so the renames happen all or not at
    all (and no backup is left behind); the signal then stops the build as usual. SIGKILL
    cannot be held: the next build sweeps up after it."""
    if hasattr(signal, "pthread_sigmask"):
        held = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        yield  # only the main thread may handle signals
        return
    # No signal masks (Windows): the handlers note the signal, which is raised after.
    caught: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    names = [s for s in (signal.SIGINT, signal.SIGTERM) if s in signal.valid_signals()]
    before = {s: signal.signal(s, note) for s in names}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])


@contextlib.contextmanager
def exclusive(folders: Iterable[Path]) -> Iterator[None]:
    """Hold an exclusive lock on each folder, so that builds into one folder take turns.

    Folders are told apart by device and inode, not by spelling: ``dist`` and ``$PWD/dist``,
    or a symbolic link to a folder, are one folder, locked once; locks are taken in one order.
    Where ``fcntl`` exists the lock is ``flock`` on the folder itself: no file is left behind,
    and the system releases it however the build ends. Elsewhere (Windows) it is a lock file
    in the folder (``filelock``), removed when the build ends.
    """
    unique: dict[tuple[int, int], Path] = {}
    for folder in folders:
        info = folder.stat()
        unique.setdefault((info.st_dev, info.st_ino), folder)
    try:
        import fcntl
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    with contextlib.ExitStack() as stack:
        for _, folder in sorted(unique.items()):
            if fcntl is not None and hasattr(fcntl, "flock"):
                fd = os.open(folder, os.O_RDONLY)
                stack.callback(os.close, fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                stack.enter_context(_file_lock(folder))
        yield


def _file_lock(folder: Path) -> contextlib.AbstractContextManager[object]:
    with warnings.catch_warnings():
        # Without fcntl, filelock warns at import that it falls back to a soft lock.
        warnings.simplefilter("ignore")
        import filelock

    return filelock.FileLock(folder / ".cardpress.lock")


def differs(new: Path, old: Path) -> bool:
    """Whether two files differ, read a megabyte at a time (outputs can be 100 MB)."""
    try:
        if new.stat().st_size != old.stat().st_size:
            return True
        with new.open("rb") as a, old.open("rb") as b:
            while True:
                block = a.read(1 << 20)
                if block != b.read(1 << 20):
                    return True
                if not block:
                    return False
    except FileNotFoundError:
        return True


__all__ = [
    "commit",
    "create",
    "derived",
    "differs",
    "exclusive",
    "owner",
    "remove",
    "scratch",
    "signals_deferred",
    "sweep",
    "temp_name",
]
