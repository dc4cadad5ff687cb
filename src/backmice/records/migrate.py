"""Bring a database's schema to the latest Alembic revision (never `create_all`)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

__all__ = [
    "current_revision",
    "downgrade",
    "downgrade_on",
    "head_revision",
    "upgrade",
    "upgrade_on",
]


def _config() -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("backmice.records") / "migrations")
    )
    return config


def head_revision() -> str:
    """The newest revision the package knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    return str(head)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it has no schema yet)."""
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        connection.rollback()
        return revision


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision`, in one transaction."""
    with engine.begin() as connection:
        upgrade_on(connection, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to `revision` ('base' removes the whole schema)."""
    with engine.begin() as connection:
        downgrade_on(connection, revision)


def upgrade_on(connection: Connection, revision: str = "head") -> None:
    """`upgrade` inside the caller's transaction."""
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def downgrade_on(connection: Connection, revision: str) -> None:
    """`downgrade` inside the caller's transaction."""
    config = _config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)
