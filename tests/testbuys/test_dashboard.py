"""The dashboard's test-buy list: the five newest campaigns of the member's groups that
take sign-ups right now, chosen in SQL however many campaigns there are."""

from datetime import timedelta

from sqlmodel import Session

from hub.clock import utcnow
from hub.testbuys.models import CampaignStatus
from tests.conftest import ClientAs, World
from tests.testbuys.factories import make_campaign


def test_the_dashboard_shows_only_campaigns_taking_sign_ups_now(
    world: World, db: Session, client_as: ClientAs
) -> None:
    open_now = [
        make_campaign(db, world.coordinator, world.apparel, title=f"Open now {n}") for n in range(7)
    ]
    make_campaign(db, world.coordinator, world.apparel, title="Still a draft", status="draft")
    later = make_campaign(db, world.coordinator, world.apparel, title="Opens next week")
    later.opens_at = utcnow() + timedelta(days=7)
    ended = make_campaign(db, world.coordinator, world.apparel, title="Window over")
    ended.closes_at = utcnow() - timedelta(hours=1)
    closed = make_campaign(db, world.coordinator, world.apparel, title="Closed early")
    closed.status = CampaignStatus.closed
    db.add_all([later, ended, closed])
    make_campaign(db, world.alliance_admin, world.toys, title="Toys sector campaign")
    db.commit()

    page = client_as(world.member_a).get("/").text
    shown = [c.title for c in open_now if c.title in page]
    # The five newest of the seven (same opening time: the higher id is newer).
    assert shown == [f"Open now {n}" for n in range(2, 7)]
    for hidden in ("Still a draft", "Opens next week", "Window over", "Closed early"):
        assert hidden not in page
    assert "Toys sector campaign" not in page
