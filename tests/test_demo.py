"""The demo data is what the README promises, and loading it twice changes nothing."""

from pathlib import Path

from sqlmodel import Session, col, func, select

from hub.config import Settings
from hub.db import make_engine, upgrade_database
from hub.demo import load_demo_data
from hub.groups.models import Coordinator, GroupMembership, WorkingGroup
from hub.intel.models import Evidence, Indicator, IntelReport
from hub.members.models import Brand, OrgKind, Person, Role
from tests.databases import throwaway_database


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_demo_data_is_complete_and_idempotent(tmp_path: Path) -> None:
    """Twelve groups, ~30 brands from 10+ countries, every role, reports that correlate."""
    with throwaway_database(tmp_path) as url:
        settings = Settings(database_url=url, upload_dir=str(tmp_path / "uploads"))
        engine = make_engine(settings)
        try:
            upgrade_database(engine)
            with Session(engine) as session:
                load_demo_data(session, settings)
                counts = {m.__name__: _count(session, m) for m in (Brand, Person, IntelReport)}
                load_demo_data(session, settings)
                assert counts == {
                    m.__name__: _count(session, m) for m in (Brand, Person, IntelReport)
                }

                assert _count(session, WorkingGroup) == 12
                brands = session.exec(select(Brand).where(Brand.kind == OrgKind.brand)).all()
                assert 25 <= len(brands) <= 40
                assert len({brand.country for brand in brands}) >= 10
                assert all(brand.slug.replace("-", "").isalnum() for brand in brands)
                roles = set(session.exec(select(Person.role)).all())
                assert roles == {Role.member, Role.brand_admin, Role.alliance_admin}
                assert 80 <= counts["Person"] <= 130
                coordinated = set(session.exec(select(Coordinator.group_id)).all())
                assert len(coordinated) == 12
                per_brand = session.exec(
                    select(GroupMembership.brand_id, func.count()).group_by(
                        col(GroupMembership.brand_id)
                    )
                ).all()
                assert all(1 <= n <= 3 for _, n in per_brand)

                assert counts["IntelReport"] >= 200
                photos = session.exec(select(Evidence)).all()
                assert len(photos) >= 30
                assert all(
                    (tmp_path / "uploads" / p.sha256[:2] / p.sha256).is_file() for p in photos
                )
                shared = session.exec(
                    select(Indicator.normalised)
                    .join(IntelReport, col(IntelReport.id) == Indicator.report_id)
                    .group_by(col(Indicator.normalised))
                    .having(func.count(func.distinct(IntelReport.brand_id)) >= 2)
                ).all()
                assert len(shared) >= 20, "indicators should correlate across brands"
        finally:
            engine.dispose()
