"""Use cases of the clinic record. Each checks everything before it writes, writes one
audit event in the same transaction, and commits."""

from __future__ import annotations

from backmice.records.services.care import (
    DueReview,
    OutcomeEntry,
    OutcomeSeries,
    Reassessment,
    care_plan,
    decide_plan,
    due_reviews,
    outcome_trends,
    record_injection_and_reassess,
    record_outcome_scores,
)
from backmice.records.services.nodules import (
    add_nodule,
    move_nodule,
    record_nodule_size,
    set_nodule_status,
)
from backmice.records.services.observations import (
    ScoreEntry,
    add_note,
    record_assessment,
    record_encounter,
    record_injection_test,
    record_pain_scores,
    record_treatment,
)
from backmice.records.services.patients import get_patient, list_patients, register_patient
from backmice.records.services.transfer import export_patient, import_patient
from backmice.records.services.views import as_dict, audit_trail, nodule_history, timeline

__all__ = [
    "DueReview",
    "OutcomeEntry",
    "OutcomeSeries",
    "Reassessment",
    "ScoreEntry",
    "add_nodule",
    "add_note",
    "as_dict",
    "audit_trail",
    "care_plan",
    "decide_plan",
    "due_reviews",
    "export_patient",
    "get_patient",
    "import_patient",
    "list_patients",
    "move_nodule",
    "nodule_history",
    "outcome_trends",
    "record_assessment",
    "record_encounter",
    "record_injection_and_reassess",
    "record_injection_test",
    "record_nodule_size",
    "record_outcome_scores",
    "record_pain_scores",
    "record_treatment",
    "register_patient",
    "set_nodule_status",
    "timeline",
]
