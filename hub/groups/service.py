"""Business rules for working groups: listing, joining, coordinators."""

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from hub import audit
from hub.clock import utcnow
from hub.errors import Conflict, FormCheck, NotFound
from hub.groups.models import Coordinator, GroupMembership, JoinRequest, RequestStatus, WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext, number
from hub.members.models import Brand, Person
from hub.members.service import check_slug
from hub.policy import Action, Actor, ensure

# Why a join request cannot be decided again, by the status it already has.
ALREADY_DECIDED = {
    RequestStatus.approved: lazy_gettext("This request was already approved."),
    RequestStatus.refused: lazy_gettext("This request was already refused."),
    RequestStatus.withdrawn: lazy_gettext("This request was already withdrawn."),
    "other": lazy_gettext("This request was already decided."),
}


@dataclass(frozen=True)
class GroupCard:
    group: WorkingGroup
    brand_count: int


@dataclass(frozen=True)
class PendingRequest:
    request: JoinRequest
    brand: Brand
    group: WorkingGroup
    requested_by: Person


def get_group(session: Session, slug: str) -> WorkingGroup:
    group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == slug)).first()
    if group is None:
        raise NotFound(_("There is no working group at this address."))
    return group


def all_groups(session: Session) -> list[GroupCard]:
    """Every working group with the number of its brands, in one statement."""
    brands = (
        select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.group_id == WorkingGroup.id)
        .scalar_subquery()
    )
    rows = session.exec(select(WorkingGroup, brands).order_by(WorkingGroup.name)).all()
    return [GroupCard(group, count) for group, count in rows]


def brands_in(session: Session, group: WorkingGroup) -> list[Brand]:
    return list(
        session.exec(
            select(Brand)
            .join(GroupMembership, col(GroupMembership.brand_id) == Brand.id)
            .where(GroupMembership.group_id == group.id)
            .order_by(Brand.name)
        )
    )


def fellow_brands(session: Session, actor: Actor) -> list[Brand]:
    """Other brands sharing at least one working group with the actor's brand."""
    if not actor.group_ids:
        return []
    shares = select(GroupMembership.brand_id).where(
        col(GroupMembership.group_id).in_(actor.group_ids)
    )
    return list(
        session.exec(
            select(Brand)
            .where(col(Brand.id).in_(shares), Brand.id != actor.brand_id)
            .order_by(Brand.name)
        )
    )


def coordinators_of(session: Session, group: WorkingGroup) -> list[tuple[Person, Brand]]:
    rows = session.exec(
        select(Person, Brand)
        .join(Coordinator, col(Coordinator.person_id) == Person.id)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .where(Coordinator.group_id == group.id)
        .order_by(Person.name)
    ).all()
    return [(person, brand) for person, brand in rows]


def groups_open_to(session: Session, brand: Brand) -> list[WorkingGroup]:
    """Groups the brand is not in and has no pending request for."""
    member_of = select(GroupMembership.group_id).where(GroupMembership.brand_id == brand.id)
    pending = select(JoinRequest.group_id).where(
        JoinRequest.brand_id == brand.id, JoinRequest.status == RequestStatus.pending
    )
    return list(
        session.exec(
            select(WorkingGroup)
            .where(col(WorkingGroup.id).not_in(member_of), col(WorkingGroup.id).not_in(pending))
            .order_by(WorkingGroup.name)
        )
    )


def _pending(session: Session, where: list[object]) -> list[PendingRequest]:
    rows = session.exec(
        select(JoinRequest, Brand, WorkingGroup, Person)
        .join(Brand, col(Brand.id) == JoinRequest.brand_id)
        .join(WorkingGroup, col(WorkingGroup.id) == JoinRequest.group_id)
        .join(Person, col(Person.id) == JoinRequest.requested_by_id)
        .where(JoinRequest.status == RequestStatus.pending, *where)  # type: ignore[arg-type]
        .order_by(col(JoinRequest.created_at))
    ).all()
    return [PendingRequest(*row) for row in rows]


def pending_for_coordinator(session: Session, actor: Actor) -> list[PendingRequest]:
    if not actor.coordinated_group_ids:
        return []
    return _pending(session, [col(JoinRequest.group_id).in_(actor.coordinated_group_ids)])


def pending_of_brand(session: Session, brand_id: int) -> list[PendingRequest]:
    return _pending(session, [JoinRequest.brand_id == brand_id])


def pending_for_group(session: Session, group: WorkingGroup) -> list[PendingRequest]:
    return _pending(session, [JoinRequest.group_id == group.id])


def request_join(
    session: Session, actor: Actor, brand: Brand, group_id: int, message: str
) -> JoinRequest:
    ensure(actor, Action.request_group_join, brand.id)
    check = FormCheck()
    group = session.get(WorkingGroup, group_id)
    if group is None:
        check.fail("group_id", _("Choose a working group."))
    if len(message) > 1000:
        check.fail("message", _("Keep the message under %(limit)s characters.", limit=number(1000)))
    check.done()
    assert group is not None
    if session.get(GroupMembership, (group.id, brand.id)) is not None:
        raise Conflict(_("%(brand)s is already in %(group)s.", brand=brand.name, group=group.name))
    already = session.exec(
        select(JoinRequest).where(
            JoinRequest.brand_id == brand.id,
            JoinRequest.group_id == group.id,
            JoinRequest.status == RequestStatus.pending,
        )
    ).first()
    if already is not None:
        raise Conflict(
            _(
                "%(brand)s has already asked to join %(group)s.",
                brand=brand.name,
                group=group.name,
            )
        )
    join_request = JoinRequest(
        group_id=group.id or 0,
        brand_id=brand.id or 0,
        requested_by_id=actor.person_id,
        message=message.strip(),
    )
    session.add(join_request)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "group.join_requested",
        f"group:{group.slug}",
        brand=brand.slug,
    )
    session.commit()
    return join_request


