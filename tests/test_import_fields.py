"""Import: an Anki field's HTML as card-file text that the loader turns back into the same
field (after the sanitiser), checked through the real loader; and the YAML it is written in."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cardpress.format import SOUND
from cardpress.importer.fields import FieldText, field_text, yaml_scalar
from cardpress.loader import load
from cardpress.model import Deck
from cardpress.render import render, sanitise
from tests.conftest import FIXTURES, examples

PICTURE = FIXTURES / "good" / "img" / "map.png"
SOUND_FILE = FIXTURES / "audio" / "clip.mp3"

# Anki media names -> where the import would put them, relative to the card file.
MEDIA = {
    "paste-1f2e3d.png": "media/paste-1f2e3d.png",
    "my map.png": "media/my map.png",
    "clip.mp3": "media/clip.mp3",
    "rec_dog_1.mp3": "rec_dog_1.mp3",
}


def _write_deck(folder: Path, text: str, key: str = "extra") -> Path:
    """A card file with one card whose ``key`` holds ``text``, and the media of MEDIA."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in MEDIA.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SOUND_FILE if name.endswith(".mp3") else PICTURE, target)
    fields = {"front": "question", "back": "answer", key: None}
    lines = ["key: imported", "name: Imported", "cards:", "  - id: c1"]
    for name in fields:
        value = yaml_scalar(text, indent=6) if name == key else name
        lines.append(f"    {name}: {value}")
    deck = folder / "deck.yaml"
    deck.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return deck


def _loaded(folder: Path, text: str, key: str = "extra") -> tuple[str, Deck]:
    deck = load(_write_deck(folder, text, key)).decks[0]
    card = deck.cards[0]
    return getattr(card, key), deck


def _expected(original: str, deck: Deck, folder: Path) -> str:
    """``original`` through the sanitiser, naming media as the loader packed them (it names
    each file by its content: ``paste-1f2e3d-<hash>.png``)."""
    packed = {m.path: m.name for m in deck.media}
    by_anki = {name: packed.get((folder / path).resolve(), "") for name, path in MEDIA.items()}
    clean = sanitise(original, lambda src: by_anki.get(src) or None)
    # Read again, the sanitiser's output can nest differently (<h2><font><h2> loses the
    # <font>): what any text renders to is that output sanitised again.
    clean = sanitise(clean, lambda src: src)
    return SOUND.sub(
        lambda m: html.escape(f"[sound:{by_anki.get(html.unescape(m.group(1)), '?')}]"), clean
    )


# Fields as Anki's editor and common shared decks store them.
ANKI_FIELDS = [
    "Paris",
    "<b>Paris</b> is the capital of <i>France</i>",
    "<u>underlined</u>, <b><i>bold italic</i></b> and <i>it<b>al</b>ic</i>",
    "Die Katze<div>the cat</div><div><br></div>",
    "<div>first line</div><div>second line</div>",
    "one<br>two<br/>three",
    "<ul><li>red</li><li>green</li></ul><ol><li>one</li><li>two</li></ol>",
    "<ul><li>a<ul><li>nested</li></ul></li></ul>",
    '<a href="https://en.wikipedia.org/wiki/Paris">Paris</a> (source)',
    'Map: <img src="paste-1f2e3d.png">',
    '<img src="my map.png" alt="a map">',
    "[sound:clip.mp3]",
    "Hund [sound:rec_dog_1.mp3]",
    "{{c1::Paris::city}} is the capital of {{c2::<b>France</b>}}",
    "<b>{{c1::ser}}</b> &amp; {{c2::estar::to be (state)}}",
    "Tom &amp; Jerry &lt;3 &quot;quoted&quot; caf&eacute; &#x263A;",
    "a&nbsp;b&nbsp;&nbsp;c&nbsp;",
    "<table><tr><th>de</th><th>en</th></tr><tr><td>Hund</td><td>dog</td></tr></table>",
    "H<sub>2</sub>O and E=mc<sup>2</sup>",
    "<ruby>漢<rt>kan</rt></ruby><ruby>字<rt>ji</rt></ruby>",
    "\\(x^2 &lt; y_1\\) and \\[\\sum_{i=1}^n i\\]",
    "2 * 3 = 6, snake_case, [x], # hash, 1. item, - dash, \\ backslash",
    "# not a heading",
    "1. not a list",
    "<code>x = *y</code> and <strong>strong</strong> <em>em</em>",
    "<p>a paragraph</p>",
    '<div><b>Verb:</b> <i>ser</i> — to be</div><div><img src="paste-1f2e3d.png"></div>',
    "line one\nline two",
    # What cardpress itself builds (Markdown rendered by cmark): it comes back as Markdown.
    "<strong>a</strong><br>\nb",
    "<p>one</p>\n<p>two</p>",
    "<ul>\n<li>a</li>\n<li>b</li>\n</ul>",
]

