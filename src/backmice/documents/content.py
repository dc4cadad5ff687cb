"""What goes into the two PDF documents: plain, frozen values, no framework imports.

`gather.py` fills them from a patient's record; the care pathway supplies the
`PlanSummary`; the renderers only read them. Anyone can build them by hand (tests do),
so a document never needs a database to be drawn.

Times are timezone-aware; dates are calendar dates. Patient data lives in these objects
and in the PDF made from them, never in a log line or an error message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PLAN_STATUSES",
    "EducationText",
    "Handout",
    "InjectionLine",
    "NoduleLine",
    "PainPoint",
    "PlanSummary",
    "TextSection",
    "VisitSummary",
]

#: Where a patient stands on the care pathway.
PLAN_STATUSES = ("on_pathway", "suspended_for_red_flag", "stopped", "not_started")


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """The care plan as the documents show it.

    `current_step` and `next_step` are display names ("Diagnostic injection");
    `reasons` say why the plan stands where it does; `patient_steps` are plain-language
    things for the patient to do, shown on the handout.
    """

    status: str
    current_step: str | None
    next_step: str | None
    reasons: tuple[str, ...]
    review_due: dt.date | None
    patient_steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoduleLine:
    """One nodule on the body map (0-100 coordinates, see `records.domain`)."""

    label: str
    x: float
    y: float
    side: str
    region: str
    status: str
    latest_size_cm: float | None = None
    latest_pain: int | None = None
    latest_pain_kind: str | None = None


@dataclass(frozen=True, slots=True)
class PainPoint:
    """One 0-10 pain rating; `nodule` is the nodule's label, or None for overall pain."""

    recorded_at: dt.datetime
    score: int
    kind: str
    nodule: str | None = None


@dataclass(frozen=True, slots=True)
class InjectionLine:
    """One diagnostic local-anaesthetic injection and the relief it gave."""

    performed_at: dt.datetime
    nodule: str | None
    pre_nrs: int | None
    post_nrs: int | None
    relief_percent: float
    interpretation: str
    minutes_after: float
    agent: str = ""


@dataclass(frozen=True, slots=True)
class VisitSummary:
    """Everything the clinician's visit summary shows.

    `assessment` is the latest stored engine result (`backmice.result/1`) or None;
    `knowledge_version` is the knowledge base that produced it.
    """

    generated_at: dt.datetime
    patient_identifier: str
    patient_name: str
    birth_date: dt.date
    sex: str
    nodules: tuple[NoduleLine, ...] = ()
    assessment: Mapping[str, Any] | None = None
    assessed_at: dt.datetime | None = None
    injection_tests: tuple[InjectionLine, ...] = ()
    plan: PlanSummary | None = None
    pain_points: tuple[PainPoint, ...] = ()
    knowledge_version: str | None = None


@dataclass(frozen=True, slots=True)
class TextSection:
    """A heading with paragraphs and bullet points (one section of an education page)."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EducationText:
    """One education page, copied from `backmice.care.education` for the handout;
    `reading_level` is the page's measured reading level, as it states it."""

    title: str
    summary: str
    sections: tuple[TextSection, ...] = ()
    reading_level: str = ""


@dataclass(frozen=True, slots=True)
class Handout:
    """Everything the patient's handout shows.

    `triage` is the latest assessment's level and `red_flags` the plain messages of the
    red flags it raised (empty when none, or when there was no assessment). The education
    pages are `self_care` ("Looking after yourself"), `after_care` (after an injection or
    procedure; None when the patient has had none) and `when_to_get_help`.
    """

    generated_at: dt.datetime
    patient_name: str
    plan: PlanSummary | None = None
    next_appointment: dt.date | None = None
    triage: str | None = None
    red_flags: tuple[str, ...] = ()
    self_care: EducationText | None = None
    after_care: EducationText | None = None
    when_to_get_help: EducationText | None = None
