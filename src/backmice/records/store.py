"""`RecordStore`: one database, migrated, handing out units of work.

store = RecordStore.open(load_settings().database_url)   # runs `upgrade head`
patient = store.run(lambda uow: register_patient(uow, actor, ...))
user = store.read(lambda uow: uow.users.get(user_id))     # reads only: no write lock
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine

from backmice.records import domain, migrate, session_reads
from backmice.records.database import is_sqlite, open_engine, read_only
from backmice.records.orm import map_domain
from backmice.records.unit_of_work import (
    AbstractUnitOfWork,
    ReadOnlyUnitOfWork,
    SqlAlchemyUnitOfWork,
    run_in_transaction,
    session_factory,
)

__all__ = ["RecordStore"]

R = TypeVar("R")


class RecordStore:
    """The record database: SQLite by default, PostgreSQL by URL."""

    def __init__(self, engine: Engine) -> None:
        map_domain()
        self.engine = engine
        self._sessions = session_factory(engine)
        self._read_engine = read_only(engine)
        self._read_sessions = session_factory(self._read_engine)

    @classmethod
    def open(cls, url: str, upgrade: bool = True) -> RecordStore:
        """Open the database at `url` and bring its schema to the newest revision."""
        store = cls(open_engine(url))
        if upgrade and migrate.current_revision(store.engine) != migrate.head_revision():
            migrate.upgrade(store.engine)
        return store

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite database."""
        return is_sqlite(str(self.engine.url))

    def unit_of_work(self) -> AbstractUnitOfWork:
        """A new unit of work (use it in a `with` block)."""
        return SqlAlchemyUnitOfWork(self._sessions)

    def run(self, work: Callable[[AbstractUnitOfWork], R]) -> R:
        """Run one use case in its own transaction, retried while the database is busy."""
        return run_in_transaction(self.unit_of_work, work)

    def read(self, work: Callable[[AbstractUnitOfWork], R]) -> R:
        """Run work that only reads, in a transaction that cannot write: it takes no lock
        on SQLite (so it never waits for a writer to commit) and is READ ONLY on
        PostgreSQL. Reading a record is audited, so this is for what is not a record,
        or for reads whose service call audits them (the web app's access checks on
        a patient in the path, which the route's service call then audits). Its unit
        of work refuses to commit."""
        return run_in_transaction(lambda: ReadOnlyUnitOfWork(self._read_sessions), work)

    def session_and_user(self, session_id: str) -> tuple[domain.Session, domain.User | None] | None:
        """A web session and its user, in one read-only query (`session_reads`): the
        check every web request makes, kept off the unit-of-work path."""
        return session_reads.session_and_user(self._read_engine, session_id)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()
