"""Care-pathway use cases: outcome scores, the care plan, a clinician's decision on it,
the diagnostic injection fed back into the engine, and the list of reviews due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backmice.care.injection_test import InjectionReading
from backmice.care.outcomes import Change, Reading, Trend, nrs_change, trend
from backmice.care.pathway import (
    CareHistory,
    DecisionEvent,
    InjectionEvent,
    PainEvent,
    PlanProposal,
    TreatmentEvent,
    propose_plan,
)
from backmice.care.pathway_data import Pathway, default_pathway
from backmice.engine import Engine
from backmice.errors import InvalidRecord, Problem
from backmice.records import domain
from backmice.records.services._checks import (
    audit,
    check_choice,
    check_outcome,
    check_text,
    check_time,
    existing_nodule,
    existing_patient,
    now,
)
from backmice.records.services.observations import record_assessment, record_injection_test
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = [
    "DueReview",
    "OutcomeEntry",
    "OutcomeSeries",
    "Reassessment",
    "care_history",
    "care_plan",
    "decide_plan",
    "due_reviews",
    "outcome_trends",
    "record_injection_and_reassess",
    "record_outcome_scores",
]


@dataclass(frozen=True, slots=True)
class OutcomeEntry:
    """One outcome rating to record: PGIC (1-7) or sitting tolerance (minutes)."""

    measure: str
    value: int
    recorded_at: dt.datetime
    nodule_id: str | None = None


def record_outcome_scores(
    uow: AbstractUnitOfWork, actor: str, patient_id: str, entries: Sequence[OutcomeEntry]
) -> list[domain.OutcomeScore]:
    """Record outcome ratings in one go: all of them, or none if any is wrong."""
    problems: list[Problem] = []
    if not entries:
        problems.append(Problem("entries", "[] is empty; expected at least one rating"))
    for i, entry in enumerate(entries):
        check_outcome(entry.measure, entry.value, f"entries[{i}]", problems)
        check_time(entry.recorded_at, f"entries[{i}].recorded_at", problems)
    if problems:
        raise InvalidRecord(problems)
    existing_patient(uow, patient_id)
    for nodule_id in {e.nodule_id for e in entries if e.nodule_id is not None}:
        existing_nodule(uow, nodule_id, patient_id)
    scores = [
        domain.OutcomeScore(
            patient_id=patient_id,
            measure=e.measure,
            value=e.value,
            recorded_at=e.recorded_at,
            nodule_id=e.nodule_id,
        )
        for e in entries
    ]
    for score in scores:
        uow.outcome_scores.add(score)
    audit(uow, actor, "create", "outcome_scores", scores[0].id, patient_id, f"n={len(scores)}")
    uow.commit()
    return scores


def _for_nodule(item: Any, nodule_id: str | None) -> bool:
    """Whether a record counts for the plan of `nodule_id`: everything counts for the
    whole person; for one nodule, its own records and the person's overall ones."""
    return nodule_id is None or item.nodule_id in (None, nodule_id)


def care_history(
    uow: AbstractUnitOfWork, patient_id: str, nodule_id: str | None = None
) -> CareHistory:
    """The snapshot of the record the pathway decides from (no audit: callers audit)."""
    assessments = sorted(uow.assessments.for_patient(patient_id), key=lambda a: a.assessed_at)
    clinical = [a for a in assessments if a.case.get("setting") != "self_check"]
    latest = clinical[-1] if clinical else None
    result = None if latest is None else latest.result
    # a patient's own self-check never changes the diagnosis the plan follows, but a red
    # flag it raised after the latest clinical assessment still suspends the plan
    later_checks = [
        a
        for a in assessments
        if a.case.get("setting") == "self_check"
        and (latest is None or a.assessed_at > latest.assessed_at)
        and a.result.get("red_flags")
    ]
    if later_checks:
        flagged = later_checks[-1].result
        result = {
            **(result or flagged),
            "red_flags": flagged["red_flags"],
            "triage": flagged["triage"],
            "next_steps": flagged.get("next_steps", []),
        }
    return CareHistory(
        assessment=result,
        assessed_at=None if latest is None else latest.assessed_at,
        pain=[
            PainEvent(p.recorded_at, p.score, p.kind)
            for p in uow.pain_scores.for_patient(patient_id)
            if _for_nodule(p, nodule_id)
        ],
        pgic=[
            (o.recorded_at, o.value)
            for o in uow.outcome_scores.for_patient(patient_id)
            if o.measure == "pgic" and _for_nodule(o, nodule_id)
        ],
        treatments=[
            TreatmentEvent(t.performed_at, t.kind)
            for t in uow.treatments.for_patient(patient_id)
            if _for_nodule(t, nodule_id)
        ],
        injection_tests=[
            InjectionEvent(t.performed_at, t.relief_percent, t.interpretation)
            for t in uow.injection_tests.for_patient(patient_id)
            if _for_nodule(t, nodule_id)
        ],
        decisions=[
            DecisionEvent(d.decided_at, d.decision, d.step_id, d.reason_code, d.review_due)
            for d in uow.plan_decisions.for_patient(patient_id)
            if d.nodule_id == nodule_id
        ],
        active_nodules=sum(1 for n in uow.nodules.for_patient(patient_id) if n.status == "active"),
    )


