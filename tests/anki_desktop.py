"""Real Anki desktop, headless, with the real AnkiConnect add-on (DESIGN §8), for push tests.

The add-on is third-party and not on PyPI: tests find its ``plugin`` folder through the
environment variable ``CARDPRESS_ANKICONNECT`` (CI sets it) and skip, saying why, where it
is absent; Anki desktop is the ``aqt`` package of the same version as ``anki``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ADDON_ID = "2055492159"  # AnkiConnect's AnkiWeb id: its folder's name in addons21/
PROFILE = "User 1"


def addon_or_skip() -> Path:
    """The AnkiConnect add-on's folder, or a skip that says how to get one."""
    found = os.environ.get("CARDPRESS_ANKICONNECT")
    if not found:
        pytest.skip("CARDPRESS_ANKICONNECT is not set: point it at AnkiConnect's plugin folder")
    folder = Path(found)
    if not (folder / "__init__.py").is_file():
        pytest.skip(f"CARDPRESS_ANKICONNECT={found} holds no AnkiConnect add-on")
    try:
        import aqt  # noqa: F401
    except ImportError:
        pytest.skip("Anki desktop is not installed: pip install aqt==(the anki version)")
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox")
    return env


@contextlib.contextmanager
def running_anki(base: Path, addon: Path) -> Iterator[str]:
    """Anki desktop running on a new profile in ``base`` with AnkiConnect on a free port;
    yields AnkiConnect's address. Anki is stopped (its process killed, as AnkiConnect's
    own exit leaves it running) when the block ends."""
    port = _free_port()
    setup = (
        "import sys; from aqt.profiles import ProfileManager; from pathlib import Path\n"
        "pm = ProfileManager(Path(sys.argv[1])); pm.setupMeta()\n"
        "pm.meta['firstRun'] = False; pm.meta['defaultLang'] = 'en_US'\n"
        f"pm.create({PROFILE!r}); pm.load({PROFILE!r}); pm.save()\n"
    )
    subprocess.run(
        [sys.executable, "-c", setup, str(base)], env=_environment(), check=True, timeout=120
    )
    target = base / "addons21" / ADDON_ID
    shutil.copytree(addon, target, ignore=shutil.ignore_patterns("__pycache__"))
    config = json.loads((addon / "config.json").read_text(encoding="utf-8"))
    config["webBindPort"] = port
    (target / "meta.json").write_text(json.dumps({"config": config}), encoding="utf-8")
    log = (base / "anki.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "import aqt; aqt.run()", "-b", str(base), "-p", PROFILE],
        env=_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while call(url, "version", quiet=True) != 6:
            if process.poll() is not None or time.monotonic() > deadline:
                text = (base / "anki.log").read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"Anki desktop did not start:\n{text[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def call(url: str, action: str, *, quiet: bool = False, **params: Any) -> Any:
    """One AnkiConnect action; with ``quiet``, None where nothing answers."""
    body = json.dumps({"action": action, "version": 6, "params": params}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body), timeout=60) as response:
            answer = json.loads(response.read())
    except OSError:
        if quiet:
            return None
        raise
    if answer["error"] is not None:
        raise RuntimeError(f"{action}: {answer['error']}")
    return answer["result"]
