"""Domain errors that services raise; app.py maps each to a status code and a page.

A message is written in the viewer's language when the error is raised (services call
`_()` on theirs); the defaults below are translated then too, never at import."""

from hub.i18n import gettext as _


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        message = str(message)  # a lazy text is fixed in the language of the moment it is raised
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404

    def __init__(self, message: str = "") -> None:
        super().__init__(message or _("We could not find that page."))


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, message: str = "") -> None:
        super().__init__(message or _("You are not allowed to do that."))


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422


class NotSignedIn(DomainError):
    status_code = 401

    def __init__(self, message: str = "") -> None:
        super().__init__(message or _("Please sign in to continue."))


class InvalidForm(Invalid):
    """Several fields of one form are wrong; each message is shown beside its field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(_("Please correct the marked fields."))
        self.errors = errors


class FormCheck:
    """Collects field errors while a service validates a form, then raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, str(message))

    def done(self) -> None:
        if self.errors:
            raise InvalidForm(self.errors)
