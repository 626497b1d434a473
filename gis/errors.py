"""Domain errors. Data functions raise these; ``api/errors.py`` maps each to one HTTP status."""

from __future__ import annotations


class GridgovError(Exception):
    """Base of the errors a user can fix; ``detail`` says how."""

    title = "Request cannot be processed"

    def __init__(
        self,
        detail: str,
        *,
        parameter: str | None = None,
        key: str | None = None,
        values: dict[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter
        # A message key and its values, so a page can say the same in the user's language
        # (the page's catalogue, web/i18n.py, has a template for each key it knows).
        self.key = key
        self.values = values or {}


class NotFound(GridgovError):
    title = "Not found"


class InvalidInput(GridgovError):
    title = "Invalid input"


class Conflict(GridgovError):
    title = "Conflict"


class Forbidden(GridgovError):
    title = "Forbidden"


class TooLarge(GridgovError):
    title = "Too large"


class UnsupportedType(GridgovError):
    title = "Unsupported media type"
