"""API tokens: made (shown once, stored as a SHA-256), personal or brand (brand tokens by
brand admins only), revoked (one's own; a brand's brand tokens by its admins), and what
the API answers to a token that no longer works, that may only read, or that calls too
often."""

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, func, select

from hub import ratelimit
from hub.api import tokens
from hub.api.models import ApiToken, Scope, TokenKind
from hub.audit import AuditEntry
from hub.config import Settings
from hub.errors import InvalidForm, NotFound
from hub.intel.models import IntelReport, Sighting, Tlp
from hub.members.models import Brand, Person, Role
from tests import factories
from tests.api.factories import V1, api_client, problem_of, token_for
from tests.conftest import World
from tests.intel.factories import actor_of, make_report

CHALLENGE = 'Bearer realm="alliance-hub"'


def _token(db: Session, secret: str) -> ApiToken:
    db.expire_all()
    return db.exec(
        select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest())
    ).one()


def _token_count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(ApiToken)).one()


def _report_count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(IntelReport)).one()


# --- Making a token ------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(db: Session, world: World) -> None:
    """The secret is "hub_" and 43 random characters; the database keeps its SHA-256 and
    its first characters, and the secret itself is nowhere: not in the token's row, not in
    the list of tokens, not in the audit log."""
    secret = token_for(db, world.member_a, name="Takedown robot")
    assert re.fullmatch(r"hub_[A-Za-z0-9_-]{43}", secret)
    token = _token(db, secret)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:10]
    assert (token.name, token.kind, token.scope) == ("Takedown robot", "personal", "write")
    assert (token.person_id, token.brand_id) == (world.member_a.id, world.brand_a.id)
    assert token.revoked_at is None and token.last_used_at is None
    hidden_part = secret[len(token.prefix) :]
    assert hidden_part not in repr(token.model_dump())
    listed = tokens.listing(db, actor_of(db, world.member_a))
    assert [line.token.id for line in listed] == [token.id]
    assert hidden_part not in repr(listed)
    entries = db.exec(select(AuditEntry).where(AuditEntry.target == f"api-token:{token.id}")).all()
    assert [entry.action for entry in entries] == ["api.token_created"]
    assert all(hidden_part not in repr(entry.model_dump()) for entry in entries)


def test_each_token_is_new_and_works_at_once(app: FastAPI, db: Session, world: World) -> None:
    """Two tokens of one person differ, and each is accepted as it is handed out."""
    first, second = token_for(db, world.member_a), token_for(db, world.member_a)
    assert first != second and first[:10] != second[:10]
    for secret in (first, second):
        me = api_client(app, secret).get(f"{V1}/me")
        assert me.status_code == 200
        assert me.json()["email"] == world.member_a.email


def test_the_first_call_records_when_the_token_was_used(
    app: FastAPI, db: Session, world: World
) -> None:
    """The token list can say when a token was last used."""
    secret = token_for(db, world.member_a)
    assert api_client(app, secret).get(f"{V1}/me").status_code == 200
    assert _token(db, secret).last_used_at is not None


@pytest.mark.parametrize(
    ("name", "kind", "scope", "wrong"),
    [
        ("   ", "personal", "read", {"name"}),
        ("x" * 81, "personal", "read", {"name"}),
        ("Robot", "team", "read", {"kind"}),
        ("Robot", "personal", "admin", {"scope"}),
        ("", "team", "admin", {"name", "kind", "scope"}),
    ],
)
def test_a_wrong_token_form_names_each_wrong_field_and_saves_nothing(
    db: Session, world: World, name: str, kind: str, scope: str, wrong: set[str]
) -> None:
    before = _token_count(db)
    with pytest.raises(InvalidForm) as refused:
        tokens.create(db, actor_of(db, world.admin_a), name, kind, scope)
    assert set(refused.value.errors) == wrong
    assert _token_count(db) == before


