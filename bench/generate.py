"""Write synthetic card files (format 1) of any size for the benchmark.

The decks look like real ones: basic, reversed, cloze and type-in cards in roughly the mix people
write (50/20/20/10 %), 4 to 8 topics, tags, a little Markdown (emphasis, lists, line breaks), a
little allowed raw HTML and MathJax, and text in many scripts (accents, Cyrillic, Greek, CJK,
Hebrew and Arabic, emoji). Some cards have an ``extra`` note or a ``source``.

Every deck passes ``cardpress check --strict``: ids and questions are unique (each prompt carries
a word derived from the card's number), answers stay well under 300 characters, there are no
images, and every text fits on a printed card. The same size and seed always give the same bytes.

Example:
    python bench/generate.py 1000 10000 -o /tmp/decks     # /tmp/decks/bench-1000/bench-1000.yaml
    python bench/generate.py --edit /tmp/decks/bench-1000/bench-1000.yaml   # one card changes
"""

# ruff: noqa: RUF001
# (The text is deliberately multilingual: Cyrillic and Greek letters that look Latin are meant.)
from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SEED = 20240607


def _pairs(letters: str) -> list[str]:
    return [letters[i : i + 2] for i in range(0, len(letters), 2)]


# Sixteen two-letter syllables per script: a card number written in base 16 with them is a word
# that no other number gives (fixed-width syllables parse one way only).
_SYLLABLES = {
    "latin": _pairs("kalorémitusanévopizadöféguhàjobi"),
    "cyrillic": _pairs("калоремитусаневопизадофегухажоби"),
    "greek": _pairs("καλορεμιτυσανεβοπιζαδοφεγυχαιοβι"),
    "cjk": list("日月火水木金土山川田人口目耳手足"),
    "hebrew": list("אבגדהוזחטיכלמנסע"),
    "arabic": list("ابتثجحخدذرزسشصضط"),
}


@dataclass(frozen=True)
class Topic:
    """A topic of the synthetic deck and the script its words are written in."""

    key: str
    title: str
    script: str
    language: str


TOPICS = (
    Topic("vocab-fr", "Vocabulaire français", "latin", "French"),
    Topic("vocab-ru", "Русская лексика", "cyrillic", "Russian"),
    Topic("kanji", "漢字 (Kanji)", "cjk", "Japanese"),
    Topic("hebrew", "עברית", "hebrew", "Hebrew"),
    Topic("arabic", "العربية", "arabic", "Arabic"),
    Topic("greek", "Ελληνικά", "greek", "Greek"),
    Topic("history", "History & Dates", "latin", "Latin"),
    Topic("chemistry", "Chemistry", "latin", "Latin"),
    Topic("anatomy", "Anatomy", "latin", "Latin"),
    Topic("geography", "Géographie", "latin", "Latin"),
)

GLOSSES = (
    "apple 🍎", "house", "river", "to run", "bright", "winter ❄️", "to forget", "bread",
    "tired", "the moon 🌙", "to carry", "window", "soon", "friendship", "to shout", "salt",
    "narrow", "cheerful", "a key 🔑", "to borrow", "café", "naïve", "the station", "to swim",
    "heavy rain", "to whisper", "a fork", "yesterday", "the harbour ⚓", "to knit",
)  # fmt: skip
SEAS = ("Baltic Sea", "Black Sea", "Caspian Sea", "North Sea", "Adriatic", "Aegean", "Lake Baikal")
CITIES = ("Riga", "Kraków", "Zürich", "Москва", "Αθήνα", "東京", "תל אביב", "القاهرة", "São Paulo")
FEATURES = (
    "pointed arches", "ribbed vaults", "flying buttresses", "stained glass", "rose windows",
    "thick walls", "round arches", "tall spires", "onion domes", "mosaics",
)  # fmt: skip
FORMULAS = (
    "H<sub>2</sub>O", "CO<sub>2</sub>", "Fe<sub>2</sub>O<sub>3</sub>", "NaCl",
    "SO<sub>4</sub><sup>2−</sup>",
)  # fmt: skip
ORGANS = ("heart", "kidney", "inner ear", "liver", "knee joint", "brain stem")
TAG_POOL = ("core", "hard", "exam-2025", "verb", "noun", "irregular", "日本語", "русский", "revise")
SOURCES = (
    "Chapter {k}, p. {p}", "§{k}.{p}", "Lesson {k} — «{w}»", "Wikipedia (ru), {w}",
    "Anki forum #{p}",
)  # fmt: skip
MNEMONICS = (
    "*Mnemonic:* think of **{w}** as “{g}”.",
    "Often confused with *{w2}*.\nSay it aloud twice.",
    "Related:\n\n- {w2}\n- {g}\n- {w}",
    "See also **{w2}** — it’s the opposite.",
    "Usage: « {w} » is formal; use it in writing.",
)  # fmt: skip

