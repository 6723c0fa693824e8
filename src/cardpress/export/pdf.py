"""PDF of the printable pages, printed by the user's own Chrome, Chromium or Edge.

The pages are HTML made and tested for a browser's print engine, so the PDF is that print:
the same geometry to the point, fonts embedded, no dialog settings to get wrong. Measured
against WeasyPrint (the other engine that reads this HTML) on the example deck: the same
pages, words and card positions within 0.17 mm, but 9 times slower (7.5 s against 0.8 s) and
a Pango install that Windows and macOS lack; a browser is on every desktop already.

Headless Chromium writes the time of printing into the PDF's metadata; it is replaced by the
deck's last change (the newest card time of its lock), as the package does, so that the same
cards give the same bytes (for one browser version: the PDF names it and its fonts).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cardpress.errors import ExportError
from cardpress.export import ExportSummary, plural

# What a browser is called on PATH (Linux, and anywhere a user put one there).
_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "microsoft-edge",
    "microsoft-edge-stable",
    "msedge",
)
_MAC_APPS = ("Google Chrome", "Chromium", "Microsoft Edge")
_WINDOWS = (r"Google\Chrome\Application\chrome.exe", r"Microsoft\Edge\Application\msedge.exe")
_INSTALL = (
    "install Google Chrome, Chromium or Microsoft Edge (on Debian or Ubuntu: apt install "
    "chromium), or name one with --browser PATH"
)


def find_browser(explicit: str | None = None) -> Path:
    """The browser to print with: ``explicit`` (``--browser``) or ``CARDPRESS_BROWSER``
    where given, else the first Chrome, Chromium or Edge found on PATH or where its installer
    puts it on Linux, macOS and Windows. Raises ExportError saying what to install."""
    named = explicit or os.environ.get("CARDPRESS_BROWSER")
    if named:
        found = shutil.which(named)
        if found is None:
            raise ExportError(named, f"no browser there to print PDFs with; {_INSTALL}")
        return Path(found)
    for candidate in _candidates():
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ExportError("--pdf", f"no browser found to print PDFs with: {_INSTALL}")


def _candidates() -> Iterator[Path]:
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            yield Path(found)
    if sys.platform == "darwin":
        for app in _MAC_APPS:
            for root in (Path("/Applications"), Path.home() / "Applications"):
                yield root / f"{app}.app" / "Contents" / "MacOS" / app
    if sys.platform == "win32":
        roots = ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")
        for root in filter(None, (os.environ.get(name) for name in roots)):
            for tail in _WINDOWS:
                yield Path(root) / tail


def print_pdf(
    write_html: Callable[[Path], ExportSummary], path: Path, browser: Path, stamp: int
) -> ExportSummary:
    """Write the page that ``write_html`` writes, printed to PDF by ``browser``, at ``path``;
    its dates are ``stamp`` (seconds since the epoch)."""
    with tempfile.TemporaryDirectory(prefix="cardpress-print-") as work:
        # The page is self-contained (images inside): it prints from anywhere. Its name ends
        # in .html, which is how the browser knows to read it as a page.
        html = Path(work) / "page.html"
        profile = Path(work) / "profile"
        write_html(html)
        command = [
            str(browser),
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={path}",
            html.resolve().as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root with one
        path.unlink(missing_ok=True)
        try:
            done = subprocess.run(command, capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ExportError(path, f"{browser} could not print it: {exc}") from None
        if done.returncode != 0 or not path.is_file() or path.stat().st_size == 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise ExportError(path, f"{browser} did not print it: {said[0]}")
    data = path.read_bytes()
    path.write_bytes(_dated(data, stamp))
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    return ExportSummary(f"{plural(pages, 'page')}, printed by {browser.name}")


_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[^)]*\)")


def _dated(data: bytes, stamp: int) -> bytes:
    """The PDF with its creation and modification dates set to ``stamp`` (UTC). The new
    date is written in the old one's length, so no offset in the file moves."""
    when = time.strftime("%Y%m%d%H%M%S", time.gmtime(stamp)).encode()

    def same_length(match: re.Match[bytes]) -> bytes:
        old = match.group(0)
        new = b"/" + match.group(1) + b" (D:" + when + b"Z)"
        return new.ljust(len(old)) if len(new) <= len(old) else old

    return _DATE.sub(same_length, data)