# Fields the sanitiser changes: what it removes, as the import must say per note.
CHANGED_FIELDS = [
    ('<span style="color: rgb(255, 0, 0);">red</span> word', ("style= of <span>",)),
    ('<font color="#0000ff">blue</font>', ("<font>",)),
    ("<script>alert(1)</script>Hi", ("<script> with its content",)),
    ('<div class="x" onclick="go()">a</div>', ("class= of <div>", "onclick= of <div>")),
    ('<img src="missing.png">', ("the picture 'missing.png' (not among the media)",)),
    (
        '<img src="https://example.org/x.png">',
        (
            "the picture 'https://example.org/x.png' (not a file of the package; cards show "
            "only their own files)",
        ),
    ),
    ("[sound:gone.mp3] Hi", ("the sound 'gone.mp3' (not among the media)",)),
    ('<a href="page.html">x</a>', ("the link 'page.html' (links may be http, https or mailto)",)),
]


@pytest.mark.parametrize("original", ANKI_FIELDS)
def test_an_anki_field_loads_back_as_the_same_field(original: str, tmp_path: Path) -> None:
    converted = field_text(original, MEDIA)
    assert converted.exact, converted
    assert converted.removed == ()
    loaded, deck = _loaded(tmp_path, converted.text, "back")
    assert loaded == _expected(original, deck, tmp_path)


@pytest.mark.parametrize(("original", "removed"), CHANGED_FIELDS)
def test_what_the_sanitiser_changes_is_said(
    original: str, removed: tuple[str, ...], tmp_path: Path
) -> None:
    converted = field_text(original, MEDIA)
    assert converted.exact
    assert not converted.unchanged
    assert converted.removed == removed
    loaded, deck = _loaded(tmp_path, converted.text)
    assert loaded == converted.html
    if "picture" not in removed[0] and "sound" not in removed[0]:
        assert loaded == _expected(original, deck, tmp_path)


@pytest.mark.parametrize(
    ("original", "text"),
    [
        ("<strong>a</strong> <em>b</em> <code>c</code>", "**a** *b* `c`"),
        ('<a href="https://example.org">site</a>', "[site](https://example.org)"),
        ('<img src="my map.png" alt="a map">', "![a map](media/my%20map.png)"),
        ("<p>one</p>\n<p>two</p>", "one\n\ntwo"),
        ("<strong>a</strong><br>\nb", "**a**\nb"),
        ("<ul>\n<li>a</li>\n<li>b</li>\n</ul>", "* a\n* b"),
        ("[sound:clip.mp3] x", "[sound:media/clip.mp3] x"),
        ("\\(a&lt;b\\)", "\\(a<b\\)"),
        # Anki's editor writes <b>, <i>, <div> and <br>: no Markdown renders them.
        ("<b>a</b> <i>b</i>", "<b>a</b> <i>b</i>"),
        ("a<div>b</div>", "a<div>b</div>"),
        # The field's own text where it reads as itself, escaped where it would not.
        ("x*y", "x*y"),
        ("*not emphasis*", "\\*not emphasis\\*"),
        # A lone paragraph: render takes a <p> that holds all away; an HTML block keeps it.
        ("<p>a</p>", "</div><p>a</p>"),
    ],
)
def test_markdown_where_markdown_says_it(original: str, text: str) -> None:
    assert field_text(original, MEDIA).text == text


def test_an_unchanged_field_is_anki_s_own() -> None:
    assert field_text("<b>a</b><div>b</div>", MEDIA).unchanged
    # The sanitiser writes some HTML its own way: the build gives Anki another string.
    assert not field_text("a<br/>b", MEDIA).unchanged
    assert field_text("a<br/>b", MEDIA).html == "a<br>b"


def test_a_field_nested_too_deep_is_not_exact() -> None:
    deep = "<b>" * 150 + "x" + "</b>" * 150
    converted = field_text(deep, MEDIA)
    assert not converted.exact
    assert "nests" in converted.built


def test_a_sound_tag_that_runs_on_is_not_exact() -> None:
    # render reads "[sound:" on to the next "]", through tags, as Anki does: the field it
    # gives has those tags as text, and no text gives back the field.
    converted = field_text("<b>[sound:</b> x]", MEDIA)
    assert not converted.exact
    assert converted.built != converted.html


# -- generated fields ------------------------------------------------------------------------

