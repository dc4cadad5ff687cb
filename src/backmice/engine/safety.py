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

from backmice.knowledge.model import TRIAGE_LEVELS, KnowledgeBase, RedFlagRule, Value

__all__ = ["FiredRule", "fire_red_flags", "most_urgent", "triage_from_differential", "urgency"]

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
