"""What happens at and between visits: encounters, assessments, pain scores,
injection tests, treatments and notes."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backmice.care.injection_test import InjectionReading, read_injection_test
from backmice.engine import Engine
from backmice.errors import InvalidRecord, Problem, RecordNotFound
from backmice.records import domain
from backmice.records.services._checks import (
    audit,
    check_choice,
    check_nrs,
    check_text,
    check_time,
    existing_nodule,
    existing_patient,
    now,
)
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = [
    "ScoreEntry",
    "add_note",
    "record_assessment",
    "record_encounter",
    "record_injection_test",
    "record_pain_scores",
    "record_treatment",
]

_SETTINGS = ("primary_care", "pain_clinic", "self_check")


def _existing_links(
    uow: AbstractUnitOfWork,
    patient_id: str,
    nodule_id: str | None = None,
    encounter_id: str | None = None,
) -> None:
    """The patient exists, and the nodule and encounter (when given) are theirs."""
    existing_patient(uow, patient_id)
    if nodule_id is not None:
        existing_nodule(uow, nodule_id, patient_id)
    if encounter_id is not None:
        _existing_encounter(uow, encounter_id, patient_id)


def _existing_encounter(uow: AbstractUnitOfWork, encounter_id: str, patient_id: str) -> None:
    encounter = uow.encounters.get(encounter_id)
    if encounter is None or encounter.patient_id != patient_id:
        raise RecordNotFound(
            f"encounter {encounter_id!r} does not exist for patient {patient_id!r}"
        )


def record_encounter(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    *,
    occurred_at: dt.datetime,
    clinician: str,
    setting: str = "primary_care",
) -> domain.Encounter:
    """Open a visit."""
    problems: list[Problem] = []
    check_time(occurred_at, "occurred_at", problems)
    check_text(clinician, "clinician", problems, 200)
    check_choice(setting, "setting", _SETTINGS, problems)
    if problems:
        raise InvalidRecord(problems)
    existing_patient(uow, patient_id)
    encounter = domain.Encounter(
        patient_id=patient_id, occurred_at=occurred_at, clinician=clinician, setting=setting
    )
    uow.encounters.add(encounter)
    audit(uow, actor, "create", "encounter", encounter.id, patient_id)
    uow.commit()
    return encounter


def record_assessment(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    engine: Engine,
    case: dict[str, Any],
    *,
    encounter_id: str | None = None,
    nodule_ids: Sequence[str] = (),
    assessed_at: dt.datetime | None = None,
    commit: bool = True,
) -> domain.Assessment:
    """Run the engine on `case` and store its input, result and knowledge version.

    An invalid case raises `InvalidCase` (with every problem) before anything is written.
    `commit=False` leaves the commit to a caller that writes more in the same transaction.
    """
    result = engine.assess(case)
    when = assessed_at or now()
    problems: list[Problem] = []
    check_time(when, "assessed_at", problems)
    if problems:
        raise InvalidRecord(problems)
    existing_patient(uow, patient_id)
    for nodule_id in nodule_ids:
        existing_nodule(uow, nodule_id, patient_id)
    if encounter_id is not None:
        _existing_encounter(uow, encounter_id, patient_id)
    assessment = domain.Assessment(
        patient_id=patient_id,
        case=copy.deepcopy(case),
        result=result,
        knowledge_version=result["knowledge_version"],
        assessed_at=when,
        encounter_id=encounter_id,
        nodule_ids=list(nodule_ids),
    )
    uow.assessments.add(assessment)
    audit(uow, actor, "create", "assessment", assessment.id, patient_id)
    if commit:
        uow.commit()
    return assessment


@dataclass(frozen=True, slots=True)
class ScoreEntry:
    """One pain rating to record: NRS 0-10 of a kind, overall or for one nodule."""

    score: int
    kind: str
    recorded_at: dt.datetime
    nodule_id: str | None = None


def record_pain_scores(
    uow: AbstractUnitOfWork, actor: str, patient_id: str, entries: Sequence[ScoreEntry]
) -> list[domain.PainScore]:
    """Record several pain ratings at once: all of them, or none if any is invalid."""
    problems: list[Problem] = []
    if not entries:
        problems.append(Problem("scores", "no scores given"))
    for i, entry in enumerate(entries):
        check_nrs(entry.score, f"scores[{i}].score", problems)
        check_choice(entry.kind, f"scores[{i}].kind", domain.PAIN_KINDS, problems)
        check_time(entry.recorded_at, f"scores[{i}].recorded_at", problems)
    if problems:
        raise InvalidRecord(problems)
    existing_patient(uow, patient_id)
    for nodule_id in {e.nodule_id for e in entries if e.nodule_id is not None}:
        existing_nodule(uow, nodule_id, patient_id)
    scores = [
        domain.PainScore(
            patient_id=patient_id,
            score=e.score,
            kind=e.kind,
            recorded_at=e.recorded_at,
            nodule_id=e.nodule_id,
        )
        for e in entries
    ]
    for score in scores:
        uow.pain_scores.add(score)
    audit(uow, actor, "create", "pain_scores", scores[0].id, patient_id, f"count={len(scores)}")
    uow.commit()
    return scores


def record_injection_test(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    engine: Engine,
    *,
    performed_at: dt.datetime,
    minutes_after: float,
    pre_nrs: int | None = None,
    post_nrs: int | None = None,
    relief_percent: float | None = None,
    agent: str = "",
    volume_ml: float | None = None,
    nodule_id: str | None = None,
    encounter_id: str | None = None,
    positive_at: float | None = None,
    strongly_positive_at: float | None = None,
    commit: bool = True,
) -> tuple[domain.InjectionTest, InjectionReading]:
    """Record a diagnostic injection: relief computed and read against the thresholds.
    `commit=False` leaves the commit to a caller that writes more in the same transaction."""
    problems: list[Problem] = []
    check_time(performed_at, "performed_at", problems)
    check_text(agent, "agent", problems, 200, required=False)
    if volume_ml is not None and (
        isinstance(volume_ml, bool)
        or not isinstance(volume_ml, int | float)
        or not 0 < volume_ml <= 50
    ):
        problems.append(
            Problem("volume_ml", f"{volume_ml!r} is not a volume above 0, at most 50 ml")
        )
    try:
        reading = read_injection_test(
            engine.kb,
            minutes_after=minutes_after,
            pre_nrs=pre_nrs,
            post_nrs=post_nrs,
            relief_percent=relief_percent,
            positive_at=positive_at,
            strongly_positive_at=strongly_positive_at,
        )
    except InvalidRecord as exc:
        problems.extend(exc.problems)
    if problems:
        raise InvalidRecord(problems)
    _existing_links(uow, patient_id, nodule_id, encounter_id)
    test = domain.InjectionTest(
        patient_id=patient_id,
        performed_at=performed_at,
        relief_percent=reading.relief_percent,
        interpretation=reading.interpretation,
        minutes_after=float(minutes_after),
        pre_nrs=pre_nrs,
        post_nrs=post_nrs,
        agent=agent,
        volume_ml=None if volume_ml is None else float(volume_ml),
        nodule_id=nodule_id,
        encounter_id=encounter_id,
    )
    uow.injection_tests.add(test)
    audit(uow, actor, "create", "injection_test", test.id, patient_id)
    if commit:
        uow.commit()
    return test, reading


def record_treatment(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    *,
    kind: str,
    performed_at: dt.datetime,
    details: str = "",
    outcome: str = "",
    nodule_id: str | None = None,
    encounter_id: str | None = None,
) -> domain.Treatment:
    """Record a treatment given (and its outcome, if already known)."""
    problems: list[Problem] = []
    check_choice(kind, "kind", domain.TREATMENT_KINDS, problems)
    check_time(performed_at, "performed_at", problems)
    check_text(details, "details", problems, 4000, required=False)
    check_text(outcome, "outcome", problems, 4000, required=False)
    if problems:
        raise InvalidRecord(problems)
    _existing_links(uow, patient_id, nodule_id, encounter_id)
    treatment = domain.Treatment(
        patient_id=patient_id,
        kind=kind,
        performed_at=performed_at,
        details=details,
        outcome=outcome,
        nodule_id=nodule_id,
        encounter_id=encounter_id,
    )
    uow.treatments.add(treatment)
    audit(uow, actor, "create", "treatment", treatment.id, patient_id)
    uow.commit()
    return treatment


def add_note(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    *,
    author: str,
    text: str,
    written_at: dt.datetime | None = None,
    encounter_id: str | None = None,
) -> domain.Note:
    """Add a free-text note to the record."""
    when = written_at or now()
    problems: list[Problem] = []
    check_text(author, "author", problems, 200)
    check_text(text, "text", problems, 20000)
    check_time(when, "written_at", problems)
    if problems:
        raise InvalidRecord(problems)
    _existing_links(uow, patient_id, encounter_id=encounter_id)
    note = domain.Note(
        patient_id=patient_id, author=author, text=text, written_at=when, encounter_id=encounter_id
    )
    uow.notes.add(note)
    audit(uow, actor, "create", "note", note.id, patient_id)
    uow.commit()
    return note
