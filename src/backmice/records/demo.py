"""A synthetic demo cohort: realistic-looking records for demonstrations and benchmarks.

`generate_cohort` fills a record store with made-up patients who have back mice
(episacral lipoma) or one of their look-alikes: nodules on the posterior body map with
their size histories, visits over one to nine months, pain scores (at visits and in a
home diary, several a day on some days), diagnostic injection tests, treatments along
the usual steps of care, short generic notes and one engine assessment each. Nobody in
it is real: first names come from a small built-in list, surnames are invented, and
every clinic identifier starts with ``DEMO-``.

Why it exists: to show the record with something in it, and to measure the database
at the size a busy clinic reaches (100,000 patients, about a million pain scores),
which the one-record-at-a-time services would take hours to write. So the rows are
built here and written in bulk, `batch_size` patients per transaction, each patient's
audit event in the same transaction as its data: as the database driver takes them
(each value as its column's SQLAlchemy bind processor makes it, JSON serialized once
by orjson to UTF-8 bytes), by executemany on SQLite and by COPY on PostgreSQL. They
read back, and are stored, exactly as rows inserted through the repositories would be
(a test compares the two). Every row is one the services would accept: NRS scores
are whole numbers from 0 to 10, kinds come from the allowed lists, nodules lie on the
map where their region and side say, sizes are above 0 and at most 50 cm, injection
tests are read by `read_injection_test`, assessments are `Engine.assess` results of a
case built from the patient's findings, and every timestamp is timezone-aware UTC and
before `start` (never in the future).

The cohort is deterministic: each patient draws from its own random stream, seeded by
(seed, patient number), so one seed gives the same ids and values whatever the batch
size and whether or not a worker process builds the rows. Only the audit events carry
the real time they were written, because that is what an audit trail records.

Speed: building and encoding a patient (above all the engine assessment) costs more
than writing it, so for large cohorts worker processes, one per core, build the next
batches while this one writes (`parallel`). A batch crosses to the writer as tuples of
plain values and JSON bytes, which unpickle several times faster than the nested
result dicts (and bytes, unlike text, cross without being re-encoded); on SQLite the
results are already compressed as the database keeps them (`records/stored_json.py`).
The engine assesses each case on its own (`Engine.assess`), not in vectorised batches:
batched scoring was about a fifth faster for the engine but its numbers differ from a
single assessment's in the last bits and depend on which cases share a batch, which
would make the cohort depend on `batch_size`.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import gc
import multiprocessing
import operator
import os
import pickle
import queue
import random
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any

import orjson
from psycopg.types.json import Json, Jsonb
from sqlalchemy import JSON, Connection, Dialect, Table, text
from sqlalchemy.types import TypeEngine

from backmice.care.injection_test import read_injection_test
from backmice.engine import Engine
from backmice.errors import BackmiceError, InvalidRecord, Problem, RecordConflict
from backmice.knowledge import default_knowledge
from backmice.knowledge.model import KnowledgeBase
from backmice.records import domain, stored_json
from backmice.records.body_map import suggest
from backmice.records.orm import TABLES, CompressedJSON, UTCDateTime
from backmice.records.store import RecordStore
from backmice.records.unit_of_work import REPOSITORIES, AbstractUnitOfWork, SqlAlchemyUnitOfWork

__all__ = ["DEFAULT_START", "CohortSummary", "generate_cohort", "patient_identifier"]

#: The default time the cohort is dated back from: every record happened before it.
DEFAULT_START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
_EARLIEST_START = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)

_FEMALE_NAMES = (
    "Ada", "Alma", "Bea", "Cora", "Dora", "Edie", "Faye", "Greta", "Hana", "Ines",
    "Jun", "Kira", "Lena", "Mira", "Nora", "Olga", "Pia", "Rosa", "Sana", "Tove",
)  # fmt: skip
_MALE_NAMES = (
    "Aldo", "Bram", "Cyril", "Dev", "Emil", "Finn", "Goran", "Hugo", "Ivo", "Jonas",
    "Kai", "Lars", "Milo", "Nils", "Otto", "Per", "Rafe", "Sven", "Theo", "Umar",
)  # fmt: skip
_OTHER_NAMES = ("Alex", "Robin", "Sam", "Kim", "Noor", "Sasha")
#: Invented surnames, so that no demo record can be taken for a real person's.
_SURNAMES = (
    "Demoford", "Samplewood", "Testerby", "Fictonen", "Mockridge", "Placeholm",
    "Exampleton", "Dummark", "Synthwell", "Pretendal", "Stubbings", "Fakenham-Doe",
    "Protovic", "Madeupson", "Notreal", "Imaginez",
)  # fmt: skip
_CLINICIANS = (
    "Dr A. Demo",
    "Dr B. Sample",
    "Nurse C. Example",
    "Dr D. Placeholder",
    "Physio E. Testcase",
)
_NOTES = (
    "Reviewed today. Advice on seating and avoiding pressure on the lumps given.",
    "Discussed the likely benign nature of the nodules and the options for treatment.",
    "Follow-up arranged. To keep the pain diary going until the next visit.",
    "Examined lying prone. Tender mobile nodules as marked on the body map.",
    "Pain diary reviewed together; pattern as recorded.",
    "Explained the diagnostic injection test and what a positive result means.",
    "Self-care continued: heat, a cushion when sitting, simple analgesia.",
    "Sleeping better. Plan unchanged.",
)
_AGENTS = ("lidocaine 1%", "lidocaine 2%", "bupivacaine 0.25%")
_CONSISTENCY = ("rubbery", "rubbery", "rubbery", "soft", "firm")

#: Region -> share of nodules, and a box (x_low, x_high, y_low, y_high) on the person's
#: LEFT side (x < 50 seen from behind; the right side mirrors it, x -> 100 - x) that
#: holds the region; a point is drawn in the box until the body map
#: (`records.body_map.suggest`) places it in the region, so the dots sit where the
#: drawn landmarks say.
_REGION_WEIGHTS = (
    ("posterior_iliac_crest", 0.42),
    ("sacroiliac", 0.25),
    ("lumbar_paraspinal", 0.16),
    ("lumbosacral", 0.07),
    ("buttock", 0.08),
    ("flank", 0.02),
)
_REGION_BOX = {
    "posterior_iliac_crest": (14.0, 44.0, 38.0, 64.0),
    "sacroiliac": (38.0, 45.0, 60.0, 75.0),
    "lumbar_paraspinal": (36.0, 46.0, 15.0, 48.0),
    "lumbosacral": (43.0, 48.5, 52.0, 64.0),
    "buttock": (18.0, 42.0, 74.0, 94.0),
    "flank": (6.0, 30.0, 8.0, 50.0),
}
_REGIONS = tuple(r for r, _ in _REGION_WEIGHTS)
_REGION_CUM = tuple(
    sum(w for _, w in _REGION_WEIGHTS[: i + 1]) for i in range(len(_REGION_WEIGHTS))
)
#: Where the pain sits for people without a lump (the look-alikes).
_NO_LUMP_LOCATIONS = ("sacroiliac", "lumbar_paraspinal", "posterior_iliac_crest", "buttock")
#: Nodules of a typical patient, 0-6 (a few percent have many: `_MANY_NODULES_SHARE`).
_NODULE_CUM = (0.16, 0.42, 0.66, 0.80, 0.90, 0.96, 1.0)
_MANY_NODULES_SHARE = 0.03
#: Visits, 1-6.
_ENCOUNTER_CUM = (0.18, 0.43, 0.65, 0.80, 0.92, 1.0)
#: SQLite settings while loading, put back afterwards. Random UUID keys spread each
#: batch over every index page: with the default 2 MB page cache (`cache_size`, in KiB
#: when negative) the load slows down as the tables grow; and copying the write-ahead
#: log into the database after every batch (`wal_autocheckpoint`, in pages) rewrote
#: index pages that the next batch dirties again, so it is copied every 1 GB of log
#: (and at the end of the load). Every commit is still on disk before it returns.
_BULK_PRAGMAS = {"cache_size": -256 * 1024, "wal_autocheckpoint": 262_144}
#: Batches each worker process builds ahead of the writer.
_AHEAD = 2
#: Most worker processes building batches (one per core up to this).
_MAX_WORKERS = 4

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CohortSummary:
    """How many records of each kind `generate_cohort` wrote."""

    patients: int = 0
    nodules: int = 0
    nodule_sizes: int = 0
    encounters: int = 0
    assessments: int = 0
    pain_scores: int = 0
    injection_tests: int = 0
    treatments: int = 0
    notes: int = 0
    outcome_scores: int = 0
    plan_decisions: int = 0
    audit_events: int = 0
    #: The extra patient with `large_patient_nodules` nodules, when one was asked for.
    large_patient_id: str | None = None

    def counts(self) -> dict[str, int]:
        """Record kind -> how many were written."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "large_patient_id"}

    @property
    def rows(self) -> int:
        """Every row inserted, in every table."""
        return sum(self.counts().values())


