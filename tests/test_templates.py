"""Templates: Anki's template syntax in pure Python (cardpress.templates), held against real
Anki: the cards it makes for a note, how it renders them, the templates it refuses."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from anki.card_rendering_pb2 import StripHtmlRequest
from anki.collection import Collection
from anki.errors import CardTypeError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cardpress.templates import (
    SPECIAL_FIELDS,
    Replacement,
    Section,
    TemplateError,
    Text,
    card_ords,
    empty_replacement,
    field_is_empty,
    field_references,
    parse,
    render,
    scripts_in,
)
from tests.conftest import examples, fresh_collection

STOCK = {
    "basic": "Basic",
    "reversed": "Basic (and reversed card)",
    "optional": "Basic (optional reversed card)",
    "typing": "Basic (type in the answer)",
    "cloze": "Cloze",
}

# A standard note type whose templates use every filter and every kind of section (and the
# legacy <% %> syntax), on fields A, B and C.
FILTERS_FRONT = (
    "{{A}}|{{text:A}}|{{furigana:B}}|{{kana:B}}|{{kanji:B}}|{{cloze:C}}|{{cloze-only:C}}|"
    "{{text:cloze:C}}|{{nope:text:A}}|{{text:nope:A}}|{{::A}}|{{ A }}|{{{A}}}|<!-- {{B}} -->|"
    "{{#B}}b:{{B}}{{/B}}{{^B}}no b{{/B}}|{{#c1}}one{{/c1}}{{^c2}}not two{{/c2}}|{{Tags}}|"
    "{{Type}}|{{Deck}}|{{Subdeck}}|{{Card}}|{{CardFlag}}|{{CardID}}|{{nope:}}|{{FrontSide}}"
)
FILTERS_BACK = "{{FrontSide}}<hr id=answer>{{B}}|{{cloze:C}}|{{cloze-only:C}}|{{text:FrontSide}}"
CUSTOM = {
    "filters": (
        ("A", "B", "C"),
        (
            (FILTERS_FRONT, FILTERS_BACK),
            ("{{^A}}{{B}}{{/A}}{{#A}}{{#B}}{{C}}{{/B}}{{/A}}", "{{FrontSide}}|{{cloze:C}}"),
            ("{{=<% %>=}}<%B%>{{A}}<%#C%>[<%C%>]<%/C%>", "<%FrontSide%><% text:C %>"),
            ("{{#Tags}}tagged {{A}}{{/Tags}}", "{{Tags}}"),
            ("{{#A}}{{^A}}{{B}}{{/A}}{{/A}}", "x"),
        ),
        False,
    ),
    "cloze-filters": (
        ("Text", "Extra"),
        (
            (
                "{{cloze:Text}}|{{cloze-only:Text}}|{{text:cloze:Text}}|{{#c2}}two{{/c2}}|"
                "{{^Extra}}no extra{{/Extra}}",
                "{{FrontSide}}|{{cloze:Text}}|{{cloze-only:Text}}|{{cloze:Extra}}|{{Extra}}",
            ),
        ),
        True,
    ),
}


@pytest.fixture(scope="module")
def col(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collection]:
    """One real collection with the stock note types and the custom ones of CUSTOM."""
    with fresh_collection(tmp_path_factory.mktemp("templates") / "anki") as col:
        for name, (fields, templates, cloze) in CUSTOM.items():
            add_note_type(col, name, fields, templates, cloze=cloze)
        yield col


def add_note_type(
    col: Collection,
    name: str,
    fields: Sequence[str],
    templates: Sequence[tuple[str, str]],
    *,
    cloze: bool = False,
) -> dict[str, Any]:
    """Make and save a note type (Anki checks it here, raising CardTypeError)."""
    models = col.models
    note_type = models.new(name)
    note_type["type"] = 1 if cloze else 0
    for field in fields:
        models.add_field(note_type, models.new_field(field))
    for number, (front, back) in enumerate(templates, 1):
        template = models.new_template(f"Card {number}")
        template["qfmt"], template["afmt"] = front, back
        models.add_template(note_type, template)
    models.add(note_type)
    saved = models.by_name(name)
    assert saved is not None
    return saved


def add_note(col: Collection, note_type: str, values: Sequence[str], tags: Sequence[str]) -> Any:
    model = col.models.by_name(note_type)
    assert model is not None
    note = col.new_note(model)
    for index, value in enumerate(values):
        note.fields[index] = value
    note.tags = list(tags)
    deck = col.decks.id("Parent::Child")
    assert deck is not None
    col.add_note(note, deck)
    return col.get_note(note.id)  # as stored: Anki drops control characters


def ours(col: Collection, card: Any, template: dict[str, Any] | None = None) -> tuple[str, str]:
    """render() of an Anki card (with ``template``, if given), with the special fields Anki
    gives it."""
    note = card.note()
    note_type = note.note_type()
    cloze = note_type["type"] == 1
    template = template or dict(note_type["tmpls"][0 if cloze else card.ord])
    deck = col.decks.name(card.did)
    specials = {
        "Tags": " ".join(note.tags),
        "Type": note_type["name"],
        "Deck": deck,
        "Subdeck": deck.rsplit("::")[-1],
        "Card": template["name"],
        "CardFlag": f"flag{card.user_flag()}",
        "CardID": str(card.id),
    }
    fields = dict(note.items())
    return render(
        template["qfmt"], template["afmt"], fields, card.ord, cloze=cloze, specials=specials
    )


def anki(card: Any) -> tuple[str, str]:
    """Anki's own rendering (what its reviewer gets before it adds type-answer boxes)."""
    output = card.render_output(reload=True)
    return output.question_text, output.answer_text


