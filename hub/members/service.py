"""Business rules for brands and their people: directory, profiles, roles, deactivation."""

import re
from dataclasses import dataclass

from babel.lists import format_list
from sqlmodel import Session, col, func, select

from hub import audit, i18n
from hub.auth import sessions
from hub.errors import Conflict, FormCheck, NotFound
from hub.groups.models import GroupMembership, WorkingGroup
from hub.i18n import gettext as _
from hub.members.countries import COUNTRIES
from hub.members.models import Brand, BrandDomain, OrgKind, Person, Role
from hub.policy import Action, Actor, BrandView, assignable_roles, can, ensure

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
DOMAIN_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class BrandCard:
    brand: Brand
    groups: list[WorkingGroup]


def get_brand(session: Session, slug: str) -> Brand:
    brand = session.exec(select(Brand).where(Brand.slug == slug)).first()
    if brand is None:
        raise NotFound(_("There is no member organisation at this address."))
    return brand


def groups_by_brand(session: Session, brand_ids: list[int]) -> dict[int, list[WorkingGroup]]:
    rows = session.exec(
        select(GroupMembership.brand_id, WorkingGroup)
        .join(WorkingGroup, col(WorkingGroup.id) == GroupMembership.group_id)
        .where(col(GroupMembership.brand_id).in_(brand_ids))
        .order_by(WorkingGroup.name)
    ).all()
    result: dict[int, list[WorkingGroup]] = {brand_id: [] for brand_id in brand_ids}
    for brand_id, group in rows:
        result[brand_id].append(group)
    return result


def directory(session: Session, query: str = "", group_slug: str = "") -> list[BrandCard]:
    """Member brands (not the secretariat), by name, optionally filtered."""
    statement = select(Brand).where(Brand.kind == OrgKind.brand).order_by(Brand.name)
    if query.strip():
        statement = statement.where(col(Brand.name).ilike(f"%{query.strip()}%"))
    if group_slug:
        statement = (
            statement.join(GroupMembership, col(GroupMembership.brand_id) == Brand.id)
            .join(WorkingGroup, col(WorkingGroup.id) == GroupMembership.group_id)
            .where(WorkingGroup.slug == group_slug)
        )
    brands = list(session.exec(statement))
    groups = groups_by_brand(session, [b.id for b in brands if b.id is not None])
    return [BrandCard(brand, groups[brand.id or 0]) for brand in brands]


def brand_view(session: Session, brand: Brand) -> BrandView:
    assert brand.id is not None
    group_ids = session.exec(
        select(GroupMembership.group_id).where(GroupMembership.brand_id == brand.id)
    ).all()
    return BrandView(brand.id, frozenset(group_ids))


def brand_to_manage(
    session: Session, actor: Actor, slug: str, action: Action = Action.manage_brand_people
) -> Brand:
    """The brand whose people (or sign-in) the actor wants to manage: 404 when its people
    are hidden from them (their existence does not leak), 403 when they see them but may
    not manage."""
    brand = get_brand(session, slug)
    if not can(actor, Action.view_brand_people, brand_view(session, brand)):
        raise NotFound()
    ensure(actor, action, brand.id)
    return brand


def people_of(session: Session, brand: Brand, include_inactive: bool = False) -> list[Person]:
    statement = select(Person).where(Person.brand_id == brand.id).order_by(Person.name)
    if not include_inactive:
        statement = statement.where(col(Person.is_active).is_(True))
    return list(session.exec(statement))


def domains_of(session: Session, brand: Brand) -> list[str]:
    return list(
        session.exec(
            select(BrandDomain.domain)
            .where(BrandDomain.brand_id == brand.id)
            .order_by(BrandDomain.domain)
        )
    )


def any_of_domains(domains: list[str]) -> str:
    """A brand's e-mail domains as alternatives, the way the viewer's language lists them:
    '@a.example or @b.example', '@a.example或@b.example'."""
    return format_list(
        [f"@{domain}" for domain in domains], style="or", locale=i18n.current().locale
    )


def count_active_with_role(session: Session, brand_id: int, role: str) -> int:
    return session.exec(
        select(func.count())
        .select_from(Person)
        .where(Person.brand_id == brand_id, Person.role == role, col(Person.is_active).is_(True))
    ).one()


