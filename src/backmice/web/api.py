"""The JSON API, /api/v1: the same services as the pages.

Authentication is the session cookie from /login; unsafe methods also need the
session's CSRF token in the `X-CSRF-Token` header. Errors are
`{"errors": [{"field", "message"}]}` with 401, 403, 404, 409 or 422.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from backmice.engine.contract import input_schema, result_schema
from backmice.engine.interview import Interview
from backmice.errors import InvalidRecord, Problem
from backmice.records import domain, services
from backmice.web.deps import (
    Principal,
    clinician,
    clinician_or_patient,
    csrf,
    engine,
    patient_access,
    store,
)

__all__ = ["router"]


class _Route(APIRoute):
    """FastAPI answers a request body it cannot even decode (bytes that are not UTF-8)
    with its own `400 {"detail": ...}`, outside this API's documented statuses and
    error shape; such a body is invalid input like any other: 422 with `errors`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                return await handle(request)
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                raise InvalidRecord([Problem("body", "is not JSON (UTF-8 text)")]) from None

        return checked


router = APIRouter(prefix="/api/v1", tags=["api"], route_class=_Route)

Anyone = Annotated[Principal, Depends(clinician_or_patient)]
Clinician = Annotated[Principal, Depends(clinician)]
Checked = Annotated[Principal, Depends(csrf)]
Patient = Annotated[domain.Patient, Depends(patient_access)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        "description": text,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "message"],
                                "properties": {
                                    "field": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
    for code, text in (
        (401, "Not signed in"),
        (403, "Not allowed, or the CSRF token is missing"),
        (404, "No such record (or not yours)"),
        (409, "Clashes with what is stored"),
        (422, "Invalid input: one entry per problem"),
    )
}


def _schema(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("$schema", "$id")}


_CASE = _schema(input_schema())
_RESULT = _schema(result_schema())


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


@router.post(
    "/assess",
    responses={
        200: {"content": {"application/json": {"schema": _RESULT}}, "description": "Result"},
        **_ERRORS,
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _CASE}}}
    },
)
async def assess(request: Request, principal: Anyone, _: Checked) -> Response:
    """Assess one case (backmice.assessment/1): differential, red flags, triage, next steps."""
    # Parsed and written with orjson, as `backmice assess` does, and answered as bytes:
    # FastAPI would otherwise validate and serialise the ~20 KB result through pydantic
    # (the response schema above is declared, so the OpenAPI document is unchanged)
    try:
        doc = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        where = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InvalidRecord([Problem("body", f"is not valid JSON ({where})")]) from None
    return Response(orjson.dumps(engine(request).assess(doc)), media_type="application/json")


class InterviewState(Strict):
    setting: Literal["primary_care", "pain_clinic", "self_check"] = "primary_care"
    answers: dict[str, Any] = Field(default_factory=dict, description="finding -> value")
    skipped: list[str] = Field(default_factory=list, max_length=100)


class NextQuestion(BaseModel):
    finding: str | None
    text: str | None
    firm: bool
    asked: int
    available: int
    result: dict[str, Any]


@router.post("/interview/next", responses=_ERRORS)
def next_question(
    request: Request, state: InterviewState, principal: Anyone, _: Checked
) -> NextQuestion:
    """The next best question for a partial case, and the result so far."""
    eng = engine(request)
    for name in state.answers:
        if name not in {f.id for f in eng.kb.findings}:
            raise InvalidRecord([Problem(f"answers.{name}", "is not a finding")])
    interview = Interview(eng, setting=state.setting)
    # age and sex sit at the top of a case, the other answers under findings
    case: dict[str, Any] = {k: v for k, v in state.answers.items() if k in ("age", "sex")}
    case["findings"] = {k: v for k, v in state.answers.items() if k not in ("age", "sex")}
    result = eng.assess({"setting": state.setting, **case})
    for name, value in state.answers.items():
        interview.record(name, value)
    for name in state.skipped:
        if name in {f.id for f in eng.kb.findings}:
            interview.record(name, None)
    question = None if interview.is_firm() else interview.next_question()
    return NextQuestion(
        finding=None if question is None else question.finding,
        text=None if question is None else question.text,
        firm=question is None,
        asked=interview.asked,
        available=interview.available,
        result=result,
    )


class PatientIn(Strict):
    identifier: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    birth_date: dt.date
    sex: Literal["female", "male", "other"]
    contact: str | None = Field(default=None, max_length=200)


class PatientOut(BaseModel):
    id: str
    identifier: str
    name: str
    birth_date: dt.date
    sex: str


class PatientPage(BaseModel):
    total: int
    patients: list[PatientOut]


def _out(p: domain.Patient) -> PatientOut:
    return PatientOut(
        id=p.id, identifier=p.identifier, name=p.name, birth_date=p.birth_date, sex=p.sex
    )