TEXT = st.text(
    alphabet=st.sampled_from("ab Z09*_[]#<>&\\\n\t\u00a0!`~-+=.()|{}:'\"é"),
    min_size=1,
    max_size=12,
)
LEAVES = st.one_of(
    TEXT.map(lambda t: html.escape(t, quote=False)),
    st.sampled_from(
        [
            "<br>",
            '<img src="paste-1f2e3d.png">',
            '<img src="my map.png" alt="map">',
            "[sound:clip.mp3]",
            "\\(x&lt;1\\)",
            "\\[a_1\\]",
            "{{c1::Paris::city}}",
            "&nbsp;",
            "&amp;",
            '<img alt="x" src="paste-1f2e3d.png">',
            "\\(",
            "\\)",
            "]",
            "\\",
            "  ",
            "&lt;div&gt;",
            "1.",
            "#",
            "- ",
            "&gt; ",
            "***",
            "    code",
            "<p>x</p>",
            "<hr>",
        ]
    ),
)
# Not among them: a "[sound:" that no "]" closes before the next tag. Anki and render both
# read such a tag on through the tags that follow (test_a_sound_tag_that_runs_on_is_not_exact).
INLINE = ("b", "i", "u", "strong", "em", "code", "span", "sub", "sup", "s")
BLOCK = ("div", "p", "blockquote", "h2", "pre")


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    parts = st.lists(children, min_size=1, max_size=3).map("".join)
    return st.one_of(
        st.tuples(st.sampled_from(INLINE + BLOCK), parts).map(lambda t: f"<{t[0]}>{t[1]}</{t[0]}>"),
        parts.map(lambda p: f'<a href="https://example.org/?q=1&amp;r=2">{p}</a>'),
        st.lists(parts, min_size=1, max_size=3).map(
            lambda items: "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
        ),
        parts.map(lambda p: f"<table><tr><td>{p}</td><td>x</td></tr></table>"),
        parts.map(lambda p: f'<span style="color: red">{p}</span>'),
        parts.map(lambda p: f'<font color="red">{p}</font>'),
    )


FIELDS = st.lists(st.recursive(LEAVES, _element, max_leaves=12), min_size=1, max_size=4).map(
    "".join
)


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(FIELDS)
def test_a_field_said_exact_loads_back_exactly(tmp_path: Path, original: str) -> None:
    converted = field_text(original, MEDIA)
    assert converted.built == render_text(converted)
    # A field of spaces has no text: the import leaves its key out (an empty key is an error).
    assume(converted.exact and converted.text)
    loaded, deck = _loaded(tmp_path, converted.text)
    assert loaded == _expected(original, deck, tmp_path)


@settings(max_examples=examples(500), deadline=None)
@given(FIELDS)
def test_every_generated_field_is_exact(original: str) -> None:
    """The HTML fallbacks leave no field out: every one of these renders back exactly."""
    converted = field_text(original, MEDIA)
    assert converted.exact, (converted.text, converted.built, converted.html)


def render_text(converted: FieldText) -> str:
    """What the converted text renders to, media resolved as the converter's check does."""
    by_path = {path: name for name, path in MEDIA.items()}
    from urllib.parse import unquote

    return render(
        converted.text,
        lambda src: by_path.get(unquote(src)),
        resolve_sound=lambda path: by_path.get(path),
    ).html


# -- YAML ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "yes",
        "null",
        "123",
        "- a list?",
        "key: value",
        "a # comment?",
        "'quoted'",
        '"double"',
        "*alias",
        "&anchor",
        "!tag",
        "line one\nline two",
        "  leading spaces\nand more",
        "trailing newline\n",
        "tab\tinside",
        "\u00a0nbsp",
        "</div><p>a</p>",
        "<b>a</b>&#10;b",
        "",
    ],
)
def test_yaml_scalar_reads_back_as_the_text(text: str) -> None:
    scalar = yaml_scalar(text, indent=6)
    document = f"cards:\n  - id: c1\n    front: {scalar}\n    back: x\n"
    assert yaml.safe_load(document) == {"cards": [{"id": "c1", "front": text, "back": "x"}]}


@settings(max_examples=examples(500), deadline=None)
@given(st.text(max_size=40), st.sampled_from([2, 4, 6, 8]))
def test_yaml_scalar_reads_back_at_any_indent(text: str, indent: int) -> None:
    lead = " " * (indent - 2)
    scalar = yaml_scalar(text, indent=indent)
    assert yaml.safe_load(f"{lead}k: {scalar}\n{lead}after: 1\n") == {"k": text, "after": 1}


@settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\n\t"),
        min_size=1,
        max_size=30,
    )
)
def test_the_loader_reads_yaml_scalar_as_the_text(tmp_path: Path, text: str) -> None:
    try:
        expected = render(text).html
    except ValueError:  # nests too deep: not a YAML question
        return
    # A key whose text renders to nothing (spaces) is an error of the card file; field_text
    # gives such a field no text, and the import leaves the key out.
    assume(expected)
    loaded, _ = _loaded(tmp_path, text)
    assert loaded == expected
