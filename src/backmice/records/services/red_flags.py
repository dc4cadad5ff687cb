"""Reviewing a red flag: a clinician records that they have seen it, and why, with a
coded reason.

A review **never suppresses a red flag**. The flag stays in the stored result, every
page keeps showing it (now with "reviewed by ... on ...: reason"), and the care plan
stays suspended until a new assessment no longer raises it: the pathway reads the
latest assessment's result, never the reviews.

A review is stored as a note in the patient's record with a first line that machines
read, so it travels with exports, imports and backups without a new table::

    [red-flag review] flag=sepsis assessment=<uuid> reason=already_investigated
    Admitted last week; CRP normal since.

and writes one audit event, action `dismiss`, detail `flag=<id> reason=<code>` (no
clinical text: the note stays in the record, not in the audit trail).

Imported from this module (`from backmice.records.services import red_flags`), not
re-exported from `records.services`.

    >>> review = parse_review("n1", "web:ann", "[red-flag review] flag=sepsis "
    ...     "assessment=a1 reason=entered_in_error", None)
    >>> (review.flag_id, review.reason_code, review.note)
    ('sepsis', 'entered_in_error', '')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backmice.errors import InvalidRecord, Problem, RecordNotFound
from backmice.records import domain
from backmice.records.services._checks import (
    audit,
    check_choice,
    check_text,
    check_time,
    existing_patient,
    now,
)
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = [
    "REVIEW_REASONS",
    "RedFlagReview",
    "ReviewedAssessment",
    "parse_review",
    "record_red_flag_review",
    "red_flag_reviews",
    "reviewed_assessment",
    "reviews_in",
]

#: Coded reasons for marking a red flag as reviewed -> how they read.
REVIEW_REASONS: dict[str, str] = {
    "already_investigated": "Already investigated",
    "explained_by_known_condition": "Explained by a known condition",
    "entered_in_error": "A finding was entered in error",
    "patient_declined_referral": "The patient declined referral",
    "clinical_judgement": "Clinical judgement (see note)",
}
#: Reasons that need a note saying what the judgement was.
NOTE_REQUIRED = ("clinical_judgement",)
NOTE_MAX = 2000

_TAG = "[red-flag review]"
_FIRST_LINE = re.compile(
    r"^\[red-flag review\] flag=(?P<flag>[a-z0-9_]+) "
    r"assessment=(?P<assessment>[A-Za-z0-9-]+) reason=(?P<reason>[a-z_]+)$"
)


@dataclass(frozen=True, slots=True)
class RedFlagReview:
    """A clinician's review of one red flag of one stored assessment."""

    note_id: str
    assessment_id: str
    flag_id: str
    reason_code: str
    note: str
    reviewed_by: str
    reviewed_at: dt.datetime | None

    @property
    def reason(self) -> str:
        """The coded reason in words."""
        return REVIEW_REASONS[self.reason_code]


@dataclass(frozen=True, slots=True)
class ReviewedAssessment:
    """A stored assessment with the reviews of its red flags (flag id -> reviews,
    oldest first; every red flag of the result is a key, reviewed or not) and the
    nodules it was made for."""

    assessment: domain.Assessment
    reviews: Mapping[str, list[RedFlagReview]] = field(default_factory=dict)
    nodules: tuple[domain.Nodule, ...] = ()


def _text(flag_id: str, assessment_id: str, reason_code: str, note: str) -> str:
    first = f"{_TAG} flag={flag_id} assessment={assessment_id} reason={reason_code}"
    return f"{first}\n{note.strip()}" if note.strip() else first


def parse_review(
    note_id: str, author: str, text: str, written_at: dt.datetime | str | None
) -> RedFlagReview | None:
    """The review a note records, or None when the note is not a review."""
    if not text.startswith(_TAG):
        return None
    first, _, rest = text.partition("\n")
    match = _FIRST_LINE.match(first)
    if match is None or match["reason"] not in REVIEW_REASONS:
        return None
    when = dt.datetime.fromisoformat(written_at) if isinstance(written_at, str) else written_at
    return RedFlagReview(
        note_id=note_id,
        assessment_id=match["assessment"],
        flag_id=match["flag"],
        reason_code=match["reason"],
        note=rest.strip(),
        reviewed_by=author,
        reviewed_at=when,
    )


