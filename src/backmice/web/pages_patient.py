"""Patient pages: their plan, a pain diary, the self-check, their handout, and the
education pages.

A patient account sees only its own record: every route takes the patient from the
session (`deps.own_patient`), never from the URL.

The self-check keeps no state on the server between questions: the answers so far
travel in hidden fields of its form, are checked again on every step, and only the
finished result is written to the record (an assessment with setting `self_check`,
which the patient's clinician then sees).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backmice.care.education import education_page, education_pages
from backmice.cli.render import PLAIN_TRIAGE_WORDS
from backmice.documents import render_handout
from backmice.engine import Engine
from backmice.engine.interview import Interview, Question
from backmice.errors import InvalidCase, InvalidRecord, Problem, RecordNotFound
from backmice.knowledge.model import Finding, FindingIs, Value
from backmice.records import domain, services
from backmice.records.services.documents import handout, plan_summary
from backmice.records.unit_of_work import AbstractUnitOfWork
from backmice.web.app import templates
from backmice.web.deps import (
    Principal,
    clinician_or_patient,
    csrf,
    engine,
    own_patient,
    patient_user,
    store,
)

router = APIRouter(include_in_schema=False)

PatientUser = Annotated[Principal, Depends(patient_user)]
Checked = Annotated[Principal, Depends(csrf)]
Own = Annotated[domain.Patient, Depends(own_patient)]


def page(request: Request, name: str, principal: Principal, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, {"principal": principal, **context})


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@router.get("/me", response_class=HTMLResponse)
def my_plan(request: Request, principal: PatientUser, patient: Own) -> Response:
    """The patient's own plan, in plain words."""
    proposal = store(request).run(
        lambda uow: services.care_plan(uow, principal.actor, patient.id, today=_today())
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


@router.get("/me/report.pdf")
def my_handout(request: Request, principal: PatientUser, patient: Own) -> Response:
    """The patient's own handout (PDF): their plan, self-care and when to get help."""
    gathered = store(request).run(lambda uow: handout(uow, principal.actor, patient.id))
    return Response(
        render_handout(gathered),
        media_type="application/pdf",
        headers={"content-disposition": 'attachment; filename="my-back-plan.pdf"'},
    )


# --- pain diary ------------------------------------------------------------------------

#: How the diary words each kind of pain rating.
KIND_WORDS = {
    "current": "Right now",
    "worst": "Worst today",
    "with_pressure": "When I press on it",
}
#: The Patients' Global Impression of Change, 1-7, in plain words.
PGIC_WORDS = (
    "Very much better",
    "Much better",
    "A little better",
    "No change",
    "A little worse",
    "Much worse",
    "Very much worse",
)
_SHOWN_ENTRIES = 12


@dataclass(frozen=True, slots=True)
class DiaryEntry:
    """One diary line to record: the pain rating and, if given, PGIC and sitting time."""

    pain: services.ScoreEntry
    outcomes: tuple[services.OutcomeEntry, ...]


def _whole(
    raw: str, field: str, low: int, high: int, meaning: str
) -> tuple[int | None, Problem | None]:
    text = raw.strip()
    if not text:
        return None, Problem(field, f"no value given; expected {meaning}")
    try:
        value = int(text)
    except ValueError:
        return None, Problem(field, f"{raw!r} is not {meaning}")
    if not low <= value <= high:
        return None, Problem(field, f"{raw!r} is not {meaning}")
    return value, None


def parse_diary(
    score: str, kind: str, nodule: str, pgic: str, sitting_minutes: str, at: dt.datetime
) -> tuple[DiaryEntry | None, list[Problem]]:
    """The diary form as an entry, or every problem with it (field, value, expectation)."""
    problems: list[Problem] = []
    nrs, problem = _whole(score, "score", 0, 10, "a whole number from 0 to 10")
    problems += [problem] if problem else []
    if kind not in KIND_WORDS:
        problems.append(Problem("kind", f"{kind!r} is not one of {', '.join(KIND_WORDS)}"))
    nodule_id = nodule.strip() or None
    outcomes = []
    if pgic.strip():
        value, problem = _whole(pgic, "pgic", 1, 7, "a rating from 1 (very much better) to 7")
        problems += [problem] if problem else []
        if value is not None:
            outcomes.append(services.OutcomeEntry("pgic", value, at, nodule_id))
    if sitting_minutes.strip():
        value, problem = _whole(
            sitting_minutes, "sitting_minutes", 0, 1440, "whole minutes from 0 to 1440"
        )
        problems += [problem] if problem else []
        if value is not None:
            outcomes.append(services.OutcomeEntry("sitting_tolerance", value, at, nodule_id))
    if problems or nrs is None:
        return None, problems
    return DiaryEntry(services.ScoreEntry(nrs, kind, at, nodule_id), tuple(outcomes)), []


def _write_diary(uow: AbstractUnitOfWork, actor: str, patient_id: str, entry: DiaryEntry) -> None:
    # every field was checked by `parse_diary` and the nodule by the first service, so
    # the second cannot refuse what the first accepted
    services.record_pain_scores(uow, actor, patient_id, [entry.pain])
    if entry.outcomes:
        services.record_outcome_scores(uow, actor, patient_id, entry.outcomes)


def _nodule_choices(nodules: Sequence[dict[str, Any]], kb_engine: Engine) -> list[dict[str, str]]:
    where = kb_engine.kb.finding("location")
    out = []
    for i, n in enumerate(nodules, start=1):
        if n["status"] != "active":
            continue
        region = (
            where.choice_label(n["region"], plain=True)
            if n["region"] in where.states
            else n["region"].replace("_", " ")
        )
        side = "" if n["side"] == "midline" else f"{n['side']} side, "
        out.append({"id": n["id"], "text": f"Lump {n['label'] or i}: {side}{region}"})
    return out


def _shown_time(at: str) -> str:
    when = dt.datetime.fromisoformat(at).astimezone(dt.UTC)
    return when.strftime("%-d %b %Y, %H:%M UTC")


def _diary_page(
    request: Request,
    principal: Principal,
    patient: domain.Patient,
    *,
    problems: Sequence[Problem] = (),
    form: dict[str, str] | None = None,
    saved: bool = False,
) -> Response:
    record = store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))
    choices = _nodule_choices(record["nodules"], engine(request))
    names = {c["id"]: c["text"].split(":")[0] for c in choices}
    scores = [e for e in record["events"] if e["type"] == "pain_score"][-_SHOWN_ENTRIES:]
    entries = [
        {
            "at": e["recorded_at"],
            "shown": _shown_time(e["recorded_at"]),
            "score": e["score"],
            "kind": KIND_WORDS.get(e["kind"], e["kind"]),
            "where": names.get(e["nodule_id"] or "", "Lump" if e["nodule_id"] else "Overall"),
        }
        for e in reversed(scores)
    ]
    response = page(
        request,
        "diary.html",
        principal,
        nav="diary",
        nodules=choices,
        entries=entries,
        kinds=KIND_WORDS,
        pgic_words=PGIC_WORDS,
        problems=list(problems),
        wrong={p.field for p in problems},
        form=form or {"kind": "current"},
        saved=saved,
    )
    if problems:
        response.status_code = 422
    return response


