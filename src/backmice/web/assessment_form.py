"""The assessment form: every finding of the knowledge base as a form field, grouped as
a clinician examines, read back into a case, and previewed (the result so far and the
next best question) without storing anything.

The fields come from the knowledge base and their bounds from the packaged input
schema, so a finding added to the knowledge base appears on the form (under "Other"
until it is given a group) with the same limits the engine enforces.

    >>> from backmice.engine import Engine
    >>> fields = form_fields(Engine())
    >>> [f.id for group in fields for f in group.fields][:3]
    ['age', 'sex', 'lump_present']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backmice.engine import Engine
from backmice.engine.contract import input_schema
from backmice.engine.interview import Interview
from backmice.errors import Problem
from backmice.knowledge.model import Finding, Value

__all__ = [
    "CLINIC_SETTINGS",
    "UNKNOWN",
    "FormField",
    "FormGroup",
    "Preview",
    "case_of",
    "form_fields",
    "form_values",
    "preview",
    "read_answers",
    "shown_value",
]

#: Settings a clinician can choose (self_check is the patients' own).
CLINIC_SETTINGS: dict[str, str] = {
    "primary_care": "Primary care",
    "pain_clinic": "Pain clinic",
}
#: The answer "asked, but not known": left out of the case, and not asked again.
UNKNOWN = "unknown"
_LONGEST = 100
_YES_NO = (("yes", "Yes"), ("no", "No"), (UNKNOWN, "Not known"))

#: Groups in the order of a consultation; ids not in the knowledge base are skipped.
_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("person", "The person", ("age", "sex")),
    (
        "lump",
        "The lump",
        (
            "lump_present",
            "lump_count",
            "lump_bilateral",
            "location",
            "size_cm",
            "consistency",
            "mobile",
            "deep_to_fascia",
            "tender",
            "pressure_reproduces_pain",
            "growing",
            "recurred_after_excision",
            "reducible",
        ),
    ),
    (
        "skin",
        "Skin and infection",
        ("punctum", "erythema_warmth", "drainage", "fever", "systemically_unwell"),
    ),
    (
        "pain",
        "Pain",
        (
            "pain_present",
            "pain_character",
            "pain_worse_with_pressure",
            "radiation",
            "night_pain",
            "duration_weeks",
            "trauma",
        ),
    ),
    (
        "nerves",
        "Nerves, spine and pelvis",
        (
            "numbness",
            "neuro_deficit",
            "progressive_weakness",
            "bladder_bowel_dysfunction",
            "saddle_anaesthesia",
            "straight_leg_raise",
            "sij_provocation_positive",
            "taut_band_twitch",
        ),
    ),
    (
        "history",
        "Medical history",
        ("cancer_history", "weight_loss", "immunosuppressed", "iv_drug_use", "bmi"),
    ),
    ("tests", "Tests", ("injection_relief_percent", "ultrasound")),
)


@dataclass(frozen=True, slots=True)
class FormField:
    """One finding as a form field."""

    id: str
    label: str
    question: str
    type: str  # boolean, enum, number, integer
    kind: str  # history, examination, test
    choices: tuple[tuple[str, str], ...]  # (value, words); empty for numbers
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # an exclusive minimum

    @property
    def expected(self) -> str:
        """What a number must be, in words: 'a number above 0, at most 50'."""
        what = "a whole number" if self.type == "integer" else "a number"
        low, above, high = self.minimum, self.above, self.maximum
        if low is not None and high is not None:
            return f"{what} from {low:g} to {high:g}"
        if above is not None and high is not None:
            return f"{what} above {above:g}, at most {high:g}"
        if low is not None:
            return f"{what} of at least {low:g}"
        if above is not None:
            return f"{what} above {above:g}"
        if high is not None:
            return f"{what} of at most {high:g}"
        return what

    @property
    def step(self) -> str:
        return "1" if self.type == "integer" else "any"

    @property
    def html_min(self) -> float | None:
        return self.minimum if self.minimum is not None else self.above


@dataclass(frozen=True, slots=True)
class FormGroup:
    id: str
    title: str
    fields: tuple[FormField, ...]


def _bounds(finding: Finding) -> dict[str, float | None]:
    schema = input_schema()["properties"]
    spec: Mapping[str, Any] = (
        schema.get(finding.id, {})
        if finding.where == "case"
        else schema["findings"]["properties"].get(finding.id, {})
    )
    return {
        "minimum": spec.get("minimum"),
        "maximum": spec.get("maximum"),
        "above": spec.get("exclusiveMinimum"),
    }


def _field(finding: Finding) -> FormField:
    if finding.type == "boolean":
        choices: tuple[tuple[str, str], ...] = _YES_NO
    elif finding.type == "enum":
        choices = tuple((s, finding.choice_label(s, plain=False)) for s in finding.states)
    else:
        choices = ()
    return FormField(
        id=finding.id,
        label=finding.label,
        question=finding.question,
        type=finding.type,
        kind=finding.kind,
        choices=choices,
        **(_bounds(finding) if finding.type in ("number", "integer") else {}),
    )


def form_fields(engine: Engine) -> tuple[FormGroup, ...]:
    """Every finding of the knowledge base, grouped; any ungrouped one under "Other"."""
    by_id = {f.id: f for f in engine.kb.findings}
    groups = []
    placed: set[str] = set()
    for group_id, title, ids in _GROUPS:
        fields = tuple(_field(by_id[i]) for i in ids if i in by_id)
        placed.update(ids)
        if fields:
            groups.append(FormGroup(group_id, title, fields))
    rest = tuple(_field(f) for f in engine.kb.findings if f.id not in placed)
    if rest:
        groups.append(FormGroup("other", "Other", rest))
    return tuple(groups)


def _path(field: FormField) -> str:
    return field.id if field.id in ("age", "sex") else f"findings.{field.id}"


def read_answers(
    form: Mapping[str, str], groups: Sequence[FormGroup]
) -> tuple[dict[str, Value], list[str], list[Problem]]:
    """The answers a submitted form gives: (answers, asked but not known, problems).
    An empty field was not asked; each problem names the field, the value and what was
    expected."""
    answers: dict[str, Value] = {}
    skipped: list[str] = []
    problems: list[Problem] = []
    for group in groups:
        for field in group.fields:
            raw = form.get(field.id, "").strip()
            if raw == "":
                continue
            where = _path(field)
            if len(raw) > _LONGEST:
                problems.append(
                    Problem(where, f"is {len(raw)} characters long; at most {_LONGEST}")
                )
                continue
            if raw == UNKNOWN:
                skipped.append(field.id)
                continue
            if field.type == "boolean":
                if raw not in ("yes", "no"):
                    problems.append(Problem(where, f"{raw!r} is not one of yes, no, {UNKNOWN}"))
                else:
                    answers[field.id] = raw == "yes"
            elif field.type == "enum":
                states = [v for v, _ in field.choices]
                if raw not in states:
                    choices = ", ".join([*states, UNKNOWN])
                    problems.append(Problem(where, f"{raw!r} is not one of {choices}"))
                else:
                    answers[field.id] = raw
            else:
                number = _number(raw, field)
                if number is None:
                    problems.append(Problem(where, f"{raw!r} is not {field.expected}"))
                else:
                    answers[field.id] = number
    return answers, skipped, problems


def _number(raw: str, field: FormField) -> int | float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if field.type == "integer":
        if not value.is_integer():
            return None
        value = int(value)
    if field.minimum is not None and value < field.minimum:
        return None
    if field.above is not None and value <= field.above:
        return None
    if field.maximum is not None and value > field.maximum:
        return None
    return int(value) if field.type == "integer" else value


def form_values(case: Mapping[str, Any]) -> dict[str, str]:
    """A stored case as the form's field values (to start from an earlier assessment)."""
    out: dict[str, str] = {}
    findings = dict(case.get("findings") or {})
    findings.update({k: case[k] for k in ("age", "sex") if k in case})
    for name, value in findings.items():
        if isinstance(value, bool):
            out[name] = "yes" if value else "no"
        elif isinstance(value, float) and value.is_integer():
            out[name] = f"{value:g}"
        else:
            out[name] = str(value)
    return out


