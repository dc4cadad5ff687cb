"""The knowledge base as typed, immutable objects.

These classes hold data only; `loader.py` builds them from the YAML files and checks
them, and the engine compiles them into arrays. Nothing here imports a framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CONDITION_IDS",
    "SETTINGS",
    "TRIAGE_LEVELS",
    "AllOf",
    "AnyOf",
    "AtLeastOf",
    "Basis",
    "Bin",
    "Cell",
    "Condition",
    "Distribution",
    "Finding",
    "FindingAtLeast",
    "FindingIn",
    "FindingIs",
    "FindingIsNot",
    "InjectionTestKnowledge",
    "KnowledgeBase",
    "NextStep",
    "Predicate",
    "RedFlagRule",
    "Reference",
    "Threshold",
    "Value",
]

#: The 15 conditions of the assessment format, in the order of its section 2.
CONDITION_IDS: tuple[str, ...] = (
    "episacral_lipoma",
    "lipoma",
    "epidermoid_cyst",
    "abscess",
    "soft_tissue_sarcoma",
    "iliac_crest_pain_syndrome",
    "cluneal_nerve_entrapment",
    "myofascial_pain",
    "lumbar_radiculopathy",
    "sacroiliac_joint_pain",
    "pilonidal_disease",
    "lumbar_hernia",
    "morel_lavallee_lesion",
    "serious_spinal_pathology",
    "nonspecific_low_back_pain",
)

#: Triage levels, most urgent first (spec section 3).
TRIAGE_LEVELS: tuple[str, ...] = ("emergency", "urgent", "soon", "routine", "self_care")

#: Where a case is seen; each selects its own priors.
SETTINGS: tuple[str, ...] = ("primary_care", "pain_clinic", "self_check")

Basis = Literal["published", "estimate"]

#: A raw finding value as it arrives in a case.
Value = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Reference:
    """One source of the knowledge base."""

    id: str
    citation: str
    pmid: str | None
    doi: str | None
    read: str

    def short(self) -> str:
        """Citation with its identifier, for reports and the CLI."""
        ident = f"PMID {self.pmid}" if self.pmid else (f"doi:{self.doi}" if self.doi else "")
        return f"{self.citation} {ident}".strip()


@dataclass(frozen=True, slots=True)
class Cell:
    """One probability with its provenance: central value, plausible range, basis."""

    p: float
    low: float
    high: float
    basis: Basis
    sources: tuple[str, ...]
    note: str


@dataclass(frozen=True, slots=True)
class Distribution:
    """P(finding state | one condition): one probability per state, with provenance.

    `state_basis` says, state by state, whether that probability was read from a
    source: a published cell may have read only some states (e.g. P(size >= 5 cm))
    and estimated how the rest splits.
    """

    states: tuple[str, ...]
    p: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    basis: Basis
    sources: tuple[str, ...]
    note: str
    state_basis: tuple[Basis, ...]


@dataclass(frozen=True, slots=True)
class Bin:
    """A bin of a numeric finding: values below `below` (None: no upper bound)."""

    id: str
    below: float | None


@dataclass(frozen=True, slots=True)
class Finding:
    """An input variable of the assessment format."""

    id: str
    where: Literal["case", "findings"]
    type: Literal["boolean", "enum", "number", "integer"]
    kind: Literal["history", "examination", "test"]
    states: tuple[str, ...]
    bins: tuple[Bin, ...]
    requires: str | None
    label: str
    question: str
    plain_question: str | None
    plain_states: tuple[str, ...] | None = None

    def choice_label(self, state: str, plain: bool) -> str:
        """How to show one state as a choice: plain words for a person where given."""
        if plain and self.plain_states is not None:
            return self.plain_states[self.states.index(state)]
        return state.replace("_", " ")

    def state_of(self, value: Value) -> str:
        """The model state (bin id, enum value, 'true'/'false') of a valid raw value."""
        if self.type == "boolean":
            return "true" if value else "false"
        if self.type == "enum":
            return str(value)
        number = float(value)
        for b in self.bins:
            if b.below is None or number < b.below:
                return b.id
        raise AssertionError("the last bin has no bound")  # pragma: no cover - loader guarantees


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of the differential, with its codes, triage level and next steps."""

    id: str
    name: str
    plain_name: str
    synonyms: tuple[str, ...]
    summary: str
    icd10cm: tuple[str, str] | None
    snomed: tuple[str, str] | None
    codes_note: str
    triage: str
    triage_threshold: Cell
    next_steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NextStep:
    """A recommended action, worded for clinicians (`text`) and for a person (`plain`)."""

    id: str
    text: str
    plain: str


@dataclass(frozen=True, slots=True)
class FindingIs:
    """True when the finding is known and equals `value`."""

    finding: str
    value: Value

    def holds(self, values: Mapping[str, Value]) -> bool:
        """True when the finding is known and equals `value`."""
        return self.finding in values and values[self.finding] == self.value

    def met(self, values: Mapping[str, Value]) -> tuple[str, ...]:
        return (self.finding,) if self.holds(values) else ()