@pytest.mark.parametrize("who", ["member_a", "member_c", "coordinator", "alliance_admin"])
def test_only_brand_admins_make_brand_tokens(db: Session, world: World, who: str) -> None:
    """A member, a coordinator or an alliance admin asking for a brand token is told so
    beside the kind; nothing is saved. Their personal tokens are theirs to make."""
    person: Person = getattr(world, who)
    before = _token_count(db)
    with pytest.raises(InvalidForm) as refused:
        token_for(db, person, TokenKind.brand)
    assert list(refused.value.errors) == ["kind"]
    assert "administrators" in refused.value.errors["kind"]
    assert _token_count(db) == before
    token_for(db, person, TokenKind.personal)
    assert _token_count(db) == before + 1


@pytest.mark.parametrize("who", ["admin_a", "admin_c"])
def test_a_brand_admin_makes_a_brand_token_acting_for_the_brand(
    app: FastAPI, db: Session, world: World, who: str
) -> None:
    admin: Person = getattr(world, who)
    brand_secret = token_for(db, admin, TokenKind.brand, Scope.read)
    personal_secret = token_for(db, admin, TokenKind.personal, Scope.write)
    brand_me = api_client(app, brand_secret).get(f"{V1}/me").json()
    personal_me = api_client(app, personal_secret).get(f"{V1}/me").json()
    brand = db.get(Brand, admin.brand_id)
    assert brand is not None
    assert (brand_me["token_kind"], brand_me["scope"], brand_me["brand"]) == (
        "brand",
        "read",
        brand.slug,
    )
    assert (personal_me["token_kind"], personal_me["scope"]) == ("personal", "write")
    assert brand_me["groups"] == personal_me["groups"]
    assert _token(db, brand_secret).brand_id == admin.brand_id


def test_a_person_keeps_at_most_twenty_active_tokens(db: Session, world: World) -> None:
    """The twenty-first is refused until one is revoked."""
    made = [token_for(db, world.member_a) for _ in range(tokens.MAX_ACTIVE_PER_PERSON)]
    with pytest.raises(InvalidForm) as refused:
        token_for(db, world.member_a)
    assert list(refused.value.errors) == ["name"]
    tokens.revoke(db, actor_of(db, world.member_a), _token(db, made[0]).id or 0)
    token_for(db, world.member_a)
    active = db.exec(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.person_id == world.member_a.id, col(ApiToken.revoked_at).is_(None))
    ).one()
    assert active == tokens.MAX_ACTIVE_PER_PERSON


def test_brand_admins_list_their_brands_brand_tokens_too(db: Session, world: World) -> None:
    """Everyone lists their own tokens; a brand admin also the brand's brand tokens made by
    other admins, never colleagues' personal tokens or another brand's tokens."""
    second_admin = factories.make_person(db, world.brand_a, Role.brand_admin)
    colleagues_brand = _token(db, token_for(db, second_admin, TokenKind.brand))
    colleagues_own = _token(db, token_for(db, second_admin))
    members_own = _token(db, token_for(db, world.member_a))
    admins_own = _token(db, token_for(db, world.admin_a))
    _token(db, token_for(db, world.admin_c, TokenKind.brand))

    def listed(person: Person) -> set[int | None]:
        return {line.token.id for line in tokens.listing(db, actor_of(db, person))}

    assert listed(world.member_a) == {members_own.id}
    assert listed(world.admin_a) == {admins_own.id, colleagues_brand.id}
    assert listed(second_admin) == {colleagues_brand.id, colleagues_own.id}


# --- Revoking ------------------------------------------------------------------------