def patient_identifier(seed: int, index: int) -> str:
    """The clinic identifier of patient number `index` of the demo cohort `seed`."""
    return f"DEMO-{seed}-{index:06d}"


def generate_cohort(
    store: RecordStore,
    patients: int,
    *,
    seed: int = 0,
    actor: str = "demo",
    engine: Engine | None = None,
    progress: Callable[[int], None] | None = None,
    start: dt.datetime | None = None,
    large_patient_nodules: int = 0,
    assessments: bool = True,
    batch_size: int = 2000,
    parallel: bool | None = None,
) -> CohortSummary:
    """Write `patients` synthetic patients, plus one more with `large_patient_nodules`
    nodules when that is above 0, and return how many records of each kind were written.

    Deterministic for a given `seed` and `start` (default `DEFAULT_START`, which must
    not be in the future): every record is dated before `start`. Writes `batch_size`
    patients per transaction (large ones: with random UUID keys, each transaction
    rewrites index pages all over the tables; adding to 100,000 patients, 2,000 per
    transaction took half the commit time and CPU of 1,000) and calls
    `progress(patients_done)` after each. With
    `assessments`, each patient gets one stored `engine.assess` result (a default
    `Engine` when none is given). `parallel` builds the rows in worker processes (one
    per core, at most four) while this one writes; by default it does so for cohorts of
    four batches or more on a machine with more than one core (Linux only, as the
    workers are forked). Raises
    `InvalidRecord` for bad arguments and `RecordConflict` when this cohort is already in
    the database; if writing fails part-way, the batches already committed stay.
    """
    start = DEFAULT_START if start is None else start
    _check_arguments(patients, seed, actor, start, large_patient_nodules, batch_size)
    total = patients + (1 if large_patient_nodules > 0 else 0)
    first = patient_identifier(seed, 0)
    if total and store.run(lambda uow: bool(uow.patients.where(identifier=first))):
        raise RecordConflict(
            f"identifier: {first!r} exists: demo cohort {seed} is already in this database"
        )
    if assessments and engine is None:
        engine = Engine()
    kb = engine.kb if engine is not None else default_knowledge()
    recipe = _Recipe(seed, start, patients, large_patient_nodules, kb)
    encoder = _Encoder(store.engine.dialect)
    maker = _BatchMaker(_PatientMaker(recipe, engine if assessments else None), encoder)
    ranges = [(lo, min(total, lo + batch_size)) for lo in range(0, total, batch_size)]
    if parallel is None:
        parallel = len(ranges) >= 4 and (os.cpu_count() or 1) > 1
    parallel = parallel and _can_fork()
    counts = dict.fromkeys(CohortSummary().counts(), 0)
    done = 0
    pragmas_before = store.run(_pragmas) if store.is_sqlite else {}
    writer = _Writer(
        store, encoder, actor, f"demo seed={seed}", _BULK_PRAGMAS if pragmas_before else {}
    )
    with (
        (
            _WorkerBatches(
                maker,
                ranges,
                _worker_count(len(ranges)),
                # SQLite takes one writer at a time, and a writer's page cache is of no
                # use once another process has written: there this process writes
                writer=None if store.is_sqlite else writer,
            )
            if parallel
            else _LocalBatches(maker, ranges)
        ) as batches,
        _restore_pragmas(store, pragmas_before),
        _gc_paused(),
    ):
        for item in batches:
            written = item if isinstance(item, _Written) else writer.write(item)
            for name, n in written.counts.items():
                counts[name] += n
            done += written.patients
            if progress is not None:
                progress(done)
    large_id = None
    if large_patient_nodules > 0:
        wanted = patient_identifier(seed, patients)
        large_id = store.run(lambda uow: uow.patients.where(identifier=wanted)[0].id)
    return CohortSummary(**counts, large_patient_id=large_id)


