"""Clinician pages for care: the diagnostic injection test, and the care plan with its
decisions (accept, choose another step, stop), outcome scores and treatments.

Each route parses its form, calls the record services (which check everything before
writing and audit every read and write) and renders; invalid input re-renders the page
with every problem named and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backmice.care.pathway_data import default_pathway
from backmice.errors import InvalidRecord, Problem
from backmice.records import domain, services
from backmice.records.services._checks import check_choice, check_nrs, check_outcome
from backmice.records.services.red_flags import reviews_in
from backmice.records.unit_of_work import AbstractUnitOfWork
from backmice.web.deps import Principal, engine, store
from backmice.web.pages_clinician import Checked, Clinician, Patient, page
from backmice.web.results import result_context

router = APIRouter(include_in_schema=False)

#: PGIC ratings in words (1 very much improved ... 7 very much worse).
PGIC = {
    1: "1 · very much improved",
    2: "2 · much improved",
    3: "3 · minimally improved",
    4: "4 · no change",
    5: "5 · minimally worse",
    6: "6 · much worse",
    7: "7 · very much worse",
}
_Text = Annotated[str, Form(max_length=40)]
_Note = Annotated[str, Form(max_length=4000)]


def _number(
    form: Mapping[str, str],
    name: str,
    expected: str,
    problems: list[Problem],
    *,
    whole: bool = False,
) -> Any:
    """A number from a form field, None when empty; a problem names a bad value."""
    raw = form.get(name, "").strip()
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (whole and not value.is_integer()):
        problems.append(Problem(name, f"{raw[:40]!r} is not {expected}"))
        return None
    return int(value) if whole else value


def _nodule(raw: str) -> str | None:
    return raw or None


def _latest_assessment(record: dict[str, Any]) -> dict[str, Any] | None:
    assessments = [e for e in record["events"] if e["type"] == "assessment"]
    return assessments[-1] if assessments else None


# --- the injection test ---------------------------------------------------------------


def _injection_page(
    request: Request,
    principal: Principal,
    record: dict[str, Any],
    *,
    form: Mapping[str, str],
    problems: Sequence[Problem] = (),
    done: services.Reassessment | None = None,
    status: int = 200,
) -> Response:
    settings = request.app.state.settings
    kb = engine(request).kb.injection_test
    response = page(
        request,
        "injection.html",
        principal,
        nav="patients",
        patient=record["patient"],
        nodules=record["nodules"],
        tests=[e for e in record["events"] if e["type"] == "injection_test"][-10:],
        latest=_latest_assessment(record),
        positive_at=settings.injection_positive_at or kb.positive_relief_percent.value,
        strongly_at=settings.injection_strongly_positive_at
        or kb.strongly_positive_relief_percent.value,
        form=form,
        problems=problems,
        done=done,
        **result_context(engine(request)),
    )
    response.status_code = status
    return response


@router.get("/patients/{patient_id}/injection", response_class=HTMLResponse)
def injection_form(
    request: Request,
    principal: Clinician,
    patient: Patient,
    nodule: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    """The diagnostic injection test: record pre/post pain or relief, then reassess."""
    record = store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))
    return _injection_page(request, principal, record, form={"nodule": nodule})


@router.post("/patients/{patient_id}/injection", response_class=HTMLResponse)
def record_injection(
    request: Request,
    principal: Checked,
    _: Clinician,
    patient: Patient,
    minutes: _Text = "",
    pre: _Text = "",
    post: _Text = "",
    relief: _Text = "",
    agent: Annotated[str, Form(max_length=200)] = "",
    volume: _Text = "",
    nodule: _Text = "",
) -> Response:
    """Store the test and the reassessment with its relief; show both differentials."""
    form = {
        "minutes": minutes,
        "pre": pre,
        "post": post,
        "relief": relief,
        "agent": agent,
        "volume": volume,
        "nodule": nodule,
    }
    problems: list[Problem] = []
    minutes_after = _number(form, "minutes", "a number of minutes", problems)
    if minutes_after is None and not problems:
        problems.append(Problem("minutes", "'' is empty; give the minutes after the injection"))
    pre_nrs = _number(form, "pre", "a whole number from 0 to 10", problems, whole=True)
    post_nrs = _number(form, "post", "a whole number from 0 to 10", problems, whole=True)
    relief_percent = _number(form, "relief", "a percentage from 0 to 100", problems)
    volume_ml = _number(form, "volume", "a volume in ml", problems)
    settings = request.app.state.settings
    done = None
    if not problems:
        try:
            done = store(request).run(
                lambda uow: services.record_injection_and_reassess(
                    uow,
                    principal.actor,
                    patient.id,
                    engine(request),
                    performed_at=dt.datetime.now(dt.UTC),
                    minutes_after=minutes_after,
                    pre_nrs=pre_nrs,
                    post_nrs=post_nrs,
                    relief_percent=relief_percent,
                    agent=agent,
                    volume_ml=volume_ml,
                    nodule_id=_nodule(nodule),
                    positive_at=settings.injection_positive_at,
                    strongly_positive_at=settings.injection_strongly_positive_at,
                )
            )
        except InvalidRecord as exc:
            problems = list(exc.problems)
    record = store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))
    if problems:
        return _injection_page(request, principal, record, form=form, problems=problems, status=422)
    return _injection_page(request, principal, record, form={"nodule": nodule}, done=done)


# --- the care plan --------------------------------------------------------------------


def _plan_page(
    request: Request,
    principal: Principal,
    patient: domain.Patient,
    nodule: str | None,
    *,
    problems: Sequence[Problem] = (),
    failed: str = "",
    form: Mapping[str, str] | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    today = dt.datetime.now(dt.UTC).date()

    def read(uow: AbstractUnitOfWork) -> tuple[Any, dict[str, Any]]:
        proposal = services.care_plan(
            uow, principal.actor, patient.id, nodule_id=nodule, today=today
        )
        return proposal, services.timeline(uow, principal.actor, patient.id)

    proposal, record = store(request).run(read)
    latest = _latest_assessment(record)
    reviews: dict[str, list[Any]] = {}
    if latest is not None:
        notes = [e for e in record["events"] if e["type"] == "note"]
        for review in reviews_in(notes):
            if review.assessment_id == latest["id"]:
                reviews.setdefault(review.flag_id, []).append(review)
    pathway = default_pathway()
    events = record["events"]
    response = page(
        request,
        "plan.html",
        principal,
        nav="patients",
        patient=record["patient"],
        nodules=record["nodules"],
        nodule_labels={
            n["id"]: n["label"] or f"Nodule {i}" for i, n in enumerate(record["nodules"], 1)
        },
        nodule=nodule,
        plan=proposal,
        latest=latest,
        reviews=reviews,
        steps=[*pathway.steps, *pathway.alternatives],
        choose_reasons=pathway.choose_reasons,
        stop_reasons=pathway.stop_reasons,
        pain_kinds=domain.PAIN_KINDS,
        treatment_kinds=domain.TREATMENT_KINDS,
        pgic=PGIC,
        recent=[e for e in events if e["type"] in ("pain_score", "treatment", "injection_test")][
            -12:
        ][::-1],
        problems=problems,
        failed=failed,
        form=form or {},
        done=done,
        **result_context(engine(request)),
    )
    response.status_code = status
    return response


@router.get("/patients/{patient_id}/plan", response_class=HTMLResponse)
def care_plan(
    request: Request,
    principal: Clinician,
    patient: Patient,
    nodule: Annotated[str, Query(max_length=36)] = "",
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The care plan: status, current and next step with evidence, why, review dates,
    and forms to decide on it and to record scores and treatments."""
    return _plan_page(request, principal, patient, _nodule(nodule), done=done)


