"""Nothing let in: pathological and hostile input ends fast, bounded, and as our own error."""

from __future__ import annotations

import csv
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from anki.collection import Collection

from cardpress import build, load_deck
from cardpress.notes import NOTE_TYPE_SETS, guid, note_fields
from cardpress.render import plain_text
from tests.conftest import (
    FIXTURES,
    browser_dom,
    bucket_sizes,
    fresh_collection,
    import_apkg,
    import_csv,
    notes_by_guid,
)

MEMORY_LIMIT = 1 << 30  # 1 GiB of address space for one check
# A bound against blow-ups (an alias bomb or a quadratic rule runs for minutes), not a speed
# target: reading the largest deck allowed takes a few seconds on a slow CI machine, and the
# speed targets live in bench/.
TIME_LIMIT = 15.0


def _deep_lists(n: int) -> str:
    return "key: k\nname: K\ncards: " + "[" * n + "]" * n + "\n"


def _deep_maps(n: int) -> str:
    return "key: k\nname: K\ncards: " + "{a: " * n + "1" + "}" * n + "\n"


def _alias_bomb() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    card = "  - id: a\n    front: q\n    back: a\n    tags: *a9\n"
    return "\n".join(lines) + "\nkey: b\nname: B\ncards:\n" + card


def _many_keys(n: int) -> str:
    return "key: k\nname: K\ncards: []\n" + "".join(f"k{i}: v\n" for i in range(n))


def _many_cards(n: int) -> str:
    card = "  - id: c{0}\n    front: q{0}\n    back: a\n"
    return "key: k\nname: K\ncards:\n" + "".join(card.format(i) for i in range(n))


# name -> (content, first line of stderr)
CASES: dict[str, tuple[Callable[[], str | bytes], str]] = {
    "deep-lists": (
        lambda: _deep_lists(50_000),
        "case.yaml:3:1007: error: YAML syntax error: exceeded maximum nesting depth "
        "(while increasing flow level at line 3, column 1007)",
    ),
    "deep-maps": (
        lambda: _deep_maps(50_000),
        "case.yaml:3:4004: error: YAML syntax error: exceeded maximum nesting depth "
        "(while increasing flow level at line 3, column 4004)",
    ),
    "alias-bomb": (
        _alias_bomb,
        "case.yaml:7:35: error: aliases (*name) repeat 21333300 characters of text by here; "
        "the limit is 20971520",
    ),
    "huge-scalar": (
        lambda: "key: k\nname: K\ncards:\n  - id: a\n    front: q\n    back: " + "x" * 5_000_000,
        "case.yaml:6:11: error: card back is 5000000 characters; the limit is 100000",
    ),
    "many-keys": (
        lambda: _many_keys(300_000),
        "case.yaml:3:8: error: the deck has no cards",
    ),
    "too-many-cards": (
        lambda: _many_cards(100_001),
        "case.yaml:4:3: error: the deck has 100001 cards; the limit is 100000 "
        "(split it into several card files)",
    ),
    "too-big-file": (
        lambda: "key: k\nname: K\n# " + "x" * (20 * 1024 * 1024) + "\n",
        "case.yaml: error: file is 20971538 bytes; the limit is 20971520",
    ),
    "deep-quotes": (
        lambda: (
            'key: k\nname: K\ncards:\n  - id: a\n    front: q\n    back: "' + ">" * 99_000 + ' x"\n'
        ),
        "case.yaml:6:11: error: text nests 99001 levels deep (block quotes, lists or tags); "
        "the limit is 100",
    ),
    "alias-per-card": (
        lambda: (
            "key: k\nname: K\ncards:\n  - id: c0\n    front: q0\n    back: a\n"
            + "    extra: &big "
            + "x" * 90_000
            + "\n"
            + "".join(
                f"  - id: c{i}\n    front: q{i}\n    back: a\n    extra: *big\n"
                for i in range(1, 1000)
            )
        ),
        "case.yaml:943:12: error: aliases (*name) repeat 21060000 characters of text by here; "
        "the limit is 20971520",
    ),
    "deck-tags-on-every-card": (
        lambda: (
            "key: k\nname: K\ntags: ["
            + ", ".join(f"t{i}" for i in range(60_000))
            + "]\ncards:\n"
            + "".join(f"  - id: c{i}\n    front: q{i}\n    back: a\n" for i in range(1000))
        ),
        "case.yaml:3:7: error: deck tags are 408889 characters together; the limit is 1000 "
        "(every note repeats them)",
    ),
    "python-apply": (
        lambda: "key: !!python/object/apply:os.system ['touch pwned']\nname: n\ncards: []\n",
        "case.yaml:1:6: error: unsupported YAML tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'; card files are plain YAML",
    ),
}