@dataclass(frozen=True, slots=True)
class FindingIsNot:
    """True unless the finding is known to equal `value`: an unknown finding satisfies it.

    For safety rules that must not wait for a question nobody asked, e.g. "a lump is
    not known to be absent".
    """

    finding: str
    value: Value

    def holds(self, values: Mapping[str, Value]) -> bool:
        """True when the finding is unknown or differs from `value`."""
        return values.get(self.finding, _MISSING) != self.value

    def met(self, values: Mapping[str, Value]) -> tuple[str, ...]:
        """The finding, when it is known and so took part."""
        return (self.finding,) if self.finding in values and self.holds(values) else ()


_MISSING = object()


@dataclass(frozen=True, slots=True)
class FindingIn:
    """True when the finding is known and is one of `values`."""

    finding: str
    values: tuple[Value, ...]

    def holds(self, values: Mapping[str, Value]) -> bool:
        return self.finding in values and values[self.finding] in self.values

    def met(self, values: Mapping[str, Value]) -> tuple[str, ...]:
        return (self.finding,) if self.holds(values) else ()


@dataclass(frozen=True, slots=True)
class FindingAtLeast:
    """True when the numeric finding is known and at least `threshold`."""

    finding: str
    threshold: float

    def holds(self, values: Mapping[str, Value]) -> bool:
        value = values.get(self.finding)
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (value >= self.threshold)
        )

    def met(self, values: Mapping[str, Value]) -> tuple[str, ...]:
        return (self.finding,) if self.holds(values) else ()


@dataclass(frozen=True, slots=True)
class AllOf:
    """True when every part is true."""

    parts: tuple[Predicate, ...]

    def holds(self, values: Mapping[str, Value]) -> bool:
        return all(p.holds(values) for p in self.parts)

    def met(self, values: Mapping[str, Value]) -> tuple[str, ...]:
        return _unique(f for p in self.parts for f in p.met(values)) if self.holds(values) else ()


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when at least one part is true."""

    parts: tuple[Predicate, ...]

    def holds(self, values: Mapping[str, Value]) -> bool:
        return any(p.holds(values) for p in self.parts)

    def met(self, values: Mapping[str, Value]) -> tuple[str, ...]:
        return _unique(f for p in self.parts for f in p.met(values))


@dataclass(frozen=True, slots=True)
class AtLeastOf:
    """True when at least `count` of the parts are true."""

    count: int
    parts: tuple[Predicate, ...]

    def holds(self, values: Mapping[str, Value]) -> bool:
        return sum(1 for p in self.parts if p.holds(values)) >= self.count

    def met(self, values: Mapping[str, Value]) -> tuple[str, ...]:
        if not self.holds(values):
            return ()
        return _unique(f for p in self.parts for f in p.met(values))


Predicate = FindingIs | FindingIsNot | FindingIn | FindingAtLeast | AllOf | AnyOf | AtLeastOf


def _unique(items: object) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:  # type: ignore[attr-defined]
        seen[item] = None
    return tuple(seen)


def findings_of(predicate: Predicate) -> tuple[str, ...]:
    """Every finding a predicate looks at, in order of appearance."""
    if isinstance(predicate, FindingIs | FindingIsNot | FindingIn | FindingAtLeast):
        return (predicate.finding,)
    return _unique(f for p in predicate.parts for f in findings_of(p))


@dataclass(frozen=True, slots=True)
class RedFlagRule:
    """A safety rule: when `when` holds, the case needs at least `severity`."""

    id: str
    severity: str
    message: str
    when: Predicate
    sources: tuple[str, ...]
    next_steps: tuple[str, ...]

    @property
    def findings(self) -> tuple[str, ...]:
        """The findings this rule looks at."""
        return findings_of(self.when)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A care threshold with its provenance (a value in the key's unit, not a probability)."""

    value: float
    low: float
    high: float
    basis: Basis
    sources: tuple[str, ...]
    note: str


@dataclass(frozen=True, slots=True)
class InjectionTestKnowledge:
    """How a diagnostic injection test is read."""

    positive_relief_percent: Threshold
    strongly_positive_relief_percent: Threshold
    window_minutes: Threshold
    placebo_response: Threshold


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """The whole, checked knowledge base of one version."""

    version: str
    released: str
    title: str
    model: str
    origin: tuple[str, ...]
    references: Mapping[str, Reference]
    conditions: tuple[Condition, ...]
    findings: tuple[Finding, ...]
    priors: Mapping[str, tuple[Cell, ...]]
    likelihoods: Mapping[str, tuple[Distribution, ...]]
    red_flags: tuple[RedFlagRule, ...]
    next_steps: Mapping[str, NextStep]
    injection_test: InjectionTestKnowledge

    def finding(self, finding_id: str) -> Finding:
        """The finding with this id (KeyError if there is none)."""
        for f in self.findings:
            if f.id == finding_id:
                return f
        raise KeyError(finding_id)

    def condition(self, condition_id: str) -> Condition:
        """The condition with this id (KeyError if there is none)."""
        for c in self.conditions:
            if c.id == condition_id:
                return c
        raise KeyError(condition_id)
