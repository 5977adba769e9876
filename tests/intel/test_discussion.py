"""Talking about a report: threaded comments, @mentions, "seen it too" and "disputed",
following, and the notifications page they feed."""

import re
from html.parser import HTMLParser

import pytest
from sqlmodel import Session, col, func, select

from hub.intel import service
from hub.intel.models import Comment, Follow, IntelReport, Sighting, Tlp
from hub.members.models import Person
from hub.models import Notification
from tests import factories
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report

HTMX = {"HX-Request": "true"}


def _notes(db: Session, person: Person) -> list[str]:
    db.expire_all()
    return list(
        db.exec(
            select(Notification.text)
            .where(Notification.person_id == person.id)
            .order_by(col(Notification.id))
        ).all()
    )


def _comments(db: Session, report: IntelReport) -> list[Comment]:
    db.expire_all()
    return list(
        db.exec(select(Comment).where(Comment.report_id == report.id).order_by(col(Comment.id)))
    )


def _sightings(db: Session, report: IntelReport) -> list[Sighting]:
    db.expire_all()
    return list(db.exec(select(Sighting).where(Sighting.report_id == report.id)))


def _handle(person: Person) -> str:
    return "@" + person.email.partition("@")[0]


@pytest.fixture
def report(db: Session, world: World) -> IntelReport:
    """A TLP:AMBER report by member_a on the apparel board."""
    return make_report(db, world.member_a, world.apparel, Tlp.amber, title="Fake trainers shop")


# --- comments ----------------------------------------------------------------------------


