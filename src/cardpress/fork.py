"""Run a function in a forked child process and take its result back: the second core.

A forked child starts with the parent's memory as it is (the loaded deck, the file's bytes),
so nothing is pickled on the way in; only the result comes back, pickled, through a pipe.
Forking is only safe in a process with a single thread: the CLI is one, and the library uses
this only when its caller asks for more than one worker.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_STOPS = frozenset({signal.SIGINT, signal.SIGTERM})


def can_fork() -> bool:
    """Whether this system can fork (not Windows): without it, everything runs in one process."""
    return hasattr(os, "fork") and hasattr(signal, "pthread_sigmask")


class ChildFailed(Exception):
    """A forked child died without a result (killed, or its result could not be pickled)."""


class Forked(Generic[T]):
    """``fn()`` running in a child process; :meth:`result` waits for it.

    An exception raised by ``fn`` in the child is raised again by :meth:`result` in the
    parent. Use it as a context manager: leaving the block early (an error, Ctrl-C) kills the
    child. :meth:`start` is the way in that never fails: it gives None where the system cannot
    fork now (a process limit), and the caller does the work itself.
    """

    def __init__(self, fn: Callable[[], T]) -> None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # or the child would write the parent's buffered text a second time
        read_end, write_end = os.pipe()
        # Ctrl-C and SIGTERM are held while forking: arriving in the middle, the handler that
        # turns them into KeyboardInterrupt would run inside the interpreter's at-fork hooks.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:  # pragma: no cover - runs in the child; its effects are tested
            # The child just stops on them: the parent cleans up and reaps it.
            for stop in _STOPS:
                signal.signal(stop, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read_end)
            _child(fn, write_end)
        os.close(write_end)
        self.pid: int | None = pid
        # The pipe's read end, until result() hands it to a file object that closes it.
        self.read_end: int | None = read_end
        try:
            # A signal held during the fork is raised here, by pthread_sigmask itself (it runs
            # the handlers of pending signals): the child must not outlive it, writing on.
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        except BaseException:
            self.kill()
            raise

    @classmethod
    def start(cls, fn: Callable[[], T]) -> Forked[T] | None:
        """``fn`` in a child process, or None where this system cannot fork (now)."""
        if not can_fork():
            return None
        try:
            return cls(fn)
        except OSError:  # EAGAIN under a process limit, ENOMEM: one process will do
            return None

    def result(self) -> T:
        """Wait for the child and return what ``fn`` returned (or raise what it raised)."""
        assert self.read_end is not None, "result() was already taken"
        read_end, self.read_end = self.read_end, None
        try:
            with os.fdopen(read_end, "rb") as pipe:
                ok, value = pickle.load(pipe)  # read as it is unpickled: no copy of it all
        except Exception as exc:
            raise ChildFailed(f"worker process ended without a result ({self._reap()})") from exc
        self._reap()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def kill(self) -> None:
        """Stop the child if it still runs, and close what is still open."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self.read_end is not None:
            os.close(self.read_end)
            self.read_end = None

    def _reap(self) -> str:
        if self.pid is None:
            return "already reaped"
        while True:
            try:
                _, status = os.waitpid(self.pid, 0)
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries; belt and braces
                continue
        self.pid = None
        if os.WIFSIGNALED(status):
            return f"killed by signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def _child(fn: Callable[[], object], write_end: int) -> None:  # pragma: no cover - child
    code = 0
    try:
        try:
            payload = pickle.dumps((True, fn()), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # everything goes back to the parent, which decides
            code = 1
            try:
                payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                payload = pickle.dumps((False, ChildFailed(f"worker failed: {exc!r}")))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
    except BaseException:
        code = 2
    finally:
        # No exit handlers, no flushing of buffers copied from the parent: they are the parent's.
        os._exit(code)
