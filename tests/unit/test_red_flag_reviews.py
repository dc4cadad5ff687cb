"""Red-flag reviews on in-memory fakes: a coded reason, an audit event without clinical
text, the review read back from the record, and the flag never suppressed."""

from __future__ import annotations

import datetime as dt

import pytest

from backmice.engine import Engine
from backmice.errors import InvalidRecord, RecordNotFound
from backmice.records import domain
from backmice.records import services as s
from backmice.records.services import red_flags as rf
from backmice.records.services.care import care_history
from backmice.records.services.red_flags import REVIEW_REASONS, parse_review, reviews_in
from backmice.records.unit_of_work import FakeUnitOfWork

ACTOR = "test:clinician"
SEPSIS_CASE = {"findings": {"lump_present": True, "fever": True, "erythema_warmth": True}}


def flagged(uow: FakeUnitOfWork, engine: Engine) -> tuple[domain.Patient, domain.Assessment]:
    patient = s.register_patient(
        uow,
        ACTOR,
        identifier="MRN-1",
        name="Test Person",
        birth_date=dt.date(1970, 1, 2),
        sex="male",
    )
    assessment = s.record_assessment(uow, ACTOR, patient.id, engine, SEPSIS_CASE)
    assert {f["id"] for f in assessment.result["red_flags"]} >= {"sepsis", "abscess"}
    return patient, assessment


def test_a_review_is_stored_as_a_note_and_audited_as_a_dismissal_with_codes_only(
    engine: Engine,
) -> None:
    uow = FakeUnitOfWork()
    patient, assessment = flagged(uow, engine)
    events = len(uow.audit.events)
    review = rf.record_red_flag_review(
        uow, ACTOR, patient.id, assessment.id, "sepsis", "clinical_judgement", "afebrile now"
    )
    assert (review.flag_id, review.reason_code, review.note) == (
        "sepsis",
        "clinical_judgement",
        "afebrile now",
    )
    assert review.reason == REVIEW_REASONS["clinical_judgement"]
    [note] = uow.notes.for_patient(patient.id)
    assert note.author == ACTOR and "afebrile now" in note.text
    [event] = uow.audit.events[events:]
    assert (event.action, event.entity, event.entity_id, event.detail) == (
        "dismiss",
        "red_flag_review",
        note.id,
        "flag=sepsis reason=clinical_judgement",
    )
    assert [r.note_id for r in rf.red_flag_reviews(uow, patient.id, assessment.id)] == [note.id]


def test_a_reviewed_red_flag_still_suspends_the_plan(engine: Engine) -> None:
    uow = FakeUnitOfWork()
    patient, assessment = flagged(uow, engine)
    for flag in ("sepsis", "abscess"):
        rf.record_red_flag_review(
            uow, ACTOR, patient.id, assessment.id, flag, "already_investigated"
        )
    assert care_history(uow, patient.id).assessment == assessment.result
    assert s.care_plan(uow, ACTOR, patient.id).status == "suspended_for_red_flag"
    with pytest.raises(InvalidRecord, match="suspended by a red flag"):
        s.decide_plan(
            uow, ACTOR, patient.id, decision="choose", step_id="self_care", reason_code="access"
        )
    shown = rf.reviewed_assessment(uow, ACTOR, patient.id, assessment.id)
    assert shown.assessment.result["red_flags"] == assessment.result["red_flags"]
    counts = {k: len(v) for k, v in shown.reviews.items()}
    assert counts["sepsis"] == counts["abscess"] == 1


@pytest.mark.parametrize(
    ("flag", "reason", "note", "match"),
    [
        ("sepsis", "bored", "", r"reason: 'bored' is not one of already_investigated, "),
        ("sepsis", "clinical_judgement", "  ", r"note: '  ' is empty; clinical judgement needs"),
        ("sepsis", "entered_in_error", "x" * 2001, r"note: is 2001 characters long; at most 2000"),
        ("cauda_equina", "entered_in_error", "", r"flag: 'cauda_equina' is not a red flag of "),
    ],
)
def test_a_bad_review_names_the_problem_and_writes_nothing(
    engine: Engine, flag: str, reason: str, note: str, match: str
) -> None:
    uow = FakeUnitOfWork()
    patient, assessment = flagged(uow, engine)
    events = len(uow.audit.events)
    with pytest.raises(InvalidRecord, match=match):
        rf.record_red_flag_review(uow, ACTOR, patient.id, assessment.id, flag, reason, note)
    assert uow.notes.for_patient(patient.id) == []
    assert len(uow.audit.events) == events


def test_an_assessment_without_red_flags_has_none_to_review(engine: Engine) -> None:
    uow = FakeUnitOfWork()
    patient, _ = flagged(uow, engine)
    calm = s.record_assessment(uow, ACTOR, patient.id, engine, {"findings": {"fever": False}})
    with pytest.raises(InvalidRecord, match="expected none: it raised no red flag"):
        rf.record_red_flag_review(uow, ACTOR, patient.id, calm.id, "sepsis", "entered_in_error")


def test_another_patients_assessment_is_not_found(engine: Engine) -> None:
    uow = FakeUnitOfWork()
    _, assessment = flagged(uow, engine)
    other = s.register_patient(
        uow, ACTOR, identifier="MRN-2", name="Other", birth_date=dt.date(1980, 1, 1), sex="female"
    )
    with pytest.raises(RecordNotFound):
        rf.record_red_flag_review(uow, ACTOR, other.id, assessment.id, "sepsis", "entered_in_error")


def test_ordinary_notes_are_not_reviews() -> None:
    assert parse_review("n", "a", "Seen today.", None) is None
    assert parse_review("n", "a", "[red-flag review] flag=x assessment=y reason=whim", None) is None
    notes = [
        {"id": "1", "author": "a", "text": "plain", "written_at": "2026-01-01T00:00:00+00:00"},
        {
            "id": "2",
            "author": "web:ann",
            "text": "[red-flag review] flag=sepsis assessment=a1 reason=already_investigated\nok",
            "written_at": "2026-01-02T00:00:00+00:00",
        },
    ]
    [review] = reviews_in(notes)
    assert (review.note_id, review.assessment_id, review.note) == ("2", "a1", "ok")
    assert review.reviewed_at == dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
