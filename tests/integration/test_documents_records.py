"""The documents gathered from a real record on SQLite and PostgreSQL: the right values,
an audited read, and a PDF that says them."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from pypdf import PdfReader

from backmice.documents import (
    PlanSummary,
    gather_handout,
    gather_visit_summary,
    render_handout,
    render_visit_summary,
)
from backmice.engine import Engine
from backmice.errors import RecordNotFound
from backmice.records import domain
from backmice.records import services as s
from backmice.records.store import RecordStore

ACTOR = "test:clinician"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 16, 11, 5, tzinfo=dt.UTC)
NAME = "Robin Record-Holder"
PLAN = PlanSummary(
    status="on_pathway",
    current_step="Diagnostic injection",
    next_step="Repeated injection with steroid",
    reasons=("Strongly positive injection test.",),
    review_due=dt.date(2026, 4, 6),
    patient_steps=("Keep a pain diary.",),
)
BACK_MOUSE = {
    "setting": "pain_clinic",
    "findings": {"lump_present": True, "tender": True, "pressure_reproduces_pain": True},
}
ABSCESS = {"findings": {"lump_present": True, "fever": True, "erythema_warmth": True}}


def build_record(store: RecordStore) -> tuple[domain.Patient, domain.Nodule, domain.Nodule]:
    engine = Engine()
    patient = store.run(
        lambda u: s.register_patient(
            u, ACTOR, identifier="MRN-DOC-1", name=NAME, birth_date=dt.date(1970, 2, 3), sex="male"
        )
    )
    labelled = store.run(
        lambda u: s.add_nodule(
            u,
            ACTOR,
            patient.id,
            x=33.5,
            y=61.0,
            side="left",
            region="posterior_iliac_crest",
            label="L1",
            size_cm=2.0,
            measured_at=START,
        )
    )
    unlabelled = store.run(
        lambda u: s.add_nodule(
            u, ACTOR, patient.id, x=70.0, y=58.0, side="right", region="sacroiliac"
        )
    )
    store.run(
        lambda u: s.record_nodule_size(u, ACTOR, labelled.id, 2.6, START + dt.timedelta(days=14))
    )
    store.run(lambda u: s.set_nodule_status(u, ACTOR, unlabelled.id, "resolved"))
    store.run(
        lambda u: s.record_pain_scores(
            u,
            ACTOR,
            patient.id,
            [
                s.ScoreEntry(8 - week, "current", START + dt.timedelta(weeks=week))
                for week in range(4)
            ]
            + [
                s.ScoreEntry(7, "with_pressure", START + dt.timedelta(weeks=1), labelled.id),
                s.ScoreEntry(5, "current", START + dt.timedelta(weeks=3), labelled.id),
            ],
        )
    )
    store.run(
        lambda u: s.record_assessment(
            u, ACTOR, patient.id, engine, BACK_MOUSE, assessed_at=START, nodule_ids=[labelled.id]
        )
    )
    store.run(
        lambda u: s.record_assessment(
            u, ACTOR, patient.id, engine, ABSCESS, assessed_at=START + dt.timedelta(weeks=4)
        )
    )
    store.run(
        lambda u: s.record_injection_test(
            u,
            ACTOR,
            patient.id,
            engine,
            performed_at=START + dt.timedelta(weeks=2),
            minutes_after=20,
            pre_nrs=8,
            post_nrs=1,
            agent="lidocaine 1%",
            nodule_id=labelled.id,
        )
    )
    return patient, labelled, unlabelled


def timeline_reads(store: RecordStore, patient_id: str) -> list[tuple[str, str]]:
    """(actor, entity id) of each audited timeline read of the patient's record."""
    events = store.run(
        lambda u: [
            (e.actor, e.action, e.entity, e.entity_id) for e in u.audit.for_patient(patient_id)
        ]
    )
    return [
        (actor, eid)
        for actor, action, entity, eid in events
        if (action, entity) == ("read", "timeline")
    ]


