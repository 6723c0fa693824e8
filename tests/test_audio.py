"""Sound: ``[sound:FILE]`` tags, their files judged by content, packed, imported by real Anki;
the CSV and the printable pages say what they leave out."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
import wave
import zipfile
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection
from anki.sound import SoundOrVideoTag
from click.testing import CliRunner, Result

from cardpress import InputError, build, load, load_deck
from cardpress.cli import cli
from cardpress.export.csv import plain_question_answer
from cardpress.loader import chunked as chunked_reading
from cardpress.render import render
from tests.conftest import FIXTURES, import_apkg, import_csv
from tests.test_html import open_pdf, print_to_pdf
from tests.test_parallel import count_forks

AUDIO = FIXTURES / "audio"
# One real file of each type cardpress packs (the WAV is written by write_wav).
TYPES = ("clip.mp3", "tagged.mp3", "clip.ogg", "clip.opus", "clip.wav", "clip.m4a", "clip.webm")

PAGES_NOTE = (
    "the printable pages leave the sound out (a \u266a marks where a card plays one in Anki)"
)


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write_wav(path: Path, frames: int = 800) -> Path:
    """A real WAV file: a tenth of a second of 8 kHz 16-bit mono (a ramp, not silence)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(
            b"".join((i * 40).to_bytes(2, "little", signed=True) for i in range(frames))
        )
    return path


def _folder(tmp_path: Path, cards: str, files: dict[str, Path | bytes] | None = None) -> Path:
    """cards/deck.yaml holding ``cards`` (YAML list items), with ``files`` beside it."""
    folder = tmp_path / "cards"
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in (files or {}).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copy(source, target)
    deck = folder / "deck.yaml"
    deck.write_text(f"key: audio\nname: Audio\ncards:\n{cards}", encoding="utf-8")
    return deck