def agree(col: Collection, note: Any) -> None:
    """card_ords gives the cards Anki made, and render() renders each as Anki does (but the
    blank card 0 Anki adds when none qualifies: its question is Anki's message)."""
    note_type = note.note_type()
    cloze = note_type["type"] == 1
    qfmts = [t["qfmt"] for t in note_type["tmpls"]]
    fields = dict(note.items())
    made = tuple(sorted(card.ord for card in note.cards()))
    assert card_ords(qfmts, fields, cloze=cloze, tags=note.tags) == made
    qualifying = card_ords(qfmts, fields, cloze=cloze, tags=note.tags, fallback=False)
    for card in note.cards():
        if card.ord in qualifying:
            assert ours(col, card) == anki(card), (note.fields, card.ord)
        else:
            assert re.search("front of this card is blank|No cloze .* found", anki(card)[1])


def anki_with(note: Any, card_ord: int, front: str, back: str) -> tuple[str, str]:
    """How Anki renders card ``card_ord`` of ``note`` with a template it has not saved (as
    its card layout screen does): no check of the template first."""
    template = {**note.note_type()["tmpls"][0], "qfmt": front, "afmt": back, "name": "Try"}
    output = note.ephemeral_card(card_ord, custom_template=template).render_output()
    return output.question_text, output.answer_text


def anki_error(text: str) -> tuple[str, str] | None:
    """The side and message of Anki's error text for a template it cannot render."""
    found = re.fullmatch(r"(Front|Back) template has a problem:<br>(.*)<br><a href=.*", text, re.S)
    if found is None:
        return None
    return found.group(1), html.unescape(found.group(2)).replace("\u2068", "").replace("\u2069", "")


# Pieces of field text: emptiness as Anki judges it, HTML, entities, cloze deletions (broken
# ones too), MathJax, furigana.
EMPTYISH = st.sampled_from(
    ["", " ", "\n", "\t", "\r", "<br>", "<BR/>", "<br />", "<div>", "</div>", "<div />",
     "<Div >", "&nbsp;", "\xa0", "\u3000", "\x0b", "<b></b>", "<p></p>", "x", "0"]
)  # fmt: skip
PIECES = st.sampled_from(
    ["a", "B c", "<b>", "</b>", "<i>x</i>", "&amp;", "&lt;", "&apos;", "&nbsp;", "&#x41;",
     "&#65;", "&", "&bogus;", "&#xD800;", "\xa0", "<!-- c -->", "<br>", "\\(", "\\)", "\\[",
     "\\]", "漢字[かんじ]", " 日本[にほん]", "[", "]", "::", "}}", "{{c1::", "{{c2::",
     "{{c1,2::", "{{c0::", "{{c3::", "{{c,::", "{{c01::", "::hint", "<script>s</script>",
     "<style>p{}</style>", "\n", '"', "'", ",", "é", "<", ">", "{{", "{{c1::x::y}}"]
)  # fmt: skip
FIELD = st.lists(EMPTYISH, max_size=4).map("".join)
RICH = st.lists(PIECES, max_size=14).map("".join)
TAGS = st.lists(st.sampled_from(["t1", "a::b"]), max_size=2, unique=True)


