"""The Alembic revisions build exactly the schema the models describe."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from hub.config import Settings
from hub.db import alembic_config, make_engine, managed_by_alembic, upgrade_database
from hub.models import metadata
from tests.databases import throwaway_database


def test_upgrade_head_matches_models(engine: Engine) -> None:
    """After `upgrade head` on an empty database, autogenerate finds nothing to change."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": managed_by_alembic}
        )
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_base_and_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every revision can be undone, and the schema rebuilt from nothing."""
    with throwaway_database(tmp_path) as url:
        engine = make_engine(Settings(database_url=url))
        try:
            upgrade_database(engine)
            with engine.begin() as connection:
                command.downgrade(alembic_config(connection), "base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            upgrade_database(engine)
            assert "person" in inspect(engine).get_table_names()
        finally:
            engine.dispose()