def test_revoking_ones_own_token_stops_it_at_once(app: FastAPI, db: Session, world: World) -> None:
    secret = token_for(db, world.member_a)
    tool = api_client(app, secret)
    assert tool.get(f"{V1}/me").status_code == 200
    token = tokens.revoke(db, actor_of(db, world.member_a), _token(db, secret).id or 0)
    assert token.revoked_at is not None
    problem_of(tool.get(f"{V1}/me"), 401, "unauthenticated")
    # Revoking again changes nothing, and is not an error.
    again = tokens.revoke(db, actor_of(db, world.member_a), token.id or 0)
    assert again.revoked_at == token.revoked_at
    actions = db.exec(select(AuditEntry.action).where(AuditEntry.target == f"api-token:{token.id}"))
    assert sorted(actions) == ["api.token_created", "api.token_revoked"]


def test_a_brand_admin_revokes_a_brand_token_another_admin_made(
    app: FastAPI, db: Session, world: World
) -> None:
    maker = factories.make_person(db, world.brand_a, Role.brand_admin)
    secret = token_for(db, maker, TokenKind.brand)
    tool = api_client(app, secret)
    assert tool.get(f"{V1}/me").status_code == 200
    tokens.revoke(db, actor_of(db, world.admin_a), _token(db, secret).id or 0)
    assert _token(db, secret).revoked_at is not None
    problem_of(tool.get(f"{V1}/me"), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("revoker", "maker", "kind"),
    [
        ("member_b", "member_a", TokenKind.personal),  # someone else's
        ("admin_a", "member_a", TokenKind.personal),  # a colleague's personal token
        ("member_a", "admin_a", TokenKind.brand),  # the brand's, but not an admin
        ("admin_c", "admin_a", TokenKind.brand),  # another brand's
        ("alliance_admin", "admin_a", TokenKind.brand),
        ("coordinator", "member_a", TokenKind.personal),
    ],
)
def test_others_cannot_revoke_a_token_and_are_told_it_is_not_there(
    app: FastAPI, db: Session, world: World, revoker: str, maker: str, kind: str
) -> None:
    """Someone who may not manage a token gets the same 404 as for a token that does not
    exist, and the token keeps working."""
    secret = token_for(db, getattr(world, maker), kind)
    token = _token(db, secret)
    actor = actor_of(db, getattr(world, revoker))
    with pytest.raises(NotFound) as refused:
        tokens.revoke(db, actor, token.id or 0)
    assert refused.value.status_code == 404
    with pytest.raises(NotFound) as missing:
        tokens.revoke(db, actor, (token.id or 0) + 1000)
    assert refused.value.message == missing.value.message
    assert _token(db, secret).revoked_at is None
    assert api_client(app, secret).get(f"{V1}/me").status_code == 200


# --- Tokens that do not work ---------------------------------------------------------


Stop = Callable[[Session, World, ApiToken], None]


def _revoke(db: Session, world: World, token: ApiToken) -> None:
    maker = db.get(Person, token.person_id)
    assert maker is not None
    tokens.revoke(db, actor_of(db, maker), token.id or 0)


def _deactivate_maker(db: Session, world: World, token: ApiToken) -> None:
    person = db.get(Person, token.person_id)
    assert person is not None
    person.is_active = False
    db.add(person)
    db.commit()


def _deactivate_brand(db: Session, world: World, token: ApiToken) -> None:
    brand = db.get(Brand, token.brand_id)
    assert brand is not None
    brand.is_active = False
    db.add(brand)
    db.commit()


def _move_maker(db: Session, world: World, token: ApiToken) -> None:
    person = db.get(Person, token.person_id)
    assert person is not None
    person.brand_id = world.brand_b.id or 0
    db.add(person)
    db.commit()