@settings(max_examples=examples(300))
@given(
    kind=st.sampled_from(["basic", "reversed", "optional", "typing"]),
    values=st.lists(FIELD, min_size=2, max_size=2),
    tags=TAGS,
)
def test_stock_standard_note_types_make_the_cards_anki_makes(
    col: Collection, kind: str, values: list[str], tags: list[str]
) -> None:
    note = add_note(col, STOCK[kind], values, tags)
    note_type = note.note_type()
    qfmts = [t["qfmt"] for t in note_type["tmpls"]]
    made = tuple(sorted(card.ord for card in note.cards()))
    assert card_ords(qfmts, dict(note.items()), cloze=False, tags=tags) == made


@settings(max_examples=examples(300))
@given(values=st.lists(FIELD | RICH, min_size=3, max_size=3), tags=TAGS)
def test_custom_sections_and_filters_make_and_render_as_anki(
    col: Collection, values: list[str], tags: list[str]
) -> None:
    agree(col, add_note(col, "filters", values, tags))


@settings(max_examples=examples(300))
@given(values=st.lists(RICH, min_size=2, max_size=2), tags=TAGS)
def test_stock_cloze_makes_and_renders_as_anki(
    col: Collection, values: list[str], tags: list[str]
) -> None:
    agree(col, add_note(col, STOCK["cloze"], values, tags))


@settings(max_examples=examples(300))
@given(values=st.lists(RICH, min_size=2, max_size=2))
def test_custom_cloze_filters_render_as_anki(col: Collection, values: list[str]) -> None:
    agree(col, add_note(col, "cloze-filters", values, []))


@settings(max_examples=examples(200))
@given(
    kind=st.sampled_from(["basic", "reversed", "optional"]),
    values=st.lists(RICH, min_size=2, max_size=2),
)
def test_stock_basic_types_render_as_anki(col: Collection, kind: str, values: list[str]) -> None:
    agree(col, add_note(col, STOCK[kind], values, []))


# Bad templates: (front, the tag the message is about).
UNPARSABLE = [
    ("{{#Front}}", "{{#Front}}"),
    ("{{/Front}}", "{{/Front}}"),
    ("{{#Front}}{{/Back}}", "{{/Back}}"),
    ("{{^Front}}{{#Back}}{{/Front}}{{/Back}}", "{{/Front}}"),
    ("{{Front}}{{#Back}}x", "{{#Back}}"),
    ("{{Front}}{{#Back}}<!-- {{/Back}} -->", "{{#Back}}"),
    ("{{Front}}<!-- {{#Back}} -->{{/Back}}", "{{/Back}}"),
    ("{{ # Front }}{{ / Back }}", "{{ / Back }}"),
    ("\n{{=<% %>=}}<%Front%><%#Back%>", "<%#Back%>"),
]


@pytest.mark.parametrize(("front", "tag"), UNPARSABLE)
def test_a_template_anki_cannot_parse_is_an_error_with_anki_message(
    col: Collection, front: str, tag: str
) -> None:
    with pytest.raises(TemplateError) as raised:
        parse(front)
    assert raised.value.offset == front.index(tag)
    with pytest.raises(CardTypeError):
        add_note_type(col, f"bad {front}", ("Front", "Back"), [(front, "{{Back}}")])
    note = add_note(col, STOCK["basic"], ["f", "b"], [])
    question, _ = anki_with(note, 0, front, "{{Back}}")
    assert anki_error(question) == ("Front", raised.value.message)


