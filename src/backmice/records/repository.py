"""Repositories: collections of domain objects, kept apart from how they are stored.

One generic repository serves every kind of record; `SqlAlchemyRepository` stores
through a session, `FakeRepository` (tests) in a dict. Audit events have their own
append-only log with no way to change or remove an entry.

Besides domain objects, a repository hands out plain field dicts (`fields_where`,
`fields_where_in`, `fields_for_patient`) for reads that only show records: the same
records, values and order, without building an object per row (SQLAlchemy reads them
with a Core select, skipping the identity map; a patient's timeline can be a thousand
rows).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Hashable, Iterable
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Select, Table, and_, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from backmice.records import domain
from backmice.records.orm import TABLES

__all__ = [
    "AbstractAuditLog",
    "AbstractRepository",
    "FakeAuditLog",
    "FakeRepository",
    "SqlAlchemyAuditLog",
    "SqlAlchemyRepository",
]

T = TypeVar("T")

#: The timestamp each kind of record is ordered by.
_TIME_COLUMN = {
    domain.Patient: "created_at",
    domain.Nodule: "created_at",
    domain.NoduleSize: "measured_at",
    domain.Encounter: "occurred_at",
    domain.Assessment: "assessed_at",
    domain.PainScore: "recorded_at",
    domain.InjectionTest: "performed_at",
    domain.Treatment: "performed_at",
    domain.Note: "written_at",
    domain.User: "created_at",
}


class AbstractRepository(abc.ABC, Generic[T]):
    """A collection of one kind of record."""

    @abc.abstractmethod
    def add(self, item: T) -> None:
        """Add a new record (written when the unit of work commits)."""

    def delete(self, item: T) -> None:
        """Remove a record (for sessions and other non-clinical rows; clinical records
        change status instead of disappearing)."""
        raise NotImplementedError

    @abc.abstractmethod
    def get(self, item_id: str) -> T | None:
        """The record with this id, or None."""

    @abc.abstractmethod
    def where(self, **equals: Any) -> list[T]:
        """Records whose attributes equal the given values, oldest first."""

    @abc.abstractmethod
    def where_in(self, field: str, values: Iterable[Any]) -> list[T]:
        """Records whose `field` is one of `values`, oldest first."""

    @abc.abstractmethod
    def add_many(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert many records given as column dicts at once (bulk loads); returns the count."""

    @abc.abstractmethod
    def search(
        self, text: str, limit: int, offset: int, clinic: str | None = None
    ) -> tuple[list[T], int]:
        """Records whose name or identifier contains `text` (patients), in `clinic` when
        given, and the total."""

    def for_patient(self, patient_id: str) -> list[T]:
        """Every record of one patient, oldest first."""
        return self.where(patient_id=patient_id)

    def fields_where(self, **equals: Any) -> list[dict[str, Any]]:
        """`where`, each record as a dict of its fields in the class's order."""
        return [field_values(item) for item in self.where(**equals)]

    def fields_where_in(self, field: str, values: Iterable[Any]) -> list[dict[str, Any]]:
        """`where_in`, each record as a dict of its fields in the class's order."""
        return [field_values(item) for item in self.where_in(field, values)]

    def fields_for_patient(self, patient_id: str) -> list[dict[str, Any]]:
        """`for_patient`, each record as a dict of its fields in the class's order."""
        return self.fields_where(patient_id=patient_id)


