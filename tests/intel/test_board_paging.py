"""Paging a board with pinned reports: every report shows exactly once, pinned ones on the
first page, the others newest first after them, even when pinned ones fill a page."""

import pytest
from sqlmodel import Session

from hub.intel import service
from hub.intel.models import IntelReport, Tlp
from tests.conftest import World
from tests.intel.factories import actor_of, make_report


def _walk(db: Session, world: World) -> list[list[str]]:
    actor = actor_of(db, world.member_a)
    pages, before = [], None
    while True:
        page = service.board_page(db, actor, world.apparel, service.BoardFilters(before=before))
        pages.append([card.report.title for card in page.cards])
        if page.next_before is None:
            return pages
        before = page.next_before


def _board(db: Session, world: World, pinned: set[int], count: int) -> list[IntelReport]:
    reports = [
        make_report(db, world.member_a, world.apparel, Tlp.green, title=f"R{n}")
        for n in range(count)
    ]
    for n in pinned:
        reports[n].pinned = True
        db.add(reports[n])
    db.commit()
    return reports


@pytest.mark.parametrize(
    ("pinned", "expected"),
    [
        ({1}, [["R1", "R6", "R5", "R4"], ["R3", "R2", "R0"]]),
        ({0, 2, 4, 6}, [["R6", "R4", "R2", "R0"], ["R5", "R3", "R1"]]),
        ({0, 1, 2, 3}, [["R3", "R2", "R1", "R0"], ["R6", "R5", "R4"]]),
    ],
)
def test_every_report_shows_once_pinned_first(
    db: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    pinned: set[int],
    expected: list[list[str]],
) -> None:
    monkeypatch.setattr(service, "PAGE_SIZE", 4)
    _board(db, world, pinned, 7)

    assert _walk(db, world) == expected