def test_an_empty_replacement_is_an_error_where_anki_fails_every_card(col: Collection) -> None:
    """Anki saves a template with ``{{}}`` (an empty name is left for add-ons), then shows an
    error instead of every card; empty_replacement() says so where the template is written,
    and render() raises it, after any error before it, as Anki does."""
    front = "{{Front}} {{ }}"
    empty = empty_replacement(parse(front))
    assert empty is not None and empty.offset == front.index("{{ }}")
    with pytest.raises(TemplateError) as raised:
        render(front, "", {"Front": "f", "Back": "b"}, 0, cloze=False)
    assert (raised.value.offset, raised.value.message) == (empty.offset, empty.message)
    assert empty_replacement(parse("{{Front}} {{text:}}")) is None  # a filter's empty name
    add_note_type(col, "empty name", ("Front", "Back"), [(front, "{{Back}}")])
    note = add_note(col, "empty name", ["f", "b"], [])
    error = anki_error(anki(note.cards()[0])[0])
    assert error == ("Front", "Found '{{}}', but there is no field called ''")


@pytest.mark.parametrize(
    "front",
    ["{{Nope}}", "{{text:Nope}}", "{{a:b:Nope}}", "{{#Nope}}x{{/Nope}}", "{{^Nope}}{{/Nope}}",
     "{{Front}}{{c2}}", "{{A}}{{#B}}{{#Nope}}hidden{{/Nope}}{{/B}}"],
)  # fmt: skip
def test_a_field_the_note_lacks_is_an_error_with_anki_message(col: Collection, front: str) -> None:
    """Anki refuses to save such a template; rendered anyway, it fails with this message,
    even when the section that names the field is hidden."""
    note = add_note(col, "filters", ["a", "", "c"], [])
    with pytest.raises(TemplateError) as raised:
        render(front, "", dict(note.items()), 0, cloze=False)
    assert front[raised.value.offset :].startswith("{{")
    assert anki_error(anki_with(note, 0, front, "")[0]) == ("Front", raised.value.message)
    with pytest.raises(CardTypeError):
        add_note_type(col, f"unknown {front}", ("Front", "A", "B"), [(front, "{{Front}}")])


# Pieces of random templates, for the parser: delimiters whole and in part, names (Nope is no
# field), filters, comments, the legacy <% %> syntax.
TEMPLATE_PIECES = st.sampled_from(
    ["{{", "}}", "{", "}", "#", "^", "/", " ", "\n", "A", "B", "C", "Tags", "Nope", ":",
     "text:", "cloze:", "<!--", "-->", "x", "<%", "%>", "{{=<% %>=}}", "FrontSide", "{{A}}",
     "{{#A}}", "{{/A}}", "{{^B}}", "{{/B}}", "{{#C}}", "{{/C}}", "{{B}}", "{{text:C}}"]
)  # fmt: skip
TEMPLATE = st.lists(TEMPLATE_PIECES, max_size=16).map("".join)


@settings(max_examples=examples(500))
@given(front=TEMPLATE, back=TEMPLATE, values=st.lists(FIELD | RICH, min_size=3, max_size=3))
@example(front="{{{{=<% %>=}}{{}}", back="", values=["", "", ""])  # Anki's first error first
def test_any_template_parses_and_renders_as_anki(
    col: Collection, front: str, back: str, values: list[str]
) -> None:
    """A random template: Anki's error message if Anki cannot render it, else Anki's text;
    Anki adds its "blank front" message to a question without a filled field, which the
    caller of render() learns from card_ords()."""
    note = add_note(col, "filters", values, [])
    card = note.cards()[0]
    question, answer = anki_with(note, 0, front, back)
    error = anki_error(question)
    try:
        ours_question, _ = ours(col, card, {"qfmt": front, "afmt": "", "name": "Try"})
    except TemplateError as raised:
        assert error == ("Front", raised.message)
        return
    if not card_ords([front], dict(note.items()), cloze=False, fallback=False):
        # Anki says the front is blank, and renders no back at all
        assert "The front of this card is blank." in answer
        assert question == ours_question + answer
        return
    try:
        rendered = ours(col, card, {"qfmt": front, "afmt": back, "name": "Try"})
    except TemplateError as raised:
        assert error == ("Back", raised.message)
        return
    assert (question, answer) == rendered


