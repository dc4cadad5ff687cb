"""Consistent online backup and restore of the whole record database.

A backup is a logical snapshot taken inside one read transaction while the clinic
keeps working: a gzip file of JSON lines, first a header (format, schema revision,
row counts), then one line per row, table by table in foreign-key order. The same
file restores into SQLite or PostgreSQL. A restore runs in one transaction: it
refuses to touch a database that holds records unless forced, and if anything
fails nothing changes. Both are audited.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from backmice.errors import InvalidInput, Problem, StorageRefused
from backmice.records import domain, migrate
from backmice.records.orm import TABLES, UTCDateTime
from backmice.records.store import RecordStore

__all__ = ["BACKUP_FORMAT", "BackupSummary", "backup", "restore"]

BACKUP_FORMAT = "backmice.backup/1"

Progress = Callable[[int, int], None]

_ORDERED: list[Table] = list(TABLES.values())  # patients first, audit last


class BackupSummary(dict[str, int]):
    """Rows per table in a backup or restore."""


def _count_rows(connection: Connection) -> dict[str, int]:
    return {
        t.name: int(connection.scalar(select(func.count()).select_from(t)) or 0) for t in _ORDERED
    }


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def backup(
    store: RecordStore, path: Path, actor: str, progress: Progress | None = None
) -> BackupSummary:
    """Write a consistent snapshot of every table to `path` (gzip JSON lines)."""
    engine = store.engine
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():  # one transaction: one consistent view of the data
            counts = _count_rows(connection)
            total, done = sum(counts.values()), 0
            header = {
                "format": BACKUP_FORMAT,
                "schema_revision": migrate.head_revision(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "rows": counts,
            }
            partial = path.with_name(path.name + ".partial")
            with gzip.open(partial, "wt", encoding="utf-8") as out:
                out.write(json.dumps(header) + "\n")
                for table in _ORDERED:
                    order = table.c.id
                    for row in connection.execute(select(table).order_by(order)).mappings():
                        record = {k: _encode(v) for k, v in row.items()}
                        out.write(json.dumps({"t": table.name, "r": record}) + "\n")
                        done += 1
                        if progress is not None and done % 5000 == 0:
                            progress(done, total)
            partial.replace(path)  # the file appears whole, or not at all
    store.run(lambda uow: _audit(uow, actor, "backup", f"rows={total}"))
    if progress is not None:
        progress(total, total)
    return BackupSummary(counts)


def _audit(uow: Any, actor: str, action: str, detail: str) -> None:
    uow.audit.add(
        domain.AuditEvent(
            actor=actor,
            action=action,
            entity="database",
            entity_id="-",
            patient_id=None,
            detail=detail,
        )
    )
    uow.commit()


def _decode(table: Table, record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for column in table.columns:
        value = out.get(column.name)
        if value is None:
            continue
        if isinstance(column.type, UTCDateTime):
            out[column.name] = dt.datetime.fromisoformat(value)
        elif column.type.python_type is dt.date:
            out[column.name] = dt.date.fromisoformat(value)
    return out


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            header = json.loads(source.readline())
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput([Problem("FILE", f"'{path}' is not a backmice backup")]) from None
    if not isinstance(header, dict) or header.get("format") != BACKUP_FORMAT:
        raise InvalidInput([Problem("FILE", f"'{path}' is not a {BACKUP_FORMAT} file")])
    if header.get("schema_revision") != migrate.head_revision():
        raise InvalidInput(
            [
                Problem(
                    "FILE",
                    f"backup schema {header.get('schema_revision')!r} is not this "
                    f"version's {migrate.head_revision()!r}; restore it with a matching version",
                )
            ]
        )
    return header


def restore(
    store: RecordStore,
    path: Path,
    actor: str,
    force: bool = False,
    progress: Progress | None = None,
) -> BackupSummary:
    """Replace the database's contents with the backup at `path`, all or nothing."""
    header = _read_header(path)
    expected: dict[str, int] = header["rows"]
    total, done = sum(expected.values()), 0
    by_name = {t.name: t for t in _ORDERED}
    with store.engine.begin() as connection:
        present = _count_rows(connection)
        holding = sum(n for name, n in present.items() if name != "audit_events")
        if holding and not force:
            raise StorageRefused(
                f"the database already holds {holding} records ({present['patients']} patients); "
                "restoring would replace them. Use --force to replace them."
            )
        migrate.downgrade_on(connection, "base")  # the audit table can only be dropped
        migrate.upgrade_on(connection, "head")
        batch: dict[str, list[dict[str, Any]]] = {}
        with gzip.open(path, "rt", encoding="utf-8") as source:
            source.readline()
            for line in source:
                item = json.loads(line)
                table = by_name[item["t"]]
                batch.setdefault(table.name, []).append(_decode(table, item["r"]))
                done += 1
                if len(batch[table.name]) >= 2000:
                    connection.execute(table.insert(), batch.pop(table.name))
                if progress is not None and done % 5000 == 0:
                    progress(done, total)
        for name in [t.name for t in _ORDERED]:
            if batch.get(name):
                connection.execute(by_name[name].insert(), batch[name])
        restored = _count_rows(connection)
        if restored != expected:
            raise InvalidInput(
                [
                    Problem(
                        "FILE",
                        f"backup is incomplete: expected {expected}, "
                        f"read {restored}; nothing was changed",
                    )
                ]
            )
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
                    "COALESCE((SELECT MAX(id) FROM audit_events), 0) + 1, false)"
                )
            )
    store.run(lambda uow: _audit(uow, actor, "restore", f"rows={total}"))
    if progress is not None:
        progress(total, total)
    return BackupSummary(expected)