def test_a_visit_summary_is_gathered_from_the_record_in_one_audited_read(
    store: RecordStore,
) -> None:
    patient, _, _ = build_record(store)
    before = len(timeline_reads(store, patient.id))
    content = store.run(lambda u: gather_visit_summary(u, ACTOR, patient.id, PLAN, now=NOW))
    reads = timeline_reads(store, patient.id)
    assert len(reads) == before + 1
    assert reads[-1] == (ACTOR, patient.id)

    assert (content.patient_name, content.patient_identifier, content.sex) == (
        NAME,
        "MRN-DOC-1",
        "male",
    )
    assert content.birth_date == dt.date(1970, 2, 3)
    assert content.generated_at == NOW
    by_label = {n.label: n for n in content.nodules}
    assert set(by_label) == {"L1", "#2"}  # the unlabelled nodule is numbered
    assert by_label["L1"].latest_size_cm == 2.6
    assert (by_label["L1"].latest_pain, by_label["L1"].latest_pain_kind) == (5, "current")
    assert by_label["#2"].status == "resolved" and by_label["#2"].latest_pain is None
    assert len(content.pain_points) == 6
    assert all(p.recorded_at.tzinfo is not None for p in content.pain_points)
    assert {p.nodule for p in content.pain_points} == {None, "L1"}
    # the latest assessment is the abscess one, with its red flag
    assert content.assessment is not None
    assert content.assessed_at == START + dt.timedelta(weeks=4)
    assert content.assessment["red_flags"]
    assert content.knowledge_version == content.assessment["knowledge_version"]
    [injection] = content.injection_tests
    assert (injection.nodule, injection.pre_nrs, injection.post_nrs) == ("L1", 8, 1)
    assert injection.relief_percent == pytest.approx(87.5)
    assert injection.interpretation == "strongly_positive"
    assert content.plan is PLAN


def test_the_gathered_documents_render_with_the_patient_and_the_plan(
    store: RecordStore, caplog: pytest.LogCaptureFixture
) -> None:
    patient, _, _ = build_record(store)
    caplog.set_level(logging.DEBUG)
    summary = store.run(lambda u: gather_visit_summary(u, ACTOR, patient.id, PLAN, now=NOW))
    handout = store.run(lambda u: gather_handout(u, ACTOR, patient.id, PLAN, now=NOW))
    for pdf, expected in (
        (render_visit_summary(summary), ("Visit summary", "Red flags", "Diagnostic injection")),
        (render_handout(handout), ("Your plan", "Keep a pain diary.", "6 Apr 2026")),
    ):
        text = " ".join(
            " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
        )
        assert NAME in text
        for value in expected:
            assert value in text, value
    assert NAME not in caplog.text and "MRN-DOC-1" not in caplog.text


def test_a_handout_carries_the_latest_red_flags_and_the_after_care_page(
    store: RecordStore,
) -> None:
    patient, _, _ = build_record(store)
    before = len(timeline_reads(store, patient.id))
    handout = store.run(lambda u: gather_handout(u, ACTOR, patient.id, PLAN, now=NOW))
    assert len(timeline_reads(store, patient.id)) == before + 1
    assert handout.patient_name == NAME
    assert handout.next_appointment == PLAN.review_due
    assert handout.triage in ("emergency", "urgent")
    assert any("abscess" in message for message in handout.red_flags)
    assert handout.self_care is not None and handout.when_to_get_help is not None
    assert handout.after_care is not None  # the patient has had an injection test
    headings = [section.heading for section in handout.self_care.sections]
    assert "About this page" not in headings  # the footer says it on every page


def test_a_new_patient_gets_a_handout_without_after_care_or_warnings(
    store: RecordStore,
) -> None:
    patient = store.run(
        lambda u: s.register_patient(
            u,
            ACTOR,
            identifier="MRN-NEW",
            name="New Person",
            birth_date=dt.date(1980, 1, 1),
            sex="female",
        )
    )
    handout = store.run(lambda u: gather_handout(u, ACTOR, patient.id, None, now=NOW))
    assert (handout.plan, handout.next_appointment, handout.triage) == (None, None, None)
    assert handout.red_flags == () and handout.after_care is None
    summary = store.run(lambda u: gather_visit_summary(u, ACTOR, patient.id, None, now=NOW))
    assert summary.nodules == () and summary.assessment is None and summary.pain_points == ()


def test_an_unknown_patient_is_not_found_and_nothing_is_audited(store: RecordStore) -> None:
    with pytest.raises(RecordNotFound, match="does not exist"):
        store.run(lambda u: gather_visit_summary(u, ACTOR, "no-such-patient", PLAN))
    with pytest.raises(RecordNotFound, match="does not exist"):
        store.run(lambda u: gather_handout(u, ACTOR, "no-such-patient", PLAN))
    assert store.run(lambda u: u.audit.for_patient("no-such-patient")) == []