def _all_types(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A deck with a card for each type, the mp3 in a folder: the deck and each tag's bytes."""
    files: dict[str, Path | bytes] = {f"sounds/{name}": AUDIO / name for name in TYPES}
    files["sounds/clip.wav"] = write_wav(tmp_path / "clip.wav").read_bytes()
    cards = "".join(
        f"  - id: c{i}\n    front: 'Listen: [sound:sounds/{name}]'\n    back: A tone\n"
        for i, name in enumerate(TYPES)
    )
    deck = _folder(tmp_path, cards, files)
    data = {name: (deck.parent / "sounds" / name).read_bytes() for name in TYPES}
    return deck, data


# -- into Anki -------------------------------------------------------------------------------


def test_every_type_is_packed_and_plays_in_anki(tmp_path: Path, collection: Collection) -> None:
    deck, data = _all_types(tmp_path)
    result = _cli("build", str(deck), "-o", str(tmp_path / "dist"), "--only", "apkg")
    assert result.exit_code == 0, result.output
    package = tmp_path / "dist" / "deck.apkg"
    assert f"{package}: 7 notes, 7 cards, 1 deck, 7 media files" in result.output

    log = import_apkg(collection, package)
    assert len(log.new) == 7
    media = collection.media.check()
    assert list(media.missing) == [] and list(media.unused) == []
    folder = Path(collection.media.dir())
    for nid in collection.find_notes(""):
        note = collection.get_note(nid)
        index = int(note["Card ID"].removeprefix("audio/c"))
        name = TYPES[index]
        # The field plays the packed file: Anki's own renderer finds the tag, with its name.
        tags = note.cards()[0].question_av_tags()
        assert len(tags) == 1 and isinstance(tags[0], SoundOrVideoTag)
        packed = tags[0].filename
        assert note["Front"] == f"Listen: [sound:{packed}]"
        assert packed.startswith(Path(name).stem + "-") and packed.endswith(Path(name).suffix)
        assert (folder / packed).read_bytes() == data[name]


def test_the_same_name_in_two_folders_is_two_files(tmp_path: Path) -> None:
    """Anki's media folder is flat: a sound file in a folder is packed under its own name
    (its stem and a hash of its content), as an image is, and never replaces another."""
    deck = _folder(
        tmp_path,
        "  - id: a\n    front: '[sound:clip.mp3]'\n    back: one\n"
        "  - id: b\n    front: '[sound:more/clip.mp3]'\n    back: two\n",
        {"clip.mp3": AUDIO / "clip.mp3", "more/clip.mp3": AUDIO / "tagged.mp3"},
    )
    loaded = load_deck(deck)
    names = [card.media for card in loaded.cards]
    assert len({names[0], names[1]}) == 2
    assert sorted(m.path.name for m in loaded.media) == ["clip.mp3", "clip.mp3"]
    build([deck], tmp_path / "dist")
    with zipfile.ZipFile(tmp_path / "dist" / "deck.apkg") as package:
        packed = sorted(package.read(str(i)) for i in range(2))
    assert packed == sorted(
        [(AUDIO / "clip.mp3").read_bytes(), (AUDIO / "tagged.mp3").read_bytes()]
    )


def test_a_big_deck_read_in_chunks_packs_the_same_sounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read by several processes (a big file), a deck has the same media and messages."""
    cards = "".join(
        f"  - id: c{i}\n    front: '[sound:{('clip.mp3', 'clip.ogg', 'gone.mp3')[i % 3]}] {i}?'\n"
        f"    back: '{i}'\n"
        for i in range(60)
    )
    deck = _folder(
        tmp_path, cards, {"clip.mp3": AUDIO / "clip.mp3", "clip.ogg": AUDIO / "clip.ogg"}
    )

    def outcome() -> list[str]:
        try:
            load([deck], workers=3)
        except InputError as error:
            return [str(d) for d in error.diagnostics]
        raise AssertionError("gone.mp3 is missing: the load must fail")

    one = outcome()
    assert len(one) == 20 and all("sound file not found: gone.mp3" in d for d in one)
    monkeypatch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 0)
    forks = count_forks(monkeypatch)
    assert outcome() == one and forks  # read in chunks, by forked workers
    deck.write_text(deck.read_text(encoding="utf-8").replace("gone.mp3", "clip.mp3"), "utf-8")
    chunked = load([deck], workers=3).decks[0]
    monkeypatch.setattr(chunked_reading, "PARALLEL_MIN_BYTES", 1 << 40)
    whole = load([deck], workers=1).decks[0]
    assert chunked == whole and len(whole.media) == 2
    assert all(card.front.startswith("[sound:clip-") for card in whole.cards)


# -- judged like images ----------------------------------------------------------------------


def test_a_sound_file_must_be_real_audio_inside_the_folder(tmp_path: Path) -> None:
    png = (FIXTURES / "outside.png").read_bytes()
    deck = _folder(
        tmp_path / "work",
        "  - id: missing\n    front: '[sound:nowhere.mp3]'\n    back: x\n"
        "  - id: outside\n    front: '[sound:../outside.mp3]'\n    back: x\n"
        "  - id: absolute\n    front: '[sound:/etc/passwd]'\n    back: x\n"
        "  - id: url\n    front: '[sound:https://example.com/a.mp3]'\n    back: x\n"
        "  - id: picture\n    front: '[sound:picture.mp3]'\n    back: x\n"
        "  - id: flac\n    front: '[sound:tone.flac]'\n    back: x\n"
        "  - id: wav-as-mp3\n    front: '[sound:tone.mp3]'\n    back: x\n"
        "  - id: video\n    front: '[sound:theora.ogg]'\n    back: x\n"
        "  - id: vorbis-as-opus\n    front: '[sound:vorbis.opus]'\n    back: x\n"
        "  - id: folder\n    front: '[sound:sounds]'\n    back: x\n",
        {
            "picture.mp3": png,
            "tone.flac": AUDIO / "clip.ogg",
            "tone.mp3": write_wav(tmp_path / "tone.wav").read_bytes(),
            "theora.ogg": AUDIO / "theora.ogg",
            "vorbis.opus": AUDIO / "clip.ogg",
            "sounds/clip.mp3": AUDIO / "clip.mp3",
        },
    )
    shutil.copy(AUDIO / "clip.mp3", tmp_path / "work" / "outside.mp3")
    result = _cli("check", str(deck))
    assert result.exit_code == 1
    types = "mp3, ogg, opus, wav, m4a, webm"
    assert result.stderr.splitlines() == [
        f"{deck}:5:12: error: sound file not found: nowhere.mp3",
        f"{deck}:8:12: error: sound file '../outside.mp3' is outside the card file's folder",
        f"{deck}:11:12: error: sound file path '/etc/passwd' is absolute; use a path relative "
        "to the card file",
        f"{deck}:14:12: error: sound file 'https://example.com/a.mp3' is not a local file; "
        "copy it next to the card file",
        f"{deck}:17:12: error: sound file 'picture.mp3' is not audio: its content is none of "
        f"{types}",
        f"{deck}:20:12: error: sound file 'tone.flac' is not of a type cardpress packs; use "
        f"one of {types}",
        f"{deck}:23:12: error: sound file 'tone.mp3' holds WAV audio, not mp3: name it 'tone.wav'",
        f"{deck}:26:12: error: sound file 'theora.ogg' is not audio: its content is none of "
        f"{types}",
        f"{deck}:29:12: error: sound file 'vorbis.opus' holds Ogg Vorbis audio, not opus: "
        "name it 'vorbis.ogg'",
        f"{deck}:32:12: error: sound file 'sounds' is not a file",
        "10 errors, 0 warnings",
    ]


def test_a_path_that_is_no_url_is_a_clean_error_for_images_and_sounds(tmp_path: Path) -> None:
    """One rule for both: "//[x" (which Python's urlsplit cannot read) is an absolute path."""
    deck = _folder(
        tmp_path,
        "  - id: a\n    front: '<img src=\"//[x.png\"> q'\n    back: x\n"
        "  - id: b\n    front: '[sound://[x.mp3] q'\n    back: x\n",
    )
    result = _cli("check", str(deck))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{deck}:5:12: error: image path '//[x.png' is absolute; use a path relative to the "
        "card file",
        f"{deck}:8:12: error: sound file path '//[x.mp3' is absolute; use a path relative to "
        "the card file",
        "2 errors, 0 warnings",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    shutil.copy(AUDIO / "clip.mp3", tmp_path / "secret.mp3")
    deck = _folder(tmp_path, "  - id: a\n    front: '[sound:link.mp3]'\n    back: x\n")
    os.symlink(tmp_path / "secret.mp3", deck.parent / "link.mp3")
    result = _cli("check", str(deck))
    assert result.exit_code == 1
    assert f"{deck}:5:12: error: sound file 'link.mp3' is outside the card file's folder" in (
        result.stderr
    )


def test_a_sound_in_the_deck_description_is_an_error(tmp_path: Path) -> None:
    deck = tmp_path / "deck.yaml"
    shutil.copy(AUDIO / "clip.mp3", tmp_path / "clip.mp3")
    deck.write_text(
        "key: d\nname: D\ndescription: 'Hear [sound:clip.mp3]'\ncards:\n"
        "  - id: a\n    front: q\n    back: a\n",
        encoding="utf-8",
    )
    result = _cli("check", str(deck))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{deck}:3:14: error: deck description plays a sound ([sound:clip.mp3]); a deck "
        "description cannot: Anki plays sounds on cards only (put it on a card)"
    )


# -- the tag through Markdown and the sanitiser ----------------------------------------------


def _names(files: list[str]) -> Any:
    def resolve(name: str) -> str:
        files.append(name)
        return f"m{len(files)}.mp3"

    return resolve


@pytest.mark.parametrize(
    ("text", "html", "files"),
    [
        # Underscores that Markdown would read as emphasis, around a file name.
        ("[sound:__init__.mp3] *hi*", "[sound:m1.mp3] <em>hi</em>", ["__init__.mp3"]),
        ("a_[sound:x_y_.mp3]_b", "a_[sound:m1.mp3]_b", ["x_y_.mp3"]),
        ("[sound:a*b*c.mp3]", "[sound:m1.mp3]", ["a*b*c.mp3"]),
        # A line that Markdown would take for a link definition, and drop.
        (
            "[sound:clip.mp3]: https://example.com",
            "[sound:m1.mp3]: https://example.com",
            ["clip.mp3"],
        ),
        # In a code span Anki plays it all the same: so it is resolved there too.
        ("`[sound:a b.mp3]`", "<code>[sound:m1.mp3]</code>", ["a b.mp3"]),
        # In a formula, and beside one.
        ("\\(x\\) [sound:a.mp3]", "\\(x\\) [sound:m1.mp3]", ["a.mp3"]),
        # Made by Markdown (an entity, an escape): Anki would play these too.
        ("&#91;sound:e.mp3]", "[sound:m1.mp3]", ["e.mp3"]),
        ("x \\[sound:f.mp3] y", "x \\[sound:m1.mp3] y", ["f.mp3"]),
        # Made by the sanitiser, which removes a tag it does not allow.
        ("[<foo></foo>sound:g.mp3]", "[sound:m1.mp3]", ["g.mp3"]),
        # Anki plays no [Sound:...]: nothing to resolve.
        ("[Sound:h.mp3]", "[Sound:h.mp3]", []),
        # Entities in the name are decoded, as Anki decodes them.
        ("[sound:a&amp;b.mp3]", "[sound:m1.mp3]", ["a&amp;b.mp3"]),
    ],
)
def test_markdown_never_changes_a_sound_tag(text: str, html: str, files: list[str]) -> None:
    found: list[str] = []
    rendered = render(text, resolve_sound=_names(found))
    assert rendered.html == html
    assert found == files == rendered.sounds


def test_a_hostile_file_name_never_becomes_markup(tmp_path: Path) -> None:
    """The name in the field is the packed file's (letters, digits, '-' and '_'): whatever
    the author's file is called, the tag is text; and a tag that cannot be resolved is an
    error, whose card goes nowhere."""
    hostile = '"><script>alert(1)<'
    rendered = render(f"[sound:{hostile}.mp3] <b>x</b>", resolve_sound=lambda name: None)
    assert "<script" not in rendered.html and "&lt;script&gt;" in rendered.html

    files: dict[str, Path | bytes] = {}
    if sys.platform != "win32":  # '"', '<' and '>' cannot be in a file name there
        files[f"{hostile}.mp3"] = AUDIO / "clip.mp3"
    deck = _folder(
        tmp_path,
        f"  - id: a\n    front: '[sound:{hostile}.mp3] Listen'\n    back: x\n"
        "  - id: b\n    front: '[sound:\"><img src=x onerror=alert(1)>.mp3]'\n    back: x\n",
        files,
    )
    result = _cli("check", str(deck))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f'{deck}:8:12: error: sound file not found: "><img src=x onerror=alert(1)>.mp3'
    )
    if sys.platform == "win32":
        return
    deck.write_text(deck.read_text(encoding="utf-8").split("  - id: b")[0], encoding="utf-8")
    build([deck], tmp_path / "dist")
    loaded = load_deck(deck)
    (name,) = loaded.cards[0].media
    assert name.startswith("script-alert-1-") and name.endswith(".mp3")
    assert loaded.cards[0].front == f"[sound:{name}] Listen"
    for output in ("deck.csv", "deck.cards.html", "deck.sheet.html"):
        text = (tmp_path / "dist" / output).read_text(encoding="utf-8")
        assert "<script" not in text and "&lt;script" not in text and "alert(1)" not in text
    with zipfile.ZipFile(tmp_path / "dist" / "deck.apkg") as package:
        (tmp_path / "collection.anki2").write_bytes(package.read("collection.anki2"))
    with contextlib.closing(sqlite3.connect(tmp_path / "collection.anki2")) as db:
        (fields,) = db.execute("SELECT flds FROM notes").fetchone()
    assert fields.split("\x1f")[0] == f"[sound:{name}] Listen"


