"""What a working group's coordinators do to its board: hide a report (its author is told
why), pin one to the top, and merge duplicates into one report."""

from collections.abc import Callable

from sqlmodel import Session, select

from hub import audit, i18n
from hub.errors import Conflict, FormCheck, NotFound
from hub.i18n import gettext as _
from hub.intel import search_index
from hub.intel.correlation import actor_of, can_see
from hub.intel.models import IntelReport
from hub.members.models import Person
from hub.notify.models import Notification
from hub.policy import Action, Actor, ensure, visible_intel


def _tell_author(session: Session, report: IntelReport, write: Callable[[], str]) -> None:
    """A line for the report's author, written in their language."""
    author = session.get(Person, report.author_id)
    with i18n.presenting(author.language if author else "", author.time_zone if author else ""):
        text = write()
    session.add(
        Notification(
            person_id=report.author_id,
            kind="intel.moderated",
            report_id=report.id,
            group_id=report.group_id,
            # A notification is one line (500 characters at most); the report holds the rest.
            text=text if len(text) <= 500 else text[:499] + "…",
        )
    )


def hide(session: Session, actor: Actor, report: IntelReport, reason: str) -> None:
    ensure(actor, Action.moderate_group, report.group_id)
    check = FormCheck()
    reason = reason.strip()
    if not reason:
        check.fail("reason", _("Say why the report is hidden: its author is told."))
    check.done()
    report.hidden_reason = reason[:1000]
    session.add(report)
    _tell_author(
        session,
        report,
        lambda: _(
            "A coordinator hid your report “%(title)s”: %(reason)s",
            title=report.title,
            reason=report.hidden_reason,
        ),
    )
    audit.record(
        session, actor.audit_id, actor.label, "intel.hidden", f"report:{report.id}", reason=reason
    )
    session.commit()


def unhide(session: Session, actor: Actor, report: IntelReport) -> None:
    ensure(actor, Action.moderate_group, report.group_id)
    if not report.is_hidden:
        return
    report.hidden_reason = ""
    session.add(report)
    _tell_author(
        session,
        report,
        lambda: _("Your report “%(title)s” is shown on the board again.", title=report.title),
    )
    audit.record(session, actor.audit_id, actor.label, "intel.unhidden", f"report:{report.id}")
    session.commit()


def set_pinned(session: Session, actor: Actor, report: IntelReport, pinned: bool) -> None:
    ensure(actor, Action.moderate_group, report.group_id)
    report.pinned = pinned
    session.add(report)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "intel.pinned" if pinned else "intel.unpinned",
        f"report:{report.id}",
    )
    session.commit()


def merge(session: Session, actor: Actor, duplicate: IntelReport, into_id: int) -> IntelReport:
    """Fold a duplicate into another report of the same group: it leaves the board and its
    page leads to the kept report; nothing of it is deleted."""
    ensure(actor, Action.moderate_group, duplicate.group_id)
    # Only into a report the coordinator may read: nobody learns of a report through a merge.
    target = session.exec(
        select(IntelReport).where(IntelReport.id == into_id, visible_intel(actor))
    ).first()
    if target is None or target.group_id != duplicate.group_id:
        raise NotFound(_("Merge into a report of the same working group: that one is not."))
    if target.id == duplicate.id or target.merged_into_id is not None:
        raise Conflict(_("A report cannot be merged into itself or into a merged report."))
    duplicate.merged_into_id = target.id
    session.add(duplicate)
    author = actor_of(session, duplicate.author_id)
    shown = author is not None and can_see(session, author, target)

    def write() -> str:
        if shown:
            return _(
                "Your report “%(title)s” was merged into “%(kept)s”.",
                title=duplicate.title,
                kept=target.title,
            )
        return _("Your report “%(title)s” was merged into another report.", title=duplicate.title)

    _tell_author(session, duplicate, write)
    search_index.reindex(session, duplicate.id or 0)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "intel.merged",
        f"report:{duplicate.id}",
        into=target.id,
    )
    session.commit()
    return target
