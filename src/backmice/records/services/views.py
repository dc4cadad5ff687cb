"""Reading a record: a patient's timeline, one nodule's history, the audit trail."""

from __future__ import annotations

import datetime as dt
import functools
import typing
from collections.abc import Hashable
from typing import Any, cast

from backmice.records import domain
from backmice.records.repository import field_names, field_values
from backmice.records.services._checks import audit, existing_nodule, existing_patient
from backmice.records.unit_of_work import REPOSITORIES, AbstractUnitOfWork

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
    every event in time order.

    Built from the repositories' field dicts, made JSON-ready in place (a timeline can
    be a thousand records, and every object made here is one the garbage collector
    may walk again): only the fields that hold dates are looked at, and a nodule's
    dict takes its sizes as it is rather than being copied.
    """
    patient = existing_patient(uow, patient_id)
    texts: dict[dt.datetime, str] = {}
    nodules = uow.nodules.fields_for_patient(patient_id)
    dated = _dated_fields(domain.Nodule)
    by_nodule: dict[str, list[dict[str, Any]]] = {}
    for nodule in nodules:
        _iso_fields(nodule, dated, texts)
        nodule["sizes"] = by_nodule[nodule["id"]] = []
    dated = _dated_fields(domain.NoduleSize)
    for size in uow.nodule_sizes.fields_where_in("nodule_id", by_nodule):
        by_nodule[size["nodule_id"]].append(_iso_fields(size, dated, texts))
    events: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    for kind, (repository, when) in _EVENTS.items():
        dated = _dated_fields(REPOSITORIES[repository])
        for fields in getattr(uow, repository).fields_for_patient(patient_id):
            events.append((fields[when], kind, fields))
            _iso_fields(fields, dated, texts)
    events.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    audit(uow, actor, "read", "timeline", patient_id, patient_id)
    uow.commit()
    return {
        "patient": as_dict(patient),
        "nodules": nodules,
        "events": [
            {"type": kind, "at": _iso(when, texts), **fields} for when, kind, fields in events
        ],
    }


def _dated_fields(cls: type[Any]) -> tuple[str, ...]:
    """The fields of a domain class that hold a date or timestamp (or None)."""
    return _dated(cast(Hashable, cls))  # a class is hashable; typeshed disagrees


@functools.cache
def _dated(cls: Any) -> tuple[str, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        name
        for name in field_names(cls)
        if any(
            isinstance(t, type) and issubclass(t, dt.date)
            for t in typing.get_args(hints[name]) or (hints[name],)
        )
    )


def _iso_fields(
    fields: dict[str, Any], names: tuple[str, ...], texts: dict[dt.datetime, str]
) -> dict[str, Any]:
    """`_json_ready` for fields whose dated ones are `names`."""
    for name in names:
        value = fields[name]
        if value is not None:
            fields[name] = _iso(value, texts)
    return fields


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