def case_of(setting: str, answers: Mapping[str, Value]) -> dict[str, Any]:
    """The answers as a case of the assessment format."""
    case: dict[str, Any] = {"schema": "backmice.assessment/1", "setting": setting}
    case.update({k: v for k, v in answers.items() if k in ("age", "sex")})
    case["findings"] = {k: v for k, v in answers.items() if k not in ("age", "sex")}
    return case


@dataclass(frozen=True, slots=True)
class Preview:
    """The result for the answers so far, and the question worth asking next."""

    result: dict[str, Any]
    next_finding: str | None
    next_text: str | None
    firm: bool


def preview(
    engine: Engine, setting: str, answers: Mapping[str, Value], skipped: Sequence[str] = ()
) -> Preview:
    """Assess the answers so far (nothing is stored) and choose the next best question.
    Raises `InvalidCase` naming every problem when the answers break the format."""
    case = case_of(setting, answers)
    result = engine.assess(case)  # every problem at once, before the interview
    interview = Interview(engine, setting=setting)
    for name, value in answers.items():
        interview.record(name, value)
    for name in skipped:
        interview.record(name, None)
    question = None if interview.is_firm() else interview.next_question()
    return Preview(
        result=result,
        next_finding=None if question is None else question.finding,
        next_text=None if question is None else question.text,
        firm=question is None,
    )


def shown_value(value: object) -> str:
    """A finding's value as words: yes/no, an enum without underscores, a number."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", " ")