def care_plan(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    *,
    nodule_id: str | None = None,
    today: dt.date | None = None,
    pathway: Pathway | None = None,
) -> PlanProposal:
    """The proposed plan for a patient (or one nodule): current step, next step, why."""
    existing_patient(uow, patient_id)
    if nodule_id is not None:
        existing_nodule(uow, nodule_id, patient_id)
    proposal = propose_plan(
        pathway or default_pathway(),
        care_history(uow, patient_id, nodule_id),
        today or now().date(),
    )
    audit(uow, actor, "read", "care_plan", nodule_id or patient_id, patient_id)
    uow.commit()
    return proposal


def decide_plan(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    *,
    decision: str,
    step_id: str | None = None,
    reason_code: str | None = None,
    note: str = "",
    nodule_id: str | None = None,
    decided_at: dt.datetime | None = None,
    pathway: Pathway | None = None,
) -> tuple[domain.PlanDecision, PlanProposal]:
    """A clinician accepts the proposed step, chooses another (with a coded reason), or
    stops the plan (with a coded reason). Accepting or choosing schedules the review.

    Refused while a red flag suspends the pathway (stopping is still allowed).
    Returns the stored decision and the proposal it was made against.
    """
    pathway = pathway or default_pathway()
    when = decided_at or now()
    problems: list[Problem] = []
    check_choice(decision, "decision", domain.PLAN_DECISIONS, problems)
    check_time(when, "decided_at", problems)
    check_text(note, "note", problems, 2000, required=False)
    if problems:
        raise InvalidRecord(problems)
    existing_patient(uow, patient_id)
    if nodule_id is not None:
        existing_nodule(uow, nodule_id, patient_id)
    proposal = propose_plan(pathway, care_history(uow, patient_id, nodule_id), when.date())
    if decision in ("accept", "choose") and proposal.status == "suspended_for_red_flag":
        flags = ", ".join(f["id"] for f in proposal.red_flags) or "the triage"
        raise InvalidRecord(
            [
                Problem(
                    "decision",
                    f"{decision!r} is refused: the pathway is suspended by a red flag "
                    f"({flags}); act on it first, or stop the plan",
                )
            ]
        )
    if decision == "accept":
        current = proposal.current_step
        if current is None:
            raise InvalidRecord(
                [Problem("decision", "'accept': there is no proposed step to accept")]
            )
        if step_id is not None and step_id != current.id:
            problems.append(
                Problem(
                    "step",
                    f"{step_id!r} is not the proposed step {current.id!r}; "
                    "use 'choose' with a reason for another step",
                )
            )
        step_id = current.id
        if reason_code is not None:
            problems.append(Problem("reason", f"{reason_code!r}: accepting needs no reason"))
    elif decision == "choose":
        check_choice(step_id, "step", pathway.step_ids, problems)
        check_choice(reason_code, "reason", tuple(pathway.choose_reasons), problems)
    else:
        check_choice(reason_code, "reason", tuple(pathway.stop_reasons), problems)
        step_id = proposal.current_step.id if proposal.current_step else "none"
    if reason_code == "clinical_judgement" and not note.strip():
        problems.append(Problem("note", "'' is empty; clinical judgement needs a note"))
    if problems:
        raise InvalidRecord(problems)
    review_due = None
    if decision != "stop" and step_id is not None:
        step = pathway.step(step_id)
        start = when.date()
        if proposal.not_before is not None and step_id == "steroid_injection":
            start = max(start, proposal.not_before)
        review_due = start + dt.timedelta(days=int(step.review_after_days.value))
    record = domain.PlanDecision(
        patient_id=patient_id,
        decision=decision,
        step_id=step_id or "none",
        decided_at=when,
        decided_by=actor,
        reason_code=reason_code,
        note=note,
        review_due=review_due,
        nodule_id=nodule_id,
    )
    uow.plan_decisions.add(record)
    audit(uow, actor, "create", "plan_decision", record.id, patient_id)
    uow.commit()
    return record, proposal


@dataclass(frozen=True, slots=True)
class Reassessment:
    """A diagnostic injection recorded and fed back into the engine."""

    test: domain.InjectionTest
    reading: InjectionReading
    before: dict[str, Any] | None  # the previous result, when there was one
    assessment: domain.Assessment | None  # the new assessment, when there was a case


def record_injection_and_reassess(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    engine: Engine,
    **test: Any,
) -> Reassessment:
    """Record a diagnostic injection test, then assess again: the latest assessment's
    case with `injection_relief_percent` set to the measured relief. Both are written in
    one transaction (or neither), each with its own audit event."""
    stored, reading = record_injection_test(uow, actor, patient_id, engine, **test, commit=False)
    assessments = sorted(uow.assessments.for_patient(patient_id), key=lambda a: a.assessed_at)
    if not assessments:
        uow.commit()
        return Reassessment(stored, reading, None, None)
    latest = assessments[-1]
    case = {**latest.case, "findings": dict(latest.case.get("findings", {}))}
    case["findings"]["injection_relief_percent"] = reading.relief_percent
    again = record_assessment(
        uow,
        actor,
        patient_id,
        engine,
        case,
        encounter_id=test.get("encounter_id"),
        nodule_ids=latest.nodule_ids,
        assessed_at=max(stored.performed_at, latest.assessed_at),
        commit=False,
    )
    uow.commit()
    return Reassessment(stored, reading, latest.result, again)


