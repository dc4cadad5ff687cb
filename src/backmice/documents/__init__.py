"""PDF documents made from a patient's record: the clinician's visit summary and the
patient's handout.

    summary = store.run(lambda uow: gather_visit_summary(uow, actor, patient_id, plan))
    pdf = render_visit_summary(summary)

`content` holds the plain values a document shows, `gather` fills them from the record
(an audited read), and the renderers turn them into PDF bytes with reportlab. See
docs/documents.md.
"""

from __future__ import annotations

from backmice.documents.content import (
    PLAN_STATUSES,
    EducationText,
    Handout,
    InjectionLine,
    NoduleLine,
    PainPoint,
    PlanSummary,
    TextSection,
    VisitSummary,
)
from backmice.documents.gather import gather_handout, gather_visit_summary
from backmice.documents.handout import render_handout
from backmice.documents.visit_summary import render_visit_summary

__all__ = [
    "PLAN_STATUSES",
    "EducationText",
    "Handout",
    "InjectionLine",
    "NoduleLine",
    "PainPoint",
    "PlanSummary",
    "TextSection",
    "VisitSummary",
    "gather_handout",
    "gather_visit_summary",
    "render_handout",
    "render_visit_summary",
]
