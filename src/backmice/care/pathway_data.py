"""The stepped-care pathway as data: loaded strictly from `care/data/pathway.yaml`.

Every number is a `Threshold` with its provenance, parsed by the same rules as the
knowledge base (a published value names its sources; an estimate gives a range), and
every source must be in the knowledge base's references. Unknown keys are refused with
the allowed keys listed, so a typo cannot silently switch a rule off.

    >>> pathway = default_pathway()
    >>> [step.id for step in pathway.steps]
    ['confirm_diagnosis', 'self_care', 'steroid_injection', 'excision_referral']
    >>> pathway.meaningful_change.nrs_points.value
    2.0
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from backmice.errors import KnowledgeBaseError
from backmice.knowledge import default_knowledge
from backmice.knowledge.model import KnowledgeBase, Reference, Threshold
from backmice.knowledge.shapes import list_, mapping, text, threshold
from backmice.records.domain import TREATMENT_KINDS

__all__ = [
    "ADVANCE_CRITERIA",
    "ENTRY_CRITERIA",
    "RECORDABLE",
    "CareStep",
    "MeaningfulChange",
    "Pathway",
    "SteroidLimits",
    "default_pathway",
    "load_pathway",
    "parse_pathway",
]

#: Criteria a step may list under `entry` (evaluated by care/pathway.py).
ENTRY_CRITERIA = ("back_mouse_leading", "diagnosis_supported", "many_nodules")
#: Criteria a step may list under `advance_when`.
ADVANCE_CRITERIA = ("injection_test_positive", "insufficient_improvement")
#: What a step asks the clinic to record.
RECORDABLE = ("injection_test", "pain_score", "pgic", "sitting_tolerance", "treatment")

_STEP_KEYS = (
    "id",
    "name",
    "plain_name",
    "treatment_kinds",
    "entry",
    "record",
    "review_after_days",
    "advance_when",
    "evidence_level",
    "evidence",
    "sources",
    "patient_steps",
)
_EVIDENCE_LEVELS = ("high", "moderate", "low", "very low", "none found")
_REPEAT_LIMITS = ("attempts_before_excision",)


@dataclass(frozen=True, slots=True)
class CareStep:
    """One step of care: when it applies, what to record, when to review, how sure we are."""

    id: str
    name: str
    plain_name: str
    treatment_kinds: tuple[str, ...]
    entry: tuple[str, ...]
    record: tuple[str, ...]
    review_after_days: Threshold
    advance_when: tuple[str, ...]
    evidence_level: str
    evidence: str
    sources: tuple[str, ...]
    patient_steps: tuple[str, ...]
    repeat_up_to: str | None = None


@dataclass(frozen=True, slots=True)
class MeaningfulChange:
    """What counts as a meaningful improvement (Farrar 2001)."""

    nrs_points: Threshold
    nrs_percent: Threshold
    pgic_at_most: Threshold


@dataclass(frozen=True, slots=True)
class SteroidLimits:
    """Limits on corticosteroid injections."""

    min_spacing_days: Threshold
    max_per_year: Threshold
    attempts_before_excision: Threshold


@dataclass(frozen=True, slots=True)
class Pathway:
    """The whole pathway: main steps in order, alternatives, thresholds and reasons."""

    version: str
    applies_to: str
    meaningful_change: MeaningfulChange
    steroid_injections: SteroidLimits
    many_nodules: Threshold
    steps: tuple[CareStep, ...]
    alternatives: tuple[CareStep, ...]
    choose_reasons: Mapping[str, str]
    stop_reasons: Mapping[str, str]

    def step(self, step_id: str) -> CareStep:
        for step in (*self.steps, *self.alternatives):
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in (*self.steps, *self.alternatives))

    def successor(self, step_id: str) -> CareStep | None:
        """The main step that follows `step_id` when it does not help enough."""
        ids = [s.id for s in self.steps]
        if step_id in ids:
            i = ids.index(step_id)
            return self.steps[i + 1] if i + 1 < len(self.steps) else None
        if step_id == "complementary_therapy":
            return self.step("steroid_injection")
        return None

    def step_for_treatment(self, kind: str) -> CareStep | None:
        for step in (*self.steps, *self.alternatives):
            if kind in step.treatment_kinds:
                return step
        return None


def _choices(values: list[Any], where: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    out = tuple(text(v, where) for v in values)
    for value in out:
        if value not in allowed:
            raise KnowledgeBaseError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return out


def _step(obj: Any, where: str, references: Mapping[str, Reference]) -> CareStep:
    raw = mapping(obj, where, _STEP_KEYS, ("repeat_up_to",))
    sources = tuple(text(s, f"{where}.sources") for s in list_(raw["sources"], where))
    for source in sources:
        if source not in references:
            raise KnowledgeBaseError(f"{where}.sources: {source!r} is not in references.yaml")
    level = text(raw["evidence_level"], f"{where}.evidence_level")
    if level not in _EVIDENCE_LEVELS:
        raise KnowledgeBaseError(
            f"{where}.evidence_level: {level!r} is not one of {', '.join(_EVIDENCE_LEVELS)}"
        )
    repeat = raw.get("repeat_up_to")
    if repeat is not None and repeat not in _REPEAT_LIMITS:
        raise KnowledgeBaseError(
            f"{where}.repeat_up_to: {repeat!r} is not one of {', '.join(_REPEAT_LIMITS)}"
        )
    review = threshold(raw["review_after_days"], f"{where}.review_after_days", references)
    if review.value < 1:
        raise KnowledgeBaseError(f"{where}.review_after_days: {review.value} is not >= 1 day")
    return CareStep(
        id=text(raw["id"], f"{where}.id"),
        name=text(raw["name"], f"{where}.name"),
        plain_name=text(raw["plain_name"], f"{where}.plain_name"),
        treatment_kinds=_choices(
            list_(raw["treatment_kinds"], where), f"{where}.treatment_kinds", TREATMENT_KINDS
        ),
        entry=_choices(list_(raw["entry"], where), f"{where}.entry", ENTRY_CRITERIA),
        record=_choices(list_(raw["record"], where), f"{where}.record", RECORDABLE),
        review_after_days=review,
        advance_when=_choices(
            list_(raw["advance_when"], where), f"{where}.advance_when", ADVANCE_CRITERIA
        ),
        evidence_level=level,
        evidence=" ".join(text(raw["evidence"], f"{where}.evidence").split()),
        sources=sources,
        patient_steps=tuple(
            text(s, f"{where}.patient_steps") for s in list_(raw["patient_steps"], where)
        ),
        repeat_up_to=repeat,
    )


def _reasons(obj: Any, where: str) -> dict[str, str]:
    if not isinstance(obj, dict) or not obj:
        raise KnowledgeBaseError(f"{where}: expected a mapping of reason code to text")
    return {text(k, where): text(v, f"{where}.{k}") for k, v in obj.items()}


def parse_pathway(doc: Any, kb: KnowledgeBase) -> Pathway:
    """Build the pathway from its parsed YAML, checking everything; raises
    `KnowledgeBaseError` naming the first problem."""
    where = "pathway.yaml"
    raw = mapping(
        doc,
        where,
        (
            "version",
            "applies_to",
            "meaningful_change",
            "steroid_injections",
            "many_nodules",
            "steps",
            "alternatives",
            "reasons",
        ),
    )
    refs = kb.references
    applies_to = text(raw["applies_to"], f"{where}: applies_to")
    if applies_to not in {c.id for c in kb.conditions}:
        raise KnowledgeBaseError(f"{where}: applies_to {applies_to!r} is not a condition")
    change = mapping(
        raw["meaningful_change"],
        f"{where}: meaningful_change",
        ("nrs_points", "nrs_percent", "pgic_at_most"),
    )
    limits = mapping(
        raw["steroid_injections"],
        f"{where}: steroid_injections",
        ("min_spacing_days", "max_per_year", "attempts_before_excision"),
    )
    steps = tuple(
        _step(s, f"{where}: steps[{i}]", refs) for i, s in enumerate(list_(raw["steps"], where))
    )
    alternatives = tuple(
        _step(s, f"{where}: alternatives[{i}]", refs)
        for i, s in enumerate(list_(raw["alternatives"], where))
    )
    ids = [s.id for s in (*steps, *alternatives)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise KnowledgeBaseError(f"{where}: step ids appear more than once: {duplicates}")
    if not steps:
        raise KnowledgeBaseError(f"{where}: steps: needs at least one step")
    reasons = mapping(raw["reasons"], f"{where}: reasons", ("choose", "stop"))
    return Pathway(
        version=str(raw["version"]),
        applies_to=applies_to,
        meaningful_change=MeaningfulChange(
            **{k: threshold(v, f"{where}: meaningful_change.{k}", refs) for k, v in change.items()}
        ),
        steroid_injections=SteroidLimits(
            **{k: threshold(v, f"{where}: steroid_injections.{k}", refs) for k, v in limits.items()}
        ),
        many_nodules=threshold(raw["many_nodules"], f"{where}: many_nodules", refs),
        steps=steps,
        alternatives=alternatives,
        choose_reasons=_reasons(reasons["choose"], f"{where}: reasons.choose"),
        stop_reasons=_reasons(reasons["stop"], f"{where}: reasons.stop"),
    )


def load_pathway(kb: KnowledgeBase) -> Pathway:
    """Read and check the pathway shipped in the package."""
    source = resources.files("backmice.care").joinpath("data", "pathway.yaml")
    try:
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"pathway.yaml: not valid YAML: {exc}") from None
    return parse_pathway(doc, kb)


@functools.cache
def default_pathway() -> Pathway:
    """The packaged pathway over the default knowledge base (loaded once)."""
    return load_pathway(default_knowledge())