@router.get("/me/diary", response_class=HTMLResponse)
def diary(request: Request, principal: PatientUser, patient: Own, saved: int = 0) -> Response:
    """The pain diary: a quick entry form and the latest entries."""
    return _diary_page(request, principal, patient, saved=bool(saved))


@router.post("/me/diary", response_class=HTMLResponse)
def add_diary_entry(
    request: Request,
    principal: Checked,
    _: PatientUser,
    patient: Own,
    score: Annotated[str, Form(max_length=8)] = "",
    kind: Annotated[str, Form(max_length=16)] = "current",
    nodule: Annotated[str, Form(max_length=36)] = "",
    pgic: Annotated[str, Form(max_length=8)] = "",
    sitting_minutes: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Add one diary entry (several a day are fine); bad input writes nothing."""
    form = {
        "score": score,
        "kind": kind,
        "nodule": nodule,
        "pgic": pgic,
        "sitting_minutes": sitting_minutes,
    }
    entry, problems = parse_diary(
        score, kind, nodule, pgic, sitting_minutes, dt.datetime.now(dt.UTC)
    )
    if entry is not None:
        try:
            store(request).run(lambda uow: _write_diary(uow, principal.actor, patient.id, entry))
        except InvalidRecord as exc:
            problems = list(exc.problems)
        except RecordNotFound:
            problems = [Problem("nodule", f"{nodule!r} is not one of your lumps")]
    if problems:
        return _diary_page(request, principal, patient, problems=problems, form=form)
    return RedirectResponse("/me/diary?saved=1#diary-form", status_code=303)


# --- self-check ------------------------------------------------------------------------

_UNKNOWN = "?"
_MAX_ANSWERS = 60


def _encode(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decode(finding: Finding, raw: str) -> Value | None:
    """A raw form value as the finding's value (None: "I don't know"); raises
    `InvalidCase` naming the finding, the value and what was expected."""
    text = raw.strip()
    if text == _UNKNOWN:
        return None
    if finding.type == "boolean":
        if text in ("yes", "no"):
            return text == "yes"
        expected = "yes, no or I don't know"
    elif finding.type == "enum":
        if text in finding.states:
            return text
        expected = f"one of {', '.join(finding.states)}"
    else:
        expected = "a whole number" if finding.type == "integer" else "a number"
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            if number.is_integer():
                return int(number)
            if finding.type == "number":
                return number
        if not text:
            raise InvalidCase([Problem(finding.id, f"no value given; expected {expected}")])
    raise InvalidCase([Problem(finding.id, f"{raw!r} is not {expected}")])


@dataclass
class SelfCheck:
    """A self-check rebuilt from its form: the interview and the answers in asked order."""

    interview: Interview
    order: list[tuple[str, str]]  # (finding, encoded answer or "?"), in the order asked

    @classmethod
    def from_form(cls, kb_engine: Engine, raw: Sequence[str]) -> SelfCheck:
        """Rebuild from the hidden `a` fields ("finding=value"); every answer is checked
        again, so an edited form can only be refused, never stored unchecked."""
        interview = Interview(kb_engine, setting="self_check")
        askable = {f.id: f for f in kb_engine.kb.findings if f.plain_question is not None}
        if len(raw) > _MAX_ANSWERS:
            raise InvalidCase([Problem("a", f"{len(raw)} answers; at most {_MAX_ANSWERS}")])
        order: list[tuple[str, str]] = []
        for item in raw:
            name, _, value = item.partition("=")
            if name not in askable:
                raise InvalidCase([Problem("a", f"{name!r} is not a self-check question")])
            if any(name == done for done, _ in order):
                raise InvalidCase([Problem("a", f"{name!r} is answered twice")])
            interview.record(name, _decode(askable[name], value))
            order.append((name, value))
        return cls(interview, order)

    def answer(self, finding: Finding, raw: str) -> None:
        """Record the answer to the current question (raises `InvalidCase`)."""
        value = _decode(finding, raw)
        self.interview.record(finding.id, value)
        self.order.append((finding.id, _UNKNOWN if value is None else _encode(value)))

    def hidden(self) -> list[str]:
        return [f"{name}={value}" for name, value in self.order]


def _emergency_signs() -> tuple[str, ...]:
    return education_page("when-to-get-help").sections[0].bullets


def _question_page(
    request: Request,
    principal: Principal,
    check: SelfCheck,
    question: Question,
    problems: Sequence[Problem] = (),
    typed: str = "",
) -> Response:
    finding = engine(request).kb.finding(question.finding)
    choices = []
    if finding.type == "boolean":
        choices = [("yes", "Yes"), ("no", "No")]
    elif finding.type == "enum":
        choices = [(s, finding.choice_label(s, plain=True)) for s in finding.states]
    response = page(
        request,
        "selfcheck_question.html",
        principal,
        nav="self-check",
        question=question,
        finding=finding,
        choices=choices,
        number=finding.type in ("number", "integer"),
        hidden=check.hidden(),
        number_shown=check.interview.asked + 1,
        problems=list(problems),
        typed=typed,
        emergency_signs=_emergency_signs(),
    )
    if problems:
        response.status_code = 422
    return response


@router.get("/me/self-check", response_class=HTMLResponse)
def self_check_start(request: Request, principal: PatientUser, patient: Own) -> Response:
    """The self-check: what it is, and the signs that need emergency help now."""
    return page(
        request,
        "selfcheck.html",
        principal,
        nav="self-check",
        emergency_signs=_emergency_signs(),
    )


@router.post("/me/self-check", response_class=HTMLResponse)
def self_check_step(
    request: Request,
    principal: Checked,
    _: PatientUser,
    patient: Own,
    a: Annotated[list[str] | None, Form(max_length=_MAX_ANSWERS + 1)] = None,
    finding: Annotated[str, Form(max_length=64)] = "",
    answer: Annotated[str, Form(max_length=64)] = "",
    number: Annotated[str, Form(max_length=32)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """One step of the self-check: record the answer, then ask the next question, or
    store the result and show it (at once when an answer needs emergency help)."""
    kb_engine = engine(request)
    check = SelfCheck.from_form(kb_engine, a or [])
    if action == "back" and check.order:
        check = SelfCheck.from_form(kb_engine, check.hidden()[:-1])
    elif finding:
        question = check.interview.next_question()
        if question is None or question.finding != finding:
            raise InvalidCase([Problem("finding", f"{finding!r} is not the question asked")])
        try:
            check.answer(kb_engine.kb.finding(finding), number if answer == "number" else answer)
        except InvalidCase as exc:
            problems = [Problem(p.field.removeprefix("findings."), p.message) for p in exc.problems]
            return _question_page(request, principal, check, question, problems, number)
    question = check.interview.next_question()
    triage = kb_engine.assess(check.interview.case())["triage"]
    if question is not None and triage != "emergency":
        return _question_page(request, principal, check, question)
    case = check.interview.case()
    stored = store(request).run(
        lambda uow: services.record_assessment(uow, principal.actor, patient.id, kb_engine, case)
    )
    return RedirectResponse(f"/me/self-check/result/{stored.id}", status_code=303)


def _answers_shown(kb_engine: Engine, case: dict[str, Any]) -> list[tuple[str, str]]:
    given = {**case.get("findings", {}), **{k: case[k] for k in ("age", "sex") if k in case}}
    shown = []
    for f in kb_engine.kb.findings:
        if f.id not in given or f.plain_question is None:
            continue
        value = given[f.id]
        if isinstance(value, bool):
            text = "Yes" if value else "No"
        elif f.type == "enum":
            text = f.choice_label(str(value), plain=True)
        else:
            text = _encode(value)
        shown.append((f.plain_question, text[:1].upper() + text[1:]))
    return shown


def _warning_signs_not_answered(kb_engine: Engine, case: dict[str, Any]) -> list[str]:
    """The plain questions about signs that on their own need emergency help (bladder,
    saddle numbness, feeling very unwell) that the self-check has no answer to."""
    given = case.get("findings", {})
    signs = {
        part.finding
        for rule in kb_engine.kb.red_flags
        if rule.severity == "emergency"
        for part in getattr(rule.when, "parts", (rule.when,))
        if isinstance(part, FindingIs)
    }
    return [
        f.plain_question
        for f in kb_engine.kb.findings
        if f.id in signs and f.id not in given and f.plain_question is not None
    ]


@router.get("/me/self-check/result/{assessment_id}", response_class=HTMLResponse)
def self_check_result(
    request: Request, assessment_id: str, principal: PatientUser, patient: Own
) -> Response:
    """A stored self-check result of the patient's own record: red flags first, what to
    do, when to get help, then what it might be."""
    record = store(request).run(lambda uow: services.timeline(uow, principal.actor, patient.id))
    found = next(
        (
            e
            for e in record["events"]
            if e["type"] == "assessment"
            and e["id"] == assessment_id
            and e["case"].get("setting") == "self_check"
        ),
        None,
    )
    if found is None:
        raise RecordNotFound(f"self-check {assessment_id!r} does not exist")
    kb_engine = engine(request)
    result = found["result"]
    help_page = education_page("when-to-get-help")
    return page(
        request,
        "selfcheck_result.html",
        principal,
        nav="self-check",
        result=result,
        triage_words=PLAIN_TRIAGE_WORDS[result["triage"]],
        possible=[
            (kb_engine.kb.condition(d["condition"]).plain_name, d["probability"])
            for d in result["differential"][:3]
        ],
        answers=_answers_shown(kb_engine, found["case"]),
        unanswered=[]
        if result["triage"] == "emergency"
        else _warning_signs_not_answered(kb_engine, found["case"]),
        help_sections=[s for s in help_page.sections if s.heading != "About this page"],
        when=_shown_time(found["assessed_at"]),
        at=found["assessed_at"],
    )


# --- education -------------------------------------------------------------------------


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
