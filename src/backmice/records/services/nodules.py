"""Nodules on the body map: add, move, measure, resolve."""

from __future__ import annotations

import datetime as dt

from backmice.errors import InvalidRecord, Problem
from backmice.records import domain
from backmice.records.services._checks import (
    audit,
    check_choice,
    check_map_point,
    check_text,
    check_time,
    existing_nodule,
    existing_patient,
    now,
)
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["add_nodule", "move_nodule", "record_nodule_size", "set_nodule_status"]


def _check_size(size_cm: object, problems: list[Problem]) -> None:
    if isinstance(size_cm, bool) or not isinstance(size_cm, int | float) or not 0 < size_cm <= 50:
        problems.append(Problem("size_cm", f"{size_cm!r} is not a size in cm above 0, at most 50"))


def add_nodule(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    *,
    x: float,
    y: float,
    side: str,
    region: str,
    label: str = "",
    size_cm: float | None = None,
    measured_at: dt.datetime | None = None,
) -> domain.Nodule:
    """Put a new nodule on the patient's body map, with its first size if known."""
    problems: list[Problem] = []
    check_map_point(x, y, problems)
    check_choice(side, "side", domain.SIDES, problems)
    check_choice(region, "region", domain.REGIONS, problems)
    check_text(label, "label", problems, 32, required=False)
    if size_cm is not None:
        _check_size(size_cm, problems)
        if measured_at is not None:
            check_time(measured_at, "measured_at", problems)
    if problems:
        raise InvalidRecord(problems)
    existing_patient(uow, patient_id)
    nodule = domain.Nodule(
        patient_id=patient_id, x=float(x), y=float(y), side=side, region=region, label=label
    )
    uow.nodules.add(nodule)
    if size_cm is not None:
        uow.nodule_sizes.add(
            domain.NoduleSize(
                nodule_id=nodule.id, size_cm=float(size_cm), measured_at=measured_at or now()
            )
        )
    audit(uow, actor, "create", "nodule", nodule.id, patient_id)
    uow.commit()
    return nodule


def move_nodule(
    uow: AbstractUnitOfWork,
    actor: str,
    nodule_id: str,
    *,
    x: float,
    y: float,
    side: str | None = None,
    region: str | None = None,
) -> domain.Nodule:
    """Correct where a nodule sits on the map."""
    problems: list[Problem] = []
    check_map_point(x, y, problems)
    if side is not None:
        check_choice(side, "side", domain.SIDES, problems)
    if region is not None:
        check_choice(region, "region", domain.REGIONS, problems)
    if problems:
        raise InvalidRecord(problems)
    nodule = existing_nodule(uow, nodule_id)
    nodule.x, nodule.y = float(x), float(y)
    nodule.side = side or nodule.side
    nodule.region = region or nodule.region
    nodule.updated_at = now()
    audit(uow, actor, "update", "nodule", nodule.id, nodule.patient_id, "moved")
    uow.commit()
    return nodule


def set_nodule_status(
    uow: AbstractUnitOfWork, actor: str, nodule_id: str, status: str
) -> domain.Nodule:
    """Mark a nodule active, resolved or excised."""
    problems: list[Problem] = []
    check_choice(status, "status", domain.NODULE_STATUSES, problems)
    if problems:
        raise InvalidRecord(problems)
    nodule = existing_nodule(uow, nodule_id)
    nodule.status = status
    nodule.updated_at = now()
    audit(uow, actor, "update", "nodule", nodule.id, nodule.patient_id, f"status={status}")
    uow.commit()
    return nodule


def record_nodule_size(
    uow: AbstractUnitOfWork, actor: str, nodule_id: str, size_cm: float, measured_at: dt.datetime
) -> domain.NoduleSize:
    """Add a measurement to a nodule's size history."""
    problems: list[Problem] = []
    _check_size(size_cm, problems)
    check_time(measured_at, "measured_at", problems)
    if problems:
        raise InvalidRecord(problems)
    nodule = existing_nodule(uow, nodule_id)
    size = domain.NoduleSize(nodule_id=nodule.id, size_cm=float(size_cm), measured_at=measured_at)
    uow.nodule_sizes.add(size)
    audit(uow, actor, "create", "nodule_size", size.id, nodule.patient_id)
    uow.commit()
    return size
