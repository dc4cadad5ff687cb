"""Record store speed: loading a large synthetic cohort, and reading one patient's timeline.

Prints, for SQLite (a file in a temporary directory) and PostgreSQL:
* the time to generate and load the demo cohort (`backmice.records.demo`) of
  --patients patients (default 100,000: about a million pain scores) plus one patient
  with --large-nodules nodules, and the rate in rows per second, counting every row
  inserted in every table (audit events included); also the CPU time that took (on a
  machine shared with other work it says more than the rate) and the database's size;
* p50 and p95 of the time to load one patient's full timeline (`services.timeline`
  through `store.run`: reads, the audit event and the commit), over --timelines random
  patients, and separately for the patient with many nodules (50 loads; then again
  with the cyclic garbage collector paused, to show how much of it is collector pauses).

PostgreSQL is the server named by BACKMICE_TEST_POSTGRES_URL (a database the benchmark
may use to create and drop another), else a throwaway server started from the
distribution's binaries (tests/postgres.py); without either it says it was skipped.

Run:  python benchmarks/records.py [--patients 100000] [--timelines 200]
Timing is measured and printed here, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sqlalchemy
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.postgres

from backmice.engine import Engine
from backmice.records import services
from backmice.records.demo import CohortSummary, generate_cohort
from backmice.records.orm import patients as patients_table
from backmice.records.store import RecordStore
from backmice.records.unit_of_work import AbstractUnitOfWork

LOAD_TARGET = 20_000  # rows/s
TIMELINE_TARGET_MS = 50.0  # p95


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def load(
    store: RecordStore, args: argparse.Namespace, engine: Engine
) -> tuple[CohortSummary, float, tuple[float, ...]]:
    step = max(1, args.patients // 10)
    marks = iter(range(step, args.patients + step + 1, step))
    next_mark = next(marks)

    def progress(done: int) -> None:
        nonlocal next_mark
        if done >= next_mark:
            print(f"    ... {done:,} patients", file=sys.stderr, flush=True)
            while next_mark <= done:
                next_mark = next(marks, sys.maxsize)

    start = time.perf_counter()
    cpu_before = _cpu_seconds()
    summary = generate_cohort(
        store,
        args.patients,
        seed=args.seed,
        engine=engine,
        progress=progress,
        large_patient_nodules=args.large_nodules,
        assessments=not args.no_assessments,
        batch_size=args.batch_size,
    )
    seconds = time.perf_counter() - start
    cpu = tuple(after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True))
    return summary, seconds, cpu


def _cpu_seconds() -> tuple[float, float]:
    """User + system CPU time of this process, and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def timeline_ms(store: RecordStore, patient_id: str) -> float:
    def read(uow: AbstractUnitOfWork) -> int:
        return len(services.timeline(uow, "benchmark", patient_id)["events"])

    start = time.perf_counter()
    store.run(read)
    return (time.perf_counter() - start) * 1000.0


def timelines(store: RecordStore, ids: list[str], repeat: int = 1) -> list[float]:
    for patient_id in ids[:5]:  # warm-up: connection, statement caches
        timeline_ms(store, patient_id)
    return [timeline_ms(store, p) for p in ids for _ in range(repeat)]


