"""The import reader against what real Anki exports: packages in every format Anki writes, its
"Notes in Plain Text" export and CSV with Anki's headers, and broken or foreign files."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import genanki
import pytest
from anki._backend import RustBackend
from anki.collection import Collection, ExportAnkiPackageOptions, ImportCsvRequest
from anki.decks import DeckId

from cardpress.importer import (
    ImportedCollection,
    ImportFileError,
    NoteTypeKind,
    SourceFormat,
    read_file,
    read_package,
    read_text,
)
from tests.conftest import (
    FIXTURES,
    NONE_SKIPPED,
    REPO,
    bucket_sizes,
    fresh_collection,
    import_apkg,
)

PNG = (FIXTURES / "outside.png").read_bytes()
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + bytes(range(64))  # Anki does not look inside

OWN_CSS = (
    ".card { font-family: 'PT Serif', serif; color: #222; }\n.example { font-style: italic; }\n"
)


@dataclass(frozen=True)
class Source:
    """What the collection held when it was exported, read through Anki's own API."""

    notes: dict[str, tuple[Any, ...]]  # guid -> (id, note type id, fields, tags, mtime, cards)
    note_types: dict[int, tuple[Any, ...]]
    media: dict[str, bytes]
    reviewed: set[int]  # card ids studied once
    files: dict[str, Path]


DECKS = {
    "History",
    "History::Soviet Union",
    "History::Soviet Union::1920s",
    "Geography",
    "Languages",
    "Languages::Russian",
}


def _own_note_type(col: Collection) -> dict[str, Any]:
    """A note type of the user's own: extra fields, two templates, its own CSS."""
    models = col.models
    note_type = models.new("Vocabulary (Russian)")
    for name in ("Word", "Meaning", "Example", "Audio", "Picture"):
        models.add_field(note_type, models.new_field(name))
    recognition = models.new_template("Recognition")
    recognition["qfmt"] = "{{Word}}<br>{{Audio}}"
    recognition["afmt"] = (
        "{{FrontSide}}<hr id=answer>{{Meaning}}"
        '{{#Example}}<p class="example">{{Example}}</p>{{/Example}}{{Picture}}'
    )
    recall = models.new_template("Recall")
    recall["qfmt"] = "{{Meaning}}"
    recall["afmt"] = "{{FrontSide}}<hr id=answer>{{Word}}<br>{{Audio}}"
    models.add_template(note_type, recognition)
    models.add_template(note_type, recall)
    note_type["css"] = OWN_CSS
    models.add(note_type)
    return note_type


def _deck_id(col: Collection, name: str) -> DeckId:
    deck_id = col.decks.id(name)  # created if missing
    assert deck_id is not None
    return deck_id


def _fill(col: Collection) -> None:
    """Stock and own note types, subdecks, hierarchical tags, HTML, media, some reviews."""
    image = col.media.write_data("kremlin.png", PNG)
    sound = col.media.write_data("привет.mp3", MP3)
    own = _own_note_type(col)

    def add(kind: Any, deck: str, fields: dict[str, str], tags: list[str]) -> Any:
        note = col.new_note(kind)
        for name, value in fields.items():
            note[name] = value
        note.tags = tags
        col.add_note(note, _deck_id(col, deck))
        return note

    basic = col.models.by_name("Basic")
    reversed_ = col.models.by_name("Basic (and reversed card)")
    cloze = col.models.by_name("Cloze")
    add(
        basic,
        "History::Soviet Union::1920s",
        {
            "Front": "Who led the <b>Left Opposition</b>?",
            "Back": "Trotsky<br><ul><li>expelled 1927</li><li>exiled 1929</li></ul>",
        },
        ["history::soviet-union::1920s", "people"],
    )
    add(
        basic,
        "History",
        {"Front": "a &lt; b &amp;&nbsp;c", "Back": "<i>Сталин</i>\nline two"},
        ["history"],
    )
    both = add(
        reversed_,
        "History::Soviet Union",
        {"Front": "1924", "Back": "Lenin dies"},
        ["history::dates"],
    )
    # The reverse card studied in another deck: a note's cards need not share one.
    col.set_deck([both.cards()[1].id], _deck_id(col, "History"))
    add(
        cloze,
        "Geography",
        {"Text": "{{c1::Paris::city}} is the capital of {{c2::France::country}}", "Back Extra": ""},
        ["geography::europe"],
    )
    add(
        own,
        "Languages::Russian",
        {
            "Word": "привет",
            "Meaning": "hello",
            "Example": "<b>Привет</b>, мир!",
            "Audio": f"[sound:{sound}]",
            "Picture": f'<img src="{image}">',
        },
        ["lang::ru", "greeting"],
    )
    add(own, "Languages", {"Word": "да", "Meaning": "yes"}, ["lang::ru"])
    for card_id in (both.cards()[0].id, col.find_cards('"deck:Languages::Russian"')[0]):
        card = col.get_card(card_id)
        card.start_timer()
        col.sched.answerCard(card, 3)