# Letters first, then words, spaces and harmless punctuation (no ':', '#', quotes or brackets).
_PLAIN_SCALAR = re.compile(r"[^\W\d_][\w ,'().-]*[\w)]|\d+")
_YAML_WORDS = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}


def word(number: int, script: str) -> str:
    """The word of a card number in a script: unique per number (at least three syllables)."""
    syllables = _SYLLABLES[script]
    digits: list[str] = []
    while number or len(digits) < 3:
        number, digit = divmod(number, 16)
        digits.append(syllables[digit])
    return "".join(reversed(digits))


def _scalar(value: str, indent: int) -> str:
    """A YAML value as people write it: plain when safe, a literal block for several lines."""
    if "\n" in value:
        pad = " " * (indent + 2)
        return "|\n" + "\n".join(pad + line if line else "" for line in value.split("\n"))
    if _PLAIN_SCALAR.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


class _CardMaker:
    """Draws one card's fields from a seeded random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, items: Sequence[str]) -> str:
        return items[self.rng.randrange(len(items))]

    def card(self, number: int, topic: Topic) -> dict[str, str | list[str]]:
        rng = self.rng
        lat = word(number, "latin")
        own = word(number, topic.script)
        gloss = self.pick(GLOSSES)
        roll = rng.random()
        fields: dict[str, str | list[str]] = {"id": f"{topic.key}-{number:06d}", "topic": topic.key}
        if roll < 0.5:
            fields.update(self.basic(lat, own, gloss, topic))
        elif roll < 0.7:
            fields["kind"] = "reversed"
            # The front is the word itself; the back carries the Latin word, so both directions
            # are questions no other card asks.
            fields["front"] = own if topic.script != "latin" else lat.capitalize()
            fields["back"] = f"{gloss} ({lat})" if topic.script != "latin" else f"{gloss} — {lat}"
        elif roll < 0.9:
            fields["kind"] = "cloze"
            fields["text"] = self.cloze(lat, own, gloss, topic)
        else:
            fields["kind"] = "type"
            fields["front"] = f"Type the {topic.language} for “{gloss}” (entry {lat})"
            fields["back"] = own
        if rng.random() < 0.3:
            template = self.pick(MNEMONICS)
            other = word(rng.randrange(1 << 16), topic.script)
            fields["extra"] = template.format(w=own, w2=other, g=gloss)
        if rng.random() < 0.4:
            template = self.pick(SOURCES)
            fields["source"] = template.format(k=rng.randint(1, 30), p=rng.randint(1, 400), w=own)
        if rng.random() < 0.25:
            fields["tags"] = sorted(rng.sample(TAG_POOL, rng.randint(1, 2)))
        return fields

    def basic(self, lat: str, own: str, gloss: str, topic: Topic) -> dict[str, str | list[str]]:
        rng = self.rng
        form = rng.randrange(8)
        if form == 0:
            # The answer carries the Latin word, like a reversed card's back: the gloss alone
            # is asked by other cards ("how do you say …?"), and would be given away there.
            return {"front": f"What does *{own}* mean in {topic.language}?",
                    "back": f"{gloss} ({lat})"}  # fmt: skip
        if form == 1:
            return {"front": f"In which year was the {lat.capitalize()} treaty signed?",
                    "back": str(rng.randint(1200, 2020))}  # fmt: skip
        if form == 2:
            a, b = rng.sample(FEATURES, 2)
            return {"front": f"Name **two** features of the {lat} style", "back": f"- {a}\n- {b}"}
        if form == 3:
            return {"front": f"Formula of the compound in sample {lat}",
                    "back": self.pick(FORMULAS)}  # fmt: skip
        if form == 4:
            k = rng.randint(2, 40)
            return {"front": f"Solve \\(x^2 = {k * k}\\) for \\(x > 0\\) (exercise {lat})",
                    "back": f"\\(x = {k}\\)"}  # fmt: skip
        if form == 5:
            return {"front": f"Complete the saying ({own}):\n*slow and steady…*",
                    "back": "wins the race 🐢"}  # fmt: skip
        if form == 6:
            return {"front": f"Where is the {lat} nucleus of the {self.pick(ORGANS)}?",
                    "back": "Near the midline,\nbehind the main artery"}  # fmt: skip
        return {"front": f"{topic.language}: how do you say “{gloss}”? ({lat})", "back": own}

    def cloze(self, lat: str, own: str, gloss: str, topic: Topic) -> str:
        rng = self.rng
        form = rng.randrange(4)
        if form == 0:
            return f"The {lat.capitalize()} river flows into the {{{{c1::{self.pick(SEAS)}}}}}."
        if form == 1:
            return f"{{{{c1::{own}}}}} means “{gloss}” in {topic.language}."
        if form == 2:
            year = rng.randint(1500, 1999)
            city = self.pick(CITIES)
            return f"In {{{{c1::{year}::year}}}} the {lat} council met in {{{{c2::{city}}}}}."
        # The Latin word goes with the gloss, as on a basic card's answer (see basic()).
        return f"*{own}*:\n{{{{c1::{gloss} ({lat})}}}} — {{{{c2::{self.pick(FEATURES)}}}}}"


def deck_text(cards: int, seed: int = DEFAULT_SEED) -> str:
    """The text of a card file with ``cards`` cards (deterministic for a size and seed)."""
    rng = random.Random(f"{seed}:{cards}")
    topics = rng.sample(TOPICS, rng.randint(4, 8))
    maker = _CardMaker(rng)
    out = [
        "# Synthetic benchmark deck written by bench/generate.py; do not edit.",
        "format: 1",
        f"key: bench-{cards}",
        f"name: Benchmark {cards} cards",
        "description: |",
        "  A *synthetic* deck for measuring cardpress:",
        "  every kind of card, several scripts — ÀÉÎ, кириллица, 漢字, עברית, العربية 🎴.",
        "tags: [bench, synthetic]",
        'source: "Generated, seed ' + str(seed) + '"',
        "topics:",
        *(f"  {t.key}: {_scalar(t.title, 2)}" for t in topics),
        "cards:",
    ]
    for number in range(cards):
        fields = maker.card(number, topics[rng.randrange(len(topics))])
        first = True
        for key, value in fields.items():
            lead = "  - " if first else "    "
            first = False
            if isinstance(value, list):
                out.append(f"{lead}{key}: [{', '.join(value)}]")
            else:
                out.append(f"{lead}{key}: {_scalar(value, 4)}")
    return "\n".join(out) + "\n"


def write_deck(cards: int, folder: Path, seed: int = DEFAULT_SEED) -> Path:
    """Write ``folder/bench-N.yaml`` (creating the folder) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{cards}.yaml"
    path.write_text(deck_text(cards, seed), encoding="utf-8")
    return path


