"""Opening the database: SQLite (default) or PostgreSQL, the same code for both.

SQLite is set up for a medical record that must never lose an acknowledged write:
write-ahead logging, `synchronous=FULL` (a commit is on disk before it returns),
foreign keys enforced, and every transaction started with `BEGIN IMMEDIATE` so that
concurrent writers queue on the busy timeout instead of failing half-way. Every
service call writes an audit row, so its unit of work is a write transaction.

`read_only(engine)` is the same database for work that only reads (the web app's
session check on every request): on SQLite its transactions begin `DEFERRED`, which in
write-ahead logging takes no lock, so a read never queues behind a writer's commit;
on PostgreSQL they are `READ ONLY`, so the server refuses any write in them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["BUSY_TIMEOUT_SECONDS", "is_sqlite", "open_engine", "read_only"]

#: The execution option that makes a SQLite transaction begin DEFERRED (see `read_only`).
_READ_ONLY = "backmice_read_only"

#: How long a SQLite writer waits for another to finish before the retry loop steps in.
BUSY_TIMEOUT_SECONDS = 30


def is_sqlite(url: str) -> bool:
    """True when `url` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def open_engine(url: str) -> Engine:
    """An engine for `url`; creates the SQLite file's folder when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}, pool_pre_ping=False
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def read_only(engine: Engine) -> Engine:
    """`engine` (same pool, same connections) for transactions that only read."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_READ_ONLY: True})
    return engine.execution_options(postgresql_readonly=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event start transactions (pysqlite's own BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    reading = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN DEFERRED" if reading else "BEGIN IMMEDIATE")
