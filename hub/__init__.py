"""Alliance Hub: the members-only platform of an anti-counterfeiting alliance."""

from pathlib import Path

from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parent.parent

# Named constraints, set before any table is defined, so later migrations can alter them
# by name (SQLite's batch mode needs the names).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