def reviews_in(notes: Iterable[Mapping[str, Any]]) -> list[RedFlagReview]:
    """The reviews among notes given as field dicts (e.g. a timeline's note events),
    oldest first."""
    found = [
        parse_review(str(n["id"]), str(n["author"]), str(n["text"]), n.get("written_at"))
        for n in notes
    ]
    reviews = [r for r in found if r is not None]
    reviews.sort(key=lambda r: (r.reviewed_at is None, r.reviewed_at or dt.datetime.min))
    return reviews


def red_flag_reviews(
    uow: AbstractUnitOfWork, patient_id: str, assessment_id: str | None = None
) -> list[RedFlagReview]:
    """A patient's red-flag reviews (of one assessment, when given), oldest first.
    No audit event: callers that show them audit their read."""
    notes = sorted(uow.notes.for_patient(patient_id), key=lambda n: n.written_at)
    reviews = [parse_review(n.id, n.author, n.text, n.written_at) for n in notes]
    return [
        r
        for r in reviews
        if r is not None and (assessment_id is None or r.assessment_id == assessment_id)
    ]


def _assessment(uow: AbstractUnitOfWork, patient_id: str, assessment_id: str) -> domain.Assessment:
    assessment = uow.assessments.get(assessment_id)
    if assessment is None or assessment.patient_id != patient_id:
        raise RecordNotFound(
            f"assessment {assessment_id!r} does not exist for patient {patient_id!r}"
        )
    return assessment


def _flag_ids(assessment: domain.Assessment) -> list[str]:
    return [str(f["id"]) for f in assessment.result.get("red_flags", [])]


def reviewed_assessment(
    uow: AbstractUnitOfWork, actor: str, patient_id: str, assessment_id: str
) -> ReviewedAssessment:
    """One stored assessment with the reviews of its red flags (one audit event: the read)."""
    existing_patient(uow, patient_id)
    assessment = _assessment(uow, patient_id, assessment_id)
    reviews: dict[str, list[RedFlagReview]] = {flag: [] for flag in _flag_ids(assessment)}
    for review in red_flag_reviews(uow, patient_id, assessment_id):
        reviews.setdefault(review.flag_id, []).append(review)
    nodules = uow.nodules.where_in("id", assessment.nodule_ids) if assessment.nodule_ids else []
    audit(uow, actor, "read", "assessment", assessment.id, patient_id)
    uow.commit()
    return ReviewedAssessment(assessment, reviews, tuple(nodules))


def record_red_flag_review(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    assessment_id: str,
    flag_id: str,
    reason_code: str,
    note: str = "",
    *,
    reviewed_at: dt.datetime | None = None,
) -> RedFlagReview:
    """Record that a clinician reviewed one red flag of a stored assessment, with a coded
    reason (`REVIEW_REASONS`; clinical judgement needs a note). The flag is not removed,
    hidden or overridden: it stays on the result and keeps the care plan suspended.

    Nothing is written when anything is wrong; each problem names the field, the value
    and what was expected.
    """
    when = reviewed_at or now()
    problems: list[Problem] = []
    check_choice(reason_code, "reason", tuple(REVIEW_REASONS), problems)
    check_text(note, "note", problems, NOTE_MAX, required=False)
    check_time(when, "reviewed_at", problems)
    if reason_code in NOTE_REQUIRED and not (isinstance(note, str) and note.strip()):
        problems.append(
            Problem("note", f"{note!r} is empty; {reason_code.replace('_', ' ')} needs a note")
        )
    existing_patient(uow, patient_id)
    assessment = _assessment(uow, patient_id, assessment_id)
    flags = _flag_ids(assessment)
    if flag_id not in flags:
        expected = f"one of {', '.join(flags)}" if flags else "none: it raised no red flag"
        problems.append(
            Problem(
                "flag",
                f"{flag_id!r} is not a red flag of assessment {assessment_id!r}; expected "
                + expected,
            )
        )
    if problems:
        raise InvalidRecord(problems)
    record = domain.Note(
        patient_id=patient_id,
        author=actor,
        text=_text(flag_id, assessment_id, reason_code, note),
        written_at=when,
        encounter_id=assessment.encounter_id,
    )
    uow.notes.add(record)
    audit(
        uow,
        actor,
        "dismiss",
        "red_flag_review",
        record.id,
        patient_id,
        f"flag={flag_id} reason={reason_code}",
    )
    uow.commit()
    review = parse_review(record.id, record.author, record.text, record.written_at)
    if review is None:  # pragma: no cover - _text and parse_review are written together
        raise RuntimeError("a red-flag review note did not read back")
    return review
