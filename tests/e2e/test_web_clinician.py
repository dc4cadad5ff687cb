"""The clinician pages over HTTP (in-process, no browser): assessing, red-flag reviews,
the injection test, the care plan, pain charts, reviews due and the PDF documents.

Each page renders and audits its read; each form stores what it should with its audit
event; bad input re-renders the form naming the field, the value and what was expected,
and changes nothing; a form without the session's CSRF token is refused. A reviewed red
flag stays shown and keeps the care plan suspended.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backmice.config import Settings
from backmice.engine import Engine
from backmice.records import domain, services
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from backmice.web import create_app

PASSWORD = "a long enough password 7"
NAME = "Quillon Testperson"  # found nowhere else, so it can be looked for in the logs
FLAGGED_CASE: dict[str, Any] = {
    "setting": "primary_care",
    "findings": {"lump_present": True, "fever": True, "erythema_warmth": True},
}
BACK_MOUSE_CASE: dict[str, Any] = {
    "setting": "primary_care",
    "age": 52,
    "sex": "female",
    "findings": {
        "lump_present": True,
        "location": "posterior_iliac_crest",
        "size_cm": 2.0,
        "consistency": "rubbery",
        "mobile": True,
        "tender": True,
        "pressure_reproduces_pain": True,
        "pain_present": True,
    },
}


@dataclass
class Site:
    client: TestClient
    store: RecordStore
    csrf: str
    patient: str  # with a red flag in the latest assessment
    flagged: str  # that assessment
    nodule: str
    mouse: str  # a patient whose latest assessment is a back mouse, no red flag

    def audit(self, patient_id: str) -> list[domain.AuditEvent]:
        return self.store.run(lambda uow: uow.audit.for_patient(patient_id))

    def count(self, repository: str, patient_id: str) -> int:
        return len(self.store.run(lambda uow: getattr(uow, repository).for_patient(patient_id)))

    def post(self, path: str, data: dict[str, Any], csrf: bool = True) -> Any:
        body = {**data, "csrf_token": self.csrf} if csrf else data
        return self.client.post(path, data=body, follow_redirects=False)


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "login_token": token[1]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(client.get("/api/v1/me").json()["csrf_token"])


@pytest.fixture
def site(tmp_path: Path, engine: Engine) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = RecordStore.open(url)
    for username, clinic in (("ann", "main"), ("nick", "north")):
        store.run(
            lambda uow, u=username, c=clinic: accounts.create_user(
                uow,
                "test",
                username=u,
                display_name=u,
                role="clinician",
                password=PASSWORD,
                clinic=c,
            )
        )

    def patient(identifier: str, name: str, clinic: str = "main") -> str:
        return store.run(
            lambda uow: services.register_patient(
                uow,
                "test",
                identifier=identifier,
                name=name,
                birth_date=dt.date(1970, 2, 3),
                sex="female",
                clinic=clinic,
            )
        ).id

    flagged_patient = patient("MRN-1", NAME)
    nodule = store.run(
        lambda uow: services.add_nodule(
            uow, "test", flagged_patient, x=30, y=38, side="left", region="posterior_iliac_crest"
        )
    ).id
    flagged = store.run(
        lambda uow: services.record_assessment(
            uow, "test", flagged_patient, engine, FLAGGED_CASE, nodule_ids=[nodule]
        )
    ).id
    mouse = patient("MRN-2", "Rowena Mouseley")
    store.run(lambda uow: services.record_assessment(uow, "test", mouse, engine, BACK_MOUSE_CASE))
    app = create_app(Settings(database_url=url, data_dir=tmp_path), store=store)
    with TestClient(app, base_url="https://testserver") as client:
        csrf = sign_in(client, "ann")
        yield Site(client, store, csrf, flagged_patient, flagged, nodule, mouse)
    store.close()


# --- every page renders, and every view of a record is audited ------------------------


def test_each_clinician_page_renders_and_its_read_is_audited(site: Site) -> None:
    p = site.patient
    pages = [
        f"/patients/{p}",
        f"/patients/{p}?nodule={site.nodule}",
        f"/patients/{p}/assess",
        f"/patients/{p}/assess?nodule={site.nodule}&from={site.flagged}",
        f"/patients/{p}/assessments/{site.flagged}",
        f"/patients/{p}/injection",
        f"/patients/{p}/plan",
        f"/patients/{p}/plan?nodule={site.nodule}",
        f"/patients/{p}/pain",
        f"/patients/{p}/pain?nodule={site.nodule}",
    ]
    for path in pages:
        before = len(site.audit(p))
        answer = site.client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert NAME in answer.text
        reads = [e for e in site.audit(p)[before:] if e.action == "read"]
        assert reads, f"{path} was not audited"
        assert all(e.actor == "web:ann" for e in reads)


def test_the_result_page_shows_flags_triage_differential_with_labelled_evidence(
    site: Site,
) -> None:
    page = site.client.get(f"/patients/{site.patient}/assessments/{site.flagged}").text
    assert 'role="alert"' in page
    assert "EMERGENCY:" in page
    assert "triage-emergency" in page
    assert "95% interval: " in page
    assert "expert estimate" in page  # an estimated likelihood ratio says so
    assert "Mark as reviewed" in page


def test_reviews_due_lists_only_this_clinics_patients(site: Site) -> None:
    north = site.store.run(
        lambda uow: services.register_patient(
            uow,
            "test",
            identifier="MRN-N",
            name="Norbert Farclinic",
            birth_date=dt.date(1980, 1, 1),
            sex="male",
            clinic="north",
        )
    ).id
    engine = Engine()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=120)
    for patient_id in (site.mouse, north):
        site.store.run(
            lambda uow, pid=patient_id: services.record_assessment(
                uow, "test", pid, engine, BACK_MOUSE_CASE, assessed_at=long_ago
            )
        )
        site.store.run(
            lambda uow, pid=patient_id: services.decide_plan(
                uow, "test", pid, decision="accept", decided_at=long_ago
            )
        )
    page = site.client.get("/due?within=0")
    assert page.status_code == 200
    assert "Rowena Mouseley" in page.text
    assert "Norbert Farclinic" not in page.text
    assert site.client.get("/due?within=999").status_code == 422


def test_pdfs_download_as_attachments_and_are_audited(site: Site) -> None:
    for path, name in (("report.pdf", "visit-summary"), ("handout.pdf", "patient-handout")):
        before = len(site.audit(site.patient))
        answer = site.client.get(f"/patients/{site.patient}/{path}")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"].startswith(f'attachment; filename="{name}-')
        assert NAME not in answer.headers["content-disposition"]
        assert answer.content.startswith(b"%PDF")
        assert len(site.audit(site.patient)) > before


def test_a_patient_with_500_nodules_has_a_list_to_choose_from_and_no_500_tab_stops(
    site: Site,
) -> None:
    def many(uow: Any) -> None:
        for i in range(500):
            services.add_nodule(
                uow, "test", site.mouse, x=10 + i % 80, y=10 + i // 8, side="left", region="other"
            )

    site.store.run(many)
    page = site.client.get(f"/patients/{site.mouse}").text
    assert page.count('tabindex="-1" aria-label="Nodule') == 500
    assert page.count("<option value=") >= 500
    assert 'id="pick-nodule"' in page


# --- the assessment form --------------------------------------------------------------


def test_the_assessment_form_has_every_finding_and_highlights_the_next_question(
    site: Site, engine: Engine
) -> None:
    page = site.client.get(f"/patients/{site.patient}/assess").text
    for finding in engine.kb.findings:
        assert f'data-finding="{finding.id}"' in page, finding.id
    assert page.count("next-best") >= 1
    assert 'name="csrf-token"' in page
    assert "/static/assess.js" in page
    assert 'aria-live="polite"' in page


def test_saving_an_assessment_stores_it_and_shows_its_result(site: Site) -> None:
    before = site.count("assessments", site.mouse)
    form = {
        "setting": "pain_clinic",
        "age": "61",
        "sex": "male",
        "lump_present": "yes",
        "size_cm": "2.5",
        "consistency": "rubbery",
        "mobile": "yes",
        "fever": "no",
        "numbness": "unknown",
        "action": "save",
    }
    answer = site.post(f"/patients/{site.mouse}/assess", form)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assessments = sorted(
        site.store.run(lambda uow: uow.assessments.for_patient(site.mouse)),
        key=lambda a: a.assessed_at,
    )
    assert len(assessments) == before + 1
    stored = assessments[-1]
    assert location == f"/patients/{site.mouse}/assessments/{stored.id}"
    assert stored.case["setting"] == "pain_clinic"
    assert stored.case["age"] == 61 and stored.case["sex"] == "male"
    assert stored.case["findings"] == {
        "lump_present": True,
        "size_cm": 2.5,
        "consistency": "rubbery",
        "mobile": True,
        "fever": False,
    }
    assert any(
        e.action == "create" and e.entity == "assessment" and e.entity_id == stored.id
        for e in site.audit(site.mouse)
    )
    assert site.client.get(location).status_code == 200


def test_saving_an_assessment_for_chosen_nodules_links_them(site: Site) -> None:
    form = {"lump_present": "yes", "nodule_ids": site.nodule, "action": "save"}
    answer = site.post(f"/patients/{site.patient}/assess", form)
    assert answer.status_code == 303
    stored = site.store.run(lambda uow: uow.assessments.get(answer.headers["location"][-36:]))
    assert stored is not None and stored.nodule_ids == [site.nodule]


def test_update_result_shows_the_result_without_storing_anything(site: Site) -> None:
    before = site.count("assessments", site.mouse)
    form = {"lump_present": "yes", "fever": "yes", "erythema_warmth": "yes", "action": "preview"}
    answer = site.post(f"/patients/{site.mouse}/assess", form)
    assert answer.status_code == 200
    assert "EMERGENCY:" in answer.text
    assert 'value="yes" checked' in answer.text
    assert site.count("assessments", site.mouse) == before


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"size_cm": "big", "lump_present": "yes"}, "findings.size_cm: 'big' is not a number"),
        ({"size_cm": "0", "lump_present": "yes"}, "'0' is not a number above 0, at most 50"),
        ({"age": "52.5"}, "age: '52.5' is not a whole number from 0 to 120"),
        ({"mobile": "maybe"}, "findings.mobile: 'maybe' is not one of yes, no, unknown"),
        ({"consistency": "squishy"}, "'squishy' is not one of soft, rubbery"),
        ({"setting": "self_check"}, "setting: 'self_check' is not one of primary_care"),
        ({"lump_present": "no", "mobile": "yes"}, "findings.mobile"),
    ],
)
def test_bad_assessment_input_names_the_problem_and_stores_nothing(
    site: Site, form: dict[str, str], message: str
) -> None:
    before = site.count("assessments", site.mouse)
    audit_before = len(site.audit(site.mouse))
    answer = site.post(f"/patients/{site.mouse}/assess", {**form, "action": "save"})
    assert answer.status_code == 422
    assert "Nothing was stored" in answer.text
    assert message.replace("'", "&#39;") in answer.text
    assert site.count("assessments", site.mouse) == before
    assert not [e for e in site.audit(site.mouse)[audit_before:] if e.action != "read"]


def test_the_interview_api_takes_age_and_sex_with_the_other_answers(site: Site) -> None:
    answer = site.client.post(
        "/api/v1/interview/next",
        json={"answers": {"age": 52, "sex": "female", "lump_present": True}},
        headers={"X-CSRF-Token": site.csrf},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["finding"] not in ("age", "sex", "lump_present")
    assert body["result"]["differential"]


# --- red flags: reviewed, never suppressed --------------------------------------------


def review_path(site: Site, flag: str = "sepsis") -> str:
    return f"/patients/{site.patient}/assessments/{site.flagged}/red-flags/{flag}/review"


def test_reviewing_a_red_flag_is_audited_and_the_flag_stays(site: Site) -> None:
    answer = site.post(
        review_path(site),
        {"reason": "already_investigated", "note": "seen in A&E", "back": "patient"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/patients/{site.patient}#flags"
    dismissals = [e for e in site.audit(site.patient) if e.action == "dismiss"]
    assert len(dismissals) == 1
    assert dismissals[0].detail == "flag=sepsis reason=already_investigated"
    assert dismissals[0].actor == "web:ann"
    assert "A&E" not in dismissals[0].detail
    # the flag is still shown, now with its review, on both pages
    for path in (
        f"/patients/{site.patient}",
        f"/patients/{site.patient}/assessments/{site.flagged}",
    ):
        page = site.client.get(path).text
        assert "EMERGENCY:" in page
        assert "Reviewed by ann on" in page
        assert "Already investigated — seen in A&amp;E" in page
    # and the care plan stays suspended: accepting a step is still refused
    plan = site.client.get(f"/patients/{site.patient}/plan").text
    assert "Suspended: red flag" in plan
    assert "Reviewed by ann on" in plan
    refused = site.post(
        f"/patients/{site.patient}/plan/decide",
        {"decision": "choose", "step": "self_care", "reason": "patient_preference"},
    )
    assert refused.status_code == 422
    assert "suspended by a red flag" in refused.text
    proposal = site.store.run(lambda uow: services.care_plan(uow, "test", site.patient))
    assert proposal.status == "suspended_for_red_flag"
    assert {f["id"] for f in proposal.red_flags} >= {"sepsis"}


@pytest.mark.parametrize(
    ("flag", "form", "message"),
    [
        ("sepsis", {"reason": ""}, "reason: &#39;&#39; is not one of already_investigated"),
        ("sepsis", {"reason": "bored"}, "reason: &#39;bored&#39; is not one of"),
        ("sepsis", {"reason": "clinical_judgement"}, "clinical judgement needs a note"),
        ("cauda_equina", {"reason": "entered_in_error"}, "is not a red flag of assessment"),
    ],
)
def test_a_red_flag_review_needs_a_coded_reason_and_a_flag_of_that_assessment(
    site: Site, flag: str, form: dict[str, str], message: str
) -> None:
    notes = site.count("notes", site.patient)
    answer = site.post(review_path(site, flag), form)
    assert answer.status_code == 422
    assert message in answer.text
    assert "EMERGENCY:" in answer.text
    assert site.count("notes", site.patient) == notes
    assert not [e for e in site.audit(site.patient) if e.action == "dismiss"]


def test_a_red_flag_review_of_another_patients_assessment_is_not_found(site: Site) -> None:
    path = f"/patients/{site.mouse}/assessments/{site.flagged}/red-flags/sepsis/review"
    answer = site.post(path, {"reason": "already_investigated"})
    assert answer.status_code == 404
    assert not [e for e in site.audit(site.patient) if e.action == "dismiss"]


# --- the injection test ---------------------------------------------------------------


def test_the_injection_form_records_the_test_and_shows_both_differentials(site: Site) -> None:
    answer = site.post(
        f"/patients/{site.mouse}/injection",
        {"pre": "7", "post": "1", "minutes": "20", "agent": "lidocaine 1%", "volume": "2"},
    )
    assert answer.status_code == 200
    assert "86% relief, strongly positive" in answer.text
    assert "Before the test" in answer.text and "With the relief as evidence" in answer.text
    tests = site.store.run(lambda uow: uow.injection_tests.for_patient(site.mouse))
    assert len(tests) == 1 and tests[0].agent == "lidocaine 1%" and tests[0].volume_ml == 2.0
    assert site.count("assessments", site.mouse) == 2
    created = {e.entity for e in site.audit(site.mouse) if e.action == "create"}
    assert {"injection_test", "assessment"} <= created


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"pre": "7", "post": "11", "minutes": "20"}, "post_nrs"),
        ({"pre": "7", "post": "x", "minutes": "20"}, "post: &#39;x&#39; is not a whole number"),
        ({"pre": "7", "post": "1"}, "minutes: &#39;&#39; is empty"),
        ({"minutes": "20"}, "give either relief_percent or both pre_nrs and post_nrs"),
        ({"relief": "60", "minutes": "20", "volume": "80"}, "volume_ml: 80.0 is not a volume"),
    ],
)
def test_bad_injection_input_names_the_problem_and_stores_nothing(
    site: Site, form: dict[str, str], message: str
) -> None:
    answer = site.post(f"/patients/{site.mouse}/injection", form)
    assert answer.status_code == 422
    assert message in answer.text
    assert site.count("injection_tests", site.mouse) == 0
    assert site.count("assessments", site.mouse) == 1


# --- the care plan --------------------------------------------------------------------


def test_accepting_the_proposed_step_records_the_decision(site: Site) -> None:
    page = site.client.get(f"/patients/{site.mouse}/plan").text
    assert "Diagnostic" in page and "proposed" in page
    answer = site.post(f"/patients/{site.mouse}/plan/decide", {"decision": "accept"})
    assert answer.status_code == 303
    decisions = site.store.run(lambda uow: uow.plan_decisions.for_patient(site.mouse))
    assert [d.decision for d in decisions] == ["accept"]
    assert decisions[0].decided_by == "web:ann"
    assert any(e.entity == "plan_decision" for e in site.audit(site.mouse))
    page = site.client.get(answer.headers["location"]).text
    assert "Your decision is recorded." in page and "under way" in page


def test_choosing_another_step_needs_a_coded_reason(site: Site) -> None:
    path = f"/patients/{site.mouse}/plan/decide"
    refused = site.post(path, {"decision": "choose", "step": "self_care", "reason": "whim"})
    assert refused.status_code == 422
    assert "reason: &#39;whim&#39; is not one of patient_preference" in refused.text
    no_reason = site.post(path, {"decision": "stop", "reason": ""})
    assert no_reason.status_code == 422
    assert "reason: &#39;&#39; is not one of resolved" in no_reason.text
    needs_note = site.post(
        path, {"decision": "choose", "step": "self_care", "reason": "clinical_judgement"}
    )
    assert needs_note.status_code == 422
    assert site.count("plan_decisions", site.mouse) == 0
    ok = site.post(
        path, {"decision": "choose", "step": "self_care", "reason": "patient_preference"}
    )
    assert ok.status_code == 303
    stopped = site.post(path, {"decision": "stop", "reason": "resolved"})
    assert stopped.status_code == 303
    assert "Stopped" in site.client.get(f"/patients/{site.mouse}/plan").text


def test_scores_and_treatments_are_recorded_from_the_plan_page(site: Site) -> None:
    scores = site.post(
        f"/patients/{site.mouse}/plan/scores",
        {"nrs": "6", "kind": "worst", "pgic": "3", "sitting": "45"},
    )
    assert scores.status_code == 303
    pain = site.store.run(lambda uow: uow.pain_scores.for_patient(site.mouse))
    assert [(p.score, p.kind) for p in pain] == [(6, "worst")]
    outcomes = site.store.run(lambda uow: uow.outcome_scores.for_patient(site.mouse))
    assert sorted((o.measure, o.value) for o in outcomes) == [
        ("pgic", 3),
        ("sitting_tolerance", 45),
    ]
    treated = site.post(
        f"/patients/{site.mouse}/plan/treatment", {"kind": "self_care", "details": "leaflet"}
    )
    assert treated.status_code == 303
    assert [t.kind for t in site.store.run(lambda uow: uow.treatments.for_patient(site.mouse))] == [
        "self_care"
    ]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"nrs": "6", "pgic": "9"}, "pgic: 9 is not a PGIC rating from 1"),
        ({"nrs": "12", "pgic": "3"}, "nrs: 12 is not a whole number from 0 to 10"),
        ({"nrs": "six"}, "nrs: &#39;six&#39; is not a whole number"),
        ({"nrs": "5", "kind": "dull"}, "kind: &#39;dull&#39; is not one of current"),
        ({}, "give at least one of NRS, PGIC, sitting"),
    ],
)
def test_bad_scores_change_nothing(site: Site, form: dict[str, str], message: str) -> None:
    answer = site.post(f"/patients/{site.mouse}/plan/scores", form)
    assert answer.status_code == 422
    assert message in answer.text
    assert site.count("pain_scores", site.mouse) == 0
    assert site.count("outcome_scores", site.mouse) == 0


def test_a_bad_treatment_changes_nothing(site: Site) -> None:
    answer = site.post(f"/patients/{site.mouse}/plan/treatment", {"kind": "leeches"})
    assert answer.status_code == 422
    assert "kind: &#39;leeches&#39; is not one of self_care" in answer.text
    assert site.count("treatments", site.mouse) == 0


# --- pain charts ----------------------------------------------------------------------


def test_pain_charts_are_accessible_images_with_a_table_and_trends(site: Site) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    entries = [
        services.ScoreEntry(8 - i, kind, start + dt.timedelta(days=7 * i), nodule)
        for i in range(4)
        for kind, nodule in (("current", None), ("worst", None), ("with_pressure", site.nodule))
    ]
    site.store.run(lambda uow: services.record_pain_scores(uow, "test", site.patient, entries))
    page = site.client.get(f"/patients/{site.patient}/pain?nodule={site.nodule}").text
    assert page.count('role="img"') == 2
    assert '<title id="chart-overall-t">Overall pain</title>' in page
    assert "Current: 4 readings, first 8, latest 5" in page
    assert "series-with_pressure" in page
    assert "the readings as a table" in page
    assert "meaningful" in page


# --- CSRF, and no patient data in the logs --------------------------------------------


def test_every_form_without_the_csrf_token_is_refused_and_writes_nothing(site: Site) -> None:
    p = site.patient
    forms = [
        (f"/patients/{p}/assess", {"lump_present": "yes", "action": "save"}),
        (review_path(site), {"reason": "already_investigated"}),
        (f"/patients/{p}/injection", {"relief": "80", "minutes": "20"}),
        (f"/patients/{p}/plan/decide", {"decision": "stop", "reason": "resolved"}),
        (f"/patients/{p}/plan/scores", {"nrs": "5"}),
        (f"/patients/{p}/plan/treatment", {"kind": "self_care"}),
    ]
    before = len(site.audit(p))
    for path, form in forms:
        answer = site.post(path, form, csrf=False)
        assert answer.status_code == 403, path
        wrong = site.post(path, {**form, "csrf_token": "not-the-token"}, csrf=False)
        assert wrong.status_code == 403, path
    assert len(site.audit(p)) == before


def test_no_patient_data_reaches_the_logs(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    p = site.patient
    site.client.get(f"/patients/{p}")
    site.client.get(f"/patients/{p}/assessments/{site.flagged}")
    site.post(f"/patients/{p}/assess", {"size_cm": "big", "action": "save"})
    site.post(review_path(site), {"reason": "clinical_judgement", "note": NAME})
    site.post(f"/patients/{p}/plan/scores", {"nrs": "5"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert NAME not in text
    assert "MRN-1" not in text