def _person_of_brand(session: Session, brand: Brand, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None or person.brand_id != brand.id:
        raise NotFound(_("That person is not part of this organisation."))
    return person


def _keeps_an_admin(session: Session, brand: Brand, person: Person) -> None:
    """A brand is never left without an active brand admin, nor the alliance without an
    alliance admin: someone must always be able to manage people."""
    if not person.is_active or person.role not in (Role.brand_admin, Role.alliance_admin):
        return
    if count_active_with_role(session, brand.id or 0, person.role) <= 1:
        if person.role == Role.brand_admin:
            message = _(
                "%(name)s is the only active brand admin of %(brand)s. Make someone else a "
                "brand admin first.",
                name=person.name,
                brand=brand.name,
            )
        else:
            message = _(
                "%(name)s is the only active alliance admin of %(brand)s. Make someone else an "
                "alliance admin first.",
                name=person.name,
                brand=brand.name,
            )
        raise Conflict(message)


def add_person(
    session: Session, actor: Actor, brand: Brand, name: str, email: str, role: str, job_title: str
) -> Person:
    ensure(actor, Action.manage_brand_people, brand.id)
    check = FormCheck()
    name, email, job_title = name.strip(), email.strip().lower(), job_title.strip()
    if not name:
        check.fail("name", _("Enter the person's name."))
    elif len(name) > 120:
        check.fail("name", _("Keep the name under 120 characters."))
    if not EMAIL_PATTERN.match(email):
        check.fail("email", _("Enter an e-mail address like name@yourbrand.com."))
    else:
        domains = domains_of(session, brand)
        domain = email.rpartition("@")[2]
        if domain not in domains:
            if domains:
                check.fail(
                    "email",
                    _(
                        "%(brand)s people sign in with %(allowed)s addresses; @%(domain)s is "
                        "not one of them.",
                        brand=brand.name,
                        allowed=any_of_domains(domains),
                        domain=domain,
                    ),
                )
            else:
                check.fail(
                    "email",
                    _(
                        "%(brand)s has no e-mail domain set up yet, so @%(domain)s cannot sign "
                        "in. Ask the alliance to add the brand's domains.",
                        brand=brand.name,
                        domain=domain,
                    ),
                )
        elif session.exec(select(Person).where(Person.email == email)).first() is not None:
            check.fail("email", _("%(email)s is already in the hub.", email=email))
    if role not in assignable_roles(actor, brand.kind):
        check.fail("role", _("Choose one of the roles offered."))
    check.done()
    person = Person(
        brand_id=brand.id or 0, name=name, email=email, role=role, job_title=job_title[:120]
    )
    session.add(person)
    session.flush()
    audit.record(session, actor.audit_id, actor.label, "person.added", f"person:{email}", role=role)
    session.commit()
    return person


def change_role(session: Session, actor: Actor, brand: Brand, person_id: int, role: str) -> Person:
    ensure(actor, Action.manage_brand_people, brand.id)
    person = _person_of_brand(session, brand, person_id)
    if role not in assignable_roles(actor, brand.kind):
        check = FormCheck()
        check.fail("role", _("Choose one of the roles offered."))
        check.done()
    if role == person.role:
        return person
    _keeps_an_admin(session, brand, person)
    previous = person.role
    person.role = role
    session.add(person)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "person.role_changed",
        f"person:{person.email}",
        before=previous,
        after=role,
    )
    session.commit()
    return person


def set_active(
    session: Session, actor: Actor, brand: Brand, person_id: int, active: bool
) -> Person:
    """Deactivating someone also ends every session they have, at once."""
    ensure(actor, Action.manage_brand_people, brand.id)
    person = _person_of_brand(session, brand, person_id)
    if person.is_active == active:
        return person
    if not active:
        if person.id == actor.person_id:
            raise Conflict(_("You cannot deactivate yourself."))
        _keeps_an_admin(session, brand, person)
    person.is_active = active
    session.add(person)
    ended = 0 if active else sessions.end_all_for_person(session, person.id or 0)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "person.reactivated" if active else "person.deactivated",
        f"person:{person.email}",
        **({} if active else {"sessions_ended": ended}),
    )
    session.commit()
    return person


def check_slug(check: FormCheck, slug: str) -> None:
    if not SLUG_PATTERN.match(slug):
        check.fail(
            "slug",
            _("Use 1-60 lowercase letters, digits and hyphens, like 'maison-verrault'."),
        )


def create_brand(
    session: Session,
    actor: Actor,
    *,
    name: str,
    slug: str,
    country: str,
    domains: str,
    website: str = "",
    description: str = "",
    group_ids: list[int] | None = None,
) -> Brand:
    ensure(actor, Action.create_brand)
    check = FormCheck()
    name, slug, country = name.strip(), slug.strip().lower(), country.strip().upper()
    if not name:
        check.fail("name", _("Enter the brand's name."))
    elif len(name) > 120:
        check.fail("name", _("Keep the name under 120 characters."))
    check_slug(check, slug)
    if "slug" not in check.errors and session.exec(select(Brand).where(Brand.slug == slug)).first():
        check.fail("slug", _("The address /brands/%(slug)s is taken. Choose another.", slug=slug))
    if country not in COUNTRIES:
        check.fail("country", _("Choose the country of the brand's head office."))
    domain_list = sorted(
        {d.strip().lower().lstrip("@") for d in re.split(r"[\s,]+", domains) if d.strip()}
    )
    if not domain_list:
        check.fail("domains", _("Enter at least one e-mail domain, like maison-verrault.com."))
    for domain in domain_list:
        if not DOMAIN_PATTERN.match(domain):
            check.fail("domains", _("'%(domain)s' is not a domain name.", domain=domain))
            break
        owner = session.exec(select(BrandDomain).where(BrandDomain.domain == domain)).first()
        if owner is not None:
            check.fail(
                "domains",
                _("@%(domain)s already belongs to another organisation.", domain=domain),
            )
            break
    website = website.strip()
    if website and not re.match(r"^https?://[^\s]+$", website):
        check.fail("website", _("Enter the website as a full address, like https://example.com."))
    known_groups = set(
        session.exec(select(WorkingGroup.id).where(col(WorkingGroup.id).in_(group_ids or []))).all()
    )
    if set(group_ids or []) - known_groups:
        check.fail("groups", _("One of the chosen working groups does not exist."))
    check.done()
    brand = Brand(
        name=name,
        slug=slug,
        country=country,
        website=website[:200],
        description=description.strip()[:2000],
    )
    session.add(brand)
    session.flush()
    assert brand.id is not None
    for domain in domain_list:
        session.add(BrandDomain(brand_id=brand.id, domain=domain))
    for group_id in sorted(set(group_ids or [])):
        session.add(GroupMembership(group_id=group_id, brand_id=brand.id))
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "brand.created",
        f"brand:{slug}",
        name=name,
        country=country,
        domains=domain_list,
    )
    session.commit()
    return brand
