"""Alembic environment: every model imported, the URL taken from the hub's settings."""

from alembic import context
from sqlalchemy import Connection

from hub.config import get_settings
from hub.db import make_engine, managed_by_alembic
from hub.models import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=managed_by_alembic,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(get_settings())
    with engine.connect() as new_connection:
        run(new_connection)
    engine.dispose()
