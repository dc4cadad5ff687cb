"""Moving one patient's whole record out and back in (`backmice.record/1` JSON).

The export holds the clinical record (not the audit trail, which belongs to the
system that kept it). Importing an export into another database and exporting it
again gives the same document, byte for byte once serialised the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from backmice.errors import InvalidRecord, Problem, RecordConflict
from backmice.records import domain
from backmice.records.services._checks import (
    audit,
    check_choice,
    check_map_point,
    check_nrs,
    check_outcome,
    existing_patient,
)
from backmice.records.services.views import as_dict
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["RECORD_SCHEMA", "SECTIONS", "export_patient", "import_patient"]

RECORD_SCHEMA = "backmice.record/1"

#: Section of the document -> (domain class, repository name)
SECTIONS: dict[str, type[Any]] = {
    "nodules": domain.Nodule,
    "nodule_sizes": domain.NoduleSize,
    "encounters": domain.Encounter,
    "assessments": domain.Assessment,
    "pain_scores": domain.PainScore,
    "injection_tests": domain.InjectionTest,
    "treatments": domain.Treatment,
    "notes": domain.Note,
    "outcome_scores": domain.OutcomeScore,
    "plan_decisions": domain.PlanDecision,
}
#: Fields added after the first exports were written: absent means the default.
_LATER_FIELDS = {"clinic"}
#: Sections added after the first exports were written: absent means empty.
_LATER_SECTIONS = ("outcome_scores", "plan_decisions")
_TIMES = {
    "created_at",
    "updated_at",
    "measured_at",
    "occurred_at",
    "assessed_at",
    "recorded_at",
    "performed_at",
    "written_at",
    "decided_at",
}


def export_patient(uow: AbstractUnitOfWork, actor: str, patient_id: str) -> dict[str, Any]:
    """The whole clinical record of one patient as a JSON-ready document."""
    patient = existing_patient(uow, patient_id)
    nodules = uow.nodules.for_patient(patient_id)
    doc: dict[str, Any] = {"schema": RECORD_SCHEMA, "patient": as_dict(patient)}
    for section in SECTIONS:
        if section == "nodule_sizes":
            items: list[Any] = uow.nodule_sizes.where_in("nodule_id", [n.id for n in nodules])
        elif section == "nodules":
            items = nodules
        else:
            items = getattr(uow, section).for_patient(patient_id)
        doc[section] = [as_dict(i) for i in items]
    audit(uow, actor, "export", "patient", patient_id, patient_id)
    uow.commit()
    return doc


def _build(cls: type[Any], raw: object, where: str, problems: list[Problem]) -> Any:
    if not isinstance(raw, dict):
        problems.append(Problem(where, "is not an object"))
        return None
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    missing = sorted(set(names) - set(raw) - _LATER_FIELDS)
    if unknown or missing:
        detail = "; ".join(
            part
            for part in (
                f"unknown keys {', '.join(unknown)}" if unknown else "",
                f"missing keys {', '.join(missing)}" if missing else "",
            )
            if part
        )
        problems.append(Problem(where, f"{detail}; expected exactly {', '.join(names)}"))
        return None
    values = dict(raw)
    try:
        for name in names:
            if name not in values:  # a field added later: its default applies
                continue
            if name in _TIMES and values[name] is not None:
                values[name] = dt.datetime.fromisoformat(values[name])
                if values[name].tzinfo is None:
                    raise ValueError(f"{name}: {raw[name]!r} has no time zone")
            elif name in ("birth_date", "review_due") and values[name] is not None:
                values[name] = dt.date.fromisoformat(values[name])
    except (TypeError, ValueError) as exc:
        problems.append(Problem(where, f"bad date or time: {exc}"))
        return None
    return cls(**values)


def _check(item: Any, where: str, problems: list[Problem]) -> None:
    if isinstance(item, domain.PainScore):
        check_nrs(item.score, f"{where}.score", problems)
        check_choice(item.kind, f"{where}.kind", domain.PAIN_KINDS, problems)
    elif isinstance(item, domain.Nodule):
        check_map_point(item.x, item.y, problems)
        check_choice(item.status, f"{where}.status", domain.NODULE_STATUSES, problems)
        check_choice(item.region, f"{where}.region", domain.REGIONS, problems)
        check_choice(item.side, f"{where}.side", domain.SIDES, problems)
    elif isinstance(item, domain.Treatment):
        check_choice(item.kind, f"{where}.kind", domain.TREATMENT_KINDS, problems)
    elif isinstance(item, domain.OutcomeScore):
        check_outcome(item.measure, item.value, where, problems)
    elif isinstance(item, domain.PlanDecision):
        check_choice(item.decision, f"{where}.decision", domain.PLAN_DECISIONS, problems)


def import_patient(uow: AbstractUnitOfWork, actor: str, doc: object) -> domain.Patient:
    """Load an exported record; all of it or, if anything is wrong, none of it."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise InvalidRecord([Problem("record", "is not a JSON object")])
    doc = {**{section: [] for section in _LATER_SECTIONS}, **doc}
    expected = {"schema", "patient", *SECTIONS}
    if set(doc) != expected:
        raise InvalidRecord(
            [Problem("record", f"keys must be exactly {', '.join(sorted(expected))}")]
        )
    if doc["schema"] != RECORD_SCHEMA:
        raise InvalidRecord([Problem("schema", f"{doc['schema']!r} is not {RECORD_SCHEMA!r}")])
    patient: domain.Patient | None = _build(domain.Patient, doc["patient"], "patient", problems)
    items: list[tuple[str, Any]] = []
    for section, cls in SECTIONS.items():
        if not isinstance(doc[section], list):
            problems.append(Problem(section, "is not a list"))
            continue
        for i, raw in enumerate(doc[section]):
            item = _build(cls, raw, f"{section}[{i}]", problems)
            if item is not None:
                _check(item, f"{section}[{i}]", problems)
                if patient is not None and getattr(item, "patient_id", patient.id) != patient.id:
                    problems.append(
                        Problem(f"{section}[{i}].patient_id", "belongs to another patient")
                    )
                items.append((section, item))
    if problems or patient is None:
        raise InvalidRecord(problems)
    if uow.patients.get(patient.id) is not None:
        raise RecordConflict(f"patient {patient.id!r} is already in this database")
    if uow.patients.where(identifier=patient.identifier):
        raise RecordConflict(
            f"identifier: {patient.identifier!r} already belongs to another patient"
        )
    uow.patients.add(patient)
    uow.flush()
    for section in SECTIONS:  # parents before children, for the foreign keys
        for name, item in items:
            if name == section:
                getattr(uow, section).add(item)
        uow.flush()
    audit(uow, actor, "import", "patient", patient.id, patient.id, f"items={len(items)}")
    uow.commit()
    return patient
