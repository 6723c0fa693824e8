"""Push into a running Anki through the AnkiConnect add-on (127.0.0.1:8765 by default).

AnkiConnect shows no GUIDs, so push finds our notes by their ``Card ID`` field: only notes of
note types version 2 have one (``note_type_version: 2``). For those, the plan is the same as
for a closed collection (``push.make_plan``). It is carried out through AnkiConnect's actions:

* ``importPackage`` for new and updated notes, note types, decks and media: the only way in
  that keeps our GUIDs. It imports with "merge note types" on, which converts a note whose
  GUID exists under another note type, and which fails the whole import where that is a
  cloze type against a regular one; so the package push imports there leaves out the notes
  whose note type changed, and lists them as waiting;
* ``addTags`` to give back the tags an import replaced, and to tag removed notes
  (``deleteNotes`` with ``--prune``); ``changeDeck`` to move cards.

What AnkiConnect cannot do is listed with the way out (push into the closed collection):
changing a note's type, and deleting the empty cards of a note (Tools > Empty Cards does).
A deck of note types version 1, or with note types of its own, only gets its package imported:
its notes cannot be found.
AnkiConnect shows no note's modification time either, so a note edited in Anki is listed as
"update", and the import keeps Anki's text where it is newer.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cardpress.changes import changed_schemas, escape_search
from cardpress.export import BuildOptions
from cardpress.loader import LoadResult
from cardpress.lock import delivered, published_tags
from cardpress.model import Deck
from cardpress.notes import CARD_ID, Notes, make_notes
from cardpress.push import (
    REMOVED_TAG,
    DeckPlan,
    InAnki,
    as_built,
    guid_of,
    make_plan,
    merged_tags,
)
from cardpress.push.collection import CollectionError, Pushed, package_of, write_lock

DEFAULT_URL = "http://127.0.0.1:8765"
_VERSION = 6  # of AnkiConnect's API


class AnkiConnect:
    """A client of the AnkiConnect add-on."""

    def __init__(self, url: str = DEFAULT_URL, key: str | None = None, timeout: float = 60):
        self.url = url
        self.key = key
        self.timeout = timeout

    def __call__(self, action: str, **params: Any) -> Any:
        body: dict[str, Any] = {"action": action, "version": _VERSION, "params": params}
        if self.key:
            body["key"] = self.key
        request = urllib.request.Request(
            self.url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CollectionError(
                f"{self.url}: error: AnkiConnect does not answer ({reason}): start Anki with "
                "the AnkiConnect add-on, or close Anki and push with --profile or --collection"
            ) from None
        if not isinstance(answer, dict) or set(answer) != {"result", "error"}:
            raise CollectionError(f"{self.url}: error: this is not AnkiConnect answering")
        if answer["error"] is not None:
            raise CollectionError(f"{self.url}: error: AnkiConnect: {action}: {answer['error']}")
        return answer["result"]

    def answers(self) -> bool:
        """Whether AnkiConnect answers here (a quick look, for ``--to auto``)."""
        quick = AnkiConnect(self.url, self.key, timeout=2)
        try:
            return isinstance(quick("version"), int)
        except CollectionError:
            return False


def in_anki(client: AnkiConnect, deck: Deck, guid_of: Callable[[str], str]) -> dict[str, InAnki]:
    """What the running Anki holds of the deck's notes of note types version 2 (found by
    their Card ID), by GUID (``guid_of`` a card id: AnkiConnect does not tell a note's)."""
    key = deck.key
    found = client("findNotes", query=f'"{CARD_ID}:{escape_search(key)}/*"')
    if not found:
        return {}
    infos = client("notesInfo", notes=found)
    type_ids = client("modelNamesAndIds")
    card_ids = [card_id for info in infos for card_id in info.get("cards", [])]
    cards: dict[int, list[tuple[int, int, str]]] = {}
    for card in client("cardsInfo", cards=card_ids):
        if card:
            cards.setdefault(card["note"], []).append(
                (card["cardId"], card["ord"], card["deckName"])
            )
    have: dict[str, InAnki] = {}
    for info in infos:
        if not info:
            continue
        fields = sorted(info["fields"].items(), key=lambda item: item[1]["order"])
        value = info["fields"].get(CARD_ID, {}).get("value", "")
        prefix, _, card_id = value.partition("/")
        if prefix != key or not card_id:
            continue  # another deck's key that the search's wildcard let through
        have[guid_of(card_id)] = InAnki(
            info["noteId"],
            type_ids.get(info["modelName"], 0),
            tuple(field["value"] for _, field in fields),
            tuple(info["tags"]),
            -1,  # AnkiConnect does not tell: every difference is an update
            tuple(sorted(cards.get(info["noteId"], []), key=lambda card: card[1])),
        )
    return have


_CLOSED = "close Anki and push with --profile or --collection"


def _plan(notes: Notes, lock: Any, have: Mapping[str, InAnki], prune: bool) -> DeckPlan:
    """The plan as AnkiConnect can carry it out: what it cannot do waits, with the way out
    (a deck of note types version 1 is only imported: its notes cannot be found)."""
    deck = notes.deck
    unfound = findable(deck)
    if unfound:
        plan = DeckPlan(deck, notes, lock, reshaped=changed_schemas(deck, lock))
        plan.waiting[deck.location.path] = (
            f"only the package is imported: {unfound} have no Card ID, so moved cards, note "
            f"type changes and removed cards wait; {_CLOSED}"
        )
        return plan
    plan = make_plan(notes, lock, have, prune=prune)
    for card_id, _, _ in plan.converted:
        plan.waiting[card_id] = f"AnkiConnect cannot change a note's type; {_CLOSED}"
    for card_id, ords in plan.emptied:
        cards = ", ".join(str(o + 1) for o in ords)
        plan.waiting[card_id] = (
            f"its empty card{'s' if len(ords) > 1 else ''} {cards}: in Anki, Tools > Empty "
            f"Cards; or {_CLOSED}"
        )
    return plan


def findable(deck: Deck) -> str:
    """Why AnkiConnect cannot find the notes of ``deck`` ("" where it can): it finds a note by
    its Card ID field, which only cardpress's note types version 2 have."""
    if deck.note_type_version < 2:
        return "notes of note types version 1"
    if deck.note_types:
        return "notes of the deck's own note types"
    return ""


def push(
    loaded: LoadResult,
    client: AnkiConnect,
    out_dir: Path,
    *,
    dry_run: bool = False,
    prune: bool = False,
    options: BuildOptions | None = None,
    workers: int = 1,
) -> Pushed:
    """Build ``loaded`` into ``out_dir`` and bring the running Anki in step with it, as far
    as AnkiConnect can (the rest waits: ``DeckPlan.waiting``); with ``dry_run`` only say
    what."""
    from cardpress.builder import Changes, stage, write

    changes = Changes(pushing=True)
    client("version")
    staged = [(deck, *stage(deck, out_dir, changes)) for deck in loaded.decks]
    written = {deck.key: published_tags(package_of(out_dir, deck)) for deck in loaded.decks}
    haves = [in_anki(client, deck, guid_of(notes, lock)) for deck, notes, lock in staged]
    plans = [
        _plan(notes, lock, have, prune)
        for (_, notes, lock), have in zip(staged, haves, strict=True)
    ]
    reshaped = [(plan.deck, own) for plan in plans for own in plan.reshaped]
    if reshaped:  # its import would fork the note type: nothing is done
        raise CollectionError(
            "\n".join(
                f"{deck.location.path}:{own.line}:5: error: note type {own.name!r} changed its "
                "fields or templates since Anki got it, and AnkiConnect cannot change them: "
                "make the same change in Anki (Tools > Manage Note Types), then build with "
                f"--acknowledge; or {_CLOSED}, which makes it for you"
                for deck, own in reshaped
            )
            + f"\n{client.url}: nothing was pushed"
        )
    if dry_run:
        return Pushed(client.url, plans)
    result = write(loaded, out_dir, changes=changes, options=options, workers=workers)
    done: list[DeckPlan] = []
    for deck, have in zip(loaded.decks, haves, strict=True):
        lock_file, lock, notes = as_built(deck)
        plan = _plan(notes, lock, have, prune)
        _carry_out(client, plan, have, written[deck.key], out_dir, prune=prune)
        if not findable(deck):
            of = guid_of(notes, lock)
            kept = [] if prune else [i for i in lock.removed if of(i) in have]
            write_lock(delivered(lock, notes, kept, plan.waiting), lock_file)
        done.append(plan)
    return Pushed(client.url, done, None, result)


def _carry_out(
    client: AnkiConnect,
    plan: DeckPlan,
    have: Mapping[str, InAnki],
    written_tags: Mapping[str, Sequence[str]],
    out_dir: Path,
    *,
    prune: bool,
) -> None:
    # A note whose type changed must not reach the import (see the module's doc).
    skip = {card_id for card_id, _, _ in plan.converted}
    deck = plan.deck
    with tempfile.TemporaryDirectory(prefix="cardpress-push-") as scratch:
        package = Path(scratch) / package_of(out_dir, deck).name
        _write_package(plan.notes, skip, package)
        client("importPackage", path=str(package.resolve()))
    notes = {note.card.id: note for note in plan.notes}
    # The import wrote our tags over the note's: give back those we did not write.
    for card_id in plan.updated:
        note = notes[card_id]
        had = have[note.guid]
        mine = merged_tags(had.tags, note.tags, written_tags.get(note.guid, note.tags))
        extra = [tag for tag in mine if tag not in note.tags]
        if extra:
            client("addTags", notes=[had.note_id], tags=" ".join(extra))
    by_deck: dict[str, list[int]] = {}
    for card_id, _, new in plan.moved:
        had = have[notes[card_id].guid]
        by_deck.setdefault(new, []).extend(c for c, _, name in had.cards if name != new)
    for name, card_ids in by_deck.items():
        client("changeDeck", cards=card_ids, deck=name)
    of = guid_of(plan.notes, plan.lock)
    removed = [have[of(card_id)].note_id for card_id in plan.removed]
    if removed and prune:
        client("deleteNotes", notes=removed)
    elif removed:
        client("addTags", notes=removed, tags=REMOVED_TAG)


def _write_package(notes: Notes, skip: set[str], path: Path) -> None:
    """The deck's package without the notes of ``skip`` (their note type changed: an import
    through AnkiConnect would merge note types), stamped as ``notes``."""
    from cardpress.export.apkg import write_apkg

    if not skip:
        write_apkg(notes, path)
        return
    keep = [i for i, card in enumerate(notes.deck.cards) if card.id not in skip]
    deck = dataclasses.replace(notes.deck, cards=tuple(notes.deck.cards[i] for i in keep))
    write_apkg(make_notes(deck).stamped((notes.mtimes[i] for i in keep), notes.type_mtimes), path)
