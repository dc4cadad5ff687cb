"""Record commands: db, patient, demo, backup, restore, export, import, audit.

Each opens the database named by BACKMICE_DATABASE_URL (default: a SQLite file in
the user's data directory), brings its schema up to date, calls one service, and
prints. The acting user for the audit trail is `cli:<login name>`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from backmice.cli.io import parse_json, read_source
from backmice.cli.render import console
from backmice.config import load_settings
from backmice.errors import InvalidInput, Problem
from backmice.records import backup as backups
from backmice.records import migrate, services
from backmice.records.store import RecordStore

__all__ = [
    "audit_command",
    "backup_command",
    "db_app",
    "demo_command",
    "export_command",
    "import_command",
    "patient_app",
    "restore_command",
]


class Format(StrEnum):
    text = "text"
    json = "json"


db_app = typer.Typer(help="The record database: create or bring its schema up to date.")
patient_app = typer.Typer(help="Register, list and show patients.", no_args_is_help=True)

FormatOption = Annotated[Format, typer.Option("--format", help="text (default) or json.")]


def actor() -> str:
    """Who is acting, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def open_store(upgrade: bool = True) -> RecordStore:
    """The configured record database, migrated to the newest schema."""
    return RecordStore.open(load_settings().database_url, upgrade=upgrade)


def _json(data: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on standard error when it is a terminal; silent when piped."""
    err = Console(stderr=True)
    if not err.is_terminal:
        yield lambda done, total: None
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema or bring it to the newest revision (safe to repeat)."""
    store = open_store(upgrade=False)
    try:
        before = migrate.current_revision(store.engine)
        migrate.upgrade(store.engine)
        after = migrate.current_revision(store.engine)
    finally:
        store.close()
    url = store.engine.url.render_as_string(hide_password=True)
    typer.echo(f"{url}: schema {before or 'empty'} -> {after} (head)")


def _parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput([Problem(field, f"'{value}' is not a date (YYYY-MM-DD)")]) from None


@patient_app.command("add")
def patient_add(
    identifier: Annotated[str, typer.Option(help="The clinic's record number (unique).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    sex: Annotated[str, typer.Option(help="female, male or other.")],
    contact: Annotated[str | None, typer.Option(help="Phone or e-mail.")] = None,
    output: FormatOption = Format.text,
) -> None:
    """Register a patient; prints the new id."""
    born = _parse_date(birth_date, "birth_date")
    store = open_store()
    try:
        patient = store.run(
            lambda uow: services.register_patient(
                uow,
                actor(),
                identifier=identifier,
                name=name,
                birth_date=born,
                sex=sex,
                contact=contact,
            )
        )
    finally:
        store.close()
    if output is Format.json:
        _json(services.as_dict(patient))
    else:
        typer.echo(patient.id)


@patient_app.command("list")
def patient_list(
    search: Annotated[str, typer.Option(help="Part of a name or identifier.")] = "",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    output: FormatOption = Format.text,
) -> None:
    """Patients by name (a JSON array with each patient's id under --format json)."""
    store = open_store()
    try:
        found, total = store.run(
            lambda uow: services.list_patients(uow, actor(), search, limit, offset)
        )
    finally:
        store.close()
    if output is Format.json:
        _json([services.as_dict(p) for p in found])
        return
    table = Table(title=f"Patients ({len(found)} of {total})")
    for column in ("id", "identifier", "name", "birth date", "sex"):
        table.add_column(column, no_wrap=column == "id")
    for p in found:
        table.add_row(p.id, p.identifier, p.name, p.birth_date.isoformat(), p.sex)
    console().print(table)


@patient_app.command("show")
def patient_show(
    patient_id: Annotated[str, typer.Argument(metavar="ID")],
    output: FormatOption = Format.text,
) -> None:
    """One patient's record: nodules and the timeline of events."""
    store = open_store()
    try:
        record = store.run(lambda uow: services.timeline(uow, actor(), patient_id))
    finally:
        store.close()
    if output is Format.json:
        _json(record)
        return
    out = console()
    p = record["patient"]
    out.print(f"[bold]{p['name']}[/] ({p['identifier']}), born {p['birth_date']}, {p['sex']}")
    out.print(f"id {p['id']}")
    shown = min(len(record["nodules"]), 50)
    caption = (
        f"first {shown} shown; --format json has all" if shown < len(record["nodules"]) else None
    )
    nodules = Table(title=f"Nodules ({len(record['nodules'])})", caption=caption)
    for column in ("label", "region", "side", "x", "y", "status", "latest size"):
        nodules.add_column(column)
    for n in record["nodules"][:50]:
        size = f"{n['sizes'][-1]['size_cm']:g} cm" if n["sizes"] else "-"
        nodules.add_row(
            n["label"], n["region"], n["side"], f"{n['x']:.0f}", f"{n['y']:.0f}", n["status"], size
        )
    out.print(nodules)
    counts: dict[str, int] = {}
    for event in record["events"]:
        counts[event["type"]] = counts.get(event["type"], 0) + 1
    out.print("Events: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    for event in record["events"][-10:]:
        out.print(f"  {event['at'][:16]}  {event['type']}")


def demo_command(
    patients: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many patients.")] = 100,
    seed: Annotated[int, typer.Option(help="The same seed gives the same cohort.")] = 0,
    large_patient_nodules: Annotated[
        int, typer.Option(min=0, max=5000, help="Add one patient with this many nodules.")
    ] = 0,
) -> None:
    """Load a synthetic cohort (clearly fake people) with nodules, visits, scores and treatments."""
    from backmice.records.demo import generate_cohort

    store = open_store()
    try:
        with _progress("loading demo cohort") as show:
            summary = generate_cohort(
                store,
                patients,
                seed=seed,
                actor=actor(),
                large_patient_nodules=large_patient_nodules,
                progress=lambda done: show(done, patients),
            )
    finally:
        store.close()
    typer.echo("loaded " + ", ".join(f"{k} {v}" for k, v in summary.counts().items()))
    if summary.large_patient_id:
        typer.echo(f"patient with {large_patient_nodules} nodules: {summary.large_patient_id}")


def backup_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the backup.")],
) -> None:
    """Consistent online backup of the whole database to FILE (gzip JSON lines)."""
    store = open_store()
    try:
        with _progress("backing up") as show:
            summary = backups.backup(store, file, actor(), progress=show)
    finally:
        store.close()
    typer.echo(f"{file}: {sum(summary.values())} rows ({summary['patients']} patients)")


def restore_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A backup made by `backmice backup`.")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the records already there.")
    ] = False,
) -> None:
    """Restore a backup; refuses to replace existing records without --force."""
    if not file.is_file():
        raise InvalidInput([Problem("FILE", f"'{file}' does not exist")])
    store = open_store()
    try:
        with _progress("restoring") as show:
            summary = backups.restore(store, file, actor(), force=force, progress=show)
    finally:
        store.close()
    typer.echo(f"restored {sum(summary.values())} rows ({summary['patients']} patients)")


