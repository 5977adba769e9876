"""While the database cannot be reached: which errors mean that, and what people are told.

A restarted or unreachable PostgreSQL, a pool with no free connection, or a SQLite file
another writer holds too long is not a bug in a page: the page answers 503 with a
Retry-After, the same message everywhere, and the hub carries on by itself once the
database answers again (the pool drops dead connections; pre-ping tests each one it lends).
"""

import logging

from sqlalchemy import exc

from hub.i18n import SOURCE_LANGUAGE, presenting
from hub.i18n import gettext as _

log = logging.getLogger("hub")

ERRORS = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
RETRY_AFTER_S = 30


def title() -> str:
    """The heading of the outage page, in the reader's language."""
    return _("The hub is briefly unavailable")


def message() -> str:
    """What the outage page and the API's 503 say, in the reader's language."""
    return _(
        "The hub cannot reach its database at the moment, so what you just sent may not have "
        "been saved. Please check and try again in a minute."
    )


# The English originals: what a client that asks for no language is told.
with presenting(SOURCE_LANGUAGE):
    TITLE, MESSAGE = title(), message()


def note(error: Exception, method: str, path: str) -> None:
    # One line, no traceback and no SQL: the statement's parameters are hidden by the
    # engine (hide_parameters), and the outage is not a bug to debug page by page. The
    # path is quoted (%r), so a line break in an address cannot forge a log line.
    reason = (str(getattr(error, "orig", None) or error).splitlines() or [""])[0][:200]
    log.warning("database unavailable on %s %r: %s", method, path, reason)