def decide_join(
    session: Session, actor: Actor, request_id: int, approve: bool, note: str = ""
) -> PendingRequest:
    join_request = session.get(JoinRequest, request_id)
    # Someone who cannot decide it is told it does not exist, not that it is forbidden.
    if join_request is None or join_request.group_id not in actor.coordinated_group_ids:
        raise NotFound(_("That request to join does not exist."))
    ensure(actor, Action.decide_group_join, join_request.group_id)
    brand = session.get(Brand, join_request.brand_id)
    group = session.get(WorkingGroup, join_request.group_id)
    requested_by = session.get(Person, join_request.requested_by_id)
    assert brand is not None and group is not None and requested_by is not None
    if join_request.status != RequestStatus.pending:
        raise Conflict(str(ALREADY_DECIDED.get(join_request.status, ALREADY_DECIDED["other"])))
    join_request.status = RequestStatus.approved if approve else RequestStatus.refused
    join_request.decided_by_id = actor.audit_id
    join_request.decided_at = utcnow()
    join_request.decision_note = note.strip()[:1000]
    session.add(join_request)
    if approve and session.get(GroupMembership, (group.id, brand.id)) is None:
        session.add(GroupMembership(group_id=group.id or 0, brand_id=brand.id or 0))
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "group.join_approved" if approve else "group.join_refused",
        f"group:{group.slug}",
        brand=brand.slug,
        note=join_request.decision_note,
    )
    session.commit()
    return PendingRequest(join_request, brand, group, requested_by)


def create_group(
    session: Session, actor: Actor, *, name: str, slug: str, description: str
) -> WorkingGroup:
    ensure(actor, Action.create_group)
    check = FormCheck()
    name, slug = name.strip(), slug.strip().lower()
    if not name:
        check.fail("name", _("Enter the working group's name."))
    elif len(name) > 120:
        check.fail("name", _("Keep the name under 120 characters."))
    elif session.exec(select(WorkingGroup).where(WorkingGroup.name == name)).first():
        check.fail("name", _("There is already a working group called %(name)s.", name=name))
    check_slug(check, slug)
    if (
        "slug" not in check.errors
        and session.exec(select(WorkingGroup).where(WorkingGroup.slug == slug)).first()
    ):
        check.fail("slug", _("The address /groups/%(slug)s is taken. Choose another.", slug=slug))
    check.done()
    group = WorkingGroup(name=name, slug=slug, description=description.strip()[:2000])
    session.add(group)
    audit.record(session, actor.audit_id, actor.label, "group.created", f"group:{slug}")
    session.commit()
    return group


def appoint_coordinator(session: Session, actor: Actor, group: WorkingGroup, email: str) -> Person:
    ensure(actor, Action.appoint_coordinator)
    email = email.strip().lower()
    person = session.exec(select(Person).where(Person.email == email)).first()
    check = FormCheck()
    if person is None:
        if email:
            check.fail(
                "email", _("Nobody in the hub has the e-mail address %(email)s.", email=email)
            )
        else:
            check.fail("email", _("Enter the e-mail address of the person to appoint."))
    elif not person.is_active:
        check.fail("email", _("%(name)s is deactivated.", name=person.name))
    check.done()
    assert person is not None
    if session.get(Coordinator, (group.id, person.id)) is not None:
        raise Conflict(
            _("%(name)s already coordinates %(group)s.", name=person.name, group=group.name)
        )
    session.add(
        Coordinator(
            group_id=group.id or 0, person_id=person.id or 0, appointed_by_id=actor.audit_id
        )
    )
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "coordinator.appointed",
        f"group:{group.slug}",
        person=person.email,
    )
    session.commit()
    return person


def remove_coordinator(
    session: Session, actor: Actor, group: WorkingGroup, person_id: int
) -> Person:
    ensure(actor, Action.appoint_coordinator)
    appointment = session.get(Coordinator, (group.id, person_id))
    person = session.get(Person, person_id)
    if appointment is None or person is None:
        raise NotFound(_("That person does not coordinate this group."))
    session.delete(appointment)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "coordinator.removed",
        f"group:{group.slug}",
        person=person.email,
    )
    session.commit()
    return person


def of_actor(session: Session, actor: Actor) -> list[WorkingGroup]:
    """The groups of the actor's brand and those they coordinate (every group for alliance
    admins): what their calendar can be filtered by."""
    query = select(WorkingGroup).order_by(col(WorkingGroup.name))
    if not actor.is_alliance_admin:
        ids = actor.group_ids | actor.coordinated_group_ids
        query = query.where(col(WorkingGroup.id).in_(sorted(ids)))
    return list(session.exec(query))


def run_by(session: Session, actor: Actor) -> list[WorkingGroup]:
    """The groups whose campaigns and events the actor runs: those they coordinate, or
    every group for alliance admins."""
    query = select(WorkingGroup).order_by(col(WorkingGroup.name))
    if not actor.is_alliance_admin:
        query = query.where(col(WorkingGroup.id).in_(sorted(actor.coordinated_group_ids)))
    return list(session.exec(query))