def test_an_answer_is_not_given_away_by_a_sound_tag(tmp_path: Path) -> None:
    """The leak check reads no word of a sound tag: "sound" is no answer to a question that
    only plays one."""
    deck = _folder(
        tmp_path,
        "  - id: a\n    front: '[sound:clip.mp3] Which note is this?'\n    back: A\n"
        "  - id: b\n    front: What travels at 343 m/s in air?\n    back: sound\n"
        "  - id: c\n    front: What is 440 Hz?\n    back: clip\n",
        {"clip.mp3": AUDIO / "clip.mp3"},
    )
    result = _cli("check", "--strict", str(deck))
    assert result.exit_code == 0, result.output
    assert "given away" not in result.stderr


# -- what the CSV and the pages leave out ----------------------------------------------------


def test_the_csv_keeps_the_tag_and_says_the_sound_cannot_travel(
    tmp_path: Path, collection: Collection
) -> None:
    deck = _folder(
        tmp_path,
        "  - id: a\n    front: 'Listen: [sound:clip.mp3]'\n    back: A tone\n"
        "  - id: b\n    front: '![flag](flag.png) Whose flag?'\n    back: France\n",
        {"clip.mp3": AUDIO / "clip.mp3", "flag.png": FIXTURES / "outside.png"},
    )
    out = tmp_path / "dist"
    result = _cli("build", "--strict", str(deck), "-o", str(out))
    assert result.exit_code == 0, result.output  # a note never fails --strict
    assert result.stderr.splitlines() == [
        f"{deck}:1:1: note: this deck has 1 image and 1 sound file; images and sound files "
        "cannot travel in a CSV (use the .apkg, or leave the CSV out with --only)",
        f"{deck}:1:1: note: this deck has 1 sound file; {PAGES_NOTE}",
    ]
    # Imported by Anki, the row keeps the tag, and Anki misses the file: what the note says.
    log = import_csv(collection, out / "deck.csv")
    assert len(log.new) == 2
    missing = list(collection.media.check().missing)
    assert len(missing) == 2 and any(m.startswith("clip-") and m.endswith(".mp3") for m in missing)

    # The plain dialect is text for a spreadsheet: a sound tag plays nothing there.
    card = load_deck(deck).cards[0]
    assert plain_question_answer(card) == ("Listen:", "A tone")
    plain = _cli("build", str(deck), "-o", str(tmp_path / "plain"), "--csv-dialect", "plain")
    assert plain.exit_code == 0, plain.output
    assert "sound:" not in (tmp_path / "plain" / "deck.csv").read_text(encoding="utf-8-sig")

    # Without the CSV or the pages, nothing is said of them.
    only = _cli("build", str(deck), "-o", str(tmp_path / "only"), "--only", "apkg")
    assert only.exit_code == 0 and only.stderr == ""
    sheet = _cli("build", str(deck), "-o", str(tmp_path / "sheet"), "--only", "sheet")
    assert sheet.stderr.splitlines() == [
        f"{deck}:1:1: note: this deck has 1 sound file; {PAGES_NOTE}"
    ]


def test_the_printed_pages_show_a_mark_and_never_the_tag(tmp_path: Path) -> None:
    """Printed by Chromium: no ``[sound:`` in the text of either page, and a ♪ on each card
    that plays one, a card that only plays a sound (and a cloze) too."""
    deck = _folder(
        tmp_path,
        "  - id: a\n    front: 'Listen: [sound:clip.mp3]'\n    back: A tone\n"
        "  - id: b\n    front: '[sound:clip.mp3]'\n    back: The same tone\n"
        "  - id: c\n    kind: cloze\n"
        "    text: '{{c1::Concert pitch}} [sound:clip.mp3] is 440 Hz'\n",
        {"clip.mp3": AUDIO / "clip.mp3"},
    )
    out = tmp_path / "dist"
    build([deck], out)
    for page in ("deck.cards.html", "deck.sheet.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert "sound:" not in html
        pdf = out / f"{page}.pdf"
        print_to_pdf(out / page, pdf)
        with open_pdf(pdf) as document:
            text = " ".join(p.get_text() for p in document)
        assert "sound:" not in text and "clip" not in text
        assert "Listen:" in text and "The same tone" in text and "is 440 Hz" in text
        assert text.count("\u266a") >= 3, page  # each card's mark, printed
