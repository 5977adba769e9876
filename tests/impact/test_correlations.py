"""A report remembers whether it matched another brand's earlier report when it was posted,
edited or imported into: the impact figures count those, without comparing every report's
indicators on each count."""

from sqlmodel import Session

from hub.intel import service
from hub.intel.models import IntelReport, Tlp
from tests.conftest import World
from tests.intel.factories import actor_of, make_report

SELLER = ("shop_name", "Lucky Star Trading")


def _correlated(db: Session, report: IntelReport) -> bool:
    db.expire_all()
    fresh = db.get(IntelReport, report.id)
    assert fresh is not None
    return fresh.correlated


def test_a_match_with_another_brands_earlier_report_is_remembered(
    db: Session, world: World
) -> None:
    first = make_report(db, world.member_a, world.apparel, Tlp.green, indicators=[SELLER])
    same_brand = make_report(db, world.admin_a, world.apparel, Tlp.green, indicators=[SELLER])
    other_brand = make_report(db, world.member_b, world.apparel, Tlp.amber, indicators=[SELLER])
    assert not _correlated(db, first)
    assert not _correlated(db, same_brand)
    assert _correlated(db, other_brand)


def test_a_match_with_a_red_strict_or_other_groups_amber_report_is_its_secret(
    db: Session, world: World
) -> None:
    make_report(
        db, world.member_a, world.apparel, Tlp.red, indicators=[SELLER], recipients=[world.member_b]
    )
    make_report(db, world.member_a, world.apparel, Tlp.amber_strict, indicators=[SELLER])
    make_report(db, world.member_a, world.apparel, Tlp.amber, indicators=[SELLER])
    later = make_report(db, world.member_c, world.toys, Tlp.clear, indicators=[SELLER])
    assert not _correlated(db, later)  # toys may not know of apparel's AMBER report either


def test_an_edit_naming_the_seller_finds_the_match(db: Session, world: World) -> None:
    make_report(db, world.member_a, world.apparel, Tlp.green, indicators=[SELLER])
    later = make_report(
        db, world.member_b, world.apparel, Tlp.green, indicators=[("phone", "+8613800138000")]
    )
    assert not _correlated(db, later)
    actor = actor_of(db, world.member_b)
    form = service.form_of(db, later)
    form.indicators = [*form.indicators, SELLER]
    service.update_report(db, actor, later, form)
    assert _correlated(db, later)
