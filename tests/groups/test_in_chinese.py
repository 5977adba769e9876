"""Deciding a request to join, for a coordinator who reads Simplified Chinese."""

from html import unescape

from sqlmodel import Session

from tests import factories
from tests.chinese import reads_chinese, zh
from tests.conftest import ClientAs, World


def test_join_request_decision_in_chinese(client_as: ClientAs, world: World, db: Session) -> None:
    """A coordinator who reads Chinese approves a request and is told so in Chinese."""
    join = factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    db.commit()
    browser = client_as(reads_chinese(db, world.coordinator))
    response = browser.post(
        f"/join-requests/{join.id}/approve", data={"note": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    expected = zh(
        "%(brand)s's request to join %(group)s was approved.",
        brand="Brand C",
        group="Apparel (test)",
    )
    assert expected in unescape(response.text)
