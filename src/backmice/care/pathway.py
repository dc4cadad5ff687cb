"""The care plan: which step a person is on, which comes next, and why.

A small rules engine over the pathway data (`care/data/pathway.yaml`) and a snapshot of
the record (`CareHistory`). It never writes; `records/services/care.py` gathers the
history, calls `propose_plan`, and stores the clinician's decision.

Order of the rules, first match wins:

1. **Red flags override the pathway.** Any red flag in the latest assessment, or a
   triage more urgent than `routine`, suspends it: the proposal is to act on the flag.
2. A clinician's **stop** (the latest decision) ends the plan.
3. No assessment, or a leading condition other than a back mouse: not started.
4. No step begun yet: confirm with a diagnostic injection test (or, when a test was
   positive, start self-care).
5. A step under way: wait for its review; at the review, a meaningful improvement
   (a fall of 2 points or 30 % in NRS, and PGIC "much improved" or better when rated)
   keeps it; anything less advances to the next step, within the limits on
   corticosteroid injections; missing scores are asked for, never guessed.

The clinician can accept the proposal, choose another step with a coded reason, or
stop; `docs/care-pathway.md` describes each rule with its sources.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backmice.care.outcomes import PGIC_LABELS, Change, nrs_change
from backmice.care.pathway_data import CareStep, Pathway

__all__ = [
    "PLAN_STATUSES",
    "CareHistory",
    "DecisionEvent",
    "InjectionEvent",
    "PainEvent",
    "PlanProposal",
    "TreatmentEvent",
    "propose_plan",
]

PLAN_STATUSES = ("on_pathway", "suspended_for_red_flag", "stopped", "not_started")
#: Triage levels that take a person off the pathway until the cause is dealt with.
_OVERRIDING_TRIAGE = ("emergency", "urgent", "soon")
#: Pain kinds in the order they are compared at a review.
_NRS_KINDS = ("current", "worst", "with_pressure")


@dataclass(frozen=True, slots=True)
class PainEvent:
    at: dt.datetime
    score: int
    kind: str


@dataclass(frozen=True, slots=True)
class TreatmentEvent:
    at: dt.datetime
    kind: str


@dataclass(frozen=True, slots=True)
class InjectionEvent:
    at: dt.datetime
    relief_percent: float
    interpretation: str


@dataclass(frozen=True, slots=True)
class DecisionEvent:
    at: dt.datetime
    decision: str
    step_id: str
    reason_code: str | None = None
    review_due: dt.date | None = None


@dataclass(frozen=True, slots=True)
class CareHistory:
    """What the plan is decided from: one patient (or one of their nodules)."""

    assessment: dict[str, Any] | None = None  # the latest result (assessment format)
    assessed_at: dt.datetime | None = None
    pain: Sequence[PainEvent] = ()
    pgic: Sequence[tuple[dt.datetime, int]] = ()
    treatments: Sequence[TreatmentEvent] = ()
    injection_tests: Sequence[InjectionEvent] = ()
    decisions: Sequence[DecisionEvent] = ()
    active_nodules: int = 0


@dataclass(frozen=True, slots=True)
class PlanProposal:
    """The plan for now: the current step (begun, or proposed to begin), the step after
    it, the reasons, when the current step is reviewed, and any limits that apply."""

    status: str
    current_step: CareStep | None
    current_accepted: bool
    next_step: CareStep | None
    reasons: tuple[str, ...]
    review_due: dt.date | None = None
    not_before: dt.date | None = None
    warnings: tuple[str, ...] = ()
    red_flags: tuple[dict[str, Any], ...] = ()
    actions: tuple[dict[str, Any], ...] = field(default=())
    options: tuple[CareStep, ...] = ()


def _sorted(items: Sequence[Any]) -> list[Any]:
    return sorted(items, key=lambda e: e.at)


def _started(pathway: Pathway, history: CareHistory) -> tuple[CareStep, dt.datetime, Any] | None:
    """The step most recently begun: by a clinician's accept/choose, or by a treatment
    that belongs to a step. Returns (step, when, the event)."""
    latest: tuple[CareStep, dt.datetime, Any] | None = None
    for decision in history.decisions:
        begins = decision.decision in ("accept", "choose") and decision.step_id in pathway.step_ids
        if begins and (latest is None or decision.at >= latest[1]):
            latest = (pathway.step(decision.step_id), decision.at, decision)
    for treatment in history.treatments:
        step = pathway.step_for_treatment(treatment.kind)
        if step is not None and (latest is None or treatment.at > latest[1]):
            latest = (step, treatment.at, treatment)
    return latest


def _review_due(step: CareStep, when: dt.datetime, event: Any) -> dt.date:
    if isinstance(event, DecisionEvent) and event.review_due is not None:
        return event.review_due
    return when.date() + dt.timedelta(days=int(step.review_after_days.value))


def _improvement(
    pathway: Pathway, history: CareHistory, since: dt.datetime
) -> tuple[bool | None, list[str]]:
    """Whether the pain improved meaningfully since `since`: True, False, or None when
    the scores needed to judge are missing (the reasons say which)."""
    pain = _sorted(history.pain)
    change: Change | None = None
    for kind in _NRS_KINDS:
        before = [p for p in pain if p.kind == kind and p.at <= since]
        after = [p for p in pain if p.kind == kind and p.at > since]
        if before and after:
            change = nrs_change(before[-1].score, after[-1].score, pathway.meaningful_change)
            break
    pgic = sorted((p for p in history.pgic if p[0] > since), key=lambda p: p[0])
    limit = int(pathway.meaningful_change.pgic_at_most.value)
    reasons: list[str] = []
    if change is None and not pgic:
        return None, [
            "no pain score before and after this step began, and no PGIC since: "
            "record them to decide"
        ]
    verdicts: list[bool] = []
    if change is not None:
        verdicts.append(change.meaningful)
        target = (
            f"{pathway.meaningful_change.nrs_points.value:g} points or "
            f"{pathway.meaningful_change.nrs_percent.value:g}%"
        )
        judged = "meaningful" if change.meaningful else f"less than {target}"
        reasons.append(f"{change.describe()}, {judged} (Farrar 2001)")
    else:
        reasons.append("no pain score before and after this step began")
    if pgic:
        rating = pgic[-1][1]
        ok = rating <= limit
        verdicts.append(ok)
        reasons.append(
            f"PGIC {rating} ({PGIC_LABELS[rating]}): "
            + ("at least much improved" if ok else "not much improved")
        )
    return all(verdicts), reasons


def _injections(history: CareHistory, step: CareStep) -> list[dt.date]:
    """Days with a corticosteroid injection (injection and needling the same day count
    once)."""
    return sorted({t.at.date() for t in history.treatments if t.kind in step.treatment_kinds})


def _advance_to_injection(
    pathway: Pathway, history: CareHistory, today: dt.date, reasons: list[str]
) -> tuple[CareStep, dt.date | None, list[str]]:
    """Another corticosteroid injection if the limits allow, otherwise excision."""
    step = pathway.step("steroid_injection")
    limits = pathway.steroid_injections
    days = _injections(history, step)
    warnings: list[str] = []
    attempts = int(limits.attempts_before_excision.value)
    in_year = [d for d in days if d > today - dt.timedelta(days=365)]
    if len(days) >= attempts:
        reasons.append(
            f"{len(days)} injection{'s' if len(days) != 1 else ''} given without lasting "
            f"relief (up to {attempts} before excision is considered)"
        )
        return pathway.step("excision_referral"), None, warnings
    if len(in_year) >= int(limits.max_per_year.value):
        reasons.append(
            f"{len(in_year)} corticosteroid injections in the past year: the yearly limit of "
            f"{limits.max_per_year.value:g} is reached"
        )
        return pathway.step("excision_referral"), None, warnings
    not_before = None
    if days:
        earliest = days[-1] + dt.timedelta(days=int(limits.min_spacing_days.value))
        if earliest > today:
            not_before = earliest
            warnings.append(
                f"the last corticosteroid injection was on {days[-1].isoformat()}: the next "
                f"not before {earliest.isoformat()} ({limits.min_spacing_days.value:g} days apart)"
            )
    return step, not_before, warnings


def _red_flag_override(history: CareHistory, result: dict[str, Any]) -> PlanProposal | None:
    flags = tuple(result.get("red_flags", ()))
    triage = result.get("triage")
    if not flags and triage not in _OVERRIDING_TRIAGE:
        return None
    reasons = [f"red flag: {f['message']} ({f['severity']})" for f in flags]
    if not flags:
        reasons.append(f"the assessment's triage is {triage}: act on it before the pathway")
    return PlanProposal(
        status="suspended_for_red_flag",
        current_step=None,
        current_accepted=False,
        next_step=None,
        reasons=(*reasons, "the back-mouse pathway is suspended until this is dealt with"),
        red_flags=flags,
        actions=tuple(result.get("next_steps", ())),
    )


def _options(pathway: Pathway, history: CareHistory) -> tuple[CareStep, ...]:
    """Alternatives whose entry criteria hold (the clinician may choose them)."""
    out = []
    for step in pathway.alternatives:
        if "many_nodules" in step.entry and history.active_nodules < pathway.many_nodules.value:
            continue
        out.append(step)
    return tuple(out)


def propose_plan(pathway: Pathway, history: CareHistory, today: dt.date) -> PlanProposal:
    """The plan for one patient (or nodule) on `today`, with the reasons."""
    result = history.assessment
    if result is not None:
        override = _red_flag_override(history, result)
        if override is not None:
            return override
    decisions = _sorted(history.decisions)
    if decisions and decisions[-1].decision == "stop":
        return PlanProposal(
            status="stopped",
            current_step=None,
            current_accepted=False,
            next_step=None,
            reasons=(f"stopped on {decisions[-1].at.date().isoformat()}",),
        )
    if result is None:
        return PlanProposal(
            status="not_started",
            current_step=None,
            current_accepted=False,
            next_step=None,
            reasons=("no assessment recorded: assess first",),
        )
    leader = result["differential"][0]
    started = _started(pathway, history)
    if leader["condition"] != pathway.applies_to and started is None:
        return PlanProposal(
            status="not_started",
            current_step=None,
            current_accepted=False,
            next_step=None,
            reasons=(
                f"the leading condition is {leader['name']} ({leader['probability']:.0%}): "
                "the back-mouse pathway does not apply; follow the assessment's next steps",
            ),
            actions=tuple(result.get("next_steps", ())),
        )
    options = _options(pathway, history)
    tests = _sorted(history.injection_tests)
    confirm = pathway.step("confirm_diagnosis")
    if started is None:
        back_mouse = f"a back mouse leads the differential ({leader['probability']:.0%})"
        if not tests:
            return PlanProposal(
                status="on_pathway",
                current_step=confirm,
                current_accepted=False,
                next_step=pathway.successor(confirm.id),
                reasons=(back_mouse, "confirm it with a diagnostic injection test"),
                options=options,
            )
        return _after_test(pathway, tests[-1], back_mouse, options)
    step, when, event = started
    due = _review_due(step, when, event)
    if step.id == confirm.id:
        later = [t for t in tests if t.at >= when]
        if later:
            return _after_test(pathway, later[-1], "diagnostic injection test done", options)
        return PlanProposal(
            status="on_pathway",
            current_step=step,
            current_accepted=True,
            next_step=pathway.successor(step.id),
            reasons=("awaiting the diagnostic injection test",),
            review_due=due,
            options=options,
        )
    begun = f"{step.name} began on {when.date().isoformat()}"
    if today < due:
        return PlanProposal(
            status="on_pathway",
            current_step=step,
            current_accepted=True,
            next_step=_next_after(pathway, step),
            reasons=(begun, f"review on {due.isoformat()}"),
            review_due=due,
            options=options,
        )
    improved, why = _improvement(pathway, history, when)
    overdue = f"review was due on {due.isoformat()}"
    if improved is None:
        return PlanProposal(
            status="on_pathway",
            current_step=step,
            current_accepted=True,
            next_step=_next_after(pathway, step),
            reasons=(begun, overdue, *why),
            review_due=due,
            options=options,
        )
    if improved:
        return PlanProposal(
            status="on_pathway",
            current_step=step,
            current_accepted=True,
            next_step=None,
            reasons=(begun, *why, f"continue {step.name.lower()}; no further step needed now"),
            options=options,
        )
    reasons = [begun, *why, "improvement is not enough: advance"]
    if step.id in ("self_care", "complementary_therapy", "steroid_injection"):
        nxt, not_before, warnings = _advance_to_injection(pathway, history, today, reasons)
        return PlanProposal(
            status="on_pathway",
            current_step=nxt,
            current_accepted=False,
            next_step=_next_after(pathway, nxt),
            reasons=tuple(reasons),
            not_before=not_before,
            warnings=tuple(warnings),
            options=options,
        )
    # excision or liposuction without enough improvement: the pathway has no further step
    return PlanProposal(
        status="on_pathway",
        current_step=step,
        current_accepted=True,
        next_step=None,
        reasons=(
            *reasons[:-1],
            "no further step on the pathway: review the diagnosis and consider other "
            "sources of pain",
        ),
        options=options,
    )


def _next_after(pathway: Pathway, step: CareStep) -> CareStep | None:
    return pathway.successor(step.id)


def _after_test(
    pathway: Pathway, test: InjectionEvent, lead: str, options: tuple[CareStep, ...]
) -> PlanProposal:
    confirm = pathway.step("confirm_diagnosis")
    relief = f"diagnostic injection: {test.relief_percent:g}% relief ({test.interpretation})"
    if test.interpretation == "negative":
        return PlanProposal(
            status="on_pathway",
            current_step=confirm,
            current_accepted=True,
            next_step=None,
            reasons=(
                lead,
                relief,
                "a negative test makes the nodule less likely to be the source: reassess "
                "(the updated differential includes the test) before treating",
            ),
            options=options,
        )
    self_care = pathway.step("self_care")
    return PlanProposal(
        status="on_pathway",
        current_step=self_care,
        current_accepted=False,
        next_step=pathway.successor(self_care.id),
        reasons=(lead, relief, "the test supports the diagnosis: start with self-care"),
        options=options,
    )