def _snapshot(col: Collection) -> tuple[dict[str, tuple[Any, ...]], dict[int, tuple[Any, ...]]]:
    notes: dict[str, tuple[Any, ...]] = {}
    note_types: dict[int, tuple[Any, ...]] = {}
    for note_id in col.find_notes(""):
        note = col.get_note(note_id)
        cards = sorted((c.ord, col.decks.name(c.did)) for c in note.cards())
        notes[note.guid] = (
            note.id,
            note.mid,
            tuple(note.fields),
            tuple(note.tags),
            note.mod,
            tuple(cards),
        )
        kind = col.models.get(note.mid)
        assert kind is not None
        note_types[note.mid] = (
            kind["name"],
            kind["type"],
            tuple((f["name"], f["id"]) for f in kind["flds"]),
            tuple((t["name"], t["qfmt"], t["afmt"], t["id"]) for t in kind["tmpls"]),
            kind["css"],
            kind["mod"],
        )
    return notes, note_types


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """One collection made in real Anki, exported by Anki in every way it exports notes."""
    folder = tmp_path_factory.mktemp("anki")
    with fresh_collection(folder / "profile") as col:
        _fill(col)
        notes, note_types = _snapshot(col)
        media = {p.name: p.read_bytes() for p in Path(col.media.dir()).iterdir()}
        reviewed = {int(c) for c in col.find_cards("-is:new")}
        files = {name: folder / name for name in ("latest.apkg", "legacy.apkg", "notes.txt")}
        for name, legacy in (("latest.apkg", False), ("legacy.apkg", True)):
            col.export_anki_package(
                out_path=str(files[name]),
                options=ExportAnkiPackageOptions(
                    with_scheduling=True, with_deck_configs=True, with_media=True, legacy=legacy
                ),
                limit=None,
            )
        col.export_note_csv(
            out_path=str(files["notes.txt"]),
            limit=None,
            with_html=True,
            with_tags=True,
            with_deck=True,
            with_notetype=True,
            with_guid=True,
        )
        files["legacy.colpkg"] = folder / "legacy.colpkg"
        col.export_collection_package(str(files["legacy.colpkg"]), include_media=True, legacy=True)
        col.reopen()
        files["latest.colpkg"] = folder / "latest.colpkg"
        col.export_collection_package(str(files["latest.colpkg"]), include_media=True, legacy=False)
        col.reopen()
    yield Source(notes, note_types, media, reviewed, files)


PACKAGES = {
    "latest.apkg": SourceFormat.LATEST,
    "legacy.apkg": SourceFormat.LEGACY_2,
    "latest.colpkg": SourceFormat.LATEST,
    "legacy.colpkg": SourceFormat.LEGACY_2,
}


def test_anki_writes_the_formats_we_read(source: Source) -> None:
    """What each export holds (rslib package/meta.rs): the format the reader reports."""
    with zipfile.ZipFile(source.files["latest.apkg"]) as archive:
        assert {"meta", "collection.anki21b", "collection.anki2", "media"} <= set(
            archive.namelist()
        )
    with zipfile.ZipFile(source.files["legacy.apkg"]) as archive:
        assert {"collection.anki21", "media"} <= set(archive.namelist())
        assert "collection.anki21b" not in archive.namelist()


@pytest.mark.parametrize("name", PACKAGES)
def test_package_gives_exactly_what_the_collection_held(source: Source, name: str) -> None:
    imported = read_package(source.files[name])
    assert imported.source == source.files[name]
    assert imported.format is PACKAGES[name]
    got = {
        note.guid: (
            note.id,
            note.note_type_id,
            note.fields,
            note.tags,
            note.mtime,
            tuple(sorted((card.ord, card.deck) for card in note.cards)),
        )
        for note in imported.notes
    }
    assert got == source.notes
    assert {
        nt.id: (
            nt.name,
            1 if nt.kind is NoteTypeKind.CLOZE else 0,
            tuple((f.name, f.id) for f in nt.fields),
            tuple((t.name, t.qfmt, t.afmt, t.id) for t in nt.templates),
            nt.css,
            nt.mtime,
        )
        for nt in imported.note_types
    } == source.note_types
    assert {deck.name for deck in imported.decks} == DECKS
    assert dict(imported.media) == source.media == {"kremlin.png": PNG, "привет.mp3": MP3}
    assert {c.id for n in imported.notes for c in n.cards if c.reps} == source.reviewed
    assert len(source.reviewed) == 2


