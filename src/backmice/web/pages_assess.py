"""Clinician pages for assessing: the assessment form (with the differential, red flags,
triage and next best question shown as it is filled), a stored assessment's full
result, and marking a red flag as reviewed.

The form works without JavaScript: "Update result" shows the result for the answers
so far without storing anything, "Save assessment" stores it. With JavaScript
(static/assess.js) the result follows every answer through /api/v1/interview/next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backmice.errors import InvalidCase, InvalidRecord, Problem
from backmice.records import domain, services
from backmice.records.services import red_flags
from backmice.web.assessment_form import (
    CLINIC_SETTINGS,
    Preview,
    case_of,
    form_fields,
    form_values,
    preview,
    read_answers,
)
from backmice.web.deps import engine, store
from backmice.web.pages_clinician import Checked, Clinician, Patient, page
from backmice.web.results import result_context

router = APIRouter(include_in_schema=False)

_BACK = {"patient": "/patients/{pid}#flags", "result": "/patients/{pid}/assessments/{aid}#flags"}


def _form_page(
    request: Request,
    principal: Any,
    patient: domain.Patient,
    record: dict[str, Any],
    *,
    values: Mapping[str, str],
    setting: str,
    chosen: Sequence[str],
    shown: Preview | None,
    problems: Sequence[Problem] = (),
    status: int = 200,
) -> Response:
    eng = engine(request)
    response = page(
        request,
        "assess.html",
        principal,
        nav="patients",
        patient=record["patient"],
        nodules=record["nodules"],
        groups=form_fields(eng),
        values=values,
        setting=setting,
        settings=CLINIC_SETTINGS,
        chosen=set(chosen),
        preview=shown,
        problems=problems,
        errors={p.field.removeprefix("findings."): p.message for p in problems},
        **result_context(eng),
    )
    response.status_code = status
    return response


@router.get("/patients/{patient_id}/assess", response_class=HTMLResponse)
def assess_form(
    request: Request,
    principal: Clinician,
    patient: Patient,
    nodule: Annotated[str | None, Query(max_length=36)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=36)] = None,
) -> Response:
    """A new assessment: every finding, with the result and next question as it fills."""
    record = store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))
    values: dict[str, str] = {}
    setting = "primary_care"
    earlier = next(
        (e for e in record["events"] if e["type"] == "assessment" and e["id"] == start), None
    )
    if earlier is not None:
        values = form_values(earlier["case"])
        setting = str(earlier["case"].get("setting", setting))
    chosen = [n["id"] for n in record["nodules"] if n["id"] == nodule]
    picked = next((n for n in record["nodules"] if n["id"] == nodule), None)
    if picked is not None and earlier is None:
        values["location"] = picked["region"]
    setting = setting if setting in CLINIC_SETTINGS else "primary_care"
    groups = form_fields(engine(request))
    answers, skipped, problems = read_answers(values, groups)
    shown = None
    if not problems:
        try:
            shown = preview(engine(request), setting, answers, skipped)
        except InvalidCase as exc:
            problems = list(exc.problems)
    return _form_page(
        request,
        principal,
        patient,
        record,
        values=values,
        setting=setting,
        chosen=chosen,
        shown=shown,
        problems=problems,
    )


@router.post("/patients/{patient_id}/assess", response_class=HTMLResponse)
async def submit_assessment(
    request: Request,
    principal: Checked,
    _: Clinician,
    patient: Patient,
) -> Response:
    """Preview the result (nothing stored) or store the assessment and show its result."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    setting = values.get("setting", "primary_care")[:40]
    chosen = [v for v in form.getlist("nodule_ids") if isinstance(v, str)][:500]
    action = values.get("action", "save")
    eng = engine(request)
    answers, skipped, problems = read_answers(values, form_fields(eng))
    if setting not in CLINIC_SETTINGS:
        problems.append(
            Problem("setting", f"{setting!r} is not one of {', '.join(CLINIC_SETTINGS)}")
        )
    shown = None
    if not problems:
        try:
            shown = preview(eng, setting, answers, skipped)
        except InvalidCase as exc:
            problems = list(exc.problems)
    if problems or action == "preview":
        record = store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))
        return _form_page(
            request,
            principal,
            patient,
            record,
            values=values,
            setting=setting,
            chosen=chosen,
            shown=shown,
            problems=problems,
            status=422 if problems else 200,
        )
    stored = store(request).run(
        lambda uow: services.record_assessment(
            uow, principal.actor, patient.id, eng, case_of(setting, answers), nodule_ids=chosen
        )
    )
    return RedirectResponse(f"/patients/{patient.id}/assessments/{stored.id}", status_code=303)


def _result_page(
    request: Request,
    principal: Any,
    patient: domain.Patient,
    assessment_id: str,
    *,
    problems: Sequence[Problem] = (),
    review_form: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    shown = store(request).run(
        lambda uow: red_flags.reviewed_assessment(uow, principal.actor, patient.id, assessment_id)
    )
    response = page(
        request,
        "assessment.html",
        principal,
        nav="patients",
        patient=patient,
        assessment=shown.assessment,
        reviews=shown.reviews,
        nodules=shown.nodules,
        problems=problems,
        review_form=review_form or {},
        **result_context(engine(request)),
    )
    response.status_code = status
    return response


@router.get("/patients/{patient_id}/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_result(
    request: Request, assessment_id: str, principal: Clinician, patient: Patient
) -> Response:
    """A stored assessment: red flags with their reviews, triage, the full differential
    with intervals and evidence, next steps, and the answers it was made from."""
    return _result_page(request, principal, patient, assessment_id)


@router.post("/patients/{patient_id}/assessments/{assessment_id}/red-flags/{flag_id}/review")
def review_red_flag(
    request: Request,
    assessment_id: str,
    flag_id: str,
    principal: Checked,
    _: Clinician,
    patient: Patient,
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=16)] = "result",
) -> Response:
    """Mark a red flag as reviewed, with a coded reason. The flag stays shown and keeps
    the care plan suspended."""
    try:
        store(request).run(
            lambda uow: red_flags.record_red_flag_review(
                uow, principal.actor, patient.id, assessment_id, flag_id[:64], reason, note
            )
        )
    except InvalidRecord as exc:
        return _result_page(
            request,
            principal,
            patient,
            assessment_id,
            problems=exc.problems,
            review_form={"flag": flag_id, "reason": reason, "note": note},
            status=422,
        )
    target = _BACK.get(back, _BACK["result"])
    return RedirectResponse(target.format(pid=patient.id, aid=assessment_id), status_code=303)