def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_pathological_input_is_a_clean_error(case: str, tmp_path: Path) -> None:
    make, first_line = CASES[case]
    content = make()
    (tmp_path / "case.yaml").write_bytes(content.encode() if isinstance(content, str) else content)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cardpress", "check", "case.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_limit_resources,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.splitlines()[0] == first_line
    assert "Traceback" not in done.stderr
    assert elapsed < TIME_LIMIT, f"{case} took {elapsed:.1f} s"
    assert not (tmp_path / "pwned").exists()


class _Inspector(HTMLParser):
    """Collects whatever in an HTML text could run: script-like tags, handlers, bad URLs."""

    DANGEROUS_TAGS = frozenset({"script", "iframe", "object", "embed", "form", "style", "svg"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DANGEROUS_TAGS and not (tag == "style" and not attrs):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            url = (value or "").strip().lower()
            if name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "formaction") and url.startswith(
                ("javascript:", "vbscript:")
            ):
                self.found.append(f"{tag} {name}={url}")
            if name == "src" and url.startswith("data:") and not url.startswith("data:image/"):
                self.found.append(f"{tag} src=data:")


def _dangers(html: str) -> list[str]:
    inspector = _Inspector()
    inspector.feed(html)
    return inspector.found


def test_hostile_markup_survives_in_no_output(tmp_path: Path, collection: Collection) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "hostile.yaml").write_bytes((FIXTURES / "hostile" / "hostile.yaml").read_bytes())
    out = tmp_path / "out"
    build([cards], out)

    with zipfile.ZipFile(out / "hostile.apkg") as zf:
        (tmp_path / "col.anki2").write_bytes(zf.read("collection.anki2"))
    db = sqlite3.connect(tmp_path / "col.anki2")
    fields = [row[0] for row in db.execute("select flds from notes")]
    db.close()
    assert len(fields) == 4
    for value in fields:
        assert _dangers(value.replace("\x1f", " ")) == [], value

    # Deck names and tags are plain text to Anki; the HTML fields are the Front and Back columns.
    lines = (out / "hostile.csv").read_text(encoding="utf-8").splitlines()
    rows = list(csv.reader(line for line in lines if not line.startswith("#")))
    assert len(rows) == 4
    for row in rows:
        assert _dangers(row[2]) == [] and _dangers(row[3]) == [], row
    for page in ("hostile.cards.html", "hostile.sheet.html"):
        html = (out / page).read_text(encoding="utf-8")
        # The page's own <style> block is the only style element and has no attributes.
        assert _dangers(html) == [], page
        assert "Visible question" in html and "Visible answer" in html

    log = import_apkg(collection, out / "hostile.apkg")
    assert bucket_sizes(log)["new"] == 4
    for note in notes_by_guid(collection).values():
        for card in note.cards():  # as Anki renders them for review
            assert _dangers(card.question()) == [] and _dangers(card.answer()) == []


