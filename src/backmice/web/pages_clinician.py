"""Clinician pages: the patient list, a patient's page with the body map, nodules.

Assessing is in `pages_assess`, the injection test and the care plan in `pages_care`,
pain charts, reviews due and the PDF documents in `pages_reports`.

Every route takes the user from `deps` (role and patient access decided there) and calls
one record service, which writes the audit event.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backmice.care.pathway import propose_plan
from backmice.care.pathway_data import default_pathway
from backmice.errors import InvalidRecord, Problem
from backmice.records import domain, services
from backmice.records.services.care import care_history
from backmice.records.services.red_flags import reviews_in
from backmice.web.app import templates
from backmice.web.body_map import body_map_svg, suggest
from backmice.web.deps import (
    Principal,
    clinician,
    csrf,
    engine,
    nodule_access,
    patient_access,
    store,
)
from backmice.web.results import result_context

router = APIRouter(include_in_schema=False)

Clinician = Annotated[Principal, Depends(clinician)]
Checked = Annotated[Principal, Depends(csrf)]
Patient = Annotated[domain.Patient, Depends(patient_access)]


def page(request: Request, name: str, principal: Principal, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, {"principal": principal, **context})


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    principal: Clinician,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """This clinic's patients, searchable by name or record number."""
    found, total = store(request).run(
        lambda uow: services.list_patients(
            uow, principal.actor, q, limit=50, offset=offset, clinic=principal.user.clinic
        )
    )
    return page(
        request,
        "patients.html",
        principal,
        nav="patients",
        patients=found,
        total=total,
        q=q,
        offset=offset,
        problems=[],
        form={},
    )


@router.post("/patients", response_class=HTMLResponse)
def register(
    request: Request,
    principal: Checked,
    _: Clinician,
    identifier: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=200)],
    birth_date: Annotated[str, Form(max_length=10)],
    sex: Annotated[str, Form(max_length=8)],
    contact: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Register a patient in the clinician's clinic, then open their page."""
    form = {"identifier": identifier, "name": name, "birth_date": birth_date, "sex": sex}
    try:
        born = dt.date.fromisoformat(birth_date)
    except ValueError:
        problems = [Problem("birth_date", f"{birth_date!r} is not a date (YYYY-MM-DD)")]
        return _list_with_problems(request, principal, problems, form)
    try:
        patient = store(request).run(
            lambda uow: services.register_patient(
                uow,
                principal.actor,
                identifier=identifier,
                name=name,
                birth_date=born,
                sex=sex,
                contact=contact or None,
                clinic=principal.user.clinic,
            )
        )
    except InvalidRecord as exc:
        return _list_with_problems(request, principal, list(exc.problems), form)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


def _list_with_problems(
    request: Request, principal: Principal, problems: list[Problem], form: dict[str, str]
) -> Response:
    response = page(
        request,
        "patients.html",
        principal,
        nav="patients",
        patients=[],
        total=0,
        q="",
        offset=0,
        problems=problems,
        form=form,
    )
    response.status_code = 422
    return response


def _plan(record: dict[str, Any], request: Request, patient_id: str) -> Any:
    history = store(request).read(lambda uow: care_history(uow, patient_id))
    return propose_plan(default_pathway(), history, dt.datetime.now(dt.UTC).date())


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    principal: Clinician,
    patient: Patient,
    nodule: Annotated[str | None, Query(max_length=36)] = None,
) -> Response:
    """The patient: red flags first, body map with nodules, differential, plan, pain."""
    record = store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))
    events = record["events"]
    assessments = [e for e in events if e["type"] == "assessment"]
    latest = assessments[-1] if assessments else None
    selected = None
    history = None
    if nodule is not None:
        selected = next((n for n in record["nodules"] if n["id"] == nodule), None)
        if selected is not None:
            history = store(request).run(
                lambda uow: services.nodule_history(uow, principal.actor, nodule)
            )
    pain = [e for e in events if e["type"] == "pain_score"]
    reviews: dict[str, list[Any]] = {}
    if latest is not None:
        for review in reviews_in(e for e in events if e["type"] == "note"):
            if review.assessment_id == latest["id"]:
                reviews.setdefault(review.flag_id, []).append(review)
    return page(
        request,
        "patient.html",
        principal,
        nav="patients",
        patient=record["patient"],
        nodules=record["nodules"],
        body_map=body_map_svg(),
        latest=latest,
        plan=_plan(record, request, patient.id),
        pain=pain,
        selected=selected,
        history=history,
        reviews=reviews,
        **result_context(engine(request)),
        counts={
            kind: sum(1 for e in events if e["type"] == kind)
            for kind in ("assessment", "pain_score", "injection_test", "treatment")
        },
    )


@router.post("/patients/{patient_id}/nodules")
def add_nodule(
    request: Request,
    principal: Checked,
    _: Clinician,
    patient: Patient,
    x: Annotated[float, Form(ge=0, le=100)],
    y: Annotated[float, Form(ge=0, le=100)],
    region: Annotated[str, Form(max_length=32)] = "",
    side: Annotated[str, Form(max_length=8)] = "",
    label: Annotated[str, Form(max_length=32)] = "",
    size_cm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Add a nodule where the map was clicked (region and side suggested if not given)."""
    suggested_side, suggested_region = suggest(x, y)
    size = None
    if size_cm.strip():
        try:
            size = float(size_cm)
        except ValueError:
            raise InvalidRecord([Problem("size_cm", f"{size_cm!r} is not a number")]) from None
    created = store(request).run(
        lambda uow: services.add_nodule(
            uow,
            principal.actor,
            patient.id,
            x=round(x, 1),
            y=round(y, 1),
            side=side or suggested_side,
            region=region or suggested_region,
            label=label,
            size_cm=size,
        )
    )
    return RedirectResponse(
        f"/patients/{patient.id}?nodule={created.id}#nodule-panel", status_code=303
    )


@router.post("/patients/{patient_id}/nodules/{nodule_id}/status")
def nodule_status(
    request: Request,
    principal: Checked,
    _: Clinician,
    patient: Patient,
    nodule: Annotated[domain.Nodule, Depends(nodule_access)],
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    """Mark a nodule active, resolved or excised."""
    store(request).run(
        lambda uow: services.set_nodule_status(uow, principal.actor, nodule.id, status)
    )
    return RedirectResponse(
        f"/patients/{patient.id}?nodule={nodule.id}#nodule-panel", status_code=303
    )