def export_command(
    patient: Annotated[str, typer.Option("--patient", metavar="ID", help="The patient's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """The whole record of one patient as JSON (backmice.record/1)."""
    store = open_store()
    try:
        doc = store.run(lambda uow: services.export_patient(uow, actor(), patient))
    finally:
        store.close()
    data = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


def import_command(
    file: Annotated[
        str, typer.Argument(metavar="FILE|-", help="A record exported by `backmice export`.")
    ],
) -> None:
    """Load an exported patient record: all of it, or nothing if anything is wrong."""
    doc = parse_json(read_source(file), where="record")
    store = open_store()
    try:
        with _progress("importing") as show:
            patient = store.run(lambda uow: services.import_patient(uow, actor(), doc))
            show(1, 1)
    finally:
        store.close()
    typer.echo(patient.id)


def audit_command(
    patient: Annotated[str, typer.Option("--patient", metavar="ID", help="The patient's id.")],
    output: FormatOption = Format.text,
) -> None:
    """Who read or changed this patient's record, and when (reading it is audited too)."""
    store = open_store()
    try:
        events = store.run(lambda uow: services.audit_trail(uow, actor(), patient))
    finally:
        store.close()
    if output is Format.json:
        _json([services.as_dict(e) for e in events])
        return
    table = Table(title=f"Audit trail ({len(events)} events)")
    for column in ("when (UTC)", "who", "action", "what", "id", "detail"):
        table.add_column(column)
    for e in events:
        table.add_row(
            e.occurred_at.isoformat(timespec="seconds"),
            e.actor,
            e.action,
            e.entity,
            e.entity_id,
            e.detail,
        )
    console().print(table)
