"""The care plan put into the PDF documents: gather a patient's visit summary or handout
with the current plan, in one audited read. Rendering happens outside the transaction.

Not re-exported from `records.services` (the documents package reads the record through
those services, so importing it from there would be circular).
"""

from __future__ import annotations

import datetime as dt

from backmice.care.pathway import PlanProposal, propose_plan
from backmice.care.pathway_data import default_pathway
from backmice.documents import (
    Handout,
    PlanSummary,
    VisitSummary,
    gather_handout,
    gather_visit_summary,
)
from backmice.records.services._checks import existing_patient, now
from backmice.records.services.care import care_history
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["handout", "plan_summary", "visit_summary"]


def plan_summary(proposal: PlanProposal, plain: bool = False) -> PlanSummary:
    """The plan as the documents show it: step names (the plain ones for a patient),
    reasons, review date, and what the patient is asked to do (or, when a red flag
    suspends the plan, what happens next)."""
    current, following = proposal.current_step, proposal.next_step
    name = None
    if current is not None:
        name = current.plain_name if plain else current.name
        if not proposal.current_accepted:
            name += " (proposed)"
    if current is not None:
        steps = current.patient_steps
    else:
        steps = tuple(str(a["text"]) for a in proposal.actions)
    return PlanSummary(
        status=proposal.status,
        current_step=name,
        next_step=None
        if following is None
        else (following.plain_name if plain else following.name),
        reasons=(*proposal.reasons, *proposal.warnings),
        review_due=proposal.review_due,
        patient_steps=steps,
    )


def _plan(
    uow: AbstractUnitOfWork, patient_id: str, today: dt.date, plain: bool = False
) -> PlanSummary:
    existing_patient(uow, patient_id)
    proposal = propose_plan(default_pathway(), care_history(uow, patient_id), today)
    return plan_summary(proposal, plain)


def visit_summary(
    uow: AbstractUnitOfWork, actor: str, patient_id: str, when: dt.datetime | None = None
) -> VisitSummary:
    """Everything the clinician's visit summary shows (one audit event: the read)."""
    moment = when or now()
    return gather_visit_summary(
        uow, actor, patient_id, _plan(uow, patient_id, moment.date()), moment
    )


def handout(
    uow: AbstractUnitOfWork, actor: str, patient_id: str, when: dt.datetime | None = None
) -> Handout:
    """Everything the patient's handout shows (one audit event: the read)."""
    moment = when or now()
    plan = _plan(uow, patient_id, moment.date(), plain=True)
    return gather_handout(uow, actor, patient_id, plan, moment)
