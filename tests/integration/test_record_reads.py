"""Reads that skip the ORM's objects, on real SQLite and PostgreSQL: the field dicts a
repository hands out, and the timeline built from them, are exactly what the domain
objects give (same keys in the same order, same values, same order of records)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from backmice.engine import Engine
from backmice.records import domain
from backmice.records import services as s
from backmice.records.demo import generate_cohort
from backmice.records.store import RecordStore
from backmice.records.unit_of_work import REPOSITORIES, AbstractUnitOfWork
from tests.equality import same_in_order
from tests.integration.test_records_store import ACTOR, WHEN, full_record


def _fields(item: object) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}  # type: ignore[arg-type]


def _timeline_from_objects(uow: AbstractUnitOfWork, patient_id: str) -> dict[str, Any]:
    """The timeline as it was built before its reads skipped the ORM objects."""
    patient = uow.patients.get(patient_id)
    assert patient is not None
    nodules = uow.nodules.for_patient(patient_id)
    sizes = uow.nodule_sizes.where_in("nodule_id", [n.id for n in nodules])
    by_nodule: dict[str, list[dict[str, Any]]] = {n.id: [] for n in nodules}
    for size in sizes:
        by_nodule[size.nodule_id].append(s.as_dict(size))
    kinds = {
        "encounter": ("encounters", "occurred_at"),
        "assessment": ("assessments", "assessed_at"),
        "pain_score": ("pain_scores", "recorded_at"),
        "injection_test": ("injection_tests", "performed_at"),
        "treatment": ("treatments", "performed_at"),
        "note": ("notes", "written_at"),
    }
    events: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    for kind, (repository, when) in kinds.items():
        for item in getattr(uow, repository).for_patient(patient_id):
            events.append((getattr(item, when), kind, s.as_dict(item)))
    events.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    return {
        "patient": s.as_dict(patient),
        "nodules": [{**s.as_dict(n), "sizes": by_nodule[n.id]} for n in nodules],
        "events": [{"type": kind, "at": when.isoformat(), **data} for when, kind, data in events],
    }


def _with_a_second_visit(store: RecordStore, patient: domain.Patient) -> None:
    """More of everything, some of it at the same time as the first visit (ties)."""
    later = WHEN + dt.timedelta(days=30)
    nodule = store.run(
        lambda u: s.add_nodule(
            u, ACTOR, patient.id, x=70.0, y=55.0, side="right", region="sacroiliac"
        )
    )
    store.run(lambda u: s.record_nodule_size(u, ACTOR, nodule.id, 1.5, later))
    store.run(lambda u: s.record_nodule_size(u, ACTOR, nodule.id, 1.7, WHEN))
    store.run(
        lambda u: s.record_pain_scores(
            u,
            ACTOR,
            patient.id,
            [s.ScoreEntry(3, "current", WHEN), s.ScoreEntry(4, "worst", later, nodule.id)],
        )
    )
    store.run(lambda u: s.record_encounter(u, ACTOR, patient.id, occurred_at=later, clinician="B"))


def test_the_timeline_is_what_the_domain_objects_give(store: RecordStore) -> None:
    patient = full_record(store)
    _with_a_second_visit(store, patient)
    before = store.run(lambda u: u.audit.count())
    timeline = store.run(lambda u: s.timeline(u, ACTOR, patient.id))
    assert store.run(lambda u: u.audit.count()) == before + 1  # read, and audited
    expected = store.run(lambda u: _timeline_from_objects(u, patient.id))
    assert same_in_order(timeline, expected)
    assert len(timeline["events"]) == 10 and len(timeline["nodules"]) == 2
    assert [len(n["sizes"]) for n in timeline["nodules"]] == [1, 2]


def test_a_demo_patient_with_many_nodules_reads_the_same(
    store: RecordStore, engine: Engine
) -> None:
    summary = generate_cohort(store, 3, seed=4, engine=engine, large_patient_nodules=120)
    ids = store.run(lambda u: [p.id for p in u.patients.where()])
    assert summary.large_patient_id in ids
    for patient_id in ids:
        timeline = store.run(lambda u, p=patient_id: s.timeline(u, ACTOR, p))
        expected = store.run(lambda u, p=patient_id: _timeline_from_objects(u, p))
        assert same_in_order(timeline, expected)


def test_field_dicts_are_the_objects_fields(store: RecordStore) -> None:
    patient = full_record(store)
    _with_a_second_visit(store, patient)

    def compare(uow: AbstractUnitOfWork) -> None:
        for name in REPOSITORIES:
            repository = getattr(uow, name)
            objects = [_fields(i) for i in repository.where()]
            assert same_in_order(repository.fields_where(), objects), name
        nodule_ids = [n.id for n in uow.nodules.for_patient(patient.id)]
        scores = uow.pain_scores
        assert same_in_order(
            scores.fields_for_patient(patient.id),
            [_fields(i) for i in scores.for_patient(patient.id)],
        )
        unlinked = scores.fields_where(patient_id=patient.id, nodule_id=None)
        assert unlinked and all(f["nodule_id"] is None for f in unlinked)
        assert same_in_order(
            unlinked, [_fields(i) for i in scores.where(patient_id=patient.id, nodule_id=None)]
        )
        assert same_in_order(
            uow.nodule_sizes.fields_where_in("nodule_id", nodule_ids),
            [_fields(i) for i in uow.nodule_sizes.where_in("nodule_id", nodule_ids)],
        )
        assert uow.nodule_sizes.fields_where_in("nodule_id", []) == []

    store.run(compare)


def test_field_reads_see_what_the_transaction_has_not_yet_flushed(store: RecordStore) -> None:
    patient = full_record(store)

    def add_and_read(uow: AbstractUnitOfWork) -> list[dict[str, Any]]:
        uow.notes.add(
            domain.Note(patient_id=patient.id, author="Dr C", text="Unflushed.", written_at=WHEN)
        )
        return uow.notes.fields_for_patient(patient.id)

    notes = store.run(add_and_read)  # not committed: rolled back afterwards
    assert sorted(n["text"] for n in notes) == ["Tender nodule.", "Unflushed."]
    kept = store.run(lambda u: [n.text for n in u.notes.for_patient(patient.id)])
    assert kept == ["Tender nodule."]
