"""Patient pages: their plan in plain words, and the education pages.

A patient account sees only its own record (`deps.own_patient`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from backmice.care.education import education_page, education_pages
from backmice.records import domain, services
from backmice.records.services.documents import plan_summary
from backmice.web.app import templates
from backmice.web.deps import (
    Principal,
    clinician_or_patient,
    own_patient,
    patient_user,
    store,
)

router = APIRouter(include_in_schema=False)

PatientUser = Annotated[Principal, Depends(patient_user)]
Own = Annotated[domain.Patient, Depends(own_patient)]


def page(request: Request, name: str, principal: Principal, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, {"principal": principal, **context})


@router.get("/me", response_class=HTMLResponse)
def my_plan(request: Request, principal: PatientUser, patient: Own) -> Response:
    """The patient's own plan, in plain words."""
    proposal = store(request).run(
        lambda uow: services.care_plan(
            uow, principal.actor, patient.id, today=dt.datetime.now(dt.UTC).date()
        )
    )
    return page(
        request,
        "me.html",
        principal,
        nav="me",
        patient=patient,
        plan=plan_summary(proposal, plain=True),
        proposal=proposal,
    )


@router.get("/learn", response_class=HTMLResponse)
def learn(
    request: Request, principal: Annotated[Principal, Depends(clinician_or_patient)]
) -> Response:
    """The education pages, in reading order."""
    return page(request, "learn.html", principal, nav="learn", pages=education_pages())


@router.get("/learn/{page_id}", response_class=HTMLResponse)
def learn_page(
    request: Request,
    page_id: str,
    principal: Annotated[Principal, Depends(clinician_or_patient)],
) -> Response:
    """One education page, with its reading level."""
    return page(request, "learn_page.html", principal, nav="learn", item=education_page(page_id))