def field_values(item: object) -> dict[str, Any]:
    """A domain object's fields as a dict, in the order the class declares them."""
    return {name: getattr(item, name) for name in field_names(type(item))}


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The fields of a domain class, in declaration order."""
    return _field_names(cast(Hashable, cls))  # a class is hashable; typeshed disagrees


@functools.cache
def _field_names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


#: Rows fetched at a time by the field reads.
_ROWS_AT_ONCE = 256


class SqlAlchemyRepository(AbstractRepository[T]):
    """Records stored through a SQLAlchemy session."""

    def __init__(self, session: Session, cls: type[T]) -> None:
        self.session = session
        self.cls = cls
        self.table = TABLES[cls]

    def add(self, item: T) -> None:
        self.session.add(item)

    def delete(self, item: T) -> None:
        self.session.delete(item)

    def get(self, item_id: str) -> T | None:
        return self.session.get(self.cls, item_id)

    def where(self, **equals: Any) -> list[T]:
        query = select(self.cls).filter_by(**equals)
        time_column = _TIME_COLUMN.get(self.cls)
        if time_column:
            query = query.order_by(self.table.c[time_column], self.table.c.id)
        return list(self.session.scalars(query))

    def where_in(self, field: str, values: Iterable[Any]) -> list[T]:
        wanted = list(values)
        if not wanted:
            return []
        query = select(self.cls).where(self.table.c[field].in_(wanted))
        time_column = _TIME_COLUMN.get(self.cls)
        if time_column:
            query = query.order_by(self.table.c[time_column], self.table.c.id)
        return list(self.session.scalars(query))

    def add_many(self, rows: Iterable[dict[str, Any]]) -> int:
        batch = list(rows)
        if batch:
            self.session.execute(self.table.insert(), batch)
        return len(batch)

    def fields_where(self, **equals: Any) -> list[dict[str, Any]]:
        shape = tuple((name, value is None) for name, value in equals.items())
        params = {name: value for name, value in equals.items() if value is not None}
        return self._fields(_select_where(*self._shape(), shape), params)

    def fields_where_in(self, field: str, values: Iterable[Any]) -> list[dict[str, Any]]:
        wanted = list(values)
        if not wanted:
            return []
        array = self.session.get_bind().dialect.name == "postgresql"
        query = _select_where_in(*self._shape(), field, array)
        return self._fields(query, {"values": wanted})

    def _shape(self) -> tuple[Table, tuple[str, ...], str | None]:
        return self.table, field_names(self.cls), _TIME_COLUMN.get(self.cls)

    def _fields(self, query: Select[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.session.autoflush:  # as an ORM query would: see this transaction's changes
            self.session.flush()
        names = field_names(self.cls)
        result = self.session.execute(query, params)
        fields: list[dict[str, Any]] = []
        # a few hundred rows at a time: only those are ever held as rows beside their
        # dicts (half the objects alive at once, so half the garbage collections)
        while rows := result.fetchmany(_ROWS_AT_ONCE):
            fields += [dict(zip(names, row, strict=True)) for row in rows]
        return fields

    def search(
        self, text: str, limit: int, offset: int, clinic: str | None = None
    ) -> tuple[list[T], int]:
        """Patients whose name or identifier contains `text` (any case), and the total."""
        table = self.table
        condition = or_(
            func.lower(table.c.name).contains(text.lower()),
            func.lower(table.c.identifier).contains(text.lower()),
        )
        if clinic is not None:
            condition = and_(condition, table.c.clinic == clinic)
        total = self.session.scalar(select(func.count()).select_from(table).where(condition))
        query = (
            select(self.cls).where(condition).order_by(table.c.name, table.c.id).limit(limit)
        ).offset(offset)
        return list(self.session.scalars(query)), int(total or 0)


def _fields_of(table: Table, names: tuple[str, ...], time_column: str | None) -> Select[Any]:
    query = select(*(table.c[name] for name in names))
    return query.order_by(table.c[time_column], table.c.id) if time_column else query


@functools.cache
def _select_where(
    table: Table,
    names: tuple[str, ...],
    time_column: str | None,
    shape: tuple[tuple[str, bool], ...],
) -> Select[Any]:
    """`where` as a Core select of the fields `names`, built once per shape: the columns
    compared, and which of them with None (IS NULL, as `filter_by` does)."""
    return _fields_of(table, names, time_column).where(
        *(
            table.c[name].is_(None) if is_none else table.c[name] == bindparam(name)
            for name, is_none in shape
        )
    )


@functools.cache
def _select_where_in(
    table: Table, names: tuple[str, ...], time_column: str | None, field: str, array: bool
) -> Select[Any]:
    """`where_in` as a Core select of the fields `names`, built once per field. With
    `array` (PostgreSQL) the values go as one array, `field = ANY(:values)`: the same
    statement however many there are (an IN list of 500 ids is 500 parameters, which
    are rendered and parsed again on every read)."""
    column = table.c[field]
    if array:
        condition = column == any_(bindparam("values", type_=ARRAY(column.type)))
    else:
        condition = column.in_(bindparam("values", expanding=True))
    return _fields_of(table, names, time_column).where(condition)


class FakeRepository(AbstractRepository[T]):
    """Records in a dict: for unit tests that need no database."""

    def __init__(self, cls: type[T]) -> None:
        self.cls = cls
        self.items: dict[str, T] = {}

    def add(self, item: T) -> None:
        self.items[item.id] = item  # type: ignore[attr-defined]

    def delete(self, item: T) -> None:
        self.items.pop(item.id)  # type: ignore[attr-defined]

    def get(self, item_id: str) -> T | None:
        return self.items.get(item_id)

    def where(self, **equals: Any) -> list[T]:
        found = [
            i for i in self.items.values() if all(getattr(i, k) == v for k, v in equals.items())
        ]
        time_column = _TIME_COLUMN.get(self.cls)
        if time_column:
            found.sort(key=lambda i: (getattr(i, time_column), i.id))  # type: ignore[attr-defined]
        return found

    def where_in(self, field: str, values: Iterable[Any]) -> list[T]:
        wanted = set(values)
        found = [i for i in self.items.values() if getattr(i, field) in wanted]
        time_column = _TIME_COLUMN.get(self.cls)
        if time_column:
            found.sort(key=lambda i: (getattr(i, time_column), i.id))  # type: ignore[attr-defined]
        return found

    def add_many(self, rows: Iterable[dict[str, Any]]) -> int:
        count = 0
        for row in rows:
            self.add(self.cls(**row))
            count += 1
        return count

    def search(
        self, text: str, limit: int, offset: int, clinic: str | None = None
    ) -> tuple[list[T], int]:
        needle = text.lower()
        found = sorted(
            (
                i
                for i in self.items.values()
                if (needle in i.name.lower() or needle in i.identifier.lower())  # type: ignore[attr-defined]
                and (clinic is None or i.clinic == clinic)  # type: ignore[attr-defined]
            ),
            key=lambda i: (i.name, i.id),  # type: ignore[attr-defined]
        )
        return found[offset : offset + limit], len(found)


class AbstractAuditLog(abc.ABC):
    """The append-only audit trail: add and read, nothing else."""

    @abc.abstractmethod
    def add(self, event: domain.AuditEvent) -> None:
        """Append one event."""

    @abc.abstractmethod
    def for_patient(self, patient_id: str) -> list[domain.AuditEvent]:
        """Every event about one patient's record, oldest first."""

    @abc.abstractmethod
    def count(self) -> int:
        """How many events there are."""

    @abc.abstractmethod
    def add_many(self, rows: Iterable[dict[str, Any]]) -> int:
        """Append many events given as column dicts at once (bulk loads); returns the count."""