@pytest.mark.parametrize(
    "stop", [_revoke, _deactivate_maker, _deactivate_brand, _move_maker], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("kind", [TokenKind.personal, TokenKind.brand])
def test_a_token_stops_working_with_its_maker_or_brand(
    app: FastAPI, db: Session, world: World, stop: Stop, kind: str
) -> None:
    """Revoked, or its maker deactivated or gone to another organisation, or its brand
    deactivated: 401 problem+json with a Bearer challenge, on reads and on posts."""
    maker = world.admin_a if kind == TokenKind.brand else world.member_a
    secret = token_for(db, maker, kind)
    tool = api_client(app, secret)
    assert tool.get(f"{V1}/reports").status_code == 200
    stop(db, world, _token(db, secret))
    for response in (
        tool.get(f"{V1}/reports"),
        tool.post(f"{V1}/reports", json={"group": world.apparel.slug, "title": "Too late"}),
    ):
        body = problem_of(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == CHALLENGE
        assert "revoked" in body["detail"]
    assert _report_count(db) == 0


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic bWVtYmVyOnNlY3JldA==",
        "Bearer hub_thisTokenWasNeverMadeByTheHubAndIsLongEnough1234",
        "Bearer not-even-a-hub-token",
        "Bearer hub_" + "x" * 200,
    ],
)
def test_no_token_or_an_unknown_one_is_a_401_problem(
    app: FastAPI, world: World, authorization: str | None
) -> None:
    tool = api_client(app, None)
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/me", "/reports", "/campaigns", "/events", "/groups"):
        response = tool.get(V1 + path, headers=headers)
        problem_of(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == CHALLENGE


# --- Read-only tokens ----------------------------------------------------------------


def test_a_read_token_reads_but_may_not_post(app: FastAPI, db: Session, world: World) -> None:
    """Reports and sightings answer 403 insufficient-scope to a read token, and nothing is
    saved; the same person's write token posts."""
    others = make_report(db, world.member_b, world.apparel, Tlp.green, "Brand B's listing")
    reader = api_client(app, token_for(db, world.member_a, scope=Scope.read))
    assert reader.get(f"{V1}/me").json()["scope"] == "read"
    assert reader.get(f"{V1}/reports/{others.id}").status_code == 200
    before = _report_count(db)
    new_report = {"group": world.apparel.slug, "title": "Posted with a read token"}
    body = problem_of(reader.post(f"{V1}/reports", json=new_report), 403, "insufficient-scope")
    assert "read" in body["detail"]
    problem_of(
        reader.post(f"{V1}/reports/{others.id}/sightings", json={"kind": "seen"}),
        403,
        "insufficient-scope",
    )
    db.expire_all()
    assert _report_count(db) == before
    assert db.exec(select(Sighting).where(Sighting.report_id == others.id)).first() is None
    writer = api_client(app, token_for(db, world.member_a, scope=Scope.write))
    assert writer.post(f"{V1}/reports", json=new_report).status_code == 201
    assert _report_count(db) == before + 1


# --- The rate limit ------------------------------------------------------------------


def test_each_token_has_its_own_limit_per_minute(
    app: FastAPI,
    db: Session,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the limit a token gets 429 problem+json with Retry-After (the seconds to the
    next minute); another token of the same person is not held back; the next minute the
    token may call again."""
    limit = 3
    app.state.settings = settings.model_copy(update={"api_requests_per_minute": limit})
    now = [datetime(2030, 5, 6, 12, 0, 45, tzinfo=UTC)]
    monkeypatch.setattr(ratelimit, "utcnow", lambda: now[0])
    busy = api_client(app, token_for(db, world.member_a))
    other = api_client(app, token_for(db, world.member_a, TokenKind.personal, Scope.read))
    assert [busy.get(f"{V1}/me").status_code for _ in range(limit)] == [200] * limit
    refused = busy.get(f"{V1}/reports")
    body = problem_of(refused, 429, "rate-limited")
    wait = 60 - now[0].second
    assert refused.headers["retry-after"] == str(wait)
    assert f"{wait} seconds" in body["detail"]
    problem_of(busy.post(f"{V1}/reports", json={}), 429, "rate-limited")
    assert other.get(f"{V1}/me").status_code == 200
    now[0] += timedelta(seconds=wait)
    assert busy.get(f"{V1}/me").status_code == 200
