"""Import: deck keys, topic keys and card ids made from Anki's names and notes: readable,
valid ids of the card format, unique within a deck, the same on every import."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardpress.format import ID, MAX_NAME_CHARS
from cardpress.importer.model import ImportedNote
from cardpress.importer.names import card_ids, deck_key, keys
from cardpress.loader import load
from tests.conftest import examples


def _note(field: str, guid: str = "", note_id: int = 0, line: int = 0) -> ImportedNote:
    return ImportedNote(
        id=note_id,
        guid=guid,
        note_type_id=1 if note_id else None,
        note_type_name="Basic",
        fields=(field, "back"),
        tags=(),
        mtime=0,
        cards=(),
        deck="Deck",
        line=line,
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Spanish::Verbs", "spanish-verbs"),
        ("Default", "default"),
        ("  Spaced   out  ", "spaced-out"),
        ("C++ & C#::Pointers", "c-c-pointers"),
        ("Français::Verbes irréguliers", "francais-verbes-irreguliers"),
        ("Straße", "strasse"),
        ("Испанский::Глаголы", "ispanskiy-glagoly"),
        ("Ελληνικά", "ellinika"),
        ("日本語", "ri-ben-yu"),
        ("中文::汉字", "zhong-wen-han-zi"),
        ("한국어", "han-gug-eo"),
        ("العربية", "l-rbyh"),
        ("עברית", "vryt"),
        # anyascii names emoji by their short names.
        ("😀", "grinning"),
        ("Deck 2::Part 10", "deck-2-part-10"),
    ],
)
def test_a_deck_key_from_its_name(name: str, key: str) -> None:
    assert deck_key(name) == key


@pytest.mark.parametrize("name", ["", "   ", "!!!", "…", "::", "\u200b", "—"])
def test_a_name_without_letters_gets_a_hash(name: str) -> None:
    key = deck_key(name)
    assert key.startswith("deck-") and len(key) == len("deck-") + 6
    assert ID.fullmatch(key)
    assert deck_key(name) == key  # the same name, the same key
    assert deck_key(name + "!") != key or name + "!" == name


def test_a_very_long_name_is_cut_between_words() -> None:
    name = " ".join(["word"] * 100)
    key = deck_key(name)
    assert key == "-".join(["word"] * 12)
    one_word = deck_key("x" * 1000)
    assert one_word == "x" * 60


def test_topic_keys_differ_where_names_differ_only_in_case_or_punctuation() -> None:
    names = ["Verbs", "verbs", "Verbs!", "VERBS", "…", "‽", "Nouns"]
    made = keys(names)
    assert list(made) != [] and set(made) == set(names)
    assert len(set(made.values())) == len(names)
    assert len({key.casefold() for key in made.values()}) == len(names)
    assert made["Nouns"] == "nouns"
    assert [made[n] for n in ("Verbs", "verbs", "Verbs!", "VERBS")].count("verbs") == 1
    assert made["…"].startswith("topic-")
    assert all(ID.fullmatch(key) for key in made.values())
    assert keys(list(reversed(names))) == made  # order does not matter


@pytest.mark.parametrize(
    ("field", "card_id"),
    [
        ("Paris", "paris"),
        ("<b>What</b> is the capital of <i>France</i>?", "what-is-the-capital-of-france"),
        ("{{c1::Paris::city}} is the capital of {{c2::France}}", "paris-is-the-capital-of-france"),
        ("Hund [sound:rec_dog_1.mp3]", "hund"),
        ("Tom &amp; Jerry&nbsp;show", "tom-jerry-show"),
        ("<div>first line</div><div>second line</div>", "first-line-second-line"),
        ("Как дела?", "kak-dela"),
        ("Καλημέρα κόσμε", "kalimera-kosme"),
        ("你好世界", "ni-hao-shi-jie"),
        ("مرحبا", "mrhb"),
        ("ser — to be (permanent)", "ser-to-be-permanent"),
        ("a " * 50, "a-a-a-a-a-a"),
        ("supercalifragilisticexpialidocious " * 3, "supercalifragilisticexpialidocious"),
    ],
)
def test_a_card_id_is_the_first_words_of_the_first_field(field: str, card_id: str) -> None:
    assert card_ids([_note(field, guid="g1", note_id=1)]) == (card_id,)


@pytest.mark.parametrize("field", ["", "<img src='x.png'>", "[sound:x.mp3]", "!!!", "…"])
def test_a_note_without_words_gets_a_hash_of_its_guid(field: str) -> None:
    (first,) = card_ids([_note(field, guid="Ab#x!1", note_id=1)])
    (second,) = card_ids([_note(field, guid="Zz9$q.2", note_id=1)])
    assert first.startswith("note-") and second.startswith("note-")
    assert first != second
    assert card_ids([_note(field, guid="Ab#x!1", note_id=1)]) == (first,)


def test_emoji_only_fields_get_their_names() -> None:
    assert card_ids([_note("😀🎉", guid="g", note_id=1)]) == ("grinning-tada",)


def test_colliding_ids_the_oldest_note_keeps_the_plain_one() -> None:
    notes = [
        _note("Paris", guid="newer", note_id=300),
        _note("paris", guid="oldest", note_id=100),
        _note("<b>Paris!</b>", guid="middle", note_id=200),
    ]
    ids = card_ids(notes)
    assert ids[1] == "paris"
    assert ids[0].startswith("paris-") and ids[2].startswith("paris-")
    assert len(set(ids)) == 3
    # Stable: the same notes in any order give each note the same id.
    again = card_ids(list(reversed(notes)))
    assert again == tuple(reversed(ids))
    # A newer note added later takes nothing from the notes that were there.
    more = card_ids([*notes, _note("Paris", guid="newest", note_id=400)])
    assert more[:3] == ids and more[3] not in ids


def test_ids_kept_from_an_earlier_import_stay() -> None:
    notes = [_note("Paris", guid="a", note_id=1), _note("Paris", guid="b", note_id=2)]
    first, second = card_ids(notes, kept={"b": "paris"})
    assert second == "paris" and first.startswith("paris-")
    assert card_ids(notes, kept={"b": "my-own-id"}) == ("paris", "my-own-id")


def test_text_rows_without_a_guid_are_told_apart() -> None:
    # A text file without a GUID column: the fields make the note's id stable; two rows alike
    # still get two ids.
    rows = [_note("Same", line=2), _note("Same", line=3), _note("Other", line=4)]
    rows[0] = dataclasses.replace(rows[0], fields=("Same", "one"))
    ids = card_ids(rows)
    assert len(set(ids)) == 3
    assert ids[0] == "same" and ids[2] == "other"
    twins = card_ids([_note("Twin", line=2), _note("Twin", line=3)])
    assert twins[0] == "twin" and twins[1].startswith("twin-") and twins[1] != twins[0]


def test_the_loader_takes_the_ids_and_keys(tmp_path: Path) -> None:
    names = ["Испанский::Глаголы", "日本語", "😀", "!!!"]
    notes = [
        _note(field, guid=f"g{i}", note_id=i + 1)
        for i, field in enumerate(["Paris", "paris", "Как дела?", "你好", "", "PARIS!"])
    ]
    ids = card_ids(notes)
    topics = keys(names)
    lines = [f"key: {deck_key(names[0])}", "name: Imported", "topics:"]
    lines += [f"  {key}: T{i}" for i, key in enumerate(topics.values())]
    lines.append("cards:")
    topic = next(iter(topics.values()))
    for card_id in ids:
        lines += [f"  - id: {card_id}", f"    topic: {topic}", "    front: q", "    back: a"]
    path = tmp_path / "deck.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    deck = load(path).decks[0]
    assert deck.key == "ispanskiy-glagoly"
    assert [card.id for card in deck.cards] == list(ids)
    assert {key for key, _ in deck.topics} == set(topics.values())


NAMES = st.text(
    alphabet=st.one_of(
        st.sampled_from("aA zZ09-_.:!?#…—"),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=60,
)


@settings(max_examples=examples(500), deadline=None)
@given(st.lists(st.tuples(NAMES, st.text(min_size=0, max_size=12)), max_size=30))
def test_every_id_is_valid_unique_and_stable(rows: list[tuple[str, str]]) -> None:
    notes = [_note(field, guid=guid, note_id=i + 1) for i, (field, guid) in enumerate(rows)]
    ids = card_ids(notes)
    assert all(ID.fullmatch(card_id) and len(card_id) <= MAX_NAME_CHARS for card_id in ids)
    assert len({card_id.casefold() for card_id in ids}) == len(ids)
    assert card_ids(notes) == ids


@settings(max_examples=examples(500), deadline=None)
@given(st.lists(NAMES, max_size=20))
def test_every_key_is_valid_unique_and_stable(names: list[str]) -> None:
    for name in names:
        key = deck_key(name)
        assert ID.fullmatch(key) and len(key) <= MAX_NAME_CHARS
        assert deck_key(name) == key
    made = keys(names)
    assert len({key.casefold() for key in made.values()}) == len(made) == len(set(names))
    assert all(ID.fullmatch(key) and len(key) <= MAX_NAME_CHARS for key in made.values())
