"""Coverage-guided fuzzing of the loader (atheris, libFuzzer for Python).

Any input must either load or raise cardpress's own InputError; anything else is a crash.

    .venv/bin/pip install atheris
    .venv/bin/python fuzz/fuzz_loader.py fuzz/corpus/loader -max_total_time=600

Crashes are written as crash-* files; add each as a fixture in tests/fixtures/bad/.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from cardpress.errors import InputError
    from cardpress.loader import load_bytes

_FOLDER = Path(tempfile.mkdtemp(prefix="cardpress-fuzz-"))
(_FOLDER / "img").mkdir()
(_FOLDER / "img" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(InputError):
        load_bytes(data, _FOLDER / "fuzz.yaml")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
