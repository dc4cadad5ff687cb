"""The record store on real SQLite and PostgreSQL: transactions, audit, migrations, backups."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from backmice.engine import Engine
from backmice.errors import InvalidRecord, StorageRefused
from backmice.records import backup, domain, migrate
from backmice.records import services as s
from backmice.records.orm import TABLES, metadata
from backmice.records.store import RecordStore
from backmice.records.unit_of_work import AbstractUnitOfWork

ACTOR = "test:clinician"
WHEN = dt.datetime(2026, 3, 4, 10, 30, 15, 123456, tzinfo=dt.UTC)


def full_record(store: RecordStore, identifier: str = "MRN-1") -> domain.Patient:
    engine = Engine()
    patient = store.run(
        lambda u: s.register_patient(
            u,
            ACTOR,
            identifier=identifier,
            name="Test Person",
            birth_date=dt.date(1966, 6, 6),
            sex="female",
            contact="0123 456",
        )
    )
    nodule = store.run(
        lambda u: s.add_nodule(
            u,
            ACTOR,
            patient.id,
            x=33.5,
            y=61.25,
            side="left",
            region="posterior_iliac_crest",
            label="L1",
            size_cm=2.2,
            measured_at=WHEN,
        )
    )
    encounter = store.run(
        lambda u: s.record_encounter(
            u, ACTOR, patient.id, occurred_at=WHEN, clinician="Dr A", setting="pain_clinic"
        )
    )
    store.run(
        lambda u: s.record_assessment(
            u,
            ACTOR,
            patient.id,
            engine,
            {"setting": "pain_clinic", "findings": {"tender": True}},
            encounter_id=encounter.id,
            nodule_ids=[nodule.id],
            assessed_at=WHEN,
        )
    )
    store.run(
        lambda u: s.record_pain_scores(
            u,
            ACTOR,
            patient.id,
            [s.ScoreEntry(7, "current", WHEN, nodule.id), s.ScoreEntry(9, "with_pressure", WHEN)],
        )
    )
    store.run(
        lambda u: s.record_injection_test(
            u,
            ACTOR,
            patient.id,
            engine,
            performed_at=WHEN,
            minutes_after=20,
            pre_nrs=8,
            post_nrs=2,
            agent="lidocaine 1%",
            volume_ml=2.0,
            nodule_id=nodule.id,
            encounter_id=encounter.id,
        )
    )
    store.run(
        lambda u: s.record_treatment(
            u,
            ACTOR,
            patient.id,
            kind="injection",
            performed_at=WHEN,
            details="LA + steroid",
            nodule_id=nodule.id,
        )
    )
    store.run(
        lambda u: s.add_note(
            u, ACTOR, patient.id, author="Dr A", text="Tender nodule.", written_at=WHEN
        )
    )
    return patient


def count(store: RecordStore, cls: type) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(TABLES[cls])) or 0)


def test_the_unit_of_work_rolls_back_uncommitted_work(store: RecordStore) -> None:
    with store.unit_of_work() as uow:
        uow.patients.add(
            domain.Patient(identifier="X", name="N", birth_date=dt.date(1970, 1, 1), sex="male")
        )
        uow.flush()
    assert count(store, domain.Patient) == 0


def test_committed_work_is_kept(store: RecordStore) -> None:
    with store.unit_of_work() as uow:
        uow.patients.add(
            domain.Patient(identifier="X", name="N", birth_date=dt.date(1970, 1, 1), sex="male")
        )
        uow.commit()
    assert count(store, domain.Patient) == 1


def test_every_kind_of_record_round_trips_through_the_database(store: RecordStore) -> None:
    patient = full_record(store)
    record = store.run(lambda u: s.timeline(u, ACTOR, patient.id))
    assert record["patient"]["birth_date"] == "1966-06-06"
    [nodule] = record["nodules"]
    assert (nodule["x"], nodule["y"], nodule["label"]) == (33.5, 61.25, "L1")
    assert nodule["sizes"][0]["measured_at"] == WHEN.isoformat()
    kinds = sorted(e["type"] for e in record["events"])
    assert kinds == [
        "assessment",
        "encounter",
        "injection_test",
        "note",
        "pain_score",
        "pain_score",
        "treatment",
    ]
    [test] = [e for e in record["events"] if e["type"] == "injection_test"]
    assert (test["relief_percent"], test["interpretation"]) == (75.0, "positive")
    [assessment] = [e for e in record["events"] if e["type"] == "assessment"]
    assert assessment["result"]["schema"] == "backmice.result/1"
    assert assessment["knowledge_version"] == Engine().knowledge_version


def test_each_service_call_leaves_one_audit_event(store: RecordStore) -> None:
    patient = full_record(store)
    events = store.run(lambda u: s.audit_trail(u, ACTOR, patient.id))
    assert [e.action for e in events] == ["create"] * 8
    assert {e.actor for e in events} == {ACTOR}


def test_the_database_refuses_to_change_or_remove_audit_events(store: RecordStore) -> None:
    full_record(store)
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
            connection.execute(text(statement))
    assert count(store, domain.AuditEvent) == 8


def test_bad_input_writes_nothing_at_all(store: RecordStore) -> None:
    patient = full_record(store)
    before = {cls: count(store, cls) for cls in TABLES}
    with pytest.raises(InvalidRecord):
        store.run(
            lambda u: s.record_pain_scores(
                u,
                ACTOR,
                patient.id,
                [s.ScoreEntry(5, "current", WHEN), s.ScoreEntry(11, "current", WHEN)],
            )
        )
    with pytest.raises(InvalidRecord):
        store.run(
            lambda u: s.add_note(
                u,
                ACTOR,
                patient.id,
                author="A",
                text="x",
                written_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
            )
        )
    assert {cls: count(store, cls) for cls in TABLES} == before


def test_a_failure_after_some_writes_leaves_nothing_half_written(store: RecordStore) -> None:
    patient = full_record(store)
    before = count(store, domain.PainScore)

    def work(uow: AbstractUnitOfWork) -> None:
        uow.pain_scores.add(
            domain.PainScore(patient_id=patient.id, score=3, kind="current", recorded_at=WHEN)
        )
        uow.flush()
        raise RuntimeError("the process fails before commit")

    with pytest.raises(RuntimeError):
        store.run(work)
    assert count(store, domain.PainScore) == before


def test_migrations_build_exactly_the_mapped_schema(store: RecordStore) -> None:
    with store.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diffs == []


def test_the_latest_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    store = RecordStore.open(database_url)
    try:
        head = migrate.head_revision()
        assert migrate.current_revision(store.engine) == head
        tables = set(inspect(store.engine).get_table_names())
        full_record(store, "MRN-before")  # with data in it: going down and up keeps it
        migrate.downgrade(store.engine, "-1")
        assert migrate.current_revision(store.engine) != head
        # revision 0003 added tables; going down past it removes them and keeps the rest
        migrate.downgrade(store.engine, "0002")
        assert set(inspect(store.engine).get_table_names()) < tables
        migrate.upgrade(store.engine)
        assert migrate.current_revision(store.engine) == head
        assert set(inspect(store.engine).get_table_names()) == tables
        full_record(store)  # and it works
    finally:
        store.close()


def test_opening_an_empty_database_upgrades_it_to_head(database_url: str) -> None:
    store = RecordStore.open(database_url)
    try:
        assert set(inspect(store.engine).get_table_names()) >= {t.name for t in TABLES.values()}
    finally:
        store.close()


def test_backup_and_restore_give_back_the_same_records(store: RecordStore, tmp_path: Path) -> None:
    patient = full_record(store)
    exported = store.run(lambda u: s.export_patient(u, ACTOR, patient.id))
    path = tmp_path / "backup.jsonl.gz"
    summary = backup.backup(store, path, ACTOR)
    assert summary["patients"] == 1 and summary["pain_scores"] == 2
    with pytest.raises(StorageRefused, match="Use --force"):
        backup.restore(store, path, ACTOR)
    store.run(
        lambda u: s.register_patient(
            u, ACTOR, identifier="LATER", name="L", birth_date=dt.date(1990, 1, 1), sex="male"
        )
    )
    backup.restore(store, path, ACTOR, force=True)
    assert count(store, domain.Patient) == 1  # the later patient is gone, as the backup says
    assert store.run(lambda u: s.export_patient(u, ACTOR, patient.id)) == exported
    trail = store.run(lambda u: s.audit_trail(u, ACTOR, patient.id))
    # the restored trail (8 creations, the export before the backup), then the new export
    assert [e.action for e in trail] == ["create"] * 8 + ["export", "export"]


def test_a_backup_restores_into_the_other_kind_of_database(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    source, target = RecordStore.open(sqlite_url), RecordStore.open(postgres_url)
    try:
        patient = full_record(source)
        path = tmp_path / "b.gz"
        backup.backup(source, path, ACTOR)
        backup.restore(target, path, ACTOR)
        assert target.run(lambda u: s.export_patient(u, ACTOR, patient.id)) == source.run(
            lambda u: s.export_patient(u, ACTOR, patient.id)
        )
        full_record(target, identifier="MRN-2")  # new audit ids continue after the restored ones
    finally:
        source.close()
        target.close()


def test_export_then_import_elsewhere_is_identical(
    store: RecordStore, sqlite_url: str, tmp_path: Path
) -> None:
    patient = full_record(store)
    exported = store.run(lambda u: s.export_patient(u, ACTOR, patient.id))
    other = RecordStore.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        other.run(lambda u: s.import_patient(u, ACTOR, exported))
        assert other.run(lambda u: s.export_patient(u, ACTOR, patient.id)) == exported
    finally:
        other.close()
