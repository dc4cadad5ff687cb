"""The unit of work: one transaction over every repository, rolled back unless committed.

    with uow:
        uow.patients.add(patient)
        uow.audit.add(event)
        uow.commit()          # without this line, nothing is written

`run_in_transaction` retries a whole unit of work when the database says it is busy
(another writer holds the lock past the busy timeout, or PostgreSQL reports a
serialization failure or deadlock), so users see a wait, never that error.
"""

from __future__ import annotations

import abc
import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backmice.errors import DatabaseBusy
from backmice.records import domain
from backmice.records.repository import (
    AbstractAuditLog,
    AbstractRepository,
    FakeAuditLog,
    FakeRepository,
    SqlAlchemyAuditLog,
    SqlAlchemyRepository,
)

__all__ = [
    "AbstractUnitOfWork",
    "FakeUnitOfWork",
    "ReadOnlyUnitOfWork",
    "SqlAlchemyUnitOfWork",
    "run_in_transaction",
]

R = TypeVar("R")

#: Attribute name -> domain class, for every repository a unit of work offers.
REPOSITORIES: dict[str, type[Any]] = {
    "patients": domain.Patient,
    "nodules": domain.Nodule,
    "nodule_sizes": domain.NoduleSize,
    "encounters": domain.Encounter,
    "assessments": domain.Assessment,
    "pain_scores": domain.PainScore,
    "injection_tests": domain.InjectionTest,
    "treatments": domain.Treatment,
    "notes": domain.Note,
    "outcome_scores": domain.OutcomeScore,
    "plan_decisions": domain.PlanDecision,
    "users": domain.User,
    "sessions": domain.Session,
    "login_attempts": domain.LoginAttempt,
}


class AbstractUnitOfWork(abc.ABC):
    """Repositories sharing one transaction."""

    patients: AbstractRepository[domain.Patient]
    nodules: AbstractRepository[domain.Nodule]
    nodule_sizes: AbstractRepository[domain.NoduleSize]
    encounters: AbstractRepository[domain.Encounter]
    assessments: AbstractRepository[domain.Assessment]
    pain_scores: AbstractRepository[domain.PainScore]
    injection_tests: AbstractRepository[domain.InjectionTest]
    treatments: AbstractRepository[domain.Treatment]
    notes: AbstractRepository[domain.Note]
    outcome_scores: AbstractRepository[domain.OutcomeScore]
    plan_decisions: AbstractRepository[domain.PlanDecision]
    users: AbstractRepository[domain.User]
    sessions: AbstractRepository[domain.Session]
    login_attempts: AbstractRepository[domain.LoginAttempt]
    audit: AbstractAuditLog

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None:
        """Make every change of this unit of work durable, at once."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Forget every uncommitted change."""

    def flush(self) -> None:  # noqa: B027 - optional hook; fakes need nothing
        """Send pending changes to the database inside the transaction (ids, constraints)."""


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """A unit of work over one SQLAlchemy session."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        for name, cls in REPOSITORIES.items():
            setattr(self, name, SqlAlchemyRepository(self.session, cls))
        self.audit = SqlAlchemyAuditLog(self.session)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        if exc_type is None and not (session.new or session.dirty or session.deleted):
            # a read that did not commit: detach what it loaded, so the caller can still
            # use it after the rollback below (which would otherwise expire it)
            session.expunge_all()
        super().__exit__(exc_type, exc, tb)
        session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()


class ReadOnlyUnitOfWork(SqlAlchemyUnitOfWork):
    """A unit of work over a read-only engine (`RecordStore.read`): it cannot commit, so
    whatever its work changes is rolled back when it ends."""

    def commit(self) -> None:
        raise RuntimeError("a read-only unit of work cannot commit: use RecordStore.run")


class FakeUnitOfWork(AbstractUnitOfWork):
    """In-memory repositories; records whether (and how often) it committed. For unit tests."""

    def __init__(self) -> None:
        for name, cls in REPOSITORIES.items():
            setattr(self, name, FakeRepository(cls))
        self.audit = FakeAuditLog()
        self.committed = False
        self.commits = 0

    def commit(self) -> None:
        self.committed = True
        self.commits += 1

    def rollback(self) -> None:
        pass


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _is_busy(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    code = getattr(exc.orig, "sqlstate", None)
    return "database is locked" in text or "database is busy" in text or code in ("40001", "40P01")


def run_in_transaction(
    make_uow: Callable[[], AbstractUnitOfWork],
    work: Callable[[AbstractUnitOfWork], R],
    attempts: int = 10,
) -> R:
    """Run `work` in a fresh unit of work, again from the start while the database is busy."""
    for attempt in range(1, attempts + 1):
        try:
            with make_uow() as uow:
                return work(uow)
        except DBAPIError as exc:
            if not _is_busy(exc):
                raise
            if attempt == attempts:
                raise DatabaseBusy(
                    f"the database stayed busy through {attempts} attempts; nothing was written"
                ) from None
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")  # pragma: no cover
