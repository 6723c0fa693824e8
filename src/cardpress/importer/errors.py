"""The one error the reader raises: a file that cannot be read as an export of Anki's."""

from __future__ import annotations

from cardpress.errors import CardpressError


class ImportFileError(CardpressError):
    """A file given to import is no Anki export, or a broken one: ``path[:line]: error: ...``."""

    def __init__(self, path: object, message: str, line: int = 0) -> None:
        self.path = str(path)
        self.message = message
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: error: {message}")

    def __reduce__(self) -> tuple[type[ImportFileError], tuple[str, str, int]]:
        return (type(self), (self.path, self.message, self.line))
