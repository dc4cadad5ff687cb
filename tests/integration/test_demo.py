"""The synthetic demo cohort, on SQLite and PostgreSQL: deterministic for a seed, every
record one the services would accept, one audit event per patient, and a patient with
500 nodules whose timeline still loads."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, create_engine, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import make_url

from backmice.care.injection_test import read_injection_test
from backmice.engine import Engine
from backmice.errors import InvalidRecord, Problem, RecordConflict
from backmice.records import demo, domain, services, stored_json
from backmice.records.body_map import suggest
from backmice.records.demo import DEFAULT_START, CohortSummary, generate_cohort
from backmice.records.orm import CompressedJSON, UTCDateTime
from backmice.records.repository import FakeAuditLog, field_values
from backmice.records.services._checks import (
    check_choice,
    check_map_point,
    check_nrs,
    check_text,
    check_time,
)
from backmice.records.store import RecordStore
from backmice.records.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork

PATIENTS = 30


@pytest.fixture
def other_store(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[RecordStore]:
    """A second, empty database on the same backend as `store`."""
    if make_url(database_url).get_backend_name() == "sqlite":
        opened = RecordStore.open(f"sqlite:///{tmp_path / 'other.db'}")
        yield opened
        opened.close()
        return
    admin_url = str(request.getfixturevalue("postgres_admin_url"))
    name = f"bm_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    opened = RecordStore.open(
        make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    )
    yield opened
    opened.close()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _all(store: RecordStore, repository: str) -> list[Any]:
    """Every record of one kind (committed, so they stay loaded after the transaction)."""

    def read(uow: AbstractUnitOfWork) -> list[Any]:
        items: list[Any] = getattr(uow, repository).where()
        uow.commit()
        return items

    return store.run(read)


def _committed(uow: AbstractUnitOfWork, items: list[Any]) -> list[Any]:
    uow.commit()  # so that the loaded objects stay usable after the transaction
    return items


def _patient_ids(store: RecordStore) -> list[str]:
    return sorted(p.id for p in _all(store, "patients"))


def _table_counts(store: RecordStore) -> dict[str, int]:
    counts = {
        name: len(_all(store, name))
        for name in (
            "patients",
            "nodules",
            "nodule_sizes",
            "encounters",
            "assessments",
            "pain_scores",
            "injection_tests",
            "treatments",
            "notes",
            "outcome_scores",
            "plan_decisions",
        )
    }
    counts["audit_events"] = store.run(lambda uow: uow.audit.count())
    return counts


def test_the_same_seed_gives_the_same_cohort(
    store: RecordStore, other_store: RecordStore, engine: Engine
) -> None:
    # in this process, one transaction; and in a worker process, in small batches
    first = generate_cohort(store, PATIENTS, seed=7, engine=engine, parallel=False)
    done: list[int] = []
    second = generate_cohort(
        other_store,
        PATIENTS,
        seed=7,
        engine=engine,
        parallel=True,
        batch_size=8,
        progress=done.append,
    )
    assert first == second
    assert done == [8, 16, 24, 30]
    assert first.counts() == _table_counts(store) == _table_counts(other_store)
    assert first.patients == PATIENTS and first.audit_events == PATIENTS
    assert first.rows == sum(first.counts().values())
    ids = _patient_ids(store)
    assert ids == _patient_ids(other_store)
    for patient_id in ids[:5]:
        exports = [
            s.run(lambda uow, p=patient_id: services.export_patient(uow, "test", p))
            for s in (store, other_store)
        ]
        assert exports[0] == exports[1]
    # another seed, another cohort (and it fits in the same database)
    third = generate_cohort(store, PATIENTS, seed=8, engine=engine, assessments=False)
    assert third.assessments == 0
    assert len(_patient_ids(store)) == 2 * PATIENTS and set(ids) < set(_patient_ids(store))


def test_the_bulk_load_writes_what_the_repositories_would(
    store: RecordStore, other_store: RecordStore, engine: Engine
) -> None:
    # the loader encodes rows itself (COPY on PostgreSQL, executemany on SQLite); the
    # same rows inserted through the repositories, by SQLAlchemy, read back the same
    generate_cohort(store, 12, seed=6, engine=engine, large_patient_nodules=30, batch_size=5)
    recipe = demo._Recipe(6, DEFAULT_START, 12, 30, engine.kb)
    rows = demo._PatientMaker(recipe, engine).batch(0, 13)

    def write(uow: AbstractUnitOfWork) -> None:
        for name in demo._TABLES:
            getattr(uow, name).add_many(getattr(rows, name))
        uow.commit()

    other_store.run(write)
    for name in demo._TABLES:
        loaded = [field_values(i) for i in _all(store, name)]
        assert loaded == [field_values(i) for i in _all(other_store, name)], name
        assert len(loaded) == len(getattr(rows, name)), name
        # and stored alike, as the database itself holds them (text for timestamps and
        # JSON on SQLite, with the same characters; JSON spacing aside)
        assert _stored(store, name) == _stored(other_store, name), name


def test_utc_timestamps_are_encoded_as_the_bind_processor_would() -> None:
    # the loader's shortcut for UTC timestamps is taken on both databases, and agrees
    # with SQLAlchemy's own conversion (the shortcut checks a few values itself)
    kind = UTCDateTime()
    stamps = [
        DEFAULT_START - dt.timedelta(seconds=s, microseconds=u)
        for s, u in ((0, 0), (1, 1), (86_399, 999_999), (400 * 86_400 + 7, 500_000))
    ]
    for dialect in (sqlite_dialect(), psycopg_dialect()):
        fast = demo._fast_timestamps(dialect)
        assert fast is not None, dialect.name
        slow = kind.dialect_impl(dialect).bind_processor(dialect)
        assert slow is not None
        assert [fast(s) for s in stamps] == [slow(s) for s in stamps], dialect.name


def _stored(store: RecordStore, name: str) -> list[tuple[Any, ...]]:
    """Every row of a table as the driver reads it, JSON parsed (and decompressed); on
    SQLite each JSON value with its storage class."""
    table = demo._TABLE_OF[name]
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON | CompressedJSON)}
    sqlite = store.is_sqlite
    columns = []
    for c in table.columns:
        columns.append(f'"{c.name}"')
        if sqlite and c.name in json_columns:
            columns.append(f'typeof("{c.name}")')
    with store.engine.connect() as connection:
        raw = connection.exec_driver_sql(
            f'SELECT {", ".join(columns)} FROM "{name}" ORDER BY id'
        ).all()
        connection.rollback()
    names = [c.strip('"') for c in columns]
    return [
        tuple(
            stored_json.unpack(v) if sqlite and n in json_columns else v
            for n, v in zip(names, row, strict=True)
        )
        for row in raw
    ]


def test_every_record_is_one_the_services_accept(store: RecordStore, engine: Engine) -> None:
    summary = generate_cohort(store, PATIENTS, seed=3, engine=engine)
    now = dt.datetime.now(dt.UTC)
    problems: list[Problem] = []
    times: list[tuple[str, object]] = []

    patients = _all(store, "patients")
    assert len(patients) == PATIENTS
    for p in patients:
        check_text(p.identifier, "identifier", problems, 64)
        check_text(p.name, "name", problems, 200)
        check_choice(p.sex, "sex", ("female", "male", "other"), problems)
        assert p.identifier.startswith("DEMO-3-")
        assert dt.date(1940, 1, 1) <= p.birth_date <= dt.date(2005, 12, 31)
        times.append(("patient.created_at", p.created_at))
    for n in _all(store, "nodules"):
        check_map_point(n.x, n.y, problems)
        check_choice(n.side, "side", domain.SIDES, problems)
        check_choice(n.region, "region", domain.REGIONS, problems)
        check_choice(n.status, "status", domain.NODULE_STATUSES, problems)
        check_text(n.label, "label", problems, 32, required=False)
        # seen from behind: the person's left is x < 50, the spine x = 50
        assert (
            (n.side == "left" and n.x < 50)
            or (n.side == "right" and n.x > 50)
            or (n.side == "midline" and 45 <= n.x <= 55)
        ), (n.side, n.x)
        # where the map's drawn landmarks put the dot, and so what the web page suggests
        assert suggest(n.x, n.y)[1] == n.region, (n.x, n.y, n.region)
        times += [("nodule.created_at", n.created_at), ("nodule.updated_at", n.updated_at)]
    for s in _all(store, "nodule_sizes"):
        assert isinstance(s.size_cm, float) and 0 < s.size_cm <= 50
        times.append(("size.measured_at", s.measured_at))
    for e in _all(store, "encounters"):
        check_text(e.clinician, "clinician", problems, 200)
        check_choice(e.setting, "setting", ("primary_care", "pain_clinic", "self_check"), problems)
        times.append(("encounter.occurred_at", e.occurred_at))
    scores = _all(store, "pain_scores")
    for s in scores:
        check_nrs(s.score, "score", problems)
        check_choice(s.kind, "kind", domain.PAIN_KINDS, problems)
        times.append(("pain_score.recorded_at", s.recorded_at))
    assert {s.kind for s in scores} == set(domain.PAIN_KINDS)
    assert any(s.nodule_id for s in scores) and any(s.nodule_id is None for s in scores)
    for t in _all(store, "injection_tests"):
        reading = read_injection_test(
            engine.kb, minutes_after=t.minutes_after, pre_nrs=t.pre_nrs, post_nrs=t.post_nrs
        )
        assert (t.relief_percent, t.interpretation) == (
            reading.relief_percent,
            reading.interpretation,
        )
        assert t.volume_ml is None or 0 < t.volume_ml <= 50
        times.append(("injection.performed_at", t.performed_at))
    treatments = _all(store, "treatments")
    for t in treatments:
        check_choice(t.kind, "kind", domain.TREATMENT_KINDS, problems)
        times.append(("treatment.performed_at", t.performed_at))
    assert "self_care" in {t.kind for t in treatments}
    for n in _all(store, "notes"):
        check_text(n.text, "text", problems, 20000)
        times.append(("note.written_at", n.written_at))
    assessments = _all(store, "assessments")
    assert len(assessments) == PATIENTS
    for a in assessments[:5]:  # stored as the engine gives it
        assert a.result == engine.assess(a.case)
        assert a.knowledge_version == engine.knowledge_version
    for a in assessments:
        times.append(("assessment.assessed_at", a.assessed_at))
    for field, value in times:
        check_time(value, field, problems)
        assert isinstance(value, dt.datetime) and value <= DEFAULT_START <= now
    assert problems == []
    assert summary.nodules > 0 and summary.injection_tests > 0


def test_each_patient_has_exactly_one_demo_audit_event(store: RecordStore, engine: Engine) -> None:
    generate_cohort(store, PATIENTS, seed=5, engine=engine, actor="demo-loader")
    for patient_id in _patient_ids(store):
        events = store.run(lambda uow, p=patient_id: _committed(uow, uow.audit.for_patient(p)))
        assert [(e.actor, e.action, e.entity, e.entity_id, e.detail) for e in events] == [
            ("demo-loader", "create", "patient", patient_id, "demo seed=5")
        ]
        assert events[0].occurred_at.tzinfo is not None


def test_sqlite_settings_are_put_back_and_the_log_emptied(sqlite_url: str, engine: Engine) -> None:
    store = RecordStore.open(sqlite_url)
    settings = ("PRAGMA cache_size", "PRAGMA wal_autocheckpoint")

    def read(uow: AbstractUnitOfWork) -> list[int]:
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        return [int(uow.session.execute(text(p)).scalar_one()) for p in settings]

    before = store.run(read)
    generate_cohort(store, 9, seed=2, engine=engine, batch_size=2, parallel=False)
    assert store.run(read) == before
    wal = Path(str(make_url(sqlite_url).database) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # copied into the database
    store.close()


def test_a_patient_with_500_nodules_loads(store: RecordStore, engine: Engine) -> None:
    summary = generate_cohort(
        store, 5, seed=1, engine=engine, large_patient_nodules=500, assessments=False
    )
    assert summary.patients == 6 and summary.large_patient_id is not None
    large = summary.large_patient_id

    def read(uow: AbstractUnitOfWork) -> dict[str, Any]:
        return services.timeline(uow, "test", large)

    timeline = store.run(read)
    assert len(timeline["nodules"]) == 500
    assert all(1 <= len(n["sizes"]) <= 3 for n in timeline["nodules"])
    assert len({(n["x"], n["y"]) for n in timeline["nodules"]}) > 450
    regions = Counter(n["region"] for n in timeline["nodules"])
    assert regions.most_common(1)[0][0] == "posterior_iliac_crest"
    assert timeline["patient"]["identifier"] == "DEMO-1-000005"


def test_a_failed_write_in_a_worker_is_raised_as_it_was(
    store: RecordStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on PostgreSQL the worker processes write; on SQLite this process does
    written: list[int] = []

    def fail_on_the_third(self: Any, batch: Any) -> Any:
        if batch.patient_ids and len(written) == 2:
            raise RecordConflict("the third batch clashed")
        written.append(len(batch.patient_ids))
        return original(self, batch)

    original = demo._Writer.write
    monkeypatch.setattr(demo._Writer, "write", fail_on_the_third)
    with pytest.raises(RecordConflict, match="the third batch clashed"):
        generate_cohort(store, 24, seed=11, engine=engine, batch_size=4, parallel=True)


def test_bad_arguments_and_a_second_load_are_refused(store: RecordStore, engine: Engine) -> None:
    with pytest.raises(InvalidRecord) as refused:
        generate_cohort(
            store,
            -1,
            engine=engine,
            start=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
            batch_size=0,
        )
    assert {p.field for p in refused.value.problems} == {"patients", "start", "batch_size"}
    for start in (dt.datetime(2025, 1, 1), dt.datetime(2000, 1, 1, tzinfo=dt.UTC)):
        with pytest.raises(InvalidRecord):  # no time zone; before the youngest birth date
            generate_cohort(store, 1, engine=engine, start=start)
    generate_cohort(store, 2, engine=engine, assessments=False)
    with pytest.raises(RecordConflict):
        generate_cohort(store, 2, engine=engine, assessments=False)
    assert _table_counts(store)["patients"] == 2
    assert generate_cohort(store, 0, seed=9, engine=engine) == CohortSummary()


def test_the_fake_audit_log_takes_many_events() -> None:
    log = FakeAuditLog()
    row = {
        "occurred_at": DEFAULT_START,
        "actor": "demo",
        "action": "create",
        "entity": "patient",
        "entity_id": "p1",
        "patient_id": "p1",
        "detail": "demo seed=0",
    }
    assert log.add_many([row, {**row, "entity_id": "p2", "patient_id": "p2"}]) == 2
    assert [e.id for e in log.events] == [1, 2] and log.for_patient("p2")[0].entity_id == "p2"
