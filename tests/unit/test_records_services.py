"""Record services on in-memory fakes: checks, audit events, commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from backmice.engine import Engine
from backmice.errors import InvalidCase, InvalidRecord, RecordConflict, RecordNotFound
from backmice.records import domain
from backmice.records import services as s
from backmice.records.unit_of_work import FakeUnitOfWork

NOW = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
ACTOR = "test:clinician"


def new_patient(uow: FakeUnitOfWork, identifier: str = "MRN-1") -> domain.Patient:
    return s.register_patient(
        uow,
        ACTOR,
        identifier=identifier,
        name="Test Person",
        birth_date=dt.date(1970, 1, 2),
        sex="female",
    )


def new_nodule(uow: FakeUnitOfWork, patient: domain.Patient) -> domain.Nodule:
    return s.add_nodule(
        uow, ACTOR, patient.id, x=35, y=62, side="left", region="posterior_iliac_crest", size_cm=2.0
    )


def test_registering_a_patient_commits_and_audits_once() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    assert uow.committed
    assert uow.patients.get(patient.id) is patient
    [event] = uow.audit.events
    assert (event.action, event.entity, event.patient_id, event.actor) == (
        "create",
        "patient",
        patient.id,
        ACTOR,
    )


def test_a_duplicate_identifier_is_a_conflict_that_does_not_echo_it() -> None:
    uow = FakeUnitOfWork()
    new_patient(uow)
    with pytest.raises(RecordConflict) as caught:
        new_patient(uow)
    assert "MRN-1" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sex": "f"}, r"sex: 'f' is not one of female, male, other"),
        ({"name": ""}, r"name: '' is not non-empty text"),
        ({"birth_date": dt.date(2999, 1, 1)}, r"birth_date: 2999-01-01 is in the future"),
        ({"identifier": "x" * 65}, r"identifier: is 65 characters long; at most 64"),
    ],
)
def test_an_invalid_patient_is_refused_and_nothing_is_written(
    change: dict[str, Any], message: str
) -> None:
    uow = FakeUnitOfWork()
    fields = {"identifier": "MRN-9", "name": "N", "birth_date": dt.date(1970, 1, 1), "sex": "male"}
    with pytest.raises(InvalidRecord, match=message):
        s.register_patient(uow, ACTOR, **{**fields, **change})
    assert not uow.committed and not uow.patients.items and not uow.audit.events


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            s.ScoreEntry(11, "current", NOW),
            r"scores\[0\]\.score: 11 is not a whole number from 0 to 10",
        ),
        (s.ScoreEntry(-1, "current", NOW), r"scores\[0\]\.score: -1 is not a whole number"),
        (s.ScoreEntry(5, "average", NOW), r"scores\[0\]\.kind: 'average' is not one of current"),
        (
            s.ScoreEntry(
                5, "current", dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
            ),  # fixed at collection: far enough ahead to stay future during a long run
            r"scores\[0\]\.recorded_at: .* is in the future",
        ),
        (
            s.ScoreEntry(5, "current", dt.datetime(2020, 1, 1)),
            r"is not a timestamp with a time zone",
        ),
    ],
)
def test_invalid_pain_scores_are_refused_and_nothing_is_written(
    entry: s.ScoreEntry, message: str
) -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    before = len(uow.audit.events)
    good = s.ScoreEntry(3, "current", NOW)
    with pytest.raises(InvalidRecord, match=message):
        s.record_pain_scores(uow, ACTOR, patient.id, [entry, good])
    assert not uow.pain_scores.items
    assert len(uow.audit.events) == before


def test_a_score_within_a_minute_of_now_is_accepted() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    [score] = s.record_pain_scores(uow, ACTOR, patient.id, [s.ScoreEntry(4, "worst", soon)])
    assert score.score == 4


def test_an_unknown_patient_or_nodule_is_not_found() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    with pytest.raises(RecordNotFound, match=r"patient 'nobody' does not exist"):
        s.record_pain_scores(uow, ACTOR, "nobody", [s.ScoreEntry(3, "current", NOW)])
    with pytest.raises(RecordNotFound, match=r"nodule 'gone' does not exist for patient"):
        s.record_pain_scores(uow, ACTOR, patient.id, [s.ScoreEntry(3, "current", NOW, "gone")])
    assert not uow.pain_scores.items


def test_another_patients_nodule_is_not_found() -> None:
    uow = FakeUnitOfWork()
    first, second = new_patient(uow, "A"), new_patient(uow, "B")
    nodule = new_nodule(uow, first)
    with pytest.raises(RecordNotFound):
        s.record_pain_scores(uow, ACTOR, second.id, [s.ScoreEntry(3, "current", NOW, nodule.id)])


def test_a_nodule_off_the_map_is_refused() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    with pytest.raises(InvalidRecord, match=r"x: 120 is not a body-map coordinate from 0 to 100"):
        s.add_nodule(uow, ACTOR, patient.id, x=120, y=50, side="left", region="flank")


def test_an_invalid_case_stores_no_assessment() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    with pytest.raises(InvalidCase, match=r"findings\.size_cm: -3 is not > 0"):
        s.record_assessment(uow, ACTOR, patient.id, Engine(), {"findings": {"size_cm": -3}})
    assert not uow.assessments.items


def test_an_injection_test_with_an_impossible_score_is_refused() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    with pytest.raises(InvalidRecord, match=r"post_nrs: 12 is not a whole number from 0 to 10"):
        s.record_injection_test(
            uow,
            ACTOR,
            patient.id,
            Engine(),
            performed_at=NOW,
            minutes_after=30,
            pre_nrs=8,
            post_nrs=12,
        )
    with pytest.raises(InvalidRecord, match=r"minutes_after: -5 is not a number of minutes"):
        s.record_injection_test(
            uow,
            ACTOR,
            patient.id,
            Engine(),
            performed_at=NOW,
            minutes_after=-5,
            pre_nrs=8,
            post_nrs=2,
        )
    assert not uow.injection_tests.items


def _every_service(
    engine: Engine,
) -> dict[str, Callable[[FakeUnitOfWork, domain.Patient, domain.Nodule], object]]:
    return {
        "get_patient": lambda u, p, n: s.get_patient(u, ACTOR, p.id),
        "add_nodule": lambda u, p, n: new_nodule(u, p),
        "move_nodule": lambda u, p, n: s.move_nodule(u, ACTOR, n.id, x=40, y=60),
        "set_nodule_status": lambda u, p, n: s.set_nodule_status(u, ACTOR, n.id, "resolved"),
        "record_nodule_size": lambda u, p, n: s.record_nodule_size(u, ACTOR, n.id, 2.5, NOW),
        "record_encounter": lambda u, p, n: s.record_encounter(
            u, ACTOR, p.id, occurred_at=NOW, clinician="Dr A"
        ),
        "record_assessment": lambda u, p, n: s.record_assessment(
            u, ACTOR, p.id, engine, {"findings": {}}
        ),
        "record_pain_scores": lambda u, p, n: s.record_pain_scores(
            u, ACTOR, p.id, [s.ScoreEntry(2, "current", NOW)]
        ),
        "record_injection_test": lambda u, p, n: s.record_injection_test(
            u, ACTOR, p.id, engine, performed_at=NOW, minutes_after=20, relief_percent=60
        ),
        "record_treatment": lambda u, p, n: s.record_treatment(
            u, ACTOR, p.id, kind="self_care", performed_at=NOW
        ),
        "add_note": lambda u, p, n: s.add_note(u, ACTOR, p.id, author="Dr A", text="Reviewed."),
        "timeline": lambda u, p, n: s.timeline(u, ACTOR, p.id),
        "nodule_history": lambda u, p, n: s.nodule_history(u, ACTOR, n.id),
        "audit_trail": lambda u, p, n: s.audit_trail(u, ACTOR, p.id),
        "export_patient": lambda u, p, n: s.export_patient(u, ACTOR, p.id),
        "record_outcome_scores": lambda u, p, n: s.record_outcome_scores(
            u, ACTOR, p.id, [s.OutcomeEntry("pgic", 2, NOW, n.id)]
        ),
        "care_plan": lambda u, p, n: s.care_plan(u, ACTOR, p.id),
        "outcome_trends": lambda u, p, n: s.outcome_trends(u, ACTOR, p.id),
        "decide_plan": lambda u, p, n: s.decide_plan(
            u, ACTOR, p.id, decision="stop", reason_code="patient_declined"
        ),
    }


SERVICES_TOUCHING_A_PATIENT = (
    "add_note",
    "add_nodule",
    "audit_trail",
    "care_plan",
    "decide_plan",
    "export_patient",
    "get_patient",
    "move_nodule",
    "nodule_history",
    "outcome_trends",
    "record_assessment",
    "record_encounter",
    "record_injection_test",
    "record_nodule_size",
    "record_outcome_scores",
    "record_pain_scores",
    "record_treatment",
    "set_nodule_status",
    "timeline",
)


@pytest.mark.parametrize("name", SERVICES_TOUCHING_A_PATIENT)
def test_every_service_that_touches_a_patient_writes_one_audit_event(
    name: str, engine: Engine
) -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    nodule = new_nodule(uow, patient)
    uow.committed = False
    before = len(uow.audit.events)
    _every_service(engine)[name](uow, patient, nodule)
    assert uow.committed
    new_events = uow.audit.events[before:]
    assert len(new_events) == 1, new_events
    assert new_events[0].patient_id == patient.id
    assert new_events[0].actor == ACTOR


def test_every_service_is_covered_by_the_audit_test() -> None:
    touching = set(s.__all__) - {
        "ScoreEntry",
        "OutcomeEntry",
        "OutcomeSeries",
        "DueReview",
        "Reassessment",
        "due_reviews",  # a list across patients: tested below
        "record_injection_and_reassess",  # two records, two events: tested below
        "as_dict",
        "register_patient",
        "list_patients",
        "import_patient",
    }
    assert touching == set(_every_service(Engine.__new__(Engine)))


def test_the_patient_list_is_audited_without_the_search_text() -> None:
    uow = FakeUnitOfWork()
    new_patient(uow)
    found, total = s.list_patients(uow, ACTOR, search="Test")
    assert total == 1 and len(found) == 1
    event = uow.audit.events[-1]
    assert event.entity == "patient_list" and "Test" not in event.detail


def test_the_list_of_reviews_due_is_audited_as_one_listing() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    s.record_assessment(uow, ACTOR, patient.id, Engine(), {"findings": {}})
    uow.audit.events.clear()
    s.due_reviews(uow, ACTOR, NOW.date())
    [event] = uow.audit.events
    assert (event.action, event.entity, event.patient_id) == ("read", "due_reviews", None)


def test_an_injection_fed_back_writes_the_test_and_the_new_assessment_together(
    engine: Engine,
) -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    s.record_assessment(
        uow, ACTOR, patient.id, engine, {"findings": {"lump_present": True}}, assessed_at=NOW
    )
    uow.audit.events.clear()
    uow.commits = 0
    again = s.record_injection_and_reassess(
        uow, ACTOR, patient.id, engine, performed_at=NOW, minutes_after=20, pre_nrs=8, post_nrs=2
    )
    assert uow.commits == 1  # one transaction
    assert [e.entity for e in uow.audit.events] == ["injection_test", "assessment"]
    assert again.assessment is not None
    assert again.assessment.case["findings"]["injection_relief_percent"] == 75.0
    assert again.before is not None


def test_an_outcome_rating_out_of_range_is_refused_and_nothing_written() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    with pytest.raises(InvalidRecord, match=r"entries\[0\]\.value: 8 is not a PGIC rating"):
        s.record_outcome_scores(uow, ACTOR, patient.id, [s.OutcomeEntry("pgic", 8, NOW)])
    with pytest.raises(InvalidRecord, match=r"entries\[0\]\.measure: 'mood' is not one of"):
        s.record_outcome_scores(uow, ACTOR, patient.id, [s.OutcomeEntry("mood", 3, NOW)])
    assert not uow.outcome_scores.items


def test_choosing_another_step_needs_a_coded_reason() -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    with pytest.raises(InvalidRecord, match=r"reason: None is not one of patient_preference"):
        s.decide_plan(uow, ACTOR, patient.id, decision="choose", step_id="self_care")
    with pytest.raises(InvalidRecord, match=r"step: 'massage' is not one of confirm_diagnosis"):
        s.decide_plan(
            uow, ACTOR, patient.id, decision="choose", step_id="massage", reason_code="access"
        )
    assert not uow.plan_decisions.items


def test_a_self_check_does_not_change_the_plan_unless_it_raises_a_red_flag(
    engine: Engine,
) -> None:
    uow = FakeUnitOfWork()
    patient = new_patient(uow)
    back_mouse = {
        "setting": "pain_clinic",
        "findings": {
            "lump_present": True,
            "location": "posterior_iliac_crest",
            "consistency": "rubbery",
            "mobile": True,
            "tender": True,
            "pressure_reproduces_pain": True,
        },
    }
    s.record_assessment(uow, ACTOR, patient.id, engine, back_mouse, assessed_at=NOW)
    before = s.care_plan(uow, ACTOR, patient.id)
    assert before.status == "on_pathway"
    quiet = {"setting": "self_check", "findings": {"pain_present": True, "radiation": "below_knee"}}
    later = NOW + dt.timedelta(minutes=10)
    s.record_assessment(uow, ACTOR, patient.id, engine, quiet, assessed_at=later)
    assert s.care_plan(uow, ACTOR, patient.id).current_step == before.current_step
    alarming = {"setting": "self_check", "findings": {"saddle_anaesthesia": True}}
    s.record_assessment(
        uow, ACTOR, patient.id, engine, alarming, assessed_at=later + dt.timedelta(minutes=1)
    )
    assert s.care_plan(uow, ACTOR, patient.id).status == "suspended_for_red_flag"
