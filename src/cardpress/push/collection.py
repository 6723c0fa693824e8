"""Push into a closed collection with the ``anki`` library (``pip install 'cardpress[anki]'``).

Anki desktop keeps its collection open, and locked, while a profile is loaded: the library
then cannot open it, and push says so. Otherwise push backs the collection up (as Anki does,
into the ``backups`` folder beside it), imports the package the build wrote (new notes, note
types, decks and media; updated notes), then does what an import cannot: converts notes
whose note type changed (Anki's Change Note Type, which keeps the review history), writes
their fields, moves cards to their decks, deletes the cards that became empty, and tags or
deletes the notes of removed cards. Only notes of ours are touched.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardpress import commit
from cardpress.builder import BuildResult
from cardpress.errors import CardpressError
from cardpress.export import BuildOptions
from cardpress.loader import LoadResult
from cardpress.lock import Lock, delivered, published_tags
from cardpress.model import Deck, OwnNoteType
from cardpress.notes import Note
from cardpress.push import (
    REMOVED_TAG,
    DeckPlan,
    InAnki,
    as_built,
    guid_of,
    guids_of,
    make_plan,
    merged_tags,
)

_CHUNK = 500  # ids per SQL statement (SQLite's limit on variables is far above)


class CollectionError(CardpressError):
    """The collection cannot be opened, or written."""


def profile_collection(profile: str, base: Path | None = None) -> Path:
    """The collection of an Anki profile: ``collection.anki2`` in the profile's folder, in
    Anki's base folder (``ANKI_BASE`` where set, else Anki's default for the system)."""
    return (base or anki_base()) / profile / "collection.anki2"


def anki_base() -> Path:
    """Anki's base folder, where it keeps its profiles: as Anki desktop finds it."""
    if os.environ.get("ANKI_BASE"):
        return Path(os.environ["ANKI_BASE"])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Anki2"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Anki2"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "Anki2"


def last_profile(base: Path | None = None) -> str | None:
    """The profile Anki desktop opened last (in its ``prefs21.db``), or the only profile
    there is; None where neither is known. Anki keeps its settings pickled: they are read
    with an unpickler that makes nothing but plain values (Qt objects become None)."""
    import io
    import pickle
    import sqlite3

    class _Plain(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return lambda *args: None  # never a class: no code of the file's choosing runs

    prefs = (base or anki_base()) / "prefs21.db"
    try:
        db = sqlite3.connect(f"{prefs.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT name, CAST(data AS BLOB) FROM profiles").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    names = [name for name, _ in rows if name != "_global"]
    for name, data in rows:
        if name == "_global":
            try:
                meta = _Plain(io.BytesIO(data), errors="ignore").load()
            except Exception:  # a damaged pickle: as if unknown
                meta = None
            last = meta.get("last_loaded_profile_name") if isinstance(meta, dict) else None
            if isinstance(last, str) and last in names:
                return last
    return names[0] if len(names) == 1 else None


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Any]:
    """The collection at ``path``, open; refused while Anki (or another program) has it."""
    try:
        from anki.collection import Collection
        from anki.errors import DBError
    except ImportError:
        raise CollectionError(
            "push into a collection needs the anki package: pip install 'cardpress[anki]'"
        ) from None
    if not path.is_file():
        raise CollectionError(f"{path}: error: no Anki collection there")
    try:
        col = Collection(str(path))
    except DBError:
        raise CollectionError(
            f"{path}: error: the collection is open in Anki (or another program): close Anki "
            "(or switch to another profile) and push again"
        ) from None
    try:
        yield col
    finally:
        col.close()


def backup(col: Any, path: Path) -> Path:
    """Back the collection up into the ``backups`` folder beside it, as Anki does; returns
    the folder."""
    folder = path.parent / "backups"
    folder.mkdir(exist_ok=True)
    col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
    return folder