def test_parse_reads_as_rslib_own_tests_say() -> None:
    """rslib template.rs's own parsing tests: nodes, filters in the order they apply,
    comments as text, whitespace, a stray '}}', the <% %> syntax."""
    assert parse("foo {{bar}} {{#baz}} quux {{/baz}}").nodes == (
        Text("foo ", 0),
        Replacement("bar", (), 4),
        Text(" ", 11),
        Section("baz", False, (Text(" quux ", 20),), 12),
    )
    assert parse("{{one:two:B}}").nodes == (Replacement("B", ("two", "one"), 0),)
    assert parse("{{ tag }}").nodes == (Replacement("tag", (), 0),)
    assert parse("text }} more").nodes == (Text("text }} more", 0),)
    assert parse("<!--{{#mis}}{{/matched}}-->").nodes == (Text("<!--{{#mis}}{{/matched}}-->", 0),)
    assert parse("{{^baz}}{{/baz}}").nodes == (Section("baz", True, (), 0),)
    alt = "\n{{=<% %>=}}\n<%Front%>\n<% #Back %>\n<%/Back%>"
    assert parse(alt).nodes == (
        Text("\n", 12),
        Replacement("Front", (), 13),
        Text("\n", 22),
        Section("Back", False, (Text("\n", 34),), 23),
    )
    for node in parse(alt).walk():
        assert alt[node.offset :].startswith("\n" if isinstance(node, Text) else "<%")


def test_field_references_are_the_fields_anki_requires(col: Collection) -> None:
    """Every name field_references gives must be a field of the note type for Anki to save
    it, and no other: not special fields, cloze sections, names in comments or '{{text:}}'."""
    front = (
        "{{Front}} {{#Extra}}{{text:Hint}}{{/Extra}} {{^Other}}x{{/Other}} {{#c3}}c{{/c3}} "
        "{{Deck}} {{Tags}} <!-- {{Ghost}} --> {{text:}} {{ Spaced }} {{#CardFlag}}{{/CardFlag}}"
    )
    back = "{{FrontSide}}<hr>{{type:Answer}}"
    names = []
    for text in (front, back):
        for name, offset in field_references(text):
            assert text[offset:].startswith("{{") and name in text[offset:].split("}}")[0]
            names.append(name)
    assert set(names) == {"Front", "Extra", "Hint", "Other", "Spaced", "Answer"}
    add_note_type(col, "all named", names, [(front, back)])
    for missing in names:
        others = [name for name in names if name != missing]
        with pytest.raises(CardTypeError, match=f"Field '\u2068{missing}\u2069' not found"):
            add_note_type(col, f"without {missing}", others, [(front, back)])
    assert {"Deck", "Tags", "CardFlag", "FrontSide"} <= SPECIAL_FIELDS


@pytest.mark.parametrize(
    "value",
    ["", " \t\n", "<br>", "<BR />", "<div></div>", "<div> <br> </div>\n", "&nbsp;", "\xa0",
     "\u3000", "<b></b>", "<p></p>", "<br><img src=x>", "0", "<div/><br/>"],
)  # fmt: skip
def test_a_field_is_empty_as_anki_judges_it(col: Collection, value: str) -> None:
    """The optional reverse card exists when its field is not empty."""
    note = add_note(col, STOCK["optional"], ["front", "back", value], [])
    made = {card.ord for card in note.cards()}
    assert (1 in made) is not field_is_empty(note.fields[2])