@router.get("/patients", responses=_ERRORS)
def list_patients(
    request: Request,
    principal: Clinician,
    search: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PatientPage:
    """This clinic's patients whose name or record number contains `search`."""
    found, total = store(request).run(
        lambda uow: services.list_patients(
            uow, principal.actor, search, limit, offset, clinic=principal.user.clinic
        )
    )
    return PatientPage(total=total, patients=[_out(p) for p in found])


@router.post("/patients", status_code=201, responses=_ERRORS)
def register_patient(
    request: Request, body: PatientIn, principal: Clinician, _: Checked
) -> PatientOut:
    """Register a patient in the clinician's clinic."""
    created = store(request).run(
        lambda uow: services.register_patient(
            uow,
            principal.actor,
            identifier=body.identifier,
            name=body.name,
            birth_date=body.birth_date,
            sex=body.sex,
            contact=body.contact,
            clinic=principal.user.clinic,
        )
    )
    return _out(created)


@router.get("/patients/{patient_id}", responses=_ERRORS)
def patient_record(request: Request, patient: Patient, principal: Anyone) -> dict[str, Any]:
    """The whole record: patient, nodules with sizes, and every event in time order."""
    return store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))


class NoduleIn(Strict):
    # strict: a JSON number only (pydantic would take true or "2" as well, which the
    # schema refuses; schemathesis found it)
    x: float = Field(ge=0, le=100, strict=True)
    y: float = Field(ge=0, le=100, strict=True)
    side: Literal["left", "right", "midline"]
    region: Literal[
        "posterior_iliac_crest",
        "sacroiliac",
        "lumbosacral",
        "lumbar_paraspinal",
        "buttock",
        "natal_cleft",
        "flank",
        "other",
    ]
    label: str = Field(default="", max_length=32)
    size_cm: float | None = Field(default=None, gt=0, le=50, strict=True)


class Created(BaseModel):
    id: str


@router.post("/patients/{patient_id}/nodules", status_code=201, responses=_ERRORS)
def add_nodule(
    request: Request, body: NoduleIn, patient: Patient, principal: Clinician, _: Checked
) -> Created:
    """Put a nodule on the patient's body map."""
    nodule = store(request).run(
        lambda uow: services.add_nodule(
            uow,
            principal.actor,
            patient.id,
            x=body.x,
            y=body.y,
            side=body.side,
            region=body.region,
            label=body.label,
            size_cm=body.size_cm,
        )
    )
    return Created(id=nodule.id)


class ScoreIn(Strict):
    score: int = Field(ge=0, le=10, strict=True)  # a JSON integer: not true, not "7"
    kind: Literal["current", "worst", "with_pressure"] = "current"
    recorded_at: dt.datetime | None = None
    nodule_id: str | None = Field(default=None, max_length=36)


class ScoresIn(Strict):
    scores: list[ScoreIn] = Field(min_length=1, max_length=100)


class Recorded(BaseModel):
    recorded: int


@router.post("/patients/{patient_id}/pain-scores", status_code=201, responses=_ERRORS)
def record_pain_scores(
    request: Request, body: ScoresIn, patient: Patient, principal: Anyone, _: Checked
) -> Recorded:
    """Record NRS pain scores (several a day, overall or per nodule)."""
    now = dt.datetime.now(dt.UTC)
    for s in body.scores:
        if s.recorded_at is not None and s.recorded_at.tzinfo is None:
            raise InvalidRecord([Problem("recorded_at", "needs a time zone")])
    entries = [
        services.ScoreEntry(s.score, s.kind, s.recorded_at or now, s.nodule_id) for s in body.scores
    ]
    written = store(request).run(
        lambda uow: services.record_pain_scores(uow, principal.actor, patient.id, entries)
    )
    return Recorded(recorded=len(written))


class PlanOut(BaseModel):
    status: str
    current_step: str | None
    current_accepted: bool
    next_step: str | None
    reasons: list[str]
    review_due: dt.date | None
    not_before: dt.date | None
    warnings: list[str]
    red_flags: list[dict[str, Any]]


@router.get("/patients/{patient_id}/plan", responses=_ERRORS)
def care_plan(request: Request, patient: Patient, principal: Anyone) -> PlanOut:
    """The care plan: current step, next step, why, review date."""
    p = store(request).run(lambda uow: services.care_plan(uow, principal.actor, patient.id))
    return PlanOut(
        status=p.status,
        current_step=None if p.current_step is None else p.current_step.id,
        current_accepted=p.current_accepted,
        next_step=None if p.next_step is None else p.next_step.id,
        reasons=list(p.reasons),
        review_due=p.review_due,
        not_before=p.not_before,
        warnings=list(p.warnings),
        red_flags=[dict(f) for f in p.red_flags],
    )


@router.get("/me", responses=_ERRORS)
def whoami(principal: Annotated[Principal, Depends(clinician_or_patient)]) -> dict[str, Any]:
    """The signed-in account (no clinical data)."""
    return {
        "username": principal.user.username,
        "role": principal.role,
        "patient_id": principal.user.patient_id,
        "csrf_token": principal.session.csrf_token,
    }