def edit_one_card(path: Path) -> str:
    """Edit one card of a deck written by :func:`write_deck`, as a user would between builds:
    the middle card moves to the next topic (its subdeck, tags and fields' topic change).
    Returns the card's id. Edited again, it moves on, so every edit changes the card."""
    lines = path.read_text(encoding="utf-8").split("\n")
    start = lines.index("topics:") + 1
    end = lines.index("cards:")
    topics = [line.strip().split(":")[0] for line in lines[start:end]]
    items = [i for i in range(end, len(lines)) if lines[i].startswith("  - id: ")]
    item = items[len(items) // 2]
    topic_line = item + 1  # the generator writes the topic right after the id
    topic = lines[topic_line].removeprefix("    topic: ")
    if topic not in topics:
        raise ValueError(f"{path}:{topic_line + 1}: not a deck written by generate.py")
    lines[topic_line] = "    topic: " + topics[(topics.index(topic) + 1) % len(topics)]
    path.write_text("\n".join(lines), encoding="utf-8")
    return lines[item].removeprefix("  - id: ")


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: sizes, output folder, seed; or --edit FILE."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("sizes", nargs="*", type=int, help="number of cards per deck")
    parser.add_argument("-o", "--out", type=Path, default=Path("bench/decks"), help="folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--edit", type=Path, help="edit one card of this generated deck")
    args = parser.parse_args(argv)
    if args.edit:
        print(f"{args.edit}: card {edit_one_card(args.edit)} moved to another topic")
    for size in args.sizes:
        path = write_deck(size, args.out / f"bench-{size}", args.seed)
        print(f"{path}: {size} cards, {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
