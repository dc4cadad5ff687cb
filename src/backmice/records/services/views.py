"""Reading a record: a patient's timeline, one nodule's history, the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backmice.records import domain
from backmice.records.repository import field_values
from backmice.records.services._checks import audit, existing_nodule, existing_patient
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["as_dict", "audit_trail", "nodule_history", "timeline"]


def as_dict(item: object) -> dict[str, Any]:
    """A domain object as a JSON-ready dict (timestamps and dates as ISO 8601 text)."""
    return _json_ready(field_values(item), {})


def _json_ready(fields: dict[str, Any], texts: dict[dt.datetime, str]) -> dict[str, Any]:
    """A record's field dict made JSON-ready in place: timestamps and dates as ISO text.

    `texts` remembers the text of UTC timestamps already seen: one record's timestamps
    repeat (a visit's time is on its nodules, sizes and scores), and `isoformat` of an
    aware timestamp costs more than the rest of the field together. (Equal UTC
    timestamps have the same text; other zones could be equal with another text.)
    """
    for name, value in fields.items():
        if isinstance(value, dt.date):
            fields[name] = _iso(value, texts)
    return fields


def _iso(value: dt.date, texts: dict[dt.datetime, str]) -> str:
    if type(value) is dt.datetime and value.tzinfo is dt.UTC:
        text = texts.get(value)
        if text is None:
            text = texts[value] = value.isoformat()
        return text
    return value.isoformat()


#: Timeline event kind -> (repository name, timestamp attribute)
_EVENTS = {
    "encounter": ("encounters", "occurred_at"),
    "assessment": ("assessments", "assessed_at"),
    "pain_score": ("pain_scores", "recorded_at"),
    "injection_test": ("injection_tests", "performed_at"),
    "treatment": ("treatments", "performed_at"),
    "note": ("notes", "written_at"),
    "outcome_score": ("outcome_scores", "recorded_at"),
    "plan_decision": ("plan_decisions", "decided_at"),
}


def timeline(uow: AbstractUnitOfWork, actor: str, patient_id: str) -> dict[str, Any]:
    """The whole record of one patient: demographics, nodules with their sizes, and
    every event in time order."""
    patient = existing_patient(uow, patient_id)
    texts: dict[dt.datetime, str] = {}
    nodules = uow.nodules.fields_for_patient(patient_id)
    by_nodule: dict[str, list[dict[str, Any]]] = {n["id"]: [] for n in nodules}
    for size in uow.nodule_sizes.fields_where_in("nodule_id", by_nodule):
        by_nodule[size["nodule_id"]].append(_json_ready(size, texts))
    events: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    for kind, (repository, when) in _EVENTS.items():
        for fields in getattr(uow, repository).fields_for_patient(patient_id):
            events.append((fields[when], kind, fields))
    events.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    audit(uow, actor, "read", "timeline", patient_id, patient_id)
    uow.commit()
    return {
        "patient": as_dict(patient),
        "nodules": [{**_json_ready(n, texts), "sizes": by_nodule[n["id"]]} for n in nodules],
        "events": [
            {"type": kind, "at": _iso(when, texts), **_json_ready(fields, texts)}
            for when, kind, fields in events
        ],
    }


def nodule_history(uow: AbstractUnitOfWork, actor: str, nodule_id: str) -> dict[str, Any]:
    """One nodule: where it is, its sizes, and its scores, injections and treatments."""
    nodule = existing_nodule(uow, nodule_id)
    history = {
        "nodule": as_dict(nodule),
        "sizes": [as_dict(s) for s in uow.nodule_sizes.where(nodule_id=nodule_id)],
        "pain_scores": [as_dict(s) for s in uow.pain_scores.where(nodule_id=nodule_id)],
        "injection_tests": [as_dict(t) for t in uow.injection_tests.where(nodule_id=nodule_id)],
        "treatments": [as_dict(t) for t in uow.treatments.where(nodule_id=nodule_id)],
    }
    audit(uow, actor, "read", "nodule", nodule.id, nodule.patient_id)
    uow.commit()
    return history


def audit_trail(uow: AbstractUnitOfWork, actor: str, patient_id: str) -> list[domain.AuditEvent]:
    """Every audit event about one patient's record; reading it is audited too."""
    existing_patient(uow, patient_id)
    events = uow.audit.for_patient(patient_id)
    audit(uow, actor, "read", "audit_trail", patient_id, patient_id)
    uow.commit()
    return events