def _pragmas(uow: AbstractUnitOfWork) -> dict[str, int]:
    """The SQLite settings the load changes, as they are on this unit of work's connection."""
    if not isinstance(uow, SqlAlchemyUnitOfWork):
        return {}
    return {
        name: int(uow.session.execute(text(f"PRAGMA {name}")).scalar_one())
        for name in _BULK_PRAGMAS
    }


def _set_pragmas(uow: AbstractUnitOfWork, values: dict[str, int]) -> None:
    if isinstance(uow, SqlAlchemyUnitOfWork):
        for name, value in values.items():
            uow.session.execute(text(f"PRAGMA {name} = {int(value)}"))


@contextlib.contextmanager
def _restore_pragmas(store: RecordStore, before: dict[str, int]) -> Iterator[None]:
    """Put SQLite's settings back as they were once the load is over (or has failed), and
    copy the write-ahead log into the database, emptying it."""
    try:
        yield
    finally:
        if before:
            store.run(functools.partial(_set_pragmas, values=before))
            connection = store.engine.raw_connection()  # outside any transaction
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                connection.close()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while loading, as it was afterwards.

    A batch is hundreds of thousands of small dicts and lists (the assessment results
    above all) that refcounting alone frees, having no cycles; the collector would
    walk them again and again, costing about a third of the load's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_arguments(
    patients: int, seed: int, actor: str, start: dt.datetime, large: int, batch_size: int
) -> None:
    problems: list[Problem] = []
    for name, value, low in (
        ("patients", patients, 0),
        ("seed", seed, 0),
        ("large_patient_nodules", large, 0),
        ("batch_size", batch_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            problems.append(Problem(name, f"{value!r} is not a whole number >= {low}"))
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 200:
        problems.append(
            Problem("actor", f"{actor!r} is not non-empty text of at most 200 characters")
        )
    if not isinstance(start, dt.datetime) or start.tzinfo is None:
        problems.append(Problem("start", f"{start!r} is not a timestamp with a time zone"))
    elif start > dt.datetime.now(dt.UTC):
        problems.append(Problem("start", f"{start.isoformat()} is in the future"))
    elif start < _EARLIEST_START:
        problems.append(
            Problem("start", f"{start.isoformat()} is before 2010 (birth dates run to 2005)")
        )
    if problems:
        raise InvalidRecord(problems)


# --- batches of rows ---------------------------------------------------------------

#: The record tables a cohort fills, parents first (every repository but the accounts).
_TABLES = tuple(
    name for name in REPOSITORIES if name not in ("users", "sessions", "login_attempts")
)


@dataclass(slots=True)
class _Rows:
    """Column dicts of one batch of patients, per table, in foreign-key order."""

    patients: list[Row] = field(default_factory=list)
    nodules: list[Row] = field(default_factory=list)
    nodule_sizes: list[Row] = field(default_factory=list)
    encounters: list[Row] = field(default_factory=list)
    assessments: list[Row] = field(default_factory=list)
    pain_scores: list[Row] = field(default_factory=list)
    injection_tests: list[Row] = field(default_factory=list)
    treatments: list[Row] = field(default_factory=list)
    notes: list[Row] = field(default_factory=list)
    outcome_scores: list[Row] = field(default_factory=list)
    plan_decisions: list[Row] = field(default_factory=list)
    audit_events: list[Row] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in (*_TABLES, "audit_events")}


#: Table of each kind of row a batch holds.
_TABLE_OF: dict[str, Table] = {
    **{name: TABLES[REPOSITORIES[name]] for name in _TABLES},
    "audit_events": TABLES[domain.AuditEvent],
}


@dataclass(frozen=True, slots=True)
class _TableRows:
    """One table's rows, each a tuple of `columns` as the database driver takes them.
    (It names its table: a Table would take the whole schema along when pickled.)"""

    name: str
    columns: tuple[str, ...]
    values: list[tuple[Any, ...]]

    @property
    def table(self) -> Table:
        return _TABLE_OF[self.name]


#: How one table's rows are encoded: columns, the given values of a row dict as a tuple,
#: the constant defaults of the others, (position, processor).
_Plan = tuple[
    tuple[str, ...], Callable[[Row], tuple[Any, ...]], tuple[Any, ...], list[tuple[int, Any]]
]


def _taker(keys: list[str]) -> Callable[[Row], tuple[Any, ...]]:
    """A function giving the values of `keys` in a dict, as a tuple (in C for two or more)."""
    if len(keys) >= 2:
        return operator.itemgetter(*keys)
    return lambda row: tuple(row[k] for k in keys)


class _Encoder:
    """Turns column dicts into what the database driver takes, off the writing process.

    Each value goes through its column type's bind processor for this database, which is
    what SQLAlchemy would do on insert (timestamps to naive UTC, and on SQLite to text),
    with two exceptions that give the same stored values for less work:

    * JSON is serialized by orjson, once, to UTF-8 bytes (several times faster than the
      json module; a stored assessment result is about 22 KB of it), and the bytes go
      all the way to the database as they are: they cross from a worker process without
      being decoded and pickled as text, and are stored as text (SQLite: `_insert_many`
      casts them; PostgreSQL: jsonb takes UTF-8). Decoding them to `str` and encoding
      that again at the driver cost more than building the rest of a pain score. On
      SQLite a stored result (`CompressedJSON`) is also compressed here, in the worker.
    * a UTC timestamp (every one the demo makes) is converted by `_fast_timestamps`,
      checked when the plan is made to give exactly what the bind processor gives.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def table(self, name: str, rows: list[Row]) -> _TableRows:
        """`rows` (dicts with the same keys) of the table `name`, encoded."""
        table = _TABLE_OF[name]
        if not rows:
            return _TableRows(name, (), [])
        plan = self._plans.get((name, tuple(rows[0])))
        if plan is None:
            plan = self._plans[name, tuple(rows[0])] = self._plan(table, rows[0])
        columns, take, defaults, processors = plan
        values: list[tuple[Any, ...]] = []
        add = values.append
        if not processors:
            for row in rows:
                add(take(row) + defaults)
            return _TableRows(name, columns, values)
        for row in rows:
            value = [*take(row), *defaults]
            for i, process in processors:
                value[i] = process(value[i])
            add(tuple(value))
        return _TableRows(name, columns, values)

    def _plan(self, table: Table, row: Row) -> _Plan:
        """The columns to write: those given, in the table's order, then those with a
        constant default, which SQLAlchemy would fill in; a function taking the given
        ones from a row dict, as a tuple; the defaults; and (position, bind processor)."""
        given: list[str] = []
        defaulted: dict[str, Any] = {}
        for column in table.columns:
            if column.key in row:
                given.append(column.key)
            elif column.default is not None:
                if not column.default.is_scalar:
                    raise ValueError(f"{table.name}.{column.key}: no value, no constant default")
                defaulted[column.key] = getattr(column.default, "arg", None)
        columns = (*given, *defaulted)
        processors = [(i, p) for i, c in enumerate(columns) if (p := self._processor(table, c))]
        return columns, _taker(given), tuple(defaulted.values()), processors

    def _processor(self, table: Table, column: str) -> Any:
        kind = table.c[column].type
        if isinstance(kind, CompressedJSON) and self.dialect.name != "postgresql":
            return _packed_json
        if isinstance(kind, JSON | CompressedJSON):  # PostgreSQL: jsonb, as UTF-8 JSON
            return orjson.dumps
        process = _bind_processor(kind, self.dialect)
        if isinstance(kind, UTCDateTime):
            fast = _fast_timestamps(self.dialect)
            if fast is not None and process is not None:
                return _utc_first(fast, process)
        return process

    def batch(self, rows: _Rows) -> _Batch:
        return _Batch(
            tables=[self.table(name, getattr(rows, name)) for name in _TABLES],
            patient_ids=[p["id"] for p in rows.patients],
            counts={name: len(getattr(rows, name)) for name in _TABLES},
        )


def _packed_json(value: Any) -> bytes:
    """What `CompressedJSON` stores on SQLite, from orjson's JSON."""
    return stored_json.pack(orjson.dumps(value))


def _bind_processor(kind: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a value of type `kind` before handing it to the driver."""
    process: Callable[[Any], Any] | None = kind.dialect_impl(dialect).bind_processor(dialect)
    return process


def _utc_first(
    fast: Callable[[dt.datetime], Any], slow: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """A timestamp as the driver takes it: `fast` for UTC ones, the bind processor else."""

    def process(value: Any) -> Any:
        if type(value) is dt.datetime and value.tzinfo is dt.UTC:
            return fast(value)
        return slow(value)

    return process


def _fast_timestamps(dialect: Dialect) -> Callable[[dt.datetime], Any] | None:
    """For this database, a conversion of UTC timestamps that gives what `UTCDateTime`'s
    bind processor gives (to naive UTC; on SQLite, then text with microseconds) without
    its several Python calls, or None if it does not give exactly that for a few probes.

    SQLAlchemy's SQLite format is `isoformat(" ", "microseconds")` of the naive time
    (years have four digits); a check here, not a promise: if either changes, the bind
    processor is used.
    """
    if dialect.name == "sqlite":

        def fast(value: dt.datetime) -> Any:
            return value.isoformat(" ", "microseconds")[:26]  # without "+00:00"

    else:

        def fast(value: dt.datetime) -> Any:
            return value.replace(tzinfo=None)

    slow = _bind_processor(UTCDateTime(), dialect)
    probes = (
        dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
        dt.datetime(2010, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(1999, 1, 1, tzinfo=dt.UTC),
    )
    if slow is None or any(
        fast(p) != slow(p) or type(fast(p)) is not type(slow(p)) for p in probes
    ):
        return None
    return fast


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch of patients ready to write: each table's rows, parents first."""

    tables: list[_TableRows]
    patient_ids: list[str]
    counts: dict[str, int]

    def write(self, uow: AbstractUnitOfWork, events: _TableRows, pragmas: dict[str, int]) -> None:
        """Insert every row and the audit `events` in one transaction (can run again after
        a rollback), with the SQLite settings `pragmas` made first."""
        if not isinstance(uow, SqlAlchemyUnitOfWork):
            raise TypeError(f"the demo cohort is written through SQLAlchemy, not {uow!r}")
        _set_pragmas(uow, pragmas)
        connection = uow.session.connection()
        for rows in (*self.tables, events):
            if not rows.values:
                continue
            if connection.dialect.name == "postgresql":
                _copy(connection, rows)
            else:
                _insert_many(connection, rows)
        uow.commit()


def _insert_many(connection: Connection, rows: _TableRows) -> None:
    """One INSERT, executed for every row by the driver (executemany). SQLite only.

    JSON arrives as UTF-8 bytes, which the driver would store as a blob:
    `CAST(? AS TEXT)` stores the same bytes as text, just as a `str` would be stored.
    """
    if connection.dialect.name != "sqlite":
        raise RuntimeError(f"{rows.name}: rows are inserted one by one on SQLite only")
    quote = connection.dialect.identifier_preparer
    table = rows.table
    marks = ", ".join(
        "CAST(? AS TEXT)" if isinstance(table.c[c].type, JSON) else "?" for c in rows.columns
    )
    statement = (
        f"INSERT INTO {quote.format_table(table)} "
        f"({', '.join(quote.quote(c) for c in rows.columns)}) VALUES ({marks})"
    )
    connection.exec_driver_sql(statement, rows.values)


def _copy(connection: Connection, rows: _TableRows) -> None:
    """PostgreSQL's bulk load, COPY ... FROM STDIN, inside the unit of work's transaction.

    In the binary format, with each column's type as the server has it: values are sent
    as they are stored, with nothing for the server to parse but the JSON (which psycopg
    passes on as the UTF-8 bytes it is, after jsonb's version byte).
    """
    quote = connection.dialect.identifier_preparer
    statement = (
        f"COPY {quote.format_table(rows.table)} "
        f"({', '.join(quote.quote(c) for c in rows.columns)}) FROM STDIN (FORMAT BINARY)"
    )
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        types = dict(
            cursor.execute(
                "SELECT attname, atttypid::int FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (quote.format_table(rows.table),),
            ).fetchall()
        )
        oids = [types[c] for c in rows.columns]
        # already JSON (UTF-8 bytes): wrapped so that the dumper's dumps is the identity
        json = [(i, _JSON_WRAPPERS[oid]) for i, oid in enumerate(oids) if oid in _JSON_WRAPPERS]
        with cursor.copy(statement) as copy:
            copy.set_types(oids)
            for value in rows.values:
                if json:
                    wrapped = list(value)
                    for i, wrap in json:
                        wrapped[i] = wrap(value[i], dumps=_same)
                    copy.write_row(wrapped)
                else:
                    copy.write_row(value)


#: PostgreSQL's type ids for json and jsonb, and psycopg's wrappers for them.
_JSON_WRAPPERS: dict[int, type[Json | Jsonb]] = {114: Json, 3802: Jsonb}


def _same(data: bytes) -> bytes:
    return data


@dataclass(frozen=True, slots=True)
class _Written:
    """What writing one batch added: its patients, and rows per table (audit included)."""

    patients: int
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Writer:
    """Writes a batch and its patients' audit events into `store`, in one transaction."""

    store: RecordStore
    encoder: _Encoder
    actor: str
    detail: str
    pragmas: dict[str, int]  # SQLite settings made before each batch

    def write(self, batch: _Batch) -> _Written:
        now = dt.datetime.now(dt.UTC)  # when it is written: what an audit trail records
        events = self.encoder.table(
            "audit_events",
            [
                {
                    "occurred_at": now,
                    "actor": self.actor,
                    "action": "create",
                    "entity": "patient",
                    "entity_id": patient_id,
                    "patient_id": patient_id,
                    "detail": self.detail,
                }
                for patient_id in batch.patient_ids
            ],
        )
        self.store.run(functools.partial(batch.write, events=events, pragmas=self.pragmas))
        return _Written(
            len(batch.patient_ids), {**batch.counts, "audit_events": len(events.values)}
        )


class _BatchMaker:
    """Builds a batch's rows and encodes them for the database (in the worker, if any)."""

    def __init__(self, maker: _PatientMaker, encoder: _Encoder) -> None:
        self.maker = maker
        self.encoder = encoder

    def batch(self, lo: int, hi: int) -> _Batch:
        return self.encoder.batch(self.maker.batch(lo, hi))


@dataclass(frozen=True, slots=True)
class _Recipe:
    """Everything, besides the engine, that decides the cohort's content."""

    seed: int
    start: dt.datetime
    patients: int
    large_patient_nodules: int
    kb: KnowledgeBase


class _LocalBatches:
    """Batches built in this process, one at a time, as they are written."""

    def __init__(self, maker: _BatchMaker, ranges: list[tuple[int, int]]) -> None:
        self.maker = maker
        self.ranges = ranges

    def __enter__(self) -> _LocalBatches:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass

    def __iter__(self) -> Iterator[_Batch]:
        for lo, hi in self.ranges:
            yield self.maker.batch(lo, hi)


class _WorkerBatches:
    """Batches built by forked worker processes, each `_AHEAD` batches ahead of the one
    being written; batch k comes from worker k mod `workers`, so they arrive in order.

    With a `writer` the workers also write their batches, each in its own transaction
    on its own connection (PostgreSQL: the server then checks and indexes two batches at
    once), and hand over only what they wrote.
    """

    def __init__(
        self,
        maker: _BatchMaker,
        ranges: list[tuple[int, int]],
        workers: int,
        writer: _Writer | None = None,
    ) -> None:
        self.maker = maker
        self.ranges = ranges
        self.count = workers
        self.writer = writer

    def __enter__(self) -> _WorkerBatches:
        context = multiprocessing.get_context("fork")
        self.workers: list[_Worker] = []
        for number in range(self.count):  # all forked before any queue starts a thread
            self.workers.append(_Worker(context, self.maker, self.writer, number))
        return self

    def __iter__(self) -> Iterator[_Batch | _Written]:
        n, ahead = len(self.workers), len(self.workers) * _AHEAD
        for k, task in enumerate(self.ranges[:ahead]):
            self.workers[k % n].tasks.put(task)
        for k in range(len(self.ranges)):
            item = self.workers[k % n].next()
            if k + ahead < len(self.ranges):
                self.workers[(k + ahead) % n].tasks.put(self.ranges[k + ahead])
            yield item

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for worker in self.workers:
            worker.stop(finished=exc_type is None)


class _Worker:
    """One forked process building the batches it is asked for, in the order asked."""

    def __init__(
        self, context: Any, maker: _BatchMaker, writer: _Writer | None, number: int
    ) -> None:
        self.tasks: Any = context.Queue()
        self.results: Any = context.Queue()
        self.process = context.Process(
            target=_build_batches,
            args=(maker, writer, self.tasks, self.results),
            name=f"backmice-demo-{number}",
            daemon=True,
        )
        self.process.start()

    def next(self) -> _Batch | _Written:
        while True:
            try:
                item = self.results.get(timeout=1.0)
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(
                        f"the demo worker process stopped (exit code {self.process.exitcode})"
                    ) from None
                continue
            if isinstance(item, _Batch | _Written):
                return item
            if isinstance(item, BackmiceError):
                raise item  # as if this process had written the batch
            raise RuntimeError(f"the demo worker process failed:\n{item}")

    def stop(self, finished: bool) -> None:
        if finished:  # every batch taken: the worker is waiting for its next task
            self.tasks.put(None)
            self.process.join(timeout=60)
        if self.process.is_alive():  # or it may be stuck handing over a batch nobody takes
            self.process.terminate()
            self.process.join()
        for channel in (self.tasks, self.results):
            channel.close()
            channel.join_thread()
        self.process.close()


def _worker_count(batches: int) -> int:
    """Worker processes to build `batches` batches: one per core, at most `_MAX_WORKERS`."""
    return max(1, min(os.cpu_count() or 1, _MAX_WORKERS, batches))


def _can_fork() -> bool:
    """A worker can be forked safely: Linux, and no other thread in this process."""
    return (
        sys.platform == "linux"
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def _build_batches(maker: _BatchMaker, writer: _Writer | None, tasks: Any, results: Any) -> None:
    """The worker process: build (and with a `writer`, write) each (lo, hi) batch asked
    for, until given None."""
    gc.disable()  # this process only makes batches, which hold no reference cycles
    if writer is not None:  # the parent's pooled connections are not this process's
        writer.store.engine.dispose(close=False)
    try:
        while (task := tasks.get()) is not None:
            batch = maker.batch(*task)
            results.put(batch if writer is None else writer.write(batch))
    except BackmiceError as exc:  # raised by the parent, as it would have been there
        results.put(exc if _picklable(exc) else traceback.format_exc())
    except BaseException:  # reported by the parent, which raises it
        results.put(traceback.format_exc())
    finally:
        if writer is not None:
            writer.store.engine.dispose()
        results.close()
        results.join_thread()


def _picklable(value: object) -> bool:
    try:
        pickle.loads(pickle.dumps(value))
    except Exception:
        return False
    return True


# --- one patient -------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    """A random (version 4) UUID as text, drawn from `rng`: one stream, the same ids.

    Equal to `str(uuid.UUID(int=rng.getrandbits(128), version=4))`, formatted directly
    because a large cohort draws millions of them.
    """
    h = "%032x" % (rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# the version (4) and variant (RFC 4122) bits, as uuid.UUID(..., version=4) sets them
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (4 << 76) | (0x8000 << 48)


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    """An index drawn with the given cumulative probabilities (the last is 1)."""
    return min(bisect.bisect_right(cumulative, rng.random()), len(cumulative) - 1)


def _nrs(value: float) -> int:
    """A whole NRS score from 0 to 10."""
    return min(10, max(0, round(value)))


def _size(value: float) -> float:
    """A plausible nodule diameter in cm, to 1 decimal."""
    return round(min(12.0, max(0.3, value)), 1)


@dataclass(slots=True)
class _Nodule:
    row: Row
    region: str
    side: str
    size: float  # at first measurement, cm
    visit: int  # the visit at which it was first recorded


@dataclass(slots=True)
class _Course:
    """One patient's course: the pain before treatment, and when and how much it eases."""

    worst: int
    current: int
    relief_percent: float | None = None  # of the injection test, if there was one
    tested_at: int | None = None  # visit of the injection test
    clinic_from: int | None = None  # first visit with a procedure (pain clinic from then)
    eases_from: dt.datetime | None = None  # when the first treatment that worked was given
    relief: float = 0.0  # share of the pain that goes once that treatment has taken effect
    removed: dict[str, int] = field(default_factory=dict)  # nodule id -> visit excised

    def pain_clinic_from(self, visit: int) -> None:
        """A procedure at `visit`: seen in the pain clinic from then on, if not before."""
        self.clinic_from = visit if self.clinic_from is None else min(self.clinic_from, visit)

    def level(self, when: dt.datetime, before: float) -> float:
        """The expected pain at `when`, given its level before any treatment worked."""
        if self.eases_from is None or when < self.eases_from:
            return before
        ramp = min(1.0, (when - self.eases_from).total_seconds() / (14 * 86400))
        return before * (1.0 - self.relief * ramp)


class _PatientMaker:
    """Builds the rows of patients from their numbers; holds read-only settings only."""

    def __init__(self, recipe: _Recipe, engine: Engine | None) -> None:
        self.recipe = recipe
        self.kb = recipe.kb
        self.engine = engine
        # the newest day an episode may end on: whole days before `start`, so that an
        # evening diary entry on that day is still before it
        self.last_day = dt.datetime.combine(
            (recipe.start - dt.timedelta(days=2)).date(), dt.time(0, 0), tzinfo=dt.UTC
        )

    def batch(self, lo: int, hi: int) -> _Rows:
        """The rows of patients lo .. hi - 1 (audit events are added by the writer)."""
        rows = _Rows()
        recipe = self.recipe
        for index in range(lo, hi):
            many = recipe.large_patient_nodules if index == recipe.patients else None
            self.patient(rows, index, many)
        return rows

    def patient(self, rows: _Rows, index: int, many: int | None) -> None:
        seed = self.recipe.seed
        rng = random.Random(f"backmice-demo/{seed}/{index}")
        patient_id = _uuid(rng)
        u = rng.random()
        sex = "female" if u < 0.70 else "male" if u < 0.99 else "other"
        names = _FEMALE_NAMES if sex == "female" else _MALE_NAMES if sex == "male" else _OTHER_NAMES
        name = f"{rng.choice(names)} {rng.choice(_SURNAMES)}"
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(24_107))  # to 2005-12-31

        # the episode: visits over 1-9 months, ending up to four months before `start`
        span = rng.randint(30, 270)
        first_day = self.last_day - dt.timedelta(days=rng.randint(0, 120) + span)
        n_visits = 1 + _pick(rng, _ENCOUNTER_CUM)
        days = [0, *sorted(rng.sample(range(7, span + 1), n_visits - 1))]
        times = [
            first_day
            + dt.timedelta(days=d, hours=rng.randint(8, 16), minutes=rng.randrange(0, 60, 10))
            for d in days
        ]
        visit_ids = [_uuid(rng) for _ in times]
        clinicians = [rng.choice(_CLINICIANS) for _ in times]
        rows.patients.append(
            {
                "id": patient_id,
                "identifier": patient_identifier(seed, index),
                "name": name,
                "birth_date": birth,
                "sex": sex,
                "contact": None,
                "created_at": times[0] - dt.timedelta(minutes=rng.randint(5, 60)),
            }
        )
        nodules, sizes = self._nodules(rng, patient_id, times, many)
        worst = rng.randint(4, 9)
        course = _Course(worst=worst, current=max(1, worst - rng.randint(1, 3)))
        self._care(rng, rows, patient_id, nodules, times, visit_ids, course)
        last = len(times) - 1
        for nodule in nodules:  # excised ones, and a few that went away on their own
            row = nodule.row
            if row["id"] in course.removed:
                row["status"] = "excised"
                row["updated_at"] = times[course.removed[row["id"]]] + dt.timedelta(minutes=30)
            elif last > nodule.visit and rng.random() < 0.04:
                row["status"] = "resolved"
                row["updated_at"] = times[last] + dt.timedelta(minutes=15)
        rows.nodules.extend(n.row for n in nodules)
        rows.nodule_sizes.extend(  # none measured after the nodule was removed
            s for s in sizes if s["measured_at"] <= _nodule_end(course, times, s["nodule_id"])
        )
        settings = [
            "pain_clinic"
            if course.clinic_from is not None and i >= course.clinic_from
            else "primary_care"
            for i in range(len(times))
        ]
        for i, when in enumerate(times):
            rows.encounters.append(
                {
                    "id": visit_ids[i],
                    "patient_id": patient_id,
                    "occurred_at": when,
                    "clinician": clinicians[i],
                    "setting": settings[i],
                }
            )
            if i == 0 or rng.random() < 0.3:
                rows.notes.append(
                    {
                        "id": _uuid(rng),
                        "patient_id": patient_id,
                        "encounter_id": visit_ids[i],
                        "author": clinicians[i],
                        "text": rng.choice(_NOTES),
                        "written_at": when + dt.timedelta(minutes=rng.randint(15, 40)),
                    }
                )
        self._pain_scores(rng, rows, patient_id, nodules, times, span, course)
        if self.engine is not None:
            visit = course.tested_at if course.tested_at is not None else 0
            case = self._case(
                rng, nodules, times[visit], visit, settings[visit], course, sex, birth
            )
            result = self.engine.assess(case)
            rows.assessments.append(
                {
                    "id": _uuid(rng),
                    "patient_id": patient_id,
                    "encounter_id": visit_ids[visit],
                    "nodule_ids": [n.row["id"] for n in nodules if n.visit <= visit][:6],
                    "case": case,
                    "result": result,
                    "knowledge_version": result["knowledge_version"],
                    "assessed_at": times[visit] + dt.timedelta(minutes=50),
                }
            )

    def _nodules(
        self, rng: random.Random, patient_id: str, times: list[dt.datetime], many: int | None
    ) -> tuple[list[_Nodule], list[Row]]:
        if many is not None:
            count = many
        elif rng.random() < _MANY_NODULES_SHARE:
            count = rng.randint(20, 60)
        else:
            count = _pick(rng, _NODULE_CUM)
        bilateral = rng.random() < 0.6
        usual_side = rng.choice(("left", "right"))
        usual_size = 0.8 + 0.7 * rng.random()  # this person's usual nodule size, cm
        nodules: list[_Nodule] = []
        sizes: list[Row] = []
        for number in range(1, count + 1):
            region = _REGIONS[_pick(rng, _REGION_CUM)]
            side = rng.choice(("left", "right")) if bilateral else usual_side
            if region == "lumbosacral" and rng.random() < 0.3:
                side = "midline"
            x, y = _place(rng, region, side)
            visit = 0 if len(times) == 1 or rng.random() < 0.85 else rng.randrange(len(times))
            size = _size(usual_size * rng.lognormvariate(0.0, 0.45))
            nodule_id = _uuid(rng)
            row: Row = {
                "id": nodule_id,
                "patient_id": patient_id,
                "x": x,
                "y": y,
                "side": side,
                "region": region,
                "label": f"N{number}",
                "status": "active",
                "created_at": times[visit],
                "updated_at": times[visit],
            }
            nodules.append(_Nodule(row, region, side, size, visit))
            later = len(times) - 1 - visit
            extra = min(later, rng.randint(0, 2) if count <= 6 else rng.randint(0, 1))
            measured = [visit, *sorted(rng.sample(range(visit + 1, len(times)), extra))]
            for v in measured:
                sizes.append(
                    {
                        "id": _uuid(rng),
                        "nodule_id": nodule_id,
                        "size_cm": size,
                        "measured_at": times[v] + dt.timedelta(minutes=10),
                    }
                )
                size = _size(size + rng.uniform(-0.3, 0.4))
        return nodules, sizes

    def _care(
        self,
        rng: random.Random,
        rows: _Rows,
        patient_id: str,
        nodules: list[_Nodule],
        times: list[dt.datetime],
        visit_ids: list[str],
        course: _Course,
    ) -> None:
        """The injection test and the steps of care; sets when (and how far) pain eases."""
        last = len(times) - 1
        # (visit, kind, details, nodule id, chance that it works)
        steps: list[tuple[int, str, str, str | None, float]] = []
        if rng.random() < 0.95:
            steps.append(
                (0, "self_care", "Heat, a cushion when sitting, simple analgesia.", None, 0.15)
            )
        main = max(nodules, key=lambda n: n.size) if nodules else None
        main_id = None if main is None else str(main.row["id"])
        if main is not None and rng.random() < 0.5:
            visit = max(main.visit, min(1, last))
            pre = max(1, course.worst - rng.randint(0, 2))
            source = rng.random() < 0.8  # is the nodule the pain's source?
            post = _nrs(pre * (rng.uniform(0.0, 0.4) if source else rng.uniform(0.6, 1.0)))
            minutes = rng.choice((15, 20, 30, 30, 45, 60))
            reading = read_injection_test(
                self.kb, minutes_after=minutes, pre_nrs=pre, post_nrs=post
            )
            rows.injection_tests.append(
                {
                    "id": _uuid(rng),
                    "patient_id": patient_id,
                    "nodule_id": main_id,
                    "encounter_id": visit_ids[visit],
                    "performed_at": times[visit] + dt.timedelta(minutes=20),
                    "pre_nrs": pre,
                    "post_nrs": post,
                    "relief_percent": reading.relief_percent,
                    "interpretation": reading.interpretation,
                    "minutes_after": float(minutes),
                    "agent": rng.choice(_AGENTS),
                    "volume_ml": float(rng.choice((1, 2, 2, 3, 5))),
                }
            )
            course.relief_percent = reading.relief_percent
            course.tested_at = visit
            if reading.interpretation != "negative" and rng.random() < 0.75:
                steps.append(
                    (visit, "injection", "Local anaesthetic with corticosteroid into the nodule.",
                     main_id, 0.65)
                )  # fmt: skip
                course.pain_clinic_from(visit)
        elif main is not None and last >= 1 and rng.random() < 0.35:
            visit = max(main.visit, 1)
            steps.append(
                (visit, "injection", "Local anaesthetic with corticosteroid.", main_id, 0.5)
            )
            course.pain_clinic_from(visit)
        if main is not None and last >= 2 and rng.random() < 0.3:
            kind = rng.choice(
                ("repeated_needling", "dry_needling", "manual_therapy", "acupuncture")
            )
            steps.append((max(main.visit, 2), kind, "Course of treatment started.", main_id, 0.45))
        if (
            main is not None
            and last >= 2
            and rng.random() < (0.08 if course.relief_percent else 0.03)
        ):
            visit = rng.randint(max(main.visit, 2), last)
            steps.append(
                (visit, "excision_with_fascial_repair",
                 "Excised under local anaesthetic; fascial defect closed.", main_id, 0.85)
            )  # fmt: skip
            course.removed[str(main_id)] = visit
            course.pain_clinic_from(visit)
        if len(nodules) >= 10 and last >= 2 and rng.random() < 0.2:
            visit = rng.randint(2, last)
            steps.append((visit, "liposuction", "Liposuction of the clustered nodules.", None, 0.8))
            for nodule in nodules:
                if nodule.visit <= visit and rng.random() < 0.6:
                    course.removed.setdefault(str(nodule.row["id"]), visit)
            course.pain_clinic_from(visit)
        steps.sort(key=lambda step: step[0])
        for visit, kind, details, nodule_id, chance in steps:
            works = rng.random() < chance
            if works and course.eases_from is None:
                course.eases_from = times[visit]
                course.relief = rng.uniform(0.4, 0.9)
            if visit == last:
                outcome = ""  # not known yet
            elif works:
                outcome = "Much better at review." if course.relief > 0.65 else "Partly better."
            else:
                outcome = "No lasting change."
            rows.treatments.append(
                {
                    "id": _uuid(rng),
                    "patient_id": patient_id,
                    "nodule_id": nodule_id,
                    "encounter_id": visit_ids[visit],
                    "kind": kind,
                    "performed_at": times[visit] + dt.timedelta(minutes=30),
                    "details": details,
                    "outcome": outcome,
                }
            )

    def _pain_scores(
        self,
        rng: random.Random,
        rows: _Rows,
        patient_id: str,
        nodules: list[_Nodule],
        times: list[dt.datetime],
        span: int,
        course: _Course,
    ) -> None:
        """Scores at each visit and in a home diary, overall and for the main nodules."""
        tracked = sorted(nodules, key=lambda n: -n.size)[: 2 if rng.random() < 0.25 else 1]
        add = rows.pain_scores.append

        def score(kind: str, when: dt.datetime, before: float, nodule_id: str | None) -> None:
            add(
                {
                    "id": _uuid(rng),
                    "patient_id": patient_id,
                    "nodule_id": nodule_id,
                    "score": _nrs(course.level(when, before) + rng.choice((-1, 0, 0, 0, 1))),
                    "kind": kind,
                    "recorded_at": when,
                }
            )

        for i, when in enumerate(times):
            at = when + dt.timedelta(minutes=5)
            score("current", at, course.current, None)
            if i == 0 or rng.random() < 0.4:
                score("worst", at, course.worst, None)
            for nodule in tracked:
                if nodule.visit <= i and at <= _nodule_end(course, times, nodule.row["id"]):
                    score("with_pressure", at, course.worst, nodule.row["id"])
        day0 = times[0].replace(hour=0, minute=0)
        for _ in range(rng.choice((0, 0, 1, 1, 2, 2))):  # diary days
            day = day0 + dt.timedelta(days=rng.randint(1, span))
            for hour in sorted(rng.sample(range(7, 22), rng.choice((1, 2, 2, 3, 4)))):
                at = day + dt.timedelta(hours=hour, minutes=rng.randrange(60))
                score("current", at, course.current, None)
            if tracked and rng.random() < 0.4:
                at = day + dt.timedelta(hours=22, minutes=rng.randrange(60))
                if tracked[0].visit == 0 and at <= _nodule_end(course, times, tracked[0].row["id"]):
                    score("with_pressure", at, course.worst, tracked[0].row["id"])

    def _case(
        self,
        rng: random.Random,
        nodules: list[_Nodule],
        when: dt.datetime,
        visit: int,
        setting: str,
        course: _Course,
        sex: str,
        birth: dt.date,
    ) -> dict[str, Any]:
        """The assessment case: what the clinician knew at that visit."""
        age = when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))
        findings: dict[str, Any] = {"pain_present": True}
        present = [n for n in nodules if n.visit <= visit]
        if present:
            largest = max(present, key=lambda n: n.size)
            findings.update(
                lump_present=True,
                lump_count=len(present),
                location=largest.region,
                size_cm=largest.size,
                consistency=rng.choice(_CONSISTENCY),
                tender=rng.random() < 0.9,
                pressure_reproduces_pain=rng.random() < 0.75,
            )
            if len(present) > 1:
                findings["lump_bilateral"] = len({n.side for n in present} - {"midline"}) == 2
        else:
            findings.update(
                lump_present=False,
                location=rng.choice(_NO_LUMP_LOCATIONS),
                tender=rng.random() < 0.7,
                radiation=rng.choice(("none", "none", "buttock_thigh")),
            )
        if course.relief_percent is not None:
            findings["injection_relief_percent"] = course.relief_percent
        return {
            "schema": "backmice.assessment/1",
            "setting": setting,
            "age": age,
            "sex": sex,
            "findings": findings,
        }


def _place(rng: random.Random, region: str, side: str) -> tuple[float, float]:
    """A point (to 0.1 map unit) that the body map suggests as `region`."""
    x_low, x_high, y_low, y_high = _REGION_BOX[region]
    if side == "midline":
        x_low, x_high = 48.5, 51.5
    for _ in range(1000):  # each box is mostly its region: a few draws suffice
        x = rng.uniform(x_low, x_high)
        x = round(100.0 - x if side == "right" else x, 1)
        y = round(rng.uniform(y_low, y_high), 1)
        if suggest(x, y)[1] == region:
            return x, y
    raise RuntimeError(f"no point of the {region} box is suggested as {region}")


def _nodule_end(course: _Course, times: list[dt.datetime], nodule_id: str) -> dt.datetime:
    """Until when a nodule can be measured or scored: its excision, or the end of care."""
    visit = course.removed.get(nodule_id)
    return (
        times[-1] + dt.timedelta(days=400)
        if visit is None
        else times[visit] + dt.timedelta(minutes=20)
    )
