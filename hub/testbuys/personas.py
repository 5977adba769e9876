"""Buyer personas: the identities and drop addresses test purchases are ordered under,
kept per working group by its coordinators, with who used which and which are burned."""

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from hub import audit
from hub.clock import utcnow
from hub.errors import Conflict, FormCheck, NotFound
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import number
from hub.members.models import Brand, Person
from hub.policy import Action, Actor, can, ensure, runs_any_campaigns
from hub.testbuys.models import Campaign, Persona, Purchase


@dataclass
class PersonaForm:
    group: str = ""
    name: str = ""
    drop_address: str = ""
    contact: str = ""
    accounts: str = ""


def _runs(actor: Actor) -> list[int] | None:
    """The groups whose personas the actor keeps; None means every group."""
    return None if actor.is_alliance_admin else sorted(actor.coordinated_group_ids)


def register(session: Session, actor: Actor) -> list[tuple[Persona, WorkingGroup, int]]:
    """Every persona the actor keeps, with its group and how often it was used."""
    ensure_any(actor)
    used = (
        select(func.count())
        .select_from(Purchase)
        .where(Purchase.persona_id == Persona.id)
        .scalar_subquery()
    )
    query = (
        select(Persona, WorkingGroup, used)
        .join(WorkingGroup, col(WorkingGroup.id) == Persona.group_id)
        .order_by(col(Persona.burned_at).is_not(None), col(WorkingGroup.name), col(Persona.name))
    )
    groups = _runs(actor)
    if groups is not None:
        query = query.where(col(Persona.group_id).in_(groups))
    return [(p, g, int(n)) for p, g, n in session.exec(query).all()]


def ensure_any(actor: Actor) -> None:
    """Only people who run campaigns keep personas; to others the register does not exist."""
    if not runs_any_campaigns(actor):
        raise NotFound()


def for_group(session: Session, group_id: int) -> list[Persona]:
    return list(
        session.exec(
            select(Persona).where(Persona.group_id == group_id).order_by(col(Persona.name))
        )
    )


def create(session: Session, actor: Actor, form: PersonaForm) -> Persona:
    ensure_any(actor)
    check = FormCheck()
    group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == form.group)).first()
    if group is None:
        check.fail("group", _("Choose a working group whose campaigns you run."))
    else:
        ensure(actor, Action.run_campaigns, group.id)
    name = form.name.strip()
    if not name:
        check.fail("name", _("Give the persona a name."))
    elif len(name) > 120:
        check.fail("name", _("Keep the name under 120 characters."))
    if len(form.contact) > 200:
        check.fail("contact", _("Keep the contact under 200 characters."))
    for field in ("drop_address", "accounts"):
        if len(getattr(form, field)) > 2000:
            check.fail(field, _("Keep this under %(limit)s characters.", limit=number(2000)))
    check.done()
    assert group is not None
    persona = Persona(
        group_id=group.id or 0,
        name=name,
        drop_address=form.drop_address.strip(),
        contact=form.contact.strip(),
        accounts=form.accounts.strip(),
        created_by_id=actor.person_id,
    )
    session.add(persona)
    session.flush()
    audit.record(
        session, actor.audit_id, actor.label, "testbuy.persona_added", f"persona:{persona.id}"
    )
    session.commit()
    return persona


def get(session: Session, actor: Actor, persona_id: int) -> Persona:
    persona = session.get(Persona, persona_id)
    if persona is None or not can(actor, Action.run_campaigns, persona.group_id):
        raise NotFound(_("There is no such persona."))
    return persona


def burn(session: Session, actor: Actor, persona: Persona, reason: str) -> Persona:
    """Mark a persona as known to the sellers: it is offered for no new purchase."""
    ensure(actor, Action.run_campaigns, persona.group_id)
    if persona.burned_at is not None:
        raise Conflict(_("This persona is already marked as burned."))
    check = FormCheck()
    reason = reason.strip()
    if not reason:
        check.fail("reason", _("Say how the persona was burned (e.g. the seller blocked it)."))
    elif len(reason) > 500:
        check.fail("reason", _("Keep the reason under 500 characters."))
    check.done()
    persona.burned_at = utcnow()
    persona.burned_reason = reason
    session.add(persona)
    audit.record(
        session, actor.audit_id, actor.label, "testbuy.persona_burned", f"persona:{persona.id}"
    )
    session.commit()
    return persona


@dataclass(frozen=True)
class Use:
    purchase: Purchase
    campaign: Campaign
    brand: Brand
    planner: Person


def uses(session: Session, persona: Persona) -> list[Use]:
    """Every purchase ordered under the persona: which campaign, for whom, planned by whom."""
    rows = session.exec(
        select(Purchase, Campaign, Brand, Person)
        .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
        .join(Brand, col(Brand.id) == Purchase.brand_id)
        .join(Person, col(Person.id) == Purchase.created_by_id)
        .where(Purchase.persona_id == persona.id)
        .order_by(col(Purchase.id).desc())
    ).all()
    return [Use(*row) for row in rows]