def _after(patient: domain.Patient, nodule: str, done: str) -> Response:
    query = urlencode({"done": done, **({"nodule": nodule} if nodule else {})})
    return RedirectResponse(f"/patients/{patient.id}/plan?{query}#done", status_code=303)


@router.post("/patients/{patient_id}/plan/decide", response_class=HTMLResponse)
def decide(
    request: Request,
    principal: Checked,
    _: Clinician,
    patient: Patient,
    decision: _Text = "",
    step: _Text = "",
    reason: _Text = "",
    note: _Note = "",
    nodule: _Text = "",
) -> Response:
    """Accept the proposed step, choose another with a coded reason, or stop the plan."""
    try:
        store(request).run(
            lambda uow: services.decide_plan(
                uow,
                principal.actor,
                patient.id,
                decision=decision,
                step_id=step if decision == "choose" else (step or None),
                reason_code=reason if decision in ("choose", "stop") else (reason or None),
                note=note,
                nodule_id=_nodule(nodule),
            )
        )
    except InvalidRecord as exc:
        form = {"decision": decision, "step": step, "reason": reason, "note": note}
        return _plan_page(
            request,
            principal,
            patient,
            _nodule(nodule),
            problems=exc.problems,
            failed=decision if decision in domain.PLAN_DECISIONS else "choose",
            form=form,
            status=422,
        )
    return _after(patient, nodule, "decision")


