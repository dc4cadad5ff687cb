"""Strict shapes for the knowledge-base loader: mappings with known keys, probabilities
in (0, 1), plausible ranges, provenance. Every failure names the file and the place."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, cast

from backmice.errors import KnowledgeBaseError
from backmice.knowledge.model import (
    Basis,
    Cell,
    Distribution,
    Finding,
    NextStep,
    Reference,
    Threshold,
)

__all__ = [
    "CELL_KEYS",
    "CELL_OPTIONAL",
    "DISTRIBUTION_OPTIONAL",
    "cell",
    "distribution",
    "list_",
    "mapping",
    "probability",
    "provenance",
    "range_",
    "read_states",
    "step_ids",
    "text",
    "threshold",
    "unique_ids",
]

_SUM_TOLERANCE = 1e-6


def mapping(
    obj: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    required, optional = tuple(required), tuple(optional)
    if not isinstance(obj, dict):
        raise KnowledgeBaseError(f"{where}: expected a mapping, got {type(obj).__name__}")
    allowed = required + optional
    for key in obj:
        if key not in allowed:
            raise KnowledgeBaseError(
                f"{where}: unknown key {key!r}; allowed keys are {', '.join(allowed)}"
            )
    for key in required:
        if key not in obj:
            raise KnowledgeBaseError(f"{where}: missing required key {key!r}")
    return cast(dict[str, Any], obj)


def list_(obj: Any, where: str) -> list[Any]:
    if not isinstance(obj, list):
        raise KnowledgeBaseError(f"{where}: expected a list, got {type(obj).__name__}")
    return obj


def text(obj: Any, where: str) -> str:
    if not isinstance(obj, str) or not obj.strip():
        raise KnowledgeBaseError(f"{where}: expected non-empty text, got {obj!r}")
    return obj.strip()


def unique_ids(items: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise KnowledgeBaseError(f"{where}: id {item!r} appears more than once")
        seen.add(item)


def probability(obj: Any, where: str) -> float:
    if isinstance(obj, bool) or not isinstance(obj, int | float) or not math.isfinite(obj):
        raise KnowledgeBaseError(f"{where}: {obj!r} is not a number")
    value = float(obj)
    if not 0.0 < value < 1.0:
        raise KnowledgeBaseError(f"{where}: {value} is not strictly between 0 and 1")
    return value


def range_(obj: Any, p: float, where: str) -> tuple[float, float]:
    pair = list_(obj, where)
    if len(pair) != 2:
        raise KnowledgeBaseError(f"{where}: expected [low, high], got {obj!r}")
    low, high = probability(pair[0], where), probability(pair[1], where)
    if not low <= p <= high:
        raise KnowledgeBaseError(f"{where}: range [{low}, {high}] does not contain p = {p}")
    return low, high


def provenance(
    raw: dict[str, Any], where: str, references: Mapping[str, Reference]
) -> tuple[Basis, tuple[str, ...], str]:
    basis = raw["basis"]
    if basis not in ("published", "estimate"):
        raise KnowledgeBaseError(f"{where}: basis {basis!r} is not one of published, estimate")
    sources = tuple(text(s, where) for s in list_(raw.get("sources", []) or [], where))
    if basis == "published" and not sources:
        raise KnowledgeBaseError(f"{where}: a published value must name its sources")
    for source in sources:
        if source not in references:
            raise KnowledgeBaseError(f"{where}: source {source!r} is not in references.yaml")
    note = raw.get("note") or ""
    if not isinstance(note, str):
        raise KnowledgeBaseError(f"{where}: note must be text")
    return cast(Basis, basis), sources, note.strip()


CELL_KEYS = ("p", "range", "basis")
CELL_OPTIONAL = ("sources", "note")
DISTRIBUTION_OPTIONAL = (*CELL_OPTIONAL, "read_states")


def cell(obj: Any, where: str, references: Mapping[str, Reference]) -> Cell:
    raw = mapping(obj, where, CELL_KEYS, CELL_OPTIONAL)
    p = probability(raw["p"], f"{where}.p")
    low, high = range_(raw["range"], p, f"{where}.range")
    basis, sources, note = provenance(raw, where, references)
    return Cell(p=p, low=low, high=high, basis=basis, sources=sources, note=note)


def distribution(
    obj: Any, finding: Finding, where: str, references: Mapping[str, Reference]
) -> Distribution:
    raw = mapping(obj, where, CELL_KEYS, DISTRIBUTION_OPTIONAL)
    basis, sources, note = provenance(raw, where, references)
    read = read_states(raw, finding, basis, where)
    if finding.type == "boolean":
        p = probability(raw["p"], f"{where}.p")
        low, high = range_(raw["range"], p, f"{where}.range")
        return Distribution(
            states=("true", "false"),
            p=(p, 1.0 - p),
            low=(low, 1.0 - high),
            high=(high, 1.0 - low),
            basis=basis,
            sources=sources,
            note=note,
            state_basis=(basis, basis),
        )
    probs = mapping(raw["p"], f"{where}.p", finding.states)
    ranges = mapping(raw["range"], f"{where}.range", finding.states)
    ps = tuple(probability(probs[s], f"{where}.p.{s}") for s in finding.states)
    if abs(sum(ps) - 1.0) > _SUM_TOLERANCE:
        raise KnowledgeBaseError(f"{where}.p: the states sum to {sum(ps):.6f}, expected 1")
    bounds = [
        range_(ranges[s], p, f"{where}.range.{s}") for s, p in zip(finding.states, ps, strict=True)
    ]
    return Distribution(
        states=finding.states,
        p=ps,
        low=tuple(b[0] for b in bounds),
        high=tuple(b[1] for b in bounds),
        basis=basis,
        sources=sources,
        note=note,
        state_basis=tuple("published" if s in read else "estimate" for s in finding.states),
    )


def read_states(raw: dict[str, Any], finding: Finding, basis: str, where: str) -> frozenset[str]:
    """The states whose probability was read from a source (all, for a published cell
    without `read_states`; none for an estimate)."""
    if "read_states" not in raw:
        return frozenset(finding.states) if basis == "published" else frozenset()
    if basis != "published" or finding.type == "boolean":
        raise KnowledgeBaseError(
            f"{where}.read_states: only a published cell of a multi-state finding has read states"
        )
    states = [text(s, f"{where}.read_states") for s in list_(raw["read_states"], where)]
    for state in states:
        if state not in finding.states:
            raise KnowledgeBaseError(
                f"{where}.read_states: {state!r} is not one of {', '.join(finding.states)}"
            )
    if not states:
        raise KnowledgeBaseError(f"{where}.read_states: name at least one state")
    return frozenset(states)


# --- the files ------------------------------------------------------------------------


def threshold(obj: Any, where: str, references: Mapping[str, Reference]) -> Threshold:
    raw = mapping(obj, where, ("value", "range", "basis"), CELL_OPTIONAL)
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise KnowledgeBaseError(f"{where}.value: {value!r} is not a number")
    pair = list_(raw["range"], f"{where}.range")
    if len(pair) != 2 or not all(isinstance(x, int | float) for x in pair):
        raise KnowledgeBaseError(f"{where}.range: expected [low, high], got {pair!r}")
    low, high = float(pair[0]), float(pair[1])
    if not low <= value <= high:
        raise KnowledgeBaseError(f"{where}.range: [{low}, {high}] does not contain {value}")
    basis, sources, note = provenance(raw, where, references)
    return Threshold(float(value), low, high, basis, sources, note)


def step_ids(obj: Any, where: str, next_steps: Mapping[str, NextStep]) -> tuple[str, ...]:
    ids = tuple(text(s, where) for s in list_(obj, where))
    if not ids:
        raise KnowledgeBaseError(f"{where}: needs at least one next step")
    for step in ids:
        if step not in next_steps:
            raise KnowledgeBaseError(f"{where}: next step {step!r} is not in next_steps.yaml")
    return ids