def in_anki(col: Any, guids: Iterable[str]) -> dict[str, InAnki]:
    """What the collection holds of the notes with these GUIDs."""
    notes: dict[int, tuple[str, int, int, str, str]] = {}
    for chunk in _chunks(list(guids)):
        marks = ",".join("?" * len(chunk))
        rows = col.db.all(
            f"SELECT id, guid, mid, mod, flds, tags FROM notes WHERE guid IN ({marks})", *chunk
        )
        for note_id, note_guid, mid, mod, flds, tags in rows:
            notes[note_id] = (note_guid, mid, mod, flds, tags)
    cards: dict[int, list[tuple[int, int, str]]] = {note_id: [] for note_id in notes}
    deck_names: dict[int, str] = {}
    for chunk in _chunks(list(notes)):
        marks = ",".join("?" * len(chunk))
        rows = col.db.all(f"SELECT id, nid, ord, did FROM cards WHERE nid IN ({marks})", *chunk)
        for card_id, note_id, ord_, deck_id in rows:
            name = deck_names.get(deck_id)
            if name is None:
                name = deck_names[deck_id] = col.decks.name(deck_id)
            cards[note_id].append((card_id, ord_, name))
    return {
        note_guid: InAnki(
            note_id,
            mid,
            tuple(flds.split("\x1f")),
            tuple(col.tags.split(tags)),
            mod,
            tuple(sorted(cards[note_id], key=lambda card: card[1])),
        )
        for note_id, (note_guid, mid, mod, flds, tags) in notes.items()
    }


def carry_out(
    col: Any,
    plan: DeckPlan,
    package: Path,
    have: Mapping[str, InAnki],
    written_tags: Mapping[str, Sequence[str]],
    *,
    prune: bool,
) -> None:
    """Carry out ``plan``: ``have`` is what the collection held of the deck's notes before,
    ``written_tags`` the tags the last package gave each note (by GUID)."""
    from anki.collection import ImportAnkiPackageRequest

    notes = {note.card.id: note for note in plan.notes}
    for own in plan.reshaped:  # first: the package's note type then matches Anki's
        reshape(col, own)
    options = col._backend.get_import_anki_package_presets()
    col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=options))

    # The import wrote our tags over the note's: give back those we did not write. Notes of
    # a reshaped note type were stamped by the reshape, after the package: the import left
    # their fields as they were, so they are written here.
    reshaped = {own.id for own in plan.reshaped}
    for card_id in plan.updated:
        note = notes[card_id]
        fields = note.note_type.id in reshaped
        _write(col, have[note.guid], note, written_tags, fields=fields)

    # Change Note Type (the import skipped these notes), then their fields and tags.
    by_types: dict[tuple[int, int], list[int]] = {}
    for card_id, old, new in plan.converted:
        by_types.setdefault((old, new), []).append(have[notes[card_id].guid].note_id)
    for (old, new), note_ids in by_types.items():
        info = col.models.change_notetype_info(old_notetype_id=old, new_notetype_id=new)
        request = info.input
        request.note_ids.extend(note_ids)
        col.models.change_notetype_of_notes(request)
    for card_id, _, _ in plan.converted:
        note = notes[card_id]
        _write(col, have[note.guid], note, written_tags, fields=True)

    _move(col, plan, have)
    _delete_empty_cards(col, {have[n.guid].note_id for n in plan.notes if n.guid in have})

    of = guid_of(plan.notes, plan.lock)
    removed = [have[of(card_id)].note_id for card_id in plan.removed]
    if removed and prune:
        col.remove_notes(removed)
    elif removed:
        col.tags.bulk_add(removed, REMOVED_TAG)


