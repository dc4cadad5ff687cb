"""Registering, finding and reading patients."""

from __future__ import annotations

import datetime as dt

from backmice.errors import InvalidRecord, Problem, RecordConflict
from backmice.records import domain
from backmice.records.services._checks import (
    audit,
    check_choice,
    check_text,
    existing_patient,
    now,
)
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["get_patient", "list_patients", "register_patient"]


def register_patient(
    uow: AbstractUnitOfWork,
    actor: str,
    *,
    identifier: str,
    name: str,
    birth_date: dt.date,
    sex: str,
    contact: str | None = None,
    clinic: str = domain.DEFAULT_CLINIC,
) -> domain.Patient:
    """Create a patient in `clinic`; the record identifier must be new."""
    problems: list[Problem] = []
    check_text(identifier, "identifier", problems, 64)
    check_text(name, "name", problems, 200)
    check_text(contact, "contact", problems, 200, required=False)
    check_choice(sex, "sex", ("female", "male", "other"), problems)
    if not isinstance(birth_date, dt.date) or isinstance(birth_date, dt.datetime):
        problems.append(Problem("birth_date", f"{birth_date!r} is not a date (YYYY-MM-DD)"))
    elif birth_date > now().date():
        problems.append(Problem("birth_date", f"{birth_date.isoformat()} is in the future"))
    elif birth_date.year < 1900:
        problems.append(Problem("birth_date", f"{birth_date.isoformat()} is before 1900"))
    if problems:
        raise InvalidRecord(problems)
    if uow.patients.where(identifier=identifier):
        # the identifier itself stays out of the message: messages may end up in logs
        raise RecordConflict("identifier: already belongs to another patient")
    patient = domain.Patient(
        identifier=identifier.strip(),
        name=name.strip(),
        birth_date=birth_date,
        sex=sex,
        contact=contact,
        clinic=clinic,
    )
    uow.patients.add(patient)
    audit(uow, actor, "create", "patient", patient.id, patient.id)
    uow.commit()
    return patient


def get_patient(uow: AbstractUnitOfWork, actor: str, patient_id: str) -> domain.Patient:
    """One patient's demographic record."""
    patient = existing_patient(uow, patient_id)
    audit(uow, actor, "read", "patient", patient.id, patient.id)
    uow.commit()
    return patient


def list_patients(
    uow: AbstractUnitOfWork,
    actor: str,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
    clinic: str | None = None,
) -> tuple[list[domain.Patient], int]:
    """Patients whose name or identifier contains `search`, by name, within `clinic`
    when given (the web app always gives the clinician's); and the total."""
    problems: list[Problem] = []
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        problems.append(Problem("limit", f"{limit!r} is not a whole number from 1 to 1000"))
    if not isinstance(offset, int) or offset < 0:
        problems.append(Problem("offset", f"{offset!r} is not a whole number >= 0"))
    if problems:
        raise InvalidRecord(problems)
    if not isinstance(search, str) or len(search) > 200:
        raise InvalidRecord([Problem("search", "is not text of at most 200 characters")])
    found, total = uow.patients.search(search, limit, offset, clinic)
    # one event per listing: who looked, how many records were shown (never the search text)
    audit(uow, actor, "read", "patient_list", "-", None, f"shown={len(found)} total={total}")
    uow.commit()
    return found, total