def test_comment_is_posted_and_shown(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A plain form comment is saved, redirects to the discussion and shows on the page."""
    browser = client_as(world.member_b)
    response = browser.post(f"/intel/{report.id}/comments", data={"body": "Seen it on **eBay**"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/intel/{report.id}#discussion"
    [comment] = _comments(db, report)
    assert comment.author_id == world.member_b.id
    assert comment.body_html.strip() == "<p>Seen it on <strong>eBay</strong></p>"
    page = browser.get(f"/intel/{report.id}").text
    assert "Your comment was posted." in page
    assert "Seen it on <strong>eBay</strong>" in page


def test_htmx_comment_returns_only_the_discussion(
    world: World, client_as: ClientAs, report: IntelReport
) -> None:
    """Through htmx a comment answers with the discussion fragment, not the whole page."""
    response = client_as(world.member_b).post(
        f"/intel/{report.id}/comments", data={"body": "Same seller on Vinted"}, headers=HTMX
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="discussion"')
    assert "<html" not in response.text
    assert "Same seller on Vinted" in response.text
    assert "Your comment was posted." in response.text


def test_replies_are_threaded_under_their_parent(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A reply keeps its parent and is rendered inside the parent's list item."""
    client_as(world.member_b).post(f"/intel/{report.id}/comments", data={"body": "First"})
    first = _comments(db, report)[0]
    client_as(world.admin_a).post(f"/intel/{report.id}/comments", data={"body": "Second"})
    response = client_as(world.member_a).post(
        f"/intel/{report.id}/comments",
        data={"body": "A reply to the first", "parent_id": str(first.id)},
        headers=HTMX,
    )
    assert response.status_code == 200
    first_, second, reply = _comments(db, report)
    assert (first_.parent_id, second.parent_id, reply.parent_id) == (None, None, first.id)
    html = response.text
    start = html.index(f'id="comment-{first.id}"')
    end = html.index(f'id="comment-{second.id}"')
    assert start < html.index(f'id="comment-{reply.id}"') < end
    assert html.index("A reply to the first") < end


def test_reply_to_another_reports_comment_is_refused(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A parent comment of another report answers 404 and nothing is saved."""
    other = make_report(db, world.member_b, world.apparel, Tlp.green, title="Other")
    client_as(world.member_b).post(f"/intel/{other.id}/comments", data={"body": "Elsewhere"})
    parent = _comments(db, other)[0]
    response = client_as(world.member_b).post(
        f"/intel/{report.id}/comments", data={"body": "Lost", "parent_id": str(parent.id)}
    )
    assert response.status_code == 404
    assert _comments(db, report) == []


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_comment_is_refused_with_422(
    world: World, db: Session, client_as: ClientAs, report: IntelReport, body: str
) -> None:
    """An empty comment answers 422 with a message, in the page and in the fragment;
    nothing is saved and the earlier comments are still shown."""
    browser = client_as(world.member_b)
    browser.post(f"/intel/{report.id}/comments", data={"body": "An earlier comment"})
    page = browser.post(f"/intel/{report.id}/comments", data={"body": body})
    assert page.status_code == 422
    assert "Write something before posting." in page.text
    assert "An earlier comment" in page.text
    fragment = browser.post(f"/intel/{report.id}/comments", data={"body": body}, headers=HTMX)
    assert fragment.status_code == 422
    assert fragment.text.lstrip().startswith('<section id="discussion"')
    assert "Write something before posting." in fragment.text
    assert "An earlier comment" in fragment.text
    assert [c.body_md for c in _comments(db, report)] == ["An earlier comment"]


def test_too_long_comment_keeps_what_was_typed(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A comment over the limit comes back in the text box, so nothing typed is lost."""
    body = "Long evidence trail. " * 500 + "THE-LAST-WORDS"
    for headers in ({}, HTMX):
        response = client_as(world.member_b).post(
            f"/intel/{report.id}/comments", data={"body": body}, headers=headers
        )
        assert response.status_code == 422
        assert "Keep a comment under 10,000 characters." in response.text
        box = re.search(r'<textarea id="comment-body"[^>]*>(.*?)</textarea>', response.text, re.S)
        assert box is not None and box.group(1) == body.strip()
    assert _comments(db, report) == []


XSS = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert('xss')>",
    "[click](javascript:alert('xss'))",
    '<a href="javascript:alert(1)">link</a>',
    "<svg onload=alert('xss')>",
    "<iframe src=\"javascript:alert('xss')\"></iframe>",
    "[x](JaVaScRiPt:alert('xss'))",
]


class _Tags(HTMLParser):
    """The tags and attributes a browser would build from some HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _live_markup(html: str) -> list[str]:
    """Every dangerous element or attribute in `html`, as the browser would parse it."""
    parser = _Tags()
    parser.feed(html)
    found: list[str] = []
    for tag, attrs in parser.tags:
        if tag in {"script", "iframe", "svg", "img", "object", "embed"}:
            found.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"{tag} {name}")
            if name in {"href", "src"} and (value or "").strip().lower().startswith("javascript"):
                found.append(f"{tag} {name}={value}")
    return found


@pytest.mark.parametrize("payload", XSS)
def test_xss_in_a_comment_comes_back_inert(
    world: World, db: Session, client_as: ClientAs, report: IntelReport, payload: str
) -> None:
    """Script, event handlers and javascript: links in a comment never come back live."""
    browser = client_as(world.member_b)
    fragment = browser.post(
        f"/intel/{report.id}/comments", data={"body": f"Look {payload} here"}, headers=HTMX
    ).text
    page = browser.get(f"/intel/{report.id}").text
    [comment] = _comments(db, report)
    assert _live_markup(comment.body_html) == []
    for html in (fragment, page):
        start = html.index(f'id="comment-{comment.id}"')
        assert _live_markup(html[start : html.index("</li>", start)]) == []


# --- @mentions ---------------------------------------------------------------------------


def test_mention_notifies_a_reader(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """@ and the first part of an e-mail notifies that person when they may read the report."""
    elodie = factories.make_person(
        db, world.brand_b, name="Élodie Moreau", email="elodie.moreau@brand-b.example"
    )
    db.commit()
    client_as(world.member_a).post(
        f"/intel/{report.id}/comments", data={"body": "@elodie.moreau have you seen this?"}
    )
    assert _notes(db, elodie) == ["Alma Member mentioned you on “Fake trainers shop”."]


def test_mention_of_someone_who_may_not_read_tells_them_nothing(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """Mentioning people the report is not shared with sends them nothing at all."""
    strict = make_report(db, world.member_a, world.apparel, Tlp.amber_strict, title="Strictly ours")
    db.commit()
    body = f"{_handle(world.member_b)} {_handle(world.member_c)} {_handle(world.admin_a)} look"
    client_as(world.member_a).post(f"/intel/{strict.id}/comments", data={"body": body})
    assert _notes(db, world.member_b) == []
    assert _notes(db, world.member_c) == []
    assert _notes(db, world.admin_a) == ["Alma Member mentioned you on “Strictly ours”."]


def test_mention_on_a_red_report_reaches_only_recipients(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """On TLP:RED only the named recipients hear of a mention."""
    red = make_report(
        db, world.member_a, world.apparel, Tlp.red, title="Red one", recipients=[world.member_c]
    )
    body = " ".join(
        _handle(p) for p in (world.admin_a, world.member_b, world.member_c, world.coordinator)
    )
    client_as(world.member_a).post(f"/intel/{red.id}/comments", data={"body": body})
    assert _notes(db, world.member_c) == ["Alma Member mentioned you on “Red one”."]
    for person in (world.admin_a, world.member_b, world.coordinator, world.alliance_admin):
        assert _notes(db, person) == [], person.name


def test_mentioning_oneself_sends_nothing(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Mentioning oneself is not news to oneself."""
    client_as(world.member_b).post(
        f"/intel/{report.id}/comments", data={"body": f"note to self {_handle(world.member_b)}"}
    )
    assert _notes(db, world.member_b) == []


def test_an_email_address_is_not_a_mention(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Writing someone's e-mail address in full does not count as an @mention of others."""
    factories.make_person(db, world.brand_b, name="Shop", email="shop@brand-b.example")
    db.commit()
    client_as(world.member_b).post(
        f"/intel/{report.id}/comments", data={"body": "the seller writes from sales@shop.example"}
    )
    shop = db.exec(select(Person).where(Person.email == "shop@brand-b.example")).one()
    assert _notes(db, shop) == []


# --- following ---------------------------------------------------------------------------


def test_follow_toggles(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Following twice unfollows; the button says which state the reader is in."""
    browser = client_as(world.member_b)
    first = browser.post(f"/intel/{report.id}/follow", headers=HTMX)
    assert first.status_code == 200
    assert "Following ✓" in first.text and 'aria-pressed="true"' in first.text
    assert db.get(Follow, (report.id, world.member_b.id)) is not None
    second = browser.post(f"/intel/{report.id}/follow", headers=HTMX)
    assert "Following ✓" not in second.text and 'aria-pressed="false"' in second.text
    db.expire_all()
    assert db.get(Follow, (report.id, world.member_b.id)) is None


def test_plain_follow_redirects_back(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Without htmx, following is a post/redirect/get with a flash message."""
    browser = client_as(world.member_b)
    response = browser.post(f"/intel/{report.id}/follow")
    assert response.status_code == 303
    assert response.headers["location"] == f"/intel/{report.id}"
    assert "You follow this report now." in browser.get(f"/intel/{report.id}").text


def test_followers_and_author_hear_of_comments(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A comment notifies the author and every follower, but not the commenter."""
    client_as(world.coordinator).post(f"/intel/{report.id}/follow")
    client_as(world.admin_a).post(f"/intel/{report.id}/follow")
    client_as(world.admin_a).post(f"/intel/{report.id}/comments", data={"body": "Also on Temu"})
    expected = ["Ada Admin commented on “Fake trainers shop”."]
    assert _notes(db, world.member_a) == expected
    assert _notes(db, world.coordinator) == expected
    assert _notes(db, world.admin_a) == []
    assert _notes(db, world.member_b) == []


def test_unfollowing_stops_the_notifications(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Once unfollowed, a reader hears of no more comments."""
    browser = client_as(world.member_b)
    browser.post(f"/intel/{report.id}/follow")
    browser.post(f"/intel/{report.id}/follow")
    client_as(world.admin_a).post(f"/intel/{report.id}/comments", data={"body": "More"})
    assert _notes(db, world.member_b) == []


def test_a_follower_who_lost_access_hears_nothing(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """When the report is narrowed to AMBER+STRICT, a follower of another brand is no longer
    told about comments (which would carry the title)."""
    client_as(world.member_b).post(f"/intel/{report.id}/follow")
    form = service.form_of(db, report)
    form.tlp = Tlp.amber_strict
    service.update_report(db, actor_of(db, world.member_a), report, form)
    client_as(world.admin_a).post(f"/intel/{report.id}/comments", data={"body": "Internal"})
    assert _notes(db, world.member_b) == []
    assert _notes(db, world.member_a) == ["Ada Admin commented on “Fake trainers shop”."]


def test_mentioned_follower_is_told_once(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A follower who is also mentioned gets one notification, the mention."""
    client_as(world.member_b).post(f"/intel/{report.id}/follow")
    client_as(world.admin_a).post(
        f"/intel/{report.id}/comments", data={"body": f"{_handle(world.member_b)} see this"}
    )
    assert _notes(db, world.member_b) == ["Ada Admin mentioned you on “Fake trainers shop”."]


# --- "seen it too" and "disputed" --------------------------------------------------------


def test_seen_it_too_is_recorded_and_shown(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Another brand's "seen it too" is saved with its note, shown, and the author told."""
    response = client_as(world.member_b).post(
        f"/intel/{report.id}/sightings",
        data={"kind": "seen", "note": "On Vinted too"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Brand B</strong> has seen it too" in response.text
    assert "On Vinted too" in response.text
    [sighting] = _sightings(db, report)
    assert (sighting.brand_id, sighting.person_id, sighting.kind, sighting.note) == (
        world.brand_b.id,
        world.member_b.id,
        "seen",
        "On Vinted too",
    )
    assert _notes(db, world.member_a) == [
        "Ben Member confirmed (seen it too) “Fake trainers shop”."
    ]


def test_second_click_of_the_same_brand_replaces(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """One mark per brand: a second click, even by a colleague, replaces the first."""
    colleague = factories.make_person(db, world.brand_b, name="Bea Colleague")
    db.commit()
    client_as(world.member_b).post(f"/intel/{report.id}/sightings", data={"kind": "seen"})
    client_as(world.member_b).post(
        f"/intel/{report.id}/sightings", data={"kind": "seen", "note": "again"}
    )
    assert len(_sightings(db, report)) == 1
    client_as(colleague).post(
        f"/intel/{report.id}/sightings", data={"kind": "disputed", "note": "It is genuine"}
    )
    [sighting] = _sightings(db, report)
    assert (sighting.kind, sighting.note, sighting.person_id) == (
        "disputed",
        "It is genuine",
        colleague.id,
    )
    page = client_as(world.member_b).get(f"/intel/{report.id}").text
    assert page.count('class="sighting sighting-') == 1
    assert "Brand B</strong> disputes it" in page


def test_two_brands_each_keep_their_mark(world: World, db: Session, client_as: ClientAs) -> None:
    """Marks of different brands live side by side."""
    clear = make_report(db, world.member_a, world.apparel, Tlp.clear, title="Public")
    client_as(world.member_b).post(f"/intel/{clear.id}/sightings", data={"kind": "seen"})
    client_as(world.member_c).post(f"/intel/{clear.id}/sightings", data={"kind": "seen"})
    marks = _sightings(db, clear)
    assert len(marks) == 2
    assert {s.brand_id for s in marks} == {world.brand_b.id, world.brand_c.id}


def test_own_brand_cannot_confirm_its_own_report(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """ "Seen it too" by the author's own brand answers 409 and records nothing; the button
    is not offered to it."""
    for person in (world.member_a, world.admin_a):
        response = client_as(person).post(f"/intel/{report.id}/sightings", data={"kind": "seen"})
        assert response.status_code == 409
        assert "other brands" in response.text
    assert _sightings(db, report) == []
    assert "Seen it too</button>" not in client_as(world.admin_a).get(f"/intel/{report.id}").text
    assert "Seen it too</button>" in client_as(world.member_b).get(f"/intel/{report.id}").text


def test_unknown_sighting_kind_is_refused(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Only "seen" and "disputed" are marks."""
    response = client_as(world.member_b).post(
        f"/intel/{report.id}/sightings", data={"kind": "liked"}
    )
    assert response.status_code == 409
    assert _sightings(db, report) == []


def test_withdraw_removes_the_brands_mark(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Withdrawing removes the brand's mark; withdrawing again is harmless."""
    browser = client_as(world.member_b)
    browser.post(f"/intel/{report.id}/sightings", data={"kind": "seen"})
    response = browser.post(f"/intel/{report.id}/sightings/withdraw", headers=HTMX)
    assert response.status_code == 200
    assert "Your brand&#39;s mark was withdrawn." in response.text
    assert "No other brand has confirmed or disputed this yet." in response.text
    assert _sightings(db, report) == []
    assert browser.post(f"/intel/{report.id}/sightings/withdraw").status_code == 303


def test_withdraw_touches_only_the_own_brands_mark(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """A brand withdrawing leaves the other brands' marks alone."""
    clear = make_report(db, world.member_a, world.apparel, Tlp.clear, title="Public")
    client_as(world.member_b).post(f"/intel/{clear.id}/sightings", data={"kind": "seen"})
    client_as(world.member_c).post(f"/intel/{clear.id}/sightings", data={"kind": "seen"})
    client_as(world.member_c).post(f"/intel/{clear.id}/sightings/withdraw")
    assert [s.brand_id for s in _sightings(db, clear)] == [world.brand_b.id]


@pytest.mark.parametrize("path", ["comments", "sightings", "sightings/withdraw", "follow"], ids=str)
def test_discussion_of_an_unreadable_report_is_404(
    world: World, db: Session, client_as: ClientAs, report: IntelReport, path: str
) -> None:
    """Someone the report is not shared with cannot comment, mark or follow it: 404."""
    response = client_as(world.member_c).post(
        f"/intel/{report.id}/{path}", data={"body": "hello", "kind": "seen"}
    )
    assert response.status_code == 404
    assert "Fake trainers shop" not in response.text
    db.expire_all()
    for model in (Comment, Sighting, Follow):
        assert db.exec(select(func.count()).select_from(model)).one() == 0


# --- the notifications page ---------------------------------------------------------------


def test_notifications_page_lists_newest_first_with_links(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """The page lists a person's notifications, newest first, each leading to its report."""
    client_as(world.member_b).post(f"/intel/{report.id}/comments", data={"body": "One"})
    client_as(world.member_b).post(f"/intel/{report.id}/sightings", data={"kind": "seen"})
    page = client_as(world.member_a).get("/notifications")
    assert page.status_code == 200
    confirmed = page.text.index("Ben Member confirmed (seen it too)")
    commented = page.text.index("Ben Member commented on")
    assert confirmed < commented
    links = re.findall(r'<a href="(/notifications/\d+)">', page.text)
    assert len(links) == 2
    assert page.text.count(">New</span>") == 2
    browser = client_as(world.member_a)
    assert {browser.get(link).headers["location"] for link in links} == {f"/intel/{report.id}"}


def test_mark_all_as_read_clears_the_unread_count(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """The header counts unread notifications; "mark all as read" brings it to nothing."""
    client_as(world.member_b).post(f"/intel/{report.id}/comments", data={"body": "One"})
    client_as(world.member_b).post(f"/intel/{report.id}/comments", data={"body": "Two"})
    browser = client_as(world.member_a)
    before = browser.get("/notifications").text
    assert 'Notifications <span class="count">2</span>' in before
    assert "Mark all as read" in before
    response = browser.post("/notifications/read")
    assert response.status_code == 303
    assert response.headers["location"] == "/notifications"
    after = browser.get("/notifications").text
    assert 'class="count"' not in after
    assert ">New</span>" not in after
    assert "Ben Member commented on" in after
    db.expire_all()
    unread = db.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.person_id == world.member_a.id, col(Notification.read_at).is_(None))
    ).one()
    assert unread == 0


def test_mark_all_as_read_leaves_others_unread(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Marking one's own notifications read does not touch anyone else's."""
    client_as(world.member_b).post(f"/intel/{report.id}/follow")
    client_as(world.admin_a).post(f"/intel/{report.id}/comments", data={"body": "One"})
    client_as(world.member_a).post("/notifications/read")
    assert 'Notifications <span class="count">1</span>' in (
        client_as(world.member_b).get("/notifications").text
    )


def test_empty_notifications_page(world: World, client_as: ClientAs) -> None:
    """With nothing to tell, the page says so and offers no button."""
    page = client_as(world.member_c).get("/notifications").text
    assert "Nothing yet." in page
    assert "Mark all as read" not in page