@dataclass(frozen=True, slots=True)
class DueReview:
    """A patient whose care-plan review is due (or overdue) by the given date."""

    patient_id: str
    identifier: str
    name: str
    nodule_id: str | None
    step_id: str
    step_name: str
    review_due: dt.date
    days_overdue: int


def due_reviews(
    uow: AbstractUnitOfWork,
    actor: str,
    on: dt.date,
    *,
    within_days: int = 0,
    pathway: Pathway | None = None,
    clinic: str | None = None,
) -> list[DueReview]:
    """Reviews due by `on` (plus `within_days`), most overdue first: for each patient and
    nodule, the review scheduled by the latest decision, unless that was a stop. With
    `clinic`, only that clinic's patients."""
    if (
        isinstance(within_days, bool)
        or not isinstance(within_days, int)
        or not (0 <= within_days <= 366)
    ):
        raise InvalidRecord(
            [Problem("within_days", f"{within_days!r} is not a whole number from 0 to 366")]
        )
    pathway = pathway or default_pathway()
    horizon = on + dt.timedelta(days=within_days)
    latest: dict[tuple[str, str | None], domain.PlanDecision] = {}
    for decision in uow.plan_decisions.where():  # every decision: the latest per key wins
        key = (decision.patient_id, decision.nodule_id)
        if key not in latest or decision.decided_at > latest[key].decided_at:
            latest[key] = decision
    due = [
        d
        for d in latest.values()
        if d.decision != "stop" and d.review_due is not None and d.review_due <= horizon
    ]
    patients = {p.id: p for p in uow.patients.where_in("id", {d.patient_id for d in due})}
    if clinic is not None:
        due = [d for d in due if patients[d.patient_id].clinic == clinic]
    out = [
        DueReview(
            patient_id=d.patient_id,
            identifier=patients[d.patient_id].identifier,
            name=patients[d.patient_id].name,
            nodule_id=d.nodule_id,
            step_id=d.step_id,
            step_name=pathway.step(d.step_id).name if d.step_id in pathway.step_ids else d.step_id,
            review_due=d.review_due,
            days_overdue=(on - d.review_due).days,
        )
        for d in due
        if d.review_due is not None
    ]
    out.sort(key=lambda r: (r.review_due, r.name, r.patient_id))
    audit(uow, actor, "read", "due_reviews", "-", None, f"shown={len(out)}")
    uow.commit()
    return out


@dataclass(frozen=True, slots=True)
class OutcomeSeries:
    """One measure for the whole person (`nodule_id` None) or one nodule: how many
    readings, the trend, and for pain the change from the first reading to the latest
    judged against the meaningful-change thresholds."""

    measure: str  # nrs:current, nrs:worst, nrs:with_pressure, pgic, sitting_tolerance
    nodule_id: str | None
    nodule_label: str
    count: int
    latest: float
    latest_at: dt.datetime
    trend: Trend | None
    change: Change | None


def outcome_trends(
    uow: AbstractUnitOfWork, actor: str, patient_id: str, *, pathway: Pathway | None = None
) -> list[OutcomeSeries]:
    """Every outcome measure of a patient, overall and per nodule, with its trend."""
    pathway = pathway or default_pathway()
    existing_patient(uow, patient_id)
    labels = {n.id: n.label or n.id[:8] for n in uow.nodules.for_patient(patient_id)}
    series: dict[tuple[str, str | None], list[Reading]] = {}
    for p in uow.pain_scores.for_patient(patient_id):
        series.setdefault((f"nrs:{p.kind}", p.nodule_id), []).append(
            Reading(p.recorded_at, p.score)
        )
    for o in uow.outcome_scores.for_patient(patient_id):
        series.setdefault((o.measure, o.nodule_id), []).append(Reading(o.recorded_at, o.value))
    out = []
    for (measure, nodule_id), readings in series.items():
        readings.sort(key=lambda r: r.at)
        first, last = readings[0], readings[-1]
        change = None
        if measure.startswith("nrs:") and len(readings) > 1:
            change = nrs_change(int(first.value), int(last.value), pathway.meaningful_change)
        out.append(
            OutcomeSeries(
                measure=measure,
                nodule_id=nodule_id,
                nodule_label="overall" if nodule_id is None else labels.get(nodule_id, "?"),
                count=len(readings),
                latest=last.value,
                latest_at=last.at,
                trend=trend(measure.split(":")[0], readings),
                change=change,
            )
        )
    out.sort(key=lambda o: (o.nodule_id is not None, o.nodule_label, o.measure))
    audit(uow, actor, "read", "outcomes", patient_id, patient_id)
    uow.commit()
    return out
