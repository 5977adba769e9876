"""Who may post where through the API, as /groups tells it, and what a brand token may
not post."""

from sqlmodel import Session, select

from hub.api.models import TokenKind
from hub.intel.models import IntelReport
from tests.api.conftest import ApiAs
from tests.api.factories import V1, problem_of
from tests.conftest import World


def test_groups_say_where_the_caller_may_post(world: World, api_as: ApiAs) -> None:
    member = {g["slug"]: g for g in api_as(world.member_a).get(f"{V1}/groups").json()}
    coordinator = {g["slug"]: g for g in api_as(world.coordinator).get(f"{V1}/groups").json()}

    assert (member["apparel-t"]["member"], member["apparel-t"]["can_post"]) == (True, True)
    assert "toys-t" not in member
    # The coordinator's organisation is not in the group, yet they post to its board.
    assert (coordinator["apparel-t"]["member"], coordinator["apparel-t"]["can_post"]) == (
        False,
        True,
    )


def test_a_brand_token_cannot_post_tlp_red(db: Session, world: World, api_as: ApiAs) -> None:
    tool = api_as(world.admin_a, kind=TokenKind.brand)

    refused = tool.post(
        f"{V1}/reports",
        json={
            "group": "apparel-t",
            "title": "For two people only",
            "tlp": "red",
            "recipients": [world.member_a.email],
            "indicators": [{"kind": "seller_id", "value": "red-1"}],
        },
    )

    body = problem_of(refused, 422, "invalid")
    assert "personal token" in body["errors"]["tlp"]
    assert (
        db.exec(select(IntelReport).where(IntelReport.title == "For two people only")).all() == []
    )