def _check_reshapes(col: Any, path: Path, plans: Sequence[DeckPlan]) -> None:
    """Refuse, before anything changes, a reshape Anki cannot make: a note type turned from
    standard to cloze or back under its id (Anki never changes a note type's kind)."""
    from anki.models import NotetypeId

    problems = []
    for plan in plans:
        for own in plan.reshaped:
            have = col.models.get(NotetypeId(own.id))
            if have is not None and bool(have["type"]) != own.cloze:
                problems.append(
                    f"{plan.deck.location.path}:{own.line}:5: error: note type {own.name!r} "
                    f"is {'a cloze' if have['type'] else 'a standard'} note type in Anki, "
                    "which cannot change its kind: put 'cloze' back, or give the note type "
                    "a new id (a note type Anki adds beside the old one)"
                )
    if problems:
        raise CollectionError("\n".join([*problems, f"{path}: nothing was pushed"]))


def reshape(col: Any, own: OwnNoteType) -> None:
    """Give the collection's note type ``own.id`` the fields and templates of ``own``, as
    Tools > Manage Note Types does: a field or template is the one of the same Anki id, else
    of the same name (renamed under its id, it keeps its content; one of ours that Anki
    lacks is added, one Anki has that ours lacks is removed, with its content, or its cards
    and their history). Notes keep their ids and the rest of their history. A package that
    brings the note type afterwards matches it and updates its notes in place (DESIGN §2)."""
    from anki.models import NotetypeId

    models = col.models
    have = models.get(NotetypeId(own.id))
    if have is None:
        return  # not in this collection: the package adds it as it is

    def matching(items: list[dict[str, Any]], name: str, id_: int | None) -> dict[str, Any] | None:
        if id_ is not None:
            for item in items:
                if item.get("id") == id_:
                    return item
        return next((item for item in items if item["name"] == name), None)

    fields = []
    for name, id_ in zip(own.fields, own.field_ids, strict=True):
        found = matching(have["flds"], name, id_)
        field = dict(found) if found is not None else models.new_field(name)
        field["name"] = name
        if id_ is not None:
            field["id"] = id_
        fields.append(field)
    templates = []
    for template in own.templates:
        found = matching(have["tmpls"], template.name, template.id)
        made = dict(found) if found is not None else models.new_template(template.name)
        made.update(name=template.name, qfmt=template.front, afmt=template.back,
                    bqfmt=template.browser_front, bafmt=template.browser_back)  # fmt: skip
        if template.id is not None:
            made["id"] = template.id
        templates.append(made)
    have.update(flds=fields, tmpls=templates, css=own.css, sortf=own.sort_field, name=own.name)
    models.update_dict(have)


def _write(
    col: Any, had: InAnki, note: Note, written_tags: Mapping[str, Sequence[str]], *, fields: bool
) -> None:
    """Write our tags on a note (and with ``fields``, our fields), keeping the tags that push
    did not write; a note left as it is keeps its modification time."""
    anki_note = col.get_note(had.note_id)
    tags = merged_tags(had.tags, note.tags, written_tags.get(note.guid, note.tags))
    new_fields = list(note.fields) if fields else list(anki_note.fields)
    same_tags = {t.casefold() for t in anki_note.tags} == {t.casefold() for t in tags}
    if same_tags and list(anki_note.fields) == new_fields:
        return  # Anki keeps tags in its own order: only a real change stamps the note
    anki_note.tags = tags
    anki_note.fields = new_fields
    col.update_note(anki_note)


def _move(col: Any, plan: DeckPlan, have: Mapping[str, InAnki]) -> None:
    """Every card of the deck's notes that the collection held into its deck (the new notes
    came in with the package, in theirs)."""
    deck_of = {have[note.guid].note_id: note.deck for note in plan.notes if note.guid in have}
    deck_ids: dict[str, int] = {}
    moves: dict[int, list[int]] = {}
    for chunk in _chunks(list(deck_of)):
        marks = ",".join("?" * len(chunk))
        for card_id, note_id, did in col.db.all(
            f"SELECT id, nid, did FROM cards WHERE nid IN ({marks})", *chunk
        ):
            name = deck_of[note_id]
            deck_id = deck_ids.get(name)
            if deck_id is None:
                deck_id = deck_ids[name] = col.decks.id(name)
            if did != deck_id:
                moves.setdefault(deck_id, []).append(card_id)
    for deck_id, card_ids in moves.items():
        col.set_deck(card_ids, deck_id)


