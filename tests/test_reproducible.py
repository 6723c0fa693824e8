"""Reproducible builds: the same bytes whatever the hash seed, time zone or listing order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardpress import build
from tests.conftest import FIXTURES, REPO

ENVIRONMENTS = [
    {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C.UTF-8"},
    {"PYTHONHASHSEED": "4242", "TZ": "Pacific/Kiritimati", "LC_ALL": "C"},
    {"PYTHONHASHSEED": "random", "TZ": "America/St_Johns", "LANG": "de_DE.UTF-8"},
]

pytestmark = pytest.mark.slow  # subprocesses and whole builds


def _cards(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name / "cards"
    shutil.copytree(FIXTURES / "good", folder)
    shutil.copy(REPO / "cards" / "stalin-trotsky.yaml", folder)
    return folder


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _build_in_subprocess(cards: Path, out: Path, env: dict[str, str]) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "TZ")}
    environ.update(env, SOURCE_DATE_EPOCH="1767225600")
    subprocess.run(
        [sys.executable, "-m", "cardpress", "build", str(cards), "-o", str(out)],
        check=True,
        env=environ,
        capture_output=True,
    )


def test_same_bytes_across_hash_seeds_time_zones_and_locales(tmp_path: Path) -> None:
    results = []
    for i, env in enumerate(ENVIRONMENTS):
        cards = _cards(tmp_path, f"run{i}")
        _build_in_subprocess(cards, tmp_path / f"run{i}" / "dist", env)
        results.append((_outputs(tmp_path / f"run{i}" / "dist"), _outputs(cards)))
    assert len(results[0][0]) >= 2
    for outputs, sources in results[1:]:
        assert outputs == results[0][0]
        assert sources == results[0][1]  # lock files included


def test_same_bytes_whatever_the_directory_listing_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    first = _cards(tmp_path, "a")
    build([first], tmp_path / "a" / "dist")

    real_rglob = Path.rglob

    def reversed_rglob(self: Path, pattern: str) -> Iterator[Path]:
        return iter(sorted(real_rglob(self, pattern), reverse=True))

    monkeypatch.setattr(Path, "rglob", reversed_rglob)
    second = _cards(tmp_path, "b")
    build([second], tmp_path / "b" / "dist")
    assert _outputs(tmp_path / "a" / "dist") == _outputs(tmp_path / "b" / "dist")
