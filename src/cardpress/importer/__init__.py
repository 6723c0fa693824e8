"""Reading Anki's exports (packages and text) into a typed model, for ``cardpress import``."""

from cardpress.importer.errors import ImportFileError
from cardpress.importer.model import (
    ImportedCard,
    ImportedCollection,
    ImportedDeck,
    ImportedField,
    ImportedNote,
    ImportedNoteType,
    ImportedTemplate,
    NoteTypeKind,
    SourceFormat,
)
from cardpress.importer.read import read_file, read_package, read_text

__all__ = [
    "ImportFileError",
    "ImportedCard",
    "ImportedCollection",
    "ImportedDeck",
    "ImportedField",
    "ImportedNote",
    "ImportedNoteType",
    "ImportedTemplate",
    "NoteTypeKind",
    "SourceFormat",
    "read_file",
    "read_package",
    "read_text",
]
