"""Plain functions that make rows for tests, with sensible defaults."""

import itertools

from sqlmodel import Session

from hub.auth.models import IdentityProvider
from hub.config import Settings
from hub.groups.models import Coordinator, GroupMembership, JoinRequest, WorkingGroup
from hub.members.models import Brand, BrandDomain, OrgKind, Person, Role
from hub.secretbox import seal

_numbers = itertools.count(1)


def make_group(session: Session, slug: str | None = None, name: str | None = None) -> WorkingGroup:
    number = next(_numbers)
    group = WorkingGroup(
        slug=slug or f"group-{number}",
        name=name or f"Group {number}",
        description="A working group made for a test.",
    )
    session.add(group)
    session.flush()
    return group


def make_brand(
    session: Session,
    slug: str | None = None,
    groups: list[WorkingGroup] | None = None,
    domains: list[str] | None = None,
    kind: OrgKind = OrgKind.brand,
    name: str | None = None,
) -> Brand:
    number = next(_numbers)
    slug = slug or f"brand-{number}"
    brand = Brand(slug=slug, name=name or f"Brand {number}", country="FR", kind=kind)
    session.add(brand)
    session.flush()
    assert brand.id is not None
    for domain in domains or [f"{slug}.example"]:
        session.add(BrandDomain(brand_id=brand.id, domain=domain))
    for group in groups or []:
        session.add(GroupMembership(group_id=group.id or 0, brand_id=brand.id))
    session.flush()
    return brand


def make_person(
    session: Session,
    brand: Brand,
    role: Role = Role.member,
    name: str | None = None,
    email: str | None = None,
    is_active: bool = True,
) -> Person:
    number = next(_numbers)
    person = Person(
        brand_id=brand.id or 0,
        name=name or f"Person {number}",
        email=email or f"person{number}@{brand.slug}.example",
        role=role,
        is_active=is_active,
    )
    session.add(person)
    session.flush()
    return person


def appoint(session: Session, group: WorkingGroup, person: Person) -> None:
    session.add(Coordinator(group_id=group.id or 0, person_id=person.id or 0))
    session.flush()


def make_join_request(
    session: Session, brand: Brand, group: WorkingGroup, by: Person, message: str = "Please"
) -> JoinRequest:
    join_request = JoinRequest(
        group_id=group.id or 0, brand_id=brand.id or 0, requested_by_id=by.id or 0, message=message
    )
    session.add(join_request)
    session.flush()
    return join_request


def make_provider(
    session: Session,
    settings: Settings,
    brand: Brand,
    issuer: str,
    client_id: str,
    client_secret: str,
    enabled: bool = True,
) -> IdentityProvider:
    """A provider as if added, tested and (by default) switched on."""
    provider = IdentityProvider(
        brand_id=brand.id or 0,
        name=f"{brand.name} sign-in",
        issuer=issuer,
        client_id=client_id,
        client_secret_sealed=seal(settings, client_secret),
        admin_claim="groups",
        admin_value="brand-admins",
        enabled=enabled,
        tested_version=1,
    )
    session.add(provider)
    session.flush()
    return provider
