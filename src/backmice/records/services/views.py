"""Reading a record: a patient's timeline, one nodule's history, the audit trail."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from backmice.records import domain
from backmice.records.services._checks import audit, existing_nodule, existing_patient
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["as_dict", "audit_trail", "nodule_history", "timeline"]


def as_dict(item: object) -> dict[str, Any]:
    """A domain object as a JSON-ready dict (timestamps and dates as ISO 8601 text)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(item):  # type: ignore[arg-type]
        value = getattr(item, f.name)
        out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
    return out


#: Timeline event kind -> (repository name, timestamp attribute)
_EVENTS = {
    "encounter": ("encounters", "occurred_at"),
    "assessment": ("assessments", "assessed_at"),
    "pain_score": ("pain_scores", "recorded_at"),
    "injection_test": ("injection_tests", "performed_at"),
    "treatment": ("treatments", "performed_at"),
    "note": ("notes", "written_at"),
}


def timeline(uow: AbstractUnitOfWork, actor: str, patient_id: str) -> dict[str, Any]:
    """The whole record of one patient: demographics, nodules with their sizes, and
    every event in time order."""
    patient = existing_patient(uow, patient_id)
    nodules = uow.nodules.for_patient(patient_id)
    sizes = uow.nodule_sizes.where_in("nodule_id", [n.id for n in nodules])
    by_nodule: dict[str, list[dict[str, Any]]] = {n.id: [] for n in nodules}
    for size in sizes:
        by_nodule[size.nodule_id].append(as_dict(size))
    events: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    for kind, (repository, when) in _EVENTS.items():
        for item in getattr(uow, repository).for_patient(patient_id):
            events.append((getattr(item, when), kind, as_dict(item)))
    events.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    audit(uow, actor, "read", "timeline", patient_id, patient_id)
    uow.commit()
    return {
        "patient": as_dict(patient),
        "nodules": [{**as_dict(n), "sizes": by_nodule[n.id]} for n in nodules],
        "events": [{"type": kind, "at": when.isoformat(), **data} for when, kind, data in events],
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
