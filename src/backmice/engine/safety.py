"""Red flags and triage: rules first, probabilities second, never the other way.

Red-flag rules are evaluated on the case's known findings alone. They never read a
probability, so a low probability can never hide one. Triage is the most urgent of
(a) every fired rule's severity and (b) the level each condition implies when its
probability reaches the condition's threshold (the most likely condition always
counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from backmice.knowledge.model import (
    TRIAGE_LEVELS,
    AllOf,
    AnyOf,
    AtLeastOf,
    FindingAtLeast,
    FindingIn,
    FindingIs,
    KnowledgeBase,
    RedFlagRule,
    Value,
)

__all__ = [
    "FiredRule",
    "SafetyRules",
    "fire_red_flags",
    "most_urgent",
    "triage_from_differential",
    "urgency",
]

_RANK = {level: i for i, level in enumerate(TRIAGE_LEVELS)}


def urgency(level: str) -> int:
    """0 for emergency, 4 for self_care: smaller is more urgent."""
    return _RANK[level]


def most_urgent(levels: Sequence[str]) -> str:
    """The most urgent of `levels` (self_care when there are none)."""
    return min(levels, key=urgency) if levels else TRIAGE_LEVELS[-1]


@dataclass(frozen=True, slots=True)
class FiredRule:
    """A red-flag rule that holds for a case, with the findings that made it hold."""

    rule: RedFlagRule
    findings: tuple[str, ...]


def fire_red_flags(kb: KnowledgeBase, values: Mapping[str, Value]) -> list[FiredRule]:
    """Every rule that holds, most urgent first (knowledge-base order within a level)."""
    fired = [
        FiredRule(rule, rule.when.met(values)) for rule in kb.red_flags if rule.when.holds(values)
    ]
    fired.sort(key=lambda f: urgency(f.rule.severity))
    return fired


def triage_from_differential(
    kb: KnowledgeBase, probabilities: Sequence[float]
) -> tuple[str, list[int]]:
    """The level the differential implies and the conditions (indices) that imply it."""
    top = max(range(len(probabilities)), key=probabilities.__getitem__)
    implying = [
        i
        for i, condition in enumerate(kb.conditions)
        if i == top or probabilities[i] >= condition.triage_threshold.p
    ]
    return most_urgent([kb.conditions[i].triage for i in implying]), implying


class SafetyRules:
    """The red-flag rules and triage thresholds of one knowledge base, prepared once.

    The same answers as `fire_red_flags` and `triage_from_differential`, sooner: a rule
    that cannot hold because none of the findings it needs is known is not evaluated.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._rules = tuple((rule, _needs(rule.when)) for rule in kb.red_flags)
        self._thresholds = tuple(c.triage_threshold.p for c in kb.conditions)
        self._levels = tuple(c.triage for c in kb.conditions)

    def fire(self, values: Mapping[str, Value]) -> list[FiredRule]:
        """Every rule that holds, most urgent first (knowledge-base order within a level)."""
        fired = [
            FiredRule(rule, rule.when.met(values))
            for rule, needs in self._rules
            if (needs is None or not needs.isdisjoint(values)) and rule.when.holds(values)
        ]
        fired.sort(key=lambda f: urgency(f.rule.severity))
        return fired

    def triage(self, probabilities: Sequence[float]) -> tuple[str, list[int]]:
        """The level the differential implies and the conditions (indices) that imply it."""
        top = max(range(len(probabilities)), key=probabilities.__getitem__)
        implying = [
            i
            for i, threshold in enumerate(self._thresholds)
            if i == top or probabilities[i] >= threshold
        ]
        return most_urgent([self._levels[i] for i in implying]), implying


def _needs(predicate: object) -> frozenset[str] | None:
    """Findings of which at least one must be known for the predicate to hold; None
    when it can hold with nothing known (e.g. "not known to be absent")."""
    if isinstance(predicate, FindingIs | FindingIn | FindingAtLeast):
        return frozenset((predicate.finding,))
    if isinstance(predicate, AllOf):  # every part holds: any one part's needs will do
        needs = [n for n in map(_needs, predicate.parts) if n is not None]
        return min(needs, key=len) if needs else None
    if isinstance(predicate, AnyOf) or (isinstance(predicate, AtLeastOf) and predicate.count >= 1):
        # some part holds: one of them all
        parts = [_needs(p) for p in predicate.parts]
        if not parts or any(n is None for n in parts):
            return None
        return frozenset().union(*(n for n in parts if n is not None))
    return None  # FindingIsNot, or anything else: no shortcut