def test_anki_makes_card_0_when_no_card_qualifies(col: Collection) -> None:
    """A note no template makes a card for still gets card 0 (its question is Anki's "blank
    front" or "no cloze" message); fallback=False says there is none."""
    nothing = {"basic": ["", "back"], "reversed": ["", ""], "cloze": ["none", "{{c0::zero}}"]}
    for kind, values in nothing.items():
        note = add_note(col, STOCK[kind], values, [])
        note_type = note.note_type()
        qfmts = [t["qfmt"] for t in note_type["tmpls"]]
        cloze = kind == "cloze"
        assert [card.ord for card in note.cards()] == [0]
        assert card_ords(qfmts, dict(note.items()), cloze=cloze) == (0,)
        assert card_ords(qfmts, dict(note.items()), cloze=cloze, fallback=False) == ()
    note = add_note(col, STOCK["optional"], ["", "back", "yes"], [])
    assert [card.ord for card in note.cards()] == [1]  # no card 0 when another qualifies


def test_cloze_cards_come_from_every_field(col: Collection) -> None:
    """Anki counts deletions in any field, not only the one the template shows; numbers
    above 500 all make card 499 (Anki makes it once per number: cardpress says it once)."""
    note = add_note(col, STOCK["cloze"], ["plain", "{{c3::x}} {{c1::y}}"], [])
    qfmts = [note.note_type()["tmpls"][0]["qfmt"]]
    assert [c.ord for c in sorted(note.cards(), key=lambda c: c.ord)] == [0, 2]
    assert card_ords(qfmts, dict(note.items()), cloze=True) == (0, 2)
    note = add_note(col, STOCK["cloze"], ["{{c600::a}}{{c700::b}}{{c2::c}}", ""], [])
    made = sorted(card.ord for card in note.cards())
    assert made == [1, 499, 499]
    assert card_ords(qfmts, dict(note.items()), cloze=True) == (1, 499)


@pytest.mark.parametrize(
    "text",
    [
        "".join(f"{{{{c{i % 3 + 1}::" for i in range(12)) + "deep" + "}}" * 12,  # > 10 levels
        "{{c1::never closed {{c2::closed}}",
        "{{c65536::too big}} {{c3::fits}}",
        "{{c1,1,2::x}} {{c01::y}}",
        "\\({{c1::<b>x</b>}} + \\[{{c2::<i>y</i>::<b>h</b>}}\\]\\)",
        "{{c2::a::b::c}} {{c1::}} {{c1::a}}}} {{c1::a{{c2::b}}c::outer}}",
    ],
)
def test_odd_cloze_texts_make_and_render_as_anki(col: Collection, text: str) -> None:
    agree(col, add_note(col, STOCK["cloze"], [text, "{{c2::in extra}}"], []))


def test_text_decodes_the_entities_anki_knows_or_none(col: Collection) -> None:
    """Anki's entity decoder knows the HTML 4 names (Python's name2codepoint); one it does
    not know, &apos; included, or a bare '&' leaves every entity of the field as it is."""
    from html.entities import name2codepoint

    every = "".join(f"&{name};" for name in name2codepoint) + "&#x41;&#66;&#x1F600;"
    for value in (every, every + "&apos;", every + "& ", "&#X41;", "&#x;", "&#1114112;", "&;"):
        note = add_note(col, "filters", ["a", value, ""], [])
        agree(col, note)
        question, _ = ours(col, note.cards()[0], {"qfmt": "{{text:B}}", "afmt": "", "name": "T"})
        if value.startswith(every):
            assert ("&AElig;" in question) is (value != every)


# Anki's markup for {{hint:Field}}: a link that shows the hidden field (group 1).
HINT_LINK = re.compile(
    r'\n<a class=hint href="#"\n.*?</a>\n'
    r'<div id="hint\w+" class=hint style="display: none">(.*?)</div>\n',
    re.DOTALL,
)


def test_hint_prints_the_field_where_anki_has_a_link_to_click(col: Collection) -> None:
    add_note_type(col, "hint", ("A",), [("{{hint:A}}", "{{FrontSide}}")])
    for value in ("a <b>hint</b>", "\xa0"):  # Anki gives a blank hint as it is
        note = add_note(col, "hint", [value], [])
        card = note.cards()[0]
        question, answer = anki(card)
        assert ours(col, card) == (HINT_LINK.sub(r"\1", question),) * 2
        assert answer == question