def test_package_details(source: Source) -> None:
    imported = read_package(source.files["latest.apkg"])
    by_name = {nt.name: nt for nt in imported.note_types}
    assert set(by_name) == {"Basic", "Basic (and reversed card)", "Cloze", "Vocabulary (Russian)"}
    own = by_name["Vocabulary (Russian)"]
    assert own.field_names == ("Word", "Meaning", "Example", "Audio", "Picture")
    assert [t.name for t in own.templates] == ["Recognition", "Recall"]
    assert own.css == OWN_CSS and own.kind is NoteTypeKind.BASIC
    assert all(f.id is not None for f in own.fields)  # Anki's own field ids, kept
    assert own.as_dict()["id"] == own.id
    assert by_name["Cloze"].kind is NoteTypeKind.CLOZE
    notes = {note.fields[0]: note for note in imported.notes}
    cloze = notes["{{c1::Paris::city}} is the capital of {{c2::France::country}}"]
    assert [(c.ord, c.deck) for c in cloze.cards] == [(0, "Geography"), (1, "Geography")]
    both = notes["1924"]
    assert both.decks == ("History::Soviet Union", "History")
    assert both.deck == "History::Soviet Union"  # the deck of its first card
    assert notes["привет"].tags == ("greeting", "lang::ru")
    assert notes["привет"].fields[4] == '<img src="kremlin.png">'


def test_plain_text_export_gives_the_notes_fields_tags_and_decks(source: Source) -> None:
    imported = read_text(source.files["notes.txt"])
    assert imported.format is SourceFormat.TEXT
    assert imported.note_types == () and dict(imported.media) == {}
    width = max(len(fields) for _, _, fields, *_ in source.notes.values())
    names = {note_type_id: kind[0] for note_type_id, kind in source.note_types.items()}
    expected = {
        guid: (
            names[note_type_id],
            cards[0][1],  # Anki writes the deck of the note's first card
            fields + ("",) * (width - len(fields)),  # and pads every row to the widest
            tags,
        )
        for guid, (_, note_type_id, fields, tags, _, cards) in source.notes.items()
    }
    got = {n.guid: (n.note_type_name, n.deck, n.fields, n.tags) for n in imported.notes}
    assert got == expected
    assert {deck.name for deck in imported.decks} == DECKS
    assert all(note.line > 0 and note.cards == () for note in imported.notes)
    assert read_file(source.files["notes.txt"]) == imported


def test_read_file_tells_packages_by_their_bytes(source: Source, tmp_path: Path) -> None:
    renamed = tmp_path / "deck.txt"
    shutil.copy(source.files["latest.apkg"], renamed)
    assert read_file(renamed).format is SourceFormat.LATEST


def test_our_own_package_and_csv() -> None:
    """What cardpress builds: genanki's legacy package (no meta file) and the anki CSV."""
    package = read_package(REPO / "dist" / "stalin-trotsky.apkg")
    text = read_text(REPO / "dist" / "stalin-trotsky.csv")
    assert package.format is SourceFormat.LEGACY_1
    with zipfile.ZipFile(REPO / "dist" / "stalin-trotsky.apkg") as archive:
        assert "meta" not in archive.namelist()
    assert len(package.notes) == len(text.notes) > 0
    assert {n.guid for n in package.notes} == {n.guid for n in text.notes}
    assert {d.name for d in package.decks} == {d.name for d in text.decks}
    by_guid = package.notes_by_guid()
    for row in text.notes:
        note = by_guid[row.guid]
        assert row.tags == note.tags
        assert row.deck == note.deck
        assert row.fields[0] == note.fields[0]  # the question, as the CSV carries it
    assert {nt.name for nt in package.note_types} <= {
        f"cardpress {kind} v{version}"
        for kind in ("Basic", "Reversed", "Cloze", "Type")
        for version in (1, 2, 3)
    }


# -- text files read as Anki's own importer reads them ---------------------------------------