class SqlAlchemyAuditLog(AbstractAuditLog):
    """The audit trail in the `audit_events` table (triggers refuse updates and deletes)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, event: domain.AuditEvent) -> None:
        self.session.add(event)

    def for_patient(self, patient_id: str) -> list[domain.AuditEvent]:
        table = TABLES[domain.AuditEvent]
        query = (
            select(domain.AuditEvent)
            .filter_by(patient_id=patient_id)
            .order_by(table.c.occurred_at, table.c.id)
        )
        return list(self.session.scalars(query))

    def count(self) -> int:
        table = TABLES[domain.AuditEvent]
        return int(self.session.scalar(select(func.count()).select_from(table)) or 0)

    def add_many(self, rows: Iterable[dict[str, Any]]) -> int:
        batch = list(rows)
        if batch:
            self.session.execute(TABLES[domain.AuditEvent].insert(), batch)
        return len(batch)


class FakeAuditLog(AbstractAuditLog):
    """The audit trail in a list, for unit tests."""

    def __init__(self) -> None:
        self.events: list[domain.AuditEvent] = []

    def add(self, event: domain.AuditEvent) -> None:
        event.id = len(self.events) + 1
        self.events.append(event)

    def for_patient(self, patient_id: str) -> list[domain.AuditEvent]:
        return [e for e in self.events if e.patient_id == patient_id]

    def count(self) -> int:
        return len(self.events)

    def add_many(self, rows: Iterable[dict[str, Any]]) -> int:
        count = 0
        for row in rows:
            self.add(domain.AuditEvent(**row))
            count += 1
        return count
