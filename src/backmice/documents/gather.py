"""Fill the documents' content from a patient's record.

Both functions read the record through the `timeline` service, so the read is checked
(an unknown patient raises `RecordNotFound`) and audited in the same transaction, like
every other read of a record. The care plan comes from the caller: the care pathway
decides it, this module only carries it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from backmice.care.education import EducationPage, education_page
from backmice.documents.content import (
    EducationText,
    Handout,
    InjectionLine,
    NoduleLine,
    PainPoint,
    PlanSummary,
    TextSection,
    VisitSummary,
)
from backmice.records.services.views import timeline
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["AFTER_CARE_TREATMENTS", "education_text", "gather_handout", "gather_visit_summary"]

#: Treatments after which the handout includes the after-care page.
AFTER_CARE_TREATMENTS = frozenset(
    {"injection", "repeated_needling", "excision_with_fascial_repair", "liposuction"}
)
#: Education sections left off the handout: its footer already says what they say.
_SKIPPED_SECTIONS = ("About this page",)


def _time(value: str | dt.datetime) -> dt.datetime:
    """A timeline timestamp (ISO text) as an aware datetime; naive ones are UTC."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _labels(nodules: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each nodule's label; an unlabelled one is called #1, #2... in the order added."""
    ordered = sorted(nodules, key=lambda n: (n["created_at"], n["id"]))
    return {n["id"]: n["label"] or f"#{i}" for i, n in enumerate(ordered, start=1)}


def _events(record: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [e for e in record["events"] if e["type"] == kind]


def _latest_assessment(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    assessments = _events(record, "assessment")
    return assessments[-1] if assessments else None  # events come in time order


def _nodule_lines(
    record: Mapping[str, Any], labels: Mapping[str, str], pain: Sequence[PainPoint]
) -> tuple[NoduleLine, ...]:
    latest_pain: dict[str, PainPoint] = {}
    for point in pain:  # in time order: the last one wins
        if point.nodule is not None:
            latest_pain[point.nodule] = point
    lines = []
    for nodule in sorted(record["nodules"], key=lambda n: (n["created_at"], n["id"])):
        label = labels[nodule["id"]]
        sizes = sorted(nodule["sizes"], key=lambda s: (s["measured_at"], s["id"]))
        score = latest_pain.get(label)
        lines.append(
            NoduleLine(
                label=label,
                x=float(nodule["x"]),
                y=float(nodule["y"]),
                side=nodule["side"],
                region=nodule["region"],
                status=nodule["status"],
                latest_size_cm=float(sizes[-1]["size_cm"]) if sizes else None,
                latest_pain=None if score is None else score.score,
                latest_pain_kind=None if score is None else score.kind,
            )
        )
    return tuple(lines)


def gather_visit_summary(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    plan: PlanSummary | None,
    now: dt.datetime | None = None,
) -> VisitSummary:
    """The visit summary of one patient, read (and audited) through `timeline`."""
    record = timeline(uow, actor, patient_id)
    patient = record["patient"]
    labels = _labels(record["nodules"])
    pain = tuple(
        PainPoint(
            recorded_at=_time(e["recorded_at"]),
            score=int(e["score"]),
            kind=e["kind"],
            nodule=labels.get(e["nodule_id"]) if e["nodule_id"] else None,
        )
        for e in _events(record, "pain_score")
    )
    injections = tuple(
        InjectionLine(
            performed_at=_time(e["performed_at"]),
            nodule=labels.get(e["nodule_id"]) if e["nodule_id"] else None,
            pre_nrs=e["pre_nrs"],
            post_nrs=e["post_nrs"],
            relief_percent=float(e["relief_percent"]),
            interpretation=e["interpretation"],
            minutes_after=float(e["minutes_after"]),
            agent=e["agent"] or "",
        )
        for e in _events(record, "injection_test")
    )
    latest = _latest_assessment(record)
    return VisitSummary(
        generated_at=now or dt.datetime.now(dt.UTC),
        patient_identifier=patient["identifier"],
        patient_name=patient["name"],
        birth_date=dt.date.fromisoformat(patient["birth_date"]),
        sex=patient["sex"],
        nodules=_nodule_lines(record, labels, pain),
        assessment=None if latest is None else latest["result"],
        assessed_at=None if latest is None else _time(latest["assessed_at"]),
        injection_tests=injections,
        plan=plan,
        pain_points=pain,
        knowledge_version=None if latest is None else latest["knowledge_version"],
    )


def education_text(page: EducationPage) -> EducationText:
    """An education page as handout content, without its "About this page" section."""
    return EducationText(
        title=page.title,
        summary=page.summary,
        sections=tuple(
            TextSection(s.heading, tuple(s.paragraphs), tuple(s.bullets))
            for s in page.sections
            if s.heading not in _SKIPPED_SECTIONS
        ),
        reading_level=page.reading_level,
    )


def gather_handout(
    uow: AbstractUnitOfWork,
    actor: str,
    patient_id: str,
    plan: PlanSummary | None,
    now: dt.datetime | None = None,
) -> Handout:
    """The patient's handout, read (and audited) through `timeline`.

    The next appointment is the plan's review date; the warnings are the red flags of
    the latest assessment; the after-care page is included once the patient has had an
    injection test or a procedure.
    """
    record = timeline(uow, actor, patient_id)
    latest = _latest_assessment(record)
    result: Mapping[str, Any] = {} if latest is None else latest["result"]
    treated = bool(_events(record, "injection_test")) or any(
        e["kind"] in AFTER_CARE_TREATMENTS for e in _events(record, "treatment")
    )
    return Handout(
        generated_at=now or dt.datetime.now(dt.UTC),
        patient_name=record["patient"]["name"],
        plan=plan,
        next_appointment=None if plan is None else plan.review_due,
        triage=result.get("triage"),
        red_flags=tuple(str(f["message"]) for f in result.get("red_flags") or ()),
        self_care=education_text(education_page("self-care")),
        after_care=education_text(education_page("after-care")) if treated else None,
        when_to_get_help=education_text(education_page("when-to-get-help")),
    )
