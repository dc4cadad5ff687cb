"""Clinician pages that look back: pain charts and outcome trends, the reviews due in
the clinic, and the PDF visit summary and patient handout."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from backmice.documents import render_handout, render_visit_summary
from backmice.records import services
from backmice.records.services import documents
from backmice.records.unit_of_work import AbstractUnitOfWork
from backmice.web.charts import Chart, Series, pain_chart
from backmice.web.deps import store
from backmice.web.pages_clinician import Clinician, Patient, page

router = APIRouter(include_in_schema=False)

_KINDS = {"current": "Current", "worst": "Worst", "with_pressure": "With pressure"}
_MEASURES = {
    "nrs:current": "Pain now (NRS)",
    "nrs:worst": "Worst pain (NRS)",
    "nrs:with_pressure": "Pain with pressure (NRS)",
    "pgic": "Global impression of change (PGIC 1-7)",
    "sitting_tolerance": "Sitting tolerance (minutes)",
}


def _chart(chart_id: str, title: str, scores: list[dict[str, Any]]) -> Chart | None:
    series = [
        Series(
            kind,
            label,
            tuple(
                (dt.datetime.fromisoformat(s["recorded_at"]), float(s["score"]))
                for s in scores
                if s["kind"] == kind
            ),
        )
        for kind, label in _KINDS.items()
    ]
    return pain_chart(chart_id, title, series)


@router.get("/patients/{patient_id}/pain", response_class=HTMLResponse)
def pain_charts(
    request: Request,
    principal: Clinician,
    patient: Patient,
    nodule: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    """Pain over time, overall and for one nodule, with each outcome's trend."""

    def read(uow: AbstractUnitOfWork) -> tuple[dict[str, Any], list[services.OutcomeSeries]]:
        record = services.timeline(uow, principal.actor, patient.id)
        return record, services.outcome_trends(uow, principal.actor, patient.id)

    record, trends = store(request).run(read)
    scores = [e for e in record["events"] if e["type"] == "pain_score"]
    counts: dict[str, int] = {}
    for s in scores:
        if s["nodule_id"] is not None:
            counts[s["nodule_id"]] = counts.get(s["nodule_id"], 0) + 1
    labels = {n["id"]: n["label"] or f"Nodule {i}" for i, n in enumerate(record["nodules"], 1)}
    selected = nodule if nodule in labels else None
    overall = _chart("chart-overall", "Overall pain", [s for s in scores if s["nodule_id"] is None])
    one = None
    if selected is not None:
        title = f"Pain at {labels[selected]}"
        one = _chart("chart-nodule", title, [s for s in scores if s["nodule_id"] == selected])
    return page(
        request,
        "pain.html",
        principal,
        nav="patients",
        patient=record["patient"],
        nodules=[n for n in record["nodules"] if n["id"] in counts],
        counts=counts,
        labels=labels,
        selected=selected,
        overall=overall,
        one=one,
        trends=trends,
        measures=_MEASURES,
    )


@router.get("/due", response_class=HTMLResponse)
def reviews_due(
    request: Request,
    principal: Clinician,
    within: Annotated[int, Query(ge=0, le=366)] = 7,
) -> Response:
    """This clinic's care-plan reviews that are due or overdue (or due within N days)."""
    today = dt.datetime.now(dt.UTC).date()
    rows = store(request).run(
        lambda uow: services.due_reviews(
            uow, principal.actor, today, within_days=within, clinic=principal.user.clinic
        )
    )
    horizon = today + dt.timedelta(days=within)
    return page(
        request, "due.html", principal, nav="due", rows=rows, within=within, horizon=horizon
    )


def _pdf(content: bytes, name: str) -> Response:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}-{day}.pdf"'},
    )


@router.get("/patients/{patient_id}/report.pdf")
def visit_summary_pdf(request: Request, principal: Clinician, patient: Patient) -> Response:
    """The clinician's visit summary as a PDF download."""
    summary = store(request).run(
        lambda uow: documents.visit_summary(uow, principal.actor, patient.id)
    )
    return _pdf(render_visit_summary(summary), "visit-summary")


@router.get("/patients/{patient_id}/handout.pdf")
def handout_pdf(request: Request, principal: Clinician, patient: Patient) -> Response:
    """The patient's handout (their plan in plain words) as a PDF download."""
    content = store(request).run(lambda uow: documents.handout(uow, principal.actor, patient.id))
    return _pdf(render_handout(content), "patient-handout")