TEXT_CASES = {
    "plain-semicolon.txt": (
        "#separator:Semicolon\n#html:false\n#notetype:Basic\n#deck:Imported::Plain\n"
        '#tags:one two\na < b & "c";first\n'
        "\"multi\nline\";'quoted'\n"
        "# a comment line\n"
        '"#not a comment";x\n'
    ),
    "sniffed-comma.csv": "tags:alpha\nfront one,<b>back</b> one\nfront two,back two\n",
    "columns.tsv": (
        "#separator:tab\n#html:true\n#columns:Deck\tFront\tBack\tTags\n#deck column:1\n"
        "#tags column:4\n#notetype:Basic\n"
        # The parent deck's row first: a "P::C" row before a "P" row makes Anki put the "P"
        # rows into a new deck "P+" (a quirk of Anki's, not of the file).
        "Col\tQ 2\tA 2\t\nCol::Sub\tQ <i>1</i>\tA 1\tx::y z\n"
    ),
}


@pytest.mark.parametrize("name", TEXT_CASES)
def test_text_fields_tags_and_decks_are_those_anki_imports(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(TEXT_CASES[name], encoding="utf-8", newline="")
    imported = read_text(path)
    with fresh_collection(tmp_path / "anki") as col:
        metadata = col.get_csv_metadata(str(path), None)
        log = col.import_csv(ImportCsvRequest(path=str(path), metadata=metadata)).log
        assert len(log.new) == len(imported.notes)
        in_anki = []
        for note_id in col.find_notes(""):
            note = col.get_note(note_id)
            deck = col.decks.name(note.cards()[0].did)
            in_anki.append((tuple(note.fields), sorted(note.tags), deck))
    ours = [
        (n.fields, sorted(n.tags), n.deck or "Default") for n in imported.notes
    ]  # a file naming no deck goes to the current deck, Default in a new profile
    assert sorted(ours) == sorted(in_anki)


# -- bad input -------------------------------------------------------------------------------


def _raises(path: Path, *, text: bool = False) -> str:
    reader = read_text if text else read_package
    with pytest.raises(ImportFileError) as caught:
        reader(path)
    message = str(caught.value)
    assert message.startswith(f"{path}"), message
    assert ": error: " in message
    return message


def test_corrupt_zip(source: Source, tmp_path: Path) -> None:
    whole = source.files["latest.apkg"].read_bytes()
    truncated = tmp_path / "truncated.apkg"
    truncated.write_bytes(whole[: len(whole) // 2])
    assert "the zip archive is corrupt" in _raises(truncated)
    # Damage inside the collection's compressed bytes: zip's CRC check, in Anki's reader.
    damaged = tmp_path / "damaged.apkg"
    with zipfile.ZipFile(source.files["latest.apkg"]) as archive:
        info = archive.getinfo("collection.anki21b")
    data = bytearray(whole)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(start + 10, start + 40):
        data[offset] ^= 0xFF
    damaged.write_bytes(bytes(data))
    assert "Anki cannot read this package" in _raises(damaged)


def test_files_of_another_kind(tmp_path: Path) -> None:
    image = tmp_path / "deck.apkg"
    image.write_bytes(PNG)
    assert _raises(image).endswith("not an Anki package: it is a PNG image")
    assert _raises(image, text=True).endswith("not a text export: it is a PNG image")
    with pytest.raises(ImportFileError, match="not a text export: it is a PNG image"):
        read_file(image)
    yaml = tmp_path / "cards.apkg"
    yaml.write_text("deck: x\ncards: []\n", encoding="utf-8")
    assert _raises(yaml).endswith("not an Anki package: it is not a zip archive")
    empty = tmp_path / "empty.apkg"
    empty.write_bytes(b"")
    assert _raises(empty).endswith("the file is empty")
    other_zip = tmp_path / "other.apkg"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert _raises(other_zip).endswith("not an Anki package: it holds no collection.anki2")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"front,back\n\x00\x01\x02")
    assert _raises(binary, text=True).endswith("not a text export: it is a binary file")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("front,back\nQ,r\xe9ponse\n".encode("latin-1"))
    assert _raises(latin1, text=True) == (
        f"{latin1}:2: error: not UTF-8 text, which Anki's importer needs"
    )
    missing = tmp_path / "missing.apkg"
    assert "cannot read" in _raises(missing)
    assert _raises(tmp_path).endswith("is a folder, not a file")


def _genanki_package(path: Path, guids: list[str]) -> Path:
    model = genanki.Model(
        1607392319,
        "Simple",
        fields=[{"name": "Front"}, {"name": "Back"}],
        templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{Back}}"}],
    )
    deck = genanki.Deck(2059400110, "Empty or not")
    for number, guid in enumerate(guids):
        deck.add_note(genanki.Note(model=model, fields=[f"Q{number}", "A"], guid=guid))
    genanki.Package(deck).write_to_file(str(path))
    return path


def test_package_without_notes(tmp_path: Path) -> None:
    path = _genanki_package(tmp_path / "empty.apkg", [])
    assert _raises(path).endswith("error: the file holds no notes")
    header_only = tmp_path / "header.csv"
    header_only.write_text("#separator:Comma\n#html:true\n", encoding="utf-8")
    assert _raises(header_only, text=True).endswith("error: the file holds no notes")


def test_two_notes_with_one_guid(tmp_path: Path) -> None:
    path = _genanki_package(tmp_path / "shared.apkg", ["same", "same", "other"])
    assert _raises(path) == (
        f"{path}: error: 1 GUID shared by two or more notes: 'same' "
        "(Anki would import each of them as a separate note)"
    )
    text = tmp_path / "shared.csv"
    text.write_text("#guid column:1\nab,Q,A\nab,Q2,A2\n", encoding="utf-8")
    assert "1 GUID shared by two or more notes: 'ab'" in _raises(text, text=True)


def test_reading_leaves_the_package_as_it_was(source: Source, tmp_path: Path) -> None:
    copy = tmp_path / "copy.apkg"
    shutil.copy(source.files["legacy.apkg"], copy)
    before = copy.read_bytes()
    read_package(copy)
    assert copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.apkg"]


def test_collection_is_typed_and_frozen(source: Source) -> None:
    imported: ImportedCollection = read_package(source.files["latest.apkg"])
    with pytest.raises(AttributeError):
        imported.notes[0].guid = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        imported.media["new.png"] = b""  # type: ignore[index]


@pytest.mark.parametrize("name", ["latest.apkg", "legacy.apkg"])
def test_what_is_read_is_enough_to_give_anki_the_same_notes(
    tmp_path: Path, name: str, source: Source
) -> None:
    """A package written (with genanki) from nothing but what was read, imported into a copy
    of the collection it came from: Anki finds every note and note type the same, adds
    nothing and keeps the reviews."""
    imported = read_package(source.files[name])
    models = {
        nt.id: genanki.Model(
            nt.id,
            nt.name,
            fields=[{"name": f.name, "id": f.id} for f in nt.fields],
            templates=[
                {"name": t.name, "qfmt": t.qfmt, "afmt": t.afmt, "id": t.id} for t in nt.templates
            ],
            css=nt.css,
            model_type=genanki.Model.CLOZE
            if nt.kind is NoteTypeKind.CLOZE
            else genanki.Model.FRONT_BACK,
            latex_pre=nt.latex_pre,
            latex_post=nt.latex_post,
            sort_field_index=nt.sort_field,
        )
        for nt in imported.note_types
    }
    decks = {
        deck.name: genanki.Deck(number, deck.name)
        for number, deck in enumerate(imported.decks, start=2)
    }
    for note in imported.notes:
        assert note.note_type_id is not None and note.deck is not None
        decks[note.deck].add_note(
            genanki.Note(
                model=models[note.note_type_id],
                fields=list(note.fields),
                tags=list(note.tags),
                guid=note.guid,
            )
        )
    rebuilt = tmp_path / "rebuilt.apkg"
    newer = max(note.mtime for note in imported.notes) + 60
    genanki.Package(list(decks.values())).write_to_file(str(rebuilt), timestamp=newer)
    # The collection it came from, restored from its backup as Anki restores one.
    folder = tmp_path / "anki"
    folder.mkdir()
    RustBackend().import_collection_package(
        col_path=str(folder / "collection.anki2"),
        backup_path=str(source.files["latest.colpkg"]),
        media_folder=str(folder / "collection.media"),
        media_db=str(folder / "collection.media.db2"),
    )
    col = Collection(str(folder / "collection.anki2"))
    try:
        note_types_before = sorted(col.models.all_names())
        log = import_apkg(col, rebuilt)
        assert bucket_sizes(log) == {"new": 0, "updated": len(source.notes), **NONE_SKIPPED}
        assert sorted(col.models.all_names()) == note_types_before
        notes, _ = _snapshot(col)
        assert {g: n[:4] for g, n in notes.items()} == {g: n[:4] for g, n in source.notes.items()}
        assert {int(c) for c in col.find_cards("-is:new")} == source.reviewed
    finally:
        col.close()
