"""Every acknowledged write survives a SIGKILL of the writer, on SQLite and PostgreSQL.

A child process (`record_writer.py`) records pain scores through `RecordStore.run`, one
per transaction, and prints each score's id only after its commit has returned. The
parent reads those acknowledgements while the child runs and kills it with SIGKILL at a
random point (a seeded generator: `BACKMICE_CRASH_SEED` picks another seed, and every
failure names the seed). Then, with every connection of the crashed run closed:

* every acknowledged id is in the database, and at most one more score (the write in
  flight at the kill, committed but not yet acknowledged) is there;
* every score came with its audit event and no event without its score (no half
  transaction), and the database passes its integrity checks;
* the application starts cleanly: `python -m backmice db upgrade` succeeds, and the
  store opens (migrations at head) and takes a new write.

A store that acknowledged before committing, or whose commits were not atomic, fails
here. (A SIGKILL leaves the operating system's buffers intact, so a missing fsync is
not what this test can see: that needs a power cut.)
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from backmice.records import migrate
from backmice.records.database import open_engine
from backmice.records.orm import metadata
from backmice.records.services import ScoreEntry, record_pain_scores, register_patient
from backmice.records.store import RecordStore
from tests.integration.record_writer import DONE, Writer

# Read when the module is imported: the autouse `clean_environ` fixture hides every
# BACKMICE_* variable from the tests themselves.
SEED = int(os.environ.get("BACKMICE_CRASH_SEED", "20240611"))
RUNS = 3
#: Each writer is asked for this many writes, more than the latest kill point, so it is
#: always killed mid-stream (checked: it has not exited by itself when the kill comes).
WRITES = 1200
KILL_AFTER_ACKS = (200, 1000)


def _register(url: str, identifier: str) -> str:
    store = RecordStore.open(url)
    try:
        patient = store.run(
            lambda uow: register_patient(
                uow,
                "crash-test",
                identifier=identifier,
                name="Crash Test",
                birth_date=dt.date(1970, 1, 1),
                sex="female",
            )
        )
        return patient.id
    finally:
        store.close()  # nothing of the parent's stays open while the child is killed


def _stored_score_ids(engine: Engine, patient_id: str) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id FROM pain_scores WHERE patient_id = :p"), {"p": patient_id}
        )
        return {row[0] for row in rows}


def _check_sqlite_file(url: str, where: str) -> None:
    """SQLite's own checks, by the first connection after the crash (it recovers the WAL)."""
    path = make_url(url).database
    assert path is not None and Path(path).exists()
    connection = sqlite3.connect(path)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        foreign_keys = connection.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        connection.close()
    assert integrity == [("ok",)], f"integrity_check: {integrity} ({where})"
    assert foreign_keys == [], f"foreign_key_check: {foreign_keys} ({where})"


def _check_consistency(engine: Engine, where: str) -> None:
    """Every row readable; scores, patients and audit events agree with each other."""
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            counted = connection.execute(text(f"SELECT count(*) FROM {table.name}")).scalar_one()
            read = connection.execute(table.select()).fetchall()
            assert len(read) == counted, f"{table.name}: {len(read)} rows read of {counted}"
        checks = {
            "pain scores without their patient": """
                SELECT count(*) FROM pain_scores s
                LEFT JOIN patients p ON p.id = s.patient_id WHERE p.id IS NULL""",
            "pain scores without their audit event": """
                SELECT count(*) FROM pain_scores s
                LEFT JOIN audit_events a ON a.entity = 'pain_scores' AND a.entity_id = s.id
                WHERE a.id IS NULL""",
            "audit events of pain scores not stored": """
                SELECT count(*) FROM audit_events a
                LEFT JOIN pain_scores s ON s.id = a.entity_id
                WHERE a.entity = 'pain_scores' AND s.id IS NULL""",
        }
        for what, query in checks.items():
            found = connection.execute(text(query)).scalar_one()
            assert found == 0, f"{found} {what} ({where})"


def _check_application_starts(url: str, patient_id: str, where: str) -> None:
    """`backmice db upgrade` succeeds, and the store opens at head and takes a new write."""
    upgrade = subprocess.run(
        [sys.executable, "-W", "error", "-m", "backmice", "db", "upgrade"],
        env={**os.environ, "BACKMICE_DATABASE_URL": url, "BACKMICE_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert upgrade.returncode == 0, f"db upgrade: {upgrade.stdout}{upgrade.stderr} ({where})"
    assert upgrade.stdout.rstrip().endswith(f"-> {migrate.head_revision()} (head)"), (
        f"db upgrade: {upgrade.stdout} ({where})"
    )
    store = RecordStore.open(url)
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision(), where
        entry = ScoreEntry(score=3, kind="current", recorded_at=dt.datetime.now(dt.UTC))
        written = store.run(lambda uow: record_pain_scores(uow, "after-crash", patient_id, [entry]))
        assert written[0].id in _stored_score_ids(store.engine, patient_id), where
    finally:
        store.close()


@pytest.mark.slow
def test_every_acknowledged_write_survives_sigkill(database_url: str, tmp_path: Path) -> None:
    backend = make_url(database_url).get_backend_name()
    rng = random.Random(f"{SEED}:{backend}")
    for run in range(1, RUNS + 1):
        target = rng.randint(*KILL_AFTER_ACKS)
        # The first run kills as soon as the target ack is read, when an ack printed before
        # its commit would most likely still be uncommitted; the others a moment later, so
        # the kill lands anywhere inside a write.
        pause = 0.0 if run == 1 else rng.uniform(0.0, 0.004)
        where = f"seed {SEED}, {backend}, run {run}/{RUNS}, kill after {target} acks"
        # Each run a new patient in the same database: later runs start on a database
        # that an earlier run's writer was killed in.
        patient_id = _register(database_url, f"CRASH-{run}")
        with Writer(
            database_url, patient_id, WRITES, f"writer-{run}", tmp_path / f"stderr-{run}.txt"
        ) as writer:
            writer.expect_ready(timeout=60)
            writer.read_acks(target, deadline=time.monotonic() + 120)
            time.sleep(pause)
            assert writer.process.poll() is None, (
                f"the writer exited by itself before the kill: code {writer.process.returncode}, "
                f"stderr {writer.stderr()!r} ({where})"
            )
            code = writer.sigkill()
            writer.drain(timeout=30)  # acks printed before the kill, still in the pipe
            stderr = writer.stderr()
        assert code == -signal.SIGKILL, f"exit code {code} ({where})"
        assert DONE not in writer.lines, f"the writer finished before the kill ({where})"
        assert stderr == "", f"the writer reported: {stderr} ({where})"
        acked = writer.acks
        assert len(acked) >= target, where
        assert len(set(acked)) == len(acked), f"an id was acknowledged twice ({where})"

        if backend == "sqlite":
            _check_sqlite_file(database_url, where)
        engine = open_engine(database_url)
        try:
            stored = _stored_score_ids(engine, patient_id)
            lost = [i for i in acked if i not in stored]
            assert not lost, f"{len(lost)} of {len(acked)} acknowledged writes lost ({where})"
            unacknowledged = stored - set(acked)
            assert len(unacknowledged) <= 1, (
                f"{len(unacknowledged)} stored scores were never acknowledged; one write "
                f"at most can be in flight ({where})"
            )
            _check_consistency(engine, where)
        finally:
            engine.dispose()
        _check_application_starts(database_url, patient_id, where)
