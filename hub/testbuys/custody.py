"""The chain of custody of a bought item: an append-only log, each entry sealed with the
SHA-256 of its content and of the entry before, so a changed or removed row shows."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, func, select

from hub import audit
from hub.errors import FormCheck
from hub.i18n import gettext as _
from hub.i18n import number
from hub.members.models import Person
from hub.policy import Action, Actor, ensure
from hub.testbuys.campaigns import parse_datetime
from hub.testbuys.models import Campaign, CustodyEntry, CustodyKind, Purchase
from hub.testbuys.purchases import view_of
from hub.testbuys.signups import lock_campaign

GENESIS = "0" * 64


def _moment(value: datetime) -> str:
    """One spelling of a moment whatever the database gives back (SQLite drops the zone)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seal(entry: CustodyEntry) -> str:
    """The hash of an entry's content, chained to the entry before it."""
    content = {
        "purchase_id": entry.purchase_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "occurred_at": _moment(entry.occurred_at),
        "from_party": entry.from_party,
        "to_party": entry.to_party,
        "place": entry.place,
        "purpose": entry.purpose,
        "seal_number": entry.seal_number,
        "seal_intact": entry.seal_intact,
        "findings": entry.findings,
        "recorded_by_id": entry.recorded_by_id,
        "recorded_at": _moment(entry.recorded_at),
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class CustodyForm:
    kind: str = CustodyKind.handover
    occurred_at: str = ""
    from_party: str = ""
    to_party: str = ""
    place: str = ""
    purpose: str = ""
    seal_number: str = ""
    seal_intact: str = ""  # "yes", "no", or "" when there is no seal
    findings: str = ""


def append(
    session: Session, actor: Actor, purchase: Purchase, campaign: Campaign, form: CustodyForm
) -> CustodyEntry:
    """Add the next link. The campaign's lock keeps two entries from taking one place."""
    ensure(actor, Action.examine_purchase, view_of(purchase, campaign))
    check = FormCheck()
    if form.kind not in {k.value for k in CustodyKind}:
        check.fail("kind", _("Choose a handover or an examination."))
    occurred_at = parse_datetime(form.occurred_at)
    if occurred_at is None:
        check.fail("occurred_at", _("Give the date and time (UTC) it happened."))
    texts = {
        "from_party": 200,
        "to_party": 200,
        "place": 200,
        "purpose": 300,
        "seal_number": 80,
        "findings": 5000,
    }
    for name, limit in texts.items():
        if len(getattr(form, name)) > limit:
            check.fail(name, _("Keep this under %(limit)s characters.", limit=number(limit)))
    if form.kind == CustodyKind.handover and not (
        form.from_party.strip() and form.to_party.strip()
    ):
        check.fail("to_party", _("A handover needs who gave the item and who received it."))
    if form.kind == CustodyKind.examination and not form.findings.strip():
        check.fail("findings", _("Say what the examination found."))
    if form.seal_intact not in ("", "yes", "no"):
        check.fail("seal_intact", _("Say whether the seal was intact."))
    check.done()
    assert occurred_at is not None
    lock_campaign(session, campaign.id or 0)
    last = session.exec(
        select(CustodyEntry)
        .where(CustodyEntry.purchase_id == purchase.id)
        .order_by(col(CustodyEntry.seq).desc())
        .limit(1)
    ).first()
    entry = CustodyEntry(
        purchase_id=purchase.id or 0,
        seq=(last.seq + 1) if last else 1,
        kind=form.kind,
        occurred_at=occurred_at,
        from_party=form.from_party.strip(),
        to_party=form.to_party.strip(),
        place=form.place.strip(),
        purpose=form.purpose.strip(),
        seal_number=form.seal_number.strip(),
        seal_intact={"yes": True, "no": False}.get(form.seal_intact),
        findings=form.findings.strip(),
        recorded_by_id=actor.person_id,
        prev_hash=last.entry_hash if last else GENESIS,
        entry_hash="",
    )
    # Sealed as it will read back: microseconds survive both databases, the zone does not.
    entry.recorded_at = entry.recorded_at.replace(tzinfo=UTC)
    entry.entry_hash = seal(entry)
    session.add(entry)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "testbuy.custody",
        f"purchase:{purchase.id}",
        seq=entry.seq,
        hash=entry.entry_hash,
    )
    session.commit()
    return entry


@dataclass(frozen=True)
class CheckedLink:
    entry: CustodyEntry
    recorder: Person | None
    intact: bool  # its content matches its hash, and it points at the entry before
    problem: str


@dataclass(frozen=True)
class Chain:
    links: list[CheckedLink]

    @property
    def verifies(self) -> bool:
        return all(link.intact for link in self.links)

    @property
    def first_break(self) -> CheckedLink | None:
        return next((link for link in self.links if not link.intact), None)


def verify(session: Session, purchase: Purchase) -> Chain:
    """Recompute every link: a changed field, a removed or reordered entry breaks it."""
    rows = session.exec(
        select(CustodyEntry, Person)
        .outerjoin(Person, col(Person.id) == CustodyEntry.recorded_by_id)
        .where(CustodyEntry.purchase_id == purchase.id)
        .order_by(col(CustodyEntry.seq))
    ).all()
    links: list[CheckedLink] = []
    previous = GENESIS
    for place, (entry, person) in enumerate(rows, start=1):
        problem = ""
        if entry.seq != place:
            problem = _("entry %(seq)s is missing or out of place", seq=place)
        elif entry.prev_hash != previous:
            problem = _("it does not follow the entry before it")
        elif seal(entry) != entry.entry_hash:
            problem = _("its content was changed after it was recorded")
        links.append(CheckedLink(entry, person, not problem, problem))
        previous = entry.entry_hash
    return Chain(links)


def count(session: Session, purchase: Purchase) -> int:
    return session.exec(
        select(func.count())
        .select_from(CustodyEntry)
        .where(CustodyEntry.purchase_id == purchase.id)
    ).one()
