"""Queueing e-mail: the one way a feature sends mail. A queued mail is a row in the
caller's transaction, so it goes out exactly when the change that caused it is saved;
hub.notify.mail delivers it later.
"""

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from hub.notify.models import OutboxMail


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    data: bytes


def queue_mail(
    session: Session,
    to: str,
    subject: str,
    text: str,
    attachments: Sequence[Attachment] = (),
    dedupe_key: str | None = None,
) -> bool:
    """Add a mail to the outbox in the caller's transaction (the caller commits).

    Returns False, adding nothing, when a mail with `dedupe_key` was already queued.
    """
    if not to.strip():
        raise ValueError("a mail needs an address to go to")
    _refuse_header_injection(to, subject, *(a.filename for a in attachments))
    mail = OutboxMail(
        to_address=to.strip(),
        subject=subject,
        body=text,
        attachments=[
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "data": base64.b64encode(attachment.data).decode("ascii"),
            }
            for attachment in attachments
        ],
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        session.add(mail)
        return True
    if _already_queued(session, dedupe_key):
        return False
    # Another transaction may queue the same key between the check and our insert: the
    # unique index refuses the second, and the savepoint keeps the caller's work intact.
    # The caller's own pending changes are flushed first, so their errors stay theirs.
    session.flush()
    try:
        with session.begin_nested():
            session.add(mail)
    except IntegrityError:
        return False
    return True


def _already_queued(session: Session, dedupe_key: str) -> bool:
    found = session.exec(select(OutboxMail.id).where(OutboxMail.dedupe_key == dedupe_key))
    return found.first() is not None


def _refuse_header_injection(*values: str) -> None:
    # These end up in mail headers; a line break there would let text forge headers.
    for value in values:
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in a mail header value: {value!r}")