def _delete_empty_cards(col: Any, note_ids: set[int]) -> None:
    """Delete the empty cards of these notes (never a note's last card)."""
    report = col.get_empty_cards()
    doomed = [
        card_id
        for note in report.notes
        if note.note_id in note_ids and not note.will_delete_note
        for card_id in note.card_ids
    ]
    if doomed:
        col.remove_cards_and_orphaned_notes(doomed)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


@dataclass
class Pushed:
    """What a push into a collection did (or, with ``dry_run``, would do)."""

    collection: Path | str  # the collection's file, or AnkiConnect's address
    plans: list[DeckPlan]
    backups: Path | None = None  # where the collection was backed up first
    build: BuildResult | None = None


def push(
    loaded: LoadResult,
    path: Path,
    out_dir: Path,
    *,
    dry_run: bool = False,
    prune: bool = False,
    options: BuildOptions | None = None,
    workers: int = 1,
    back_up: bool = True,
) -> Pushed:
    """Build ``loaded`` into ``out_dir`` and bring the collection at ``path`` in step with
    it; with ``dry_run`` only say what that would do. A failure before the collection is
    touched changes nothing; one after says what was done, and where the backup is (made
    first unless not ``back_up``: ``--watch`` backs up on its first push only)."""
    from cardpress.builder import Changes, stage, write

    changes = Changes(pushing=True)
    with opened(path) as col:
        staged = [(deck, *stage(deck, out_dir, changes)) for deck in loaded.decks]
        written = {deck.key: published_tags(package_of(out_dir, deck)) for deck in loaded.decks}
        haves = [in_anki(col, guids_of(notes, lock)) for _, notes, lock in staged]
        plans = [
            make_plan(notes, lock, have, prune=prune)
            for (_, notes, lock), have in zip(staged, haves, strict=True)
        ]
        _check_reshapes(col, path, plans)
        if dry_run:
            return Pushed(path, plans)
        folder = backup(col, path) if back_up else None
        result = write(loaded, out_dir, changes=changes, options=options, workers=workers)
        done: list[DeckPlan] = []
        for deck, have in zip(loaded.decks, haves, strict=True):
            lock_file, lock, notes = as_built(deck)
            plan = make_plan(notes, lock, have, prune=prune)
            try:
                carry_out(
                    col, plan, package_of(out_dir, deck), have, written[deck.key], prune=prune
                )
            except Exception as exc:  # the anki library's own errors, whatever they are
                did = f"; decks pushed before it: {len(done)}" if done else ""
                raise CollectionError(
                    f"{path}: error: push of {deck.location.path} stopped: {exc}{did}. "
                    + (f"The collection was backed up in {folder} first; " if folder else "")
                    + "the lock was not changed"
                ) from exc
            # The notes of removed cards still in Anki (tagged) stay in the lock, reported.
            of = guid_of(notes, lock)
            kept = [] if prune else [i for i in {*lock.removed} if of(i) in have]
            write_lock(delivered(lock, notes, kept), lock_file)
            done.append(plan)
        return Pushed(path, done, folder, result)


def package_of(out_dir: Path, deck: Deck) -> Path:
    """Where a build into ``out_dir`` writes the package of ``deck``."""
    return Path(out_dir) / f"{deck.file_stem}.apkg"


def write_lock(lock: Lock, target: Path) -> None:
    """Put ``lock`` in place of the lock file, whole or not at all."""
    temp = commit.temp_name(target)
    try:
        commit.create(temp, target)
        with temp.open("w", encoding="utf-8", newline="\n") as out:
            lock.write(out)
        commit.commit([(temp, target)])
    finally:
        commit.remove(temp)
