"""A project's settings: ``cardpress.toml``, or ``[tool.cardpress]`` in ``pyproject.toml``.

The file is looked for in the current folder, then in each parent: the first folder that has
``cardpress.toml``, or a ``pyproject.toml`` with a ``[tool.cardpress]`` table, holds the
settings (``cardpress.toml`` first where a folder has both; a ``pyproject.toml`` without the
table is passed over, as other tools do). Each setting is the default of the command-line
option of the same name, on every command that has that option: a flag given on the command
line overrides it. Paths in the file are relative to the file's folder, wherever cardpress
runs from.

This module reads and locates; the options themselves judge the values (cli.py hands every
value to the option it stands for), so that a setting and a flag can never disagree.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cardpress.errors import Diagnostic, InputError, Severity
from cardpress.model import Location

CONFIG_FILE = "cardpress.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Setting:
    """One key of the file: the option it stands for, and how its value is written there."""

    param: str  # the option's parameter name in cli.py
    kind: type  # what TOML must hold: str, int, bool, or list (of str, or of numbers)
    path: bool = False  # a path, relative to the file's folder
    help: str = ""


SETTINGS: dict[str, Setting] = {
    "cards": Setting("paths", list, path=True, help="card files or folders to read"),
    "output": Setting("out_dir", str, path=True, help="the output folder"),
    "outputs": Setting("only", list, help="the outputs build writes"),
    "paper": Setting("paper", str),
    "duplex": Setting("duplex", str),
    "csv-dialect": Setting("csv_dialect", str),
    "back-offset": Setting("back_offset", list, help="[X, Y] in millimetres"),
    "browser": Setting("browser", str, help="the browser that prints PDFs"),
    "jobs": Setting("jobs", int),
    "lock-folder": Setting("lock_folder", str, path=True, help="where lock files live"),
    "strict": Setting("strict", bool),
}


@dataclass(frozen=True)
class Config:
    """The settings of one file, by option name, as the options take them (text for the
    options that read text), and where each was written."""

    path: Path
    values: dict[str, object] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)


def find(start: Path | None = None) -> Path | None:
    """The settings file that governs ``start`` (default: the current folder), if any."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return own
        project = folder / PYPROJECT
        if project.is_file() and _has_table(project):
            return project
    return None


def _has_table(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # not ours to judge: a tool that owns the file will say
    return isinstance(data.get("tool"), dict) and "cardpress" in data["tool"]


def read(path: Path) -> Config:
    """The settings in ``path``; raises InputError naming every problem at its line."""
    shown = _shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError([_error(Location(shown), "not UTF-8 text")]) from None
    except OSError as exc:
        raise InputError([_error(Location(shown), f"cannot read: {exc.strerror}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([_syntax_error(shown, str(exc))]) from None
    table: object = data
    prefix = ""
    if path.name == PYPROJECT:
        table = data.get("tool", {}).get("cardpress", {})
        prefix = "tool.cardpress"
    config = Config(path)
    problems: list[Diagnostic] = []
    if not isinstance(table, dict):
        raise InputError([_error(Location(shown), f"[{prefix}] must be a table")])
    for key, value in table.items():
        where = Location(shown, _line_of(text, prefix, key), 1)
        setting = SETTINGS.get(key)
        if setting is None:
            problems.append(_error(where, f"unknown setting {key!r}{_did_you_mean(key)}"))
            continue
        try:
            config.values[setting.param] = _value(setting, value, path.parent)
        except ValueError as exc:
            problems.append(_error(where, f"{key} {exc}"))
            continue
        config.locations[setting.param] = where
    if problems:
        raise InputError(problems)
    return config


def _value(setting: Setting, value: object, base: Path) -> object:
    """A TOML value as the option takes it; ValueError says what is wrong with it."""
    kind = setting.kind
    if kind is list and isinstance(value, str) and setting.param != "back_offset":
        value = [value]  # one path or output may be written without brackets
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("must be a whole number")
    if kind is bool and not isinstance(value, bool):
        raise ValueError("must be true or false")
    if kind is str and not isinstance(value, str):
        raise ValueError("must be text (in quotes)")
    if kind is list and not isinstance(value, list):
        raise ValueError('must be a list, e.g. ["a", "b"]')
    if setting.param == "back_offset":
        assert isinstance(value, list)
        if len(value) != 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            raise ValueError("must be [X, Y], two numbers of millimetres")
        return ",".join(str(v) for v in value)
    if kind is list:
        assert isinstance(value, list)
        if not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of texts (in quotes)")
        if setting.param == "only":
            return ",".join(value)
        return tuple(_path(v, base) for v in value)
    if setting.path:
        assert isinstance(value, str)
        return _path(value, base)
    if setting.param == "browser" and isinstance(value, str) and ("/" in value or "\\" in value):
        return _path(value, base)
    return value


def _path(value: str, base: Path) -> str:
    """A path of the file, relative to its folder, as seen from the current folder: relative
    where it can be (what cardpress prints stays short), else absolute."""
    full = base / Path(value).expanduser()
    try:
        return os.path.relpath(full)
    except ValueError:  # another drive, on Windows
        return str(full)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _line_of(text: str, table: str, key: str) -> int:
    """The line where ``key`` is set in ``[table]`` (the top level when ``table`` is "")."""
    current = ""
    pattern = re.compile(rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[([^\[\]]+)\]\s*(?:#.*)?$", line)
        if header:
            current = header.group(1).strip()
            if current == f"{table}.{key}".lstrip("."):  # the key is a table of its own
                return number
            continue
        if current == table and pattern.match(line):
            return number
    return 0


def _syntax_error(shown: str, message: str) -> Diagnostic:
    """tomllib's message, "... (at line L, column C)", as a located error."""
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return _error(Location(shown), f"TOML syntax error: {message}")
    line, col = int(found.group(1)), int(found.group(2))
    return _error(Location(shown, line, col), f"TOML syntax error: {message[: found.start()]}")


def _did_you_mean(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key.replace("_", "-"), SETTINGS, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; the settings are: {', '.join(SETTINGS)}"


def _error(location: Location, message: str) -> Diagnostic:
    return Diagnostic(location, Severity.ERROR, message)


STARTER = """\
# cardpress settings: each one is the default of the option of the same name (see
# `cardpress build --help`); a flag on the command line overrides it. Paths are relative
# to this file's folder.

cards = ["cards"]        # card files or folders to read
output = "dist"          # where build writes the package, the CSV and the pages
# outputs = ["apkg", "csv", "cards", "sheet"]   # what build writes; add "pdf" for PDFs
paper = "a4"             # a4, letter, avery5371, a7 or index3x5
duplex = "long"          # long, short or none
# csv-dialect = "anki"   # anki, or plain for spreadsheets
# back-offset = [0, 0]   # mm; read yours off `cardpress calibrate`
# lock-folder = "locks"  # keep lock files here instead of beside the card files
"""