def test_type_prints_nothing_to_type_in_and_the_answer_as_text(col: Collection) -> None:
    """Anki leaves [[type:…]] for its reviewer to make an input box of (question) and a
    comparison with what was typed (answer). On paper the question has nothing there and the
    answer the text to type: the field's (Anki's own strip_html), or the deletions'."""
    add_note_type(
        col,
        "type cloze",
        ("Text", "Back"),
        [(
            "{{cloze:Text}}[{{type:cloze:Text}}]{{type:nc:Back}}",
            "{{cloze:Text}}[{{type:cloze:Text}}]{{type:nc:Back}}{{type:Back}}",
        )],
        cloze=True,
    )  # fmt: skip
    notes = [
        (STOCK["typing"], ["Q", "<b>Paris</b> &amp; <i>Lyon</i> &lt;x&gt;"]),
        ("type cloze", ["{{c1::a<b>b</b>}} {{c2::c}} {{c1::a<b>b</b>}}", "B"]),
        ("type cloze", ["{{c1::a}} {{c1::b}}", "&nbsp;B"]),
    ]
    for note_type, values in notes:
        note = add_note(col, note_type, values, [])
        for card in note.cards():
            typed = col._backend.extract_cloze_for_typing(text=values[0], ordinal=card.ord + 1)
            to_type = {"Back": values[1], "nc:Back": values[1], "cloze:Text": typed}
            question, answer = anki(card)
            for name, text in to_type.items():
                plain = col._backend.strip_html(text=text, mode=StripHtmlRequest.Mode.NORMAL)
                question = question.replace(f"[[type:{name}]]", "")
                answer = answer.replace(f"[[type:{name}]]", html.escape(plain, quote=False))
            assert ours(col, card) == (question, answer)


def test_sound_and_tts_stay_for_the_caller_where_anki_makes_play_buttons(
    col: Collection,
) -> None:
    """Anki turns [sound:…] and {{tts …:Field}} into play tags after rendering; render()
    leaves that to the caller. Anki's own extraction of our output gives Anki's."""
    extract = col._backend.extract_av_tags
    note = add_note(
        col, STOCK["basic"], ["[sound:a.mp3] hi", "[sound:b.mp3] 漢字[sound:c.mp3]"], []
    )
    question, answer = ours(col, note.cards()[0])
    front = extract(text=question, question_side=True).text
    back = extract(text=answer.removeprefix(question), question_side=False).text
    assert "[sound:a.mp3]" in question
    assert (front, front + back) == anki(note.cards()[0])  # the answer's FrontSide: played
    add_note_type(col, "tts", ("A", "B"), [("{{tts en_US:A}}", "{{B}}")])
    note = add_note(col, "tts", ["say this", "b"], [])
    question, answer = ours(col, note.cards()[0])
    assert question == "[anki:tts lang=en_US]say this[/anki:tts]"
    assert (extract(text=question, question_side=True).text, answer) == anki(note.cards()[0])


def test_scripts_in_finds_what_would_run() -> None:
    template = (
        "{{Front}}\n<script>alert(1)</script>\n"
        '<div onclick="go()" class="onclick">{{Back}}</div>\n'
        '<a href=" JaVa\tScript:alert(1)">x</a><img src=x ONERROR=alert(1)>\n'
        '<svg><animate attributeName="href" to="javascript:alert(1)"/></svg>\n'
        '<meta http-equiv="refresh" content="0; url=javascript:alert(1)">\n'
        '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>\n'
        '<object data="DATA:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"></object>'
    )
    assert scripts_in(template) == [
        "<script> element at line 2",
        "onclick handler on <div> at line 3",
        "javascript: URL in href of <a> at line 4",
        "onerror handler on <img> at line 4",
        "javascript: URL in to of <animate> at line 5",
        "javascript: URL in content of <meta> at line 6",
        "script in the srcdoc of <iframe> at line 7",
        "data: document in data of <object> at line 8",
    ]
    harmless = (
        "<!-- <script>x</script> --><a href='https://example.org/javascript:'>javascript:</a>"
        '<div class="onclick" data-x="{{Front}}">on{{Back}}</div><style>p { color: red }</style>'
        '<img src="data:image/png;base64,AAAA"><iframe src="https://example.org/"></iframe>'
    )
    assert scripts_in(harmless) == []
