"""Parsing red-flag rules: the small predicate language of docs/knowledge-format.md."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from backmice.errors import KnowledgeBaseError
from backmice.knowledge.model import (
    TRIAGE_LEVELS,
    AllOf,
    AnyOf,
    AtLeastOf,
    Finding,
    FindingAtLeast,
    FindingIn,
    FindingIs,
    FindingIsNot,
    NextStep,
    Predicate,
    RedFlagRule,
    Reference,
    Value,
)
from backmice.knowledge.shapes import list_, mapping, step_ids, text, unique_ids

__all__ = ["red_flags"]


def red_flags(
    doc: Any,
    findings: tuple[Finding, ...],
    references: Mapping[str, Reference],
    next_steps: Mapping[str, NextStep],
) -> tuple[RedFlagRule, ...]:
    items = list_(mapping(doc, "red_flags.yaml", ("red_flags",))["red_flags"], "red_flags")
    by_id = {f.id: f for f in findings}
    out: list[RedFlagRule] = []
    for i, obj in enumerate(items):
        where = f"red_flags.yaml: red_flags[{i}]"
        raw = mapping(obj, where, ("id", "severity", "message", "when", "sources", "next_steps"))
        rid = text(raw["id"], where)
        where = f"red_flags.yaml: {rid}"
        if raw["severity"] not in TRIAGE_LEVELS:
            raise KnowledgeBaseError(
                f"{where}.severity: {raw['severity']!r} is not one of {', '.join(TRIAGE_LEVELS)}"
            )
        sources = tuple(text(s, where) for s in list_(raw["sources"], f"{where}.sources"))
        if not sources:
            raise KnowledgeBaseError(f"{where}.sources: a red-flag rule must name its guideline")
        for source in sources:
            if source not in references:
                raise KnowledgeBaseError(f"{where}.sources: {source!r} is not in references.yaml")
        out.append(
            RedFlagRule(
                id=rid,
                severity=raw["severity"],
                message=text(raw["message"], where),
                when=_predicate(raw["when"], f"{where}.when", by_id),
                sources=sources,
                next_steps=step_ids(raw["next_steps"], f"{where}.next_steps", next_steps),
            )
        )
    unique_ids((r.id for r in out), "red_flags.yaml")
    return tuple(out)


def _predicate(obj: Any, where: str, findings: Mapping[str, Finding]) -> Predicate:
    if not isinstance(obj, dict):
        raise KnowledgeBaseError(f"{where}: expected a mapping, got {obj!r}")
    if "finding" in obj:
        raw = mapping(obj, where, ("finding",), ("is", "is_not", "in", "at_least"))
        fid = raw["finding"]
        if fid not in findings:
            raise KnowledgeBaseError(f"{where}: finding {fid!r} is not in findings.yaml")
        finding = findings[fid]
        tests = [k for k in ("is", "is_not", "in", "at_least") if k in raw]
        if len(tests) != 1:
            raise KnowledgeBaseError(f"{where}: give exactly one of is, is_not, in, at_least")
        if tests[0] == "at_least":
            if finding.type not in ("number", "integer"):
                raise KnowledgeBaseError(f"{where}: at_least needs a numeric finding, {fid} is not")
            threshold = raw["at_least"]
            if (
                isinstance(threshold, bool)
                or not isinstance(threshold, int | float)
                or not math.isfinite(threshold)
            ):
                raise KnowledgeBaseError(f"{where}: at_least must be a finite number")
            return FindingAtLeast(fid, float(threshold))
        values = [raw[tests[0]]] if tests[0] in ("is", "is_not") else list_(raw["in"], where)
        for value in values:
            _check_value(finding, value, where)
        if tests[0] == "is":
            return FindingIs(fid, cast(Value, values[0]))
        if tests[0] == "is_not":
            return FindingIsNot(fid, cast(Value, values[0]))
        return FindingIn(fid, tuple(cast(Value, v) for v in values))
    if "all" in obj or "any" in obj:
        key = "all" if "all" in obj else "any"
        raw = mapping(obj, where, (key,))
        parts = tuple(
            _predicate(p, f"{where}.{key}[{i}]", findings)
            for i, p in enumerate(list_(raw[key], where))
        )
        if not parts:
            raise KnowledgeBaseError(f"{where}.{key}: needs at least one condition")
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if "at_least" in obj:
        raw = mapping(obj, where, ("at_least", "of"))
        parts = tuple(
            _predicate(p, f"{where}.of[{i}]", findings)
            for i, p in enumerate(list_(raw["of"], where))
        )
        count = raw["at_least"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(parts):
            raise KnowledgeBaseError(
                f"{where}.at_least: {count!r} is not between 1 and {len(parts)}"
            )
        return AtLeastOf(count, parts)
    raise KnowledgeBaseError(
        f"{where}: a condition needs one of the keys finding, all, any, at_least; got {sorted(obj)}"
    )


def _check_value(finding: Finding, value: Any, where: str) -> None:
    if finding.type == "boolean":
        if not isinstance(value, bool):
            raise KnowledgeBaseError(f"{where}: {finding.id} is boolean; {value!r} is not")
    elif finding.type == "enum":
        if value not in finding.states:
            raise KnowledgeBaseError(
                f"{where}: {value!r} is not one of {', '.join(finding.states)} ({finding.id})"
            )
    else:
        raise KnowledgeBaseError(f"{where}: use at_least for the numeric finding {finding.id}")
