"""Checks shared by the record services: each failure names field, value and expectation."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from backmice.errors import Problem, RecordNotFound
from backmice.records import domain
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = [
    "FUTURE_TOLERANCE",
    "audit",
    "check_choice",
    "check_map_point",
    "check_nrs",
    "check_outcome",
    "check_text",
    "check_time",
    "existing_nodule",
    "existing_patient",
    "now",
]

#: A timestamp may be at most this far in the future (clock drift between devices).
FUTURE_TOLERANCE = dt.timedelta(minutes=1)


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def check_text(
    value: object, field: str, problems: list[Problem], max_length: int, required: bool = True
) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(Problem(field, f"{value!r} is not non-empty text"))
    elif len(value) > max_length:
        problems.append(Problem(field, f"is {len(value)} characters long; at most {max_length}"))


def check_choice(
    value: object, field: str, choices: Sequence[str], problems: list[Problem]
) -> None:
    if value not in choices:
        problems.append(Problem(field, f"{value!r} is not one of {', '.join(choices)}"))


def check_nrs(value: object, field: str, problems: list[Problem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        problems.append(Problem(field, f"{value!r} is not a whole number from 0 to 10 (NRS-11)"))


#: Outcome measures besides the NRS -> (lowest, highest, what the number is)
OUTCOME_RANGES = {
    "pgic": (1, 7, "a PGIC rating from 1 (very much improved) to 7 (very much worse)"),
    "sitting_tolerance": (0, 1440, "minutes of sitting from 0 to 1440"),
}


def check_outcome(measure: object, value: object, where: str, problems: list[Problem]) -> None:
    prefix = f"{where}." if where else ""
    if measure not in OUTCOME_RANGES:
        check_choice(measure, f"{prefix}measure", tuple(OUTCOME_RANGES), problems)
        return
    low, high, meaning = OUTCOME_RANGES[str(measure)]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(Problem(f"{prefix}value", f"{value!r} is not {meaning}"))


def check_time(value: object, field: str, problems: list[Problem]) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        problems.append(Problem(field, f"{value!r} is not a timestamp with a time zone"))
    elif value > now() + FUTURE_TOLERANCE:
        problems.append(Problem(field, f"{value.isoformat()} is in the future"))
    elif value.year < 1900:
        problems.append(Problem(field, f"{value.isoformat()} is before 1900"))


def check_map_point(x: object, y: object, problems: list[Problem]) -> None:
    for name, value in (("x", x), ("y", y)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and 0 <= value <= 100)
        ):
            problems.append(Problem(name, f"{value!r} is not a body-map coordinate from 0 to 100"))


def existing_patient(uow: AbstractUnitOfWork, patient_id: str) -> domain.Patient:
    patient = uow.patients.get(patient_id)
    if patient is None:
        raise RecordNotFound(f"patient {patient_id!r} does not exist")
    return patient


def existing_nodule(
    uow: AbstractUnitOfWork, nodule_id: str, patient_id: str | None = None
) -> domain.Nodule:
    nodule = uow.nodules.get(nodule_id)
    if nodule is None or (patient_id is not None and nodule.patient_id != patient_id):
        owner = "" if patient_id is None else f" for patient {patient_id!r}"
        raise RecordNotFound(f"nodule {nodule_id!r} does not exist{owner}")
    return nodule


def audit(
    uow: AbstractUnitOfWork,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    patient_id: str | None,
    detail: str = "",
) -> None:
    """Append one audit event to the unit of work (written with it, or not at all).

    `detail` must never hold clinical content or identifying data: ids and counts only.
    """
    uow.audit.add(
        domain.AuditEvent(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            patient_id=patient_id,
            detail=detail,
        )
    )