def run_backend(name: str, url: str, args: argparse.Namespace, engine: Engine) -> None:
    store = RecordStore.open(url)
    try:
        summary, seconds, (here, workers) = load(store, args, engine)
        counts = summary.counts()
        rate = summary.rows / seconds
        print(
            f"  load: {summary.rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s "
            f"[target >= {LOAD_TARGET:,} rows/s] {'ok' if rate >= LOAD_TARGET else 'MISSED'}"
        )
        print(
            f"    CPU time: {here:.1f} s in this process, {workers:.1f} s in its worker "
            "processes (the database server's is not counted)"
        )
        print(
            "    " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if k != "patients"),
        )
        each = counts["patients"]
        print(
            f"    {each:,} patients: {counts['pain_scores'] / each:.1f} pain scores "
            f"and {summary.rows / each:.1f} rows each"
        )
        if name == "SQLite":
            size = Path(make_url(url).database or "").stat().st_size
            print(f"    database file {size / 1e6:,.0f} MB")
        else:
            with store.engine.connect() as connection:
                size = connection.execute(text("SELECT pg_database_size(current_database())"))
                print(f"    database {int(size.scalar_one()) / 1e6:,.0f} MB")
                connection.rollback()
        with store.engine.connect() as connection:
            ids = sorted(connection.execute(select(patients_table.c.id)).scalars())
            connection.rollback()
        large = summary.large_patient_id
        regular = [p for p in ids if p != large]
        sample = random.Random(args.seed).sample(regular, min(args.timelines, len(regular)))
        times = timelines(store, sample)
        p50, p95 = percentile(times, 50), percentile(times, 95)
        print(
            f"  timeline, {len(sample)} random patients: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"max {max(times):.1f} ms [target p95 <= {TIMELINE_TARGET_MS:.0f} ms] "
            f"{'ok' if p95 <= TIMELINE_TARGET_MS else 'MISSED'}"
        )
        if large is not None:
            times = timelines(store, [large], repeat=50)
            p50, p95 = percentile(times, 50), percentile(times, 95)
            print(
                f"  timeline, the patient with {args.large_nodules} nodules (50 loads): "
                f"p50 {p50:.1f} ms, p95 {p95:.1f} ms [target p95 <= {TIMELINE_TARGET_MS:.0f} ms] "
                f"{'ok' if p95 <= TIMELINE_TARGET_MS else 'MISSED'}"
            )
            gc.disable()  # a diagnosis, not a figure: how much of that is collector pauses
            try:
                times = timelines(store, [large], repeat=50)
            finally:
                gc.enable()
            print(
                f"    the same with Python's cyclic garbage collector paused: "
                f"p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms"
            )
    finally:
        store.close()


@contextmanager
def postgres_database() -> Iterator[tuple[str | None, str]]:
    """(URL of a fresh database or None, a description or the reason it was skipped)."""
    admin_url = os.environ.get("BACKMICE_TEST_POSTGRES_URL")
    server = None
    where = "server from BACKMICE_TEST_POSTGRES_URL"
    if not admin_url:
        try:
            from tests.postgres import ThrowawayServer

            server = ThrowawayServer()
        except (ImportError, FileNotFoundError, OSError) as exc:
            yield None, f"no BACKMICE_TEST_POSTGRES_URL and no throwaway server: {exc}"
            return
        admin_url = server.url
        where = f"throwaway server, {server.bin.parent.name} from {server.bin}"
    name = f"bm_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            version = connection.execute(text("SHOW server_version")).scalar()
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            yield url, f"PostgreSQL {version} ({where})"
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
        if server is not None:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--timelines", type=int, default=200)
    parser.add_argument("--large-nodules", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument(
        "--no-assessments", action="store_true", help="skip the engine assessment per patient"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    backends = {b.strip() for b in args.backends.split(",")}

    now = dt.datetime.now(dt.UTC)
    print(
        f"backmice record store benchmark, {now:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}"
    )
    print(
        f"cohort: {args.patients:,} patients + 1 with {args.large_nodules} nodules, seed "
        f"{args.seed}, {args.batch_size} patients per transaction, engine assessments "
        f"{'off' if args.no_assessments else 'on'}"
    )
    engine = Engine()
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="bm-bench-") as tmp:
            print(
                f"SQLite {sqlite3.sqlite_version} (a file in a temporary directory; WAL, "
                "synchronous=FULL)"
            )
            run_backend("SQLite", f"sqlite:///{Path(tmp) / 'records.db'}", args, engine)
    if "postgresql" in backends:
        with postgres_database() as (url, description):
            if url is None:
                print(f"PostgreSQL: skipped ({description})")
            else:
                print(description)
                run_backend("PostgreSQL", url, args, engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
