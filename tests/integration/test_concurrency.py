"""Several processes write to one database at once, on SQLite and PostgreSQL: nothing is
lost, and a busy database is a wait, never an error.

`WRITERS` child processes (`record_writer.py`) open the store, then wait for one "go" so
that they start together, and each records `WRITES` pain scores for one shared patient
through `RecordStore.run` (one score per transaction; `run` retries while the database
is busy). Every child must exit with 0 and print nothing on standard error. Afterwards
the database holds exactly the acknowledged scores, each with its one audit event, and
the recorded times show that the writers really contended for the database.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select, text

from backmice.records.orm import metadata
from backmice.records.services import register_patient
from backmice.records.store import RecordStore
from tests.integration.record_writer import ACK, DONE, READY, Writer

WRITERS = 4
WRITES = 150


@pytest.mark.slow
def test_concurrent_writers_lose_nothing_and_never_fail(database_url: str, tmp_path: Path) -> None:
    store = RecordStore.open(database_url)
    try:
        patient = store.run(
            lambda uow: register_patient(
                uow,
                "concurrency-test",
                identifier="CONCURRENT-1",
                name="Concurrency Test",
                birth_date=dt.date(1980, 2, 29),
                sex="other",
            )
        )
    finally:
        store.close()

    writers: list[Writer] = []
    try:
        for n in range(WRITERS):
            writers.append(
                Writer(
                    database_url,
                    patient.id,
                    WRITES,
                    f"writer-{n}",
                    tmp_path / f"stderr-{n}.txt",
                    wait_for_go=True,
                )
            )
        for writer in writers:
            writer.expect_ready(timeout=60)
        for writer in writers:
            writer.go()
        deadline = time.monotonic() + 120
        for writer in writers:
            writer.drain(timeout=deadline - time.monotonic())
        codes = [writer.process.wait(timeout=30) for writer in writers]
        stderrs = [writer.stderr() for writer in writers]
    finally:
        for writer in writers:
            writer.close()

    for n, (writer, code, stderr) in enumerate(zip(writers, codes, stderrs, strict=True)):
        assert code == 0, f"writer-{n} exited with {code}: {stderr}"
        assert stderr == "", f"writer-{n} reported on stderr: {stderr}"
        assert writer.lines[0] == READY and writer.lines[-1] == DONE, writer.lines[-3:]
        assert len(writer.acks) == WRITES, f"writer-{n}: {len(writer.acks)} acks"
        assert len(writer.lines) == WRITES + 2, f"writer-{n} printed more than ids"
        assert all(line.startswith(ACK) for line in writer.lines[1:-1])
    acked = {ack for writer in writers for ack in writer.acks}
    assert len(acked) == WRITERS * WRITES, "an id was acknowledged twice"

    store = RecordStore.open(database_url)
    try:
        with store.engine.connect() as connection:
            scores = metadata.tables["pain_scores"]
            recorded_at: dict[str, dt.datetime] = {
                row.id: row.recorded_at
                for row in connection.execute(
                    select(scores.c.id, scores.c.recorded_at).where(
                        scores.c.patient_id == patient.id
                    )
                )
            }
            total = connection.execute(text("SELECT count(*) FROM pain_scores")).scalar_one()
            audit = metadata.tables["audit_events"]
            events = connection.execute(
                select(audit.c.actor, audit.c.entity_id, audit.c.occurred_at)
                .where(audit.c.entity == "pain_scores")
                .order_by(audit.c.id)
            ).fetchall()
    finally:
        store.close()
    stored = set(recorded_at)
    assert not acked - stored, f"{len(acked - stored)} acknowledged writes lost"
    assert not stored - acked, f"{len(stored - acked)} scores stored but never acknowledged"
    assert total == WRITERS * WRITES

    by_actor: dict[str, list[str]] = defaultdict(list)
    last_write: dict[str, dt.datetime] = {}
    for actor, entity_id, occurred_at in events:
        by_actor[actor].append(entity_id)
        last_write[actor] = max(occurred_at, last_write.get(actor, occurred_at))
    assert len(events) == WRITERS * WRITES, f"{len(events)} audit events"
    for n, writer in enumerate(writers):
        assert by_actor[f"writer-{n}"] == writer.acks, f"writer-{n}'s audit trail differs"

    # Honesty: the writers contended. Each was already trying to write its first score
    # (recorded_at is taken before store.run) before any writer's last write went in,
    # and the writes of different writers went in interleaved, not one writer after
    # another. (Not: each writer's writes overlap in time. On SQLite a waiting writer
    # sleeps in the busy handler, up to 100 ms a try, and can miss every turn until the
    # others are done.)
    first_tries = [recorded_at[writer.acks[0]] for writer in writers]
    assert max(first_tries) < min(last_write.values()), (
        f"a writer began only after another had finished: {first_tries}, {last_write}"
    )
    actors = [actor for actor, _, _ in events]
    switches = sum(1 for a, b in pairwise(actors) if a != b)
    assert switches >= WRITERS, f"the writers' writes went in one after another ({switches})"