def test_right_to_left_emoji_and_combining_text_work(tmp_path: Path) -> None:
    deck_file = FIXTURES / "unicode" / "scripts.yaml"
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "scripts.yaml").write_bytes(deck_file.read_bytes())
    out = tmp_path / "out"
    build([cards], out)
    deck = load_deck(cards / "scripts.yaml")

    for importer, path in ((import_apkg, out / "scripts.apkg"), (import_csv, out / "scripts.csv")):
        with fresh_collection(tmp_path / path.suffix[1:]) as col:
            log = importer(col, path)
            sizes = bucket_sizes(log)
            assert sizes == {**dict.fromkeys(sizes, 0), "new": len(deck.cards)}
            notes = notes_by_guid(col)
            names = {d.name for d in col.decks.all_names_and_ids()}
        assert {f"{deck.name}::כיוון ימין לשמאל", f"{deck.name}::Emoji 🧠"} <= names
        for card in deck.cards:
            note = notes[guid(deck.key, card.id)]
            if importer is import_apkg:
                note_type = NOTE_TYPE_SETS[deck.note_type_version][card.kind]
                assert note.fields == list(note_fields(card, note_type, deck.key))
            assert note.fields[0] == card.front
    sheet = (out / "scripts.sheet.html").read_text(encoding="utf-8")
    for card in deck.cards:
        assert plain_text(card.front).split("{{")[0].strip()[:8] in sheet


def _page(path: Path, fragments: list[str]) -> Path:
    """A page holding ``fragments`` one after another, as a reviewer would show them."""
    body = "\n".join(f'<div class="shown">{fragment}</div>' for fragment in fragments)
    path.write_text(f"<!doctype html><html><body>{body}</body></html>", encoding="utf-8")
    return path


def _assert_nothing_ran(dom: str, what: str) -> None:
    """Chromium has loaded the page and run its events: no handler ran, none is left."""
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None and "data-pwned" not in body.group(0), f"a script ran in {what}"
    assert _dangers(dom) == [], what


@pytest.mark.slow
def test_no_script_reaches_anki_or_any_page(tmp_path: Path) -> None:
    """Markup that once slipped past the sanitiser (maths placeholders in attributes,
    normalisation after cleaning) is imported into real Anki, rendered by Anki, loaded in
    Chromium: no handler runs, and the browser's DOM has none. The CSV and the printable
    pages are loaded the same way."""
    cards = tmp_path / "cards"
    shutil.copytree(FIXTURES / "hostile" / "scripts", cards)
    out = tmp_path / "out"
    build([cards], out)

    for importer, path in ((import_apkg, out / "scripts.apkg"), (import_csv, out / "scripts.csv")):
        with fresh_collection(tmp_path / path.suffix[1:]) as col:
            log = importer(col, path)
            assert len(log.new) == 6
            shown = [
                side
                for note in notes_by_guid(col).values()
                for card in note.cards()
                for side in (card.question(), card.answer())
            ]
            for name_id in col.decks.all_names_and_ids():  # descriptions, as Anki shows them
                deck = col.decks.get(str(name_id.id), default=False)
                assert deck is not None
                shown.append(deck["desc"])
        dom = browser_dom(_page(tmp_path / f"anki-{path.suffix[1:]}.html", shown))
        assert "question four" in dom and "Markdown image" in dom
        _assert_nothing_ran(dom, f"Anki's rendering of {path.name}")
    for page in ("scripts.cards.html", "scripts.sheet.html"):
        _assert_nothing_ran(browser_dom(out / page), page)


@pytest.mark.slow
def test_ten_thousand_topics_build_in_linear_time(tmp_path: Path) -> None:
    """Each topic is a subdeck; genanki rewrote the JSON of every deck once per deck, and
    10,000 topics took 403 s. The decks are written once now."""
    n = 10_000
    lines = ["key: many", "name: Many", "topics:", *(f"  t{i}: Topic {i}" for i in range(n))]
    lines.append("cards:")
    for i in range(n):
        lines += [f"  - id: c{i}", f"    topic: t{i}", f"    front: Question {i}", "    back: A"]
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "many.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cardpress", "build", str(cards), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith(
        "10000 notes, 10000 cards, 10001 decks, 0 media files"
    )
    assert elapsed < 30, f"10,000 topics took {elapsed:.1f} s"