@router.post("/patients/{patient_id}/plan/scores", response_class=HTMLResponse)
def record_scores(
    request: Request,
    principal: Checked,
    _: Clinician,
    patient: Patient,
    nrs: _Text = "",
    kind: _Text = "current",
    pgic: _Text = "",
    sitting: _Text = "",
    nodule: _Text = "",
) -> Response:
    """Record NRS pain, PGIC and sitting tolerance (any of them): all, or none."""
    form = {"nrs": nrs, "kind": kind, "pgic": pgic, "sitting": sitting, "nodule": nodule}
    problems: list[Problem] = []
    score = _number(form, "nrs", "a whole number from 0 to 10 (NRS-11)", problems, whole=True)
    rating = _number(form, "pgic", "a PGIC rating from 1 to 7", problems, whole=True)
    minutes = _number(form, "sitting", "a whole number of minutes", problems, whole=True)
    if score is not None:
        check_nrs(score, "nrs", problems)
        check_choice(kind, "kind", domain.PAIN_KINDS, problems)
    for measure, value, name in (
        ("pgic", rating, "pgic"),
        ("sitting_tolerance", minutes, "sitting"),
    ):
        if value is not None:
            found: list[Problem] = []
            check_outcome(measure, value, "", found)
            problems.extend(Problem(name, p.message) for p in found)
    if not problems and score is None and rating is None and minutes is None:
        problems.append(Problem("nrs", "'' is empty; give at least one of NRS, PGIC, sitting"))
    if problems:
        return _plan_page(
            request,
            principal,
            patient,
            _nodule(nodule),
            problems=problems,
            failed="scores",
            form=form,
            status=422,
        )
    when = dt.datetime.now(dt.UTC)
    where = _nodule(nodule)
    outcomes = [
        services.OutcomeEntry(measure, value, when, where)
        for measure, value in (("pgic", rating), ("sitting_tolerance", minutes))
        if value is not None
    ]

    def work(uow: AbstractUnitOfWork) -> None:
        if score is not None:
            entry = services.ScoreEntry(score, kind, when, where)
            services.record_pain_scores(uow, principal.actor, patient.id, [entry])
        if outcomes:
            services.record_outcome_scores(uow, principal.actor, patient.id, outcomes)

    store(request).run(work)
    return _after(patient, nodule, "scores")


@router.post("/patients/{patient_id}/plan/treatment", response_class=HTMLResponse)
def record_treatment(
    request: Request,
    principal: Checked,
    _: Clinician,
    patient: Patient,
    kind: _Text = "",
    details: _Note = "",
    nodule: _Text = "",
) -> Response:
    """Record a treatment given (it begins the step it belongs to)."""
    try:
        store(request).run(
            lambda uow: services.record_treatment(
                uow,
                principal.actor,
                patient.id,
                kind=kind,
                performed_at=dt.datetime.now(dt.UTC),
                details=details,
                nodule_id=_nodule(nodule),
            )
        )
    except InvalidRecord as exc:
        return _plan_page(
            request,
            principal,
            patient,
            _nodule(nodule),
            problems=exc.problems,
            failed="treatment",
            form={"kind": kind, "details": details},
            status=422,
        )
    return _after(patient, nodule, "treatment")
