"""Synthetic cases drawn from the model itself, for tests and benchmarks.

Ancestral sampling: a condition from the setting's prior, then each finding's state
from P(state | condition), then a random subset of findings kept as "known", and
each state turned into a raw value of the assessment format (a number inside its
bin). The cases obey the format's cross-field rules, so every one is valid.
These are not patients and must never be presented as clinical data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backmice.engine.contract import CASE_SCHEMA_TAG, input_schema
from backmice.engine.validation import LUMP_DESCRIPTORS, PAIN_DESCRIPTORS
from backmice.knowledge.model import SETTINGS, Finding, KnowledgeBase, Value

__all__ = ["generate_cases"]


def _bounds(finding: Finding) -> list[tuple[float, float]]:
    """(low, high) of each bin, closing the last bin with the schema's maximum."""
    schema = input_schema()["properties"]
    spec = (
        schema[finding.id]
        if finding.where == "case"
        else schema["findings"]["properties"][finding.id]
    )
    low = float(spec.get("minimum", spec.get("exclusiveMinimum", 0.0)))
    out = []
    for b in finding.bins:
        high = b.below if b.below is not None else float(spec.get("maximum", max(low * 3, 100.0)))
        out.append((low, high))
        low = high
    return out


def _raw(finding: Finding, state: int, rng: np.random.Generator) -> Value:
    if finding.type == "boolean":
        return state == 0
    if finding.type == "enum":
        return finding.states[state]
    low, high = _bounds(finding)[state]
    bounded = finding.bins[state].below is not None  # the bin excludes its upper bound
    if finding.type == "integer":
        top = int(np.ceil(high)) - 1 if bounded else int(high)
        return int(rng.integers(int(np.ceil(low)), top + 1))
    value = round(float(rng.uniform(low, high)), 1)
    if value <= max(low, 0.0) or (bounded and value >= high):
        value = (low + high) / 2  # rounding left the bin; its midpoint is inside
    return value


def generate_cases(
    kb: KnowledgeBase,
    n: int,
    seed: int = 0,
    known_fraction: tuple[float, float] = (0.15, 0.6),
    setting: str | None = None,
) -> list[dict[str, Any]]:
    """`n` valid cases with their true (sampled) condition under the key `_condition`.

    Remove `_condition` before passing a case to the engine (`pop` it); it is kept
    so that tests and benchmarks can score themselves.
    """
    rng = np.random.default_rng(seed)
    priors = {s: np.array([cell.p for cell in kb.priors[s]]) for s in SETTINGS}
    cases: list[dict[str, Any]] = []
    for i in range(n):
        where = setting or SETTINGS[int(rng.integers(len(SETTINGS)))]
        c = int(rng.choice(len(kb.conditions), p=priors[where]))
        keep = rng.uniform(*known_fraction)
        values: dict[str, Value] = {}
        for finding in kb.findings:
            dist = kb.likelihoods[finding.id][c]
            state = int(rng.choice(len(dist.p), p=np.array(dist.p) / sum(dist.p)))
            if rng.uniform() < keep:
                values[finding.id] = _raw(finding, state, rng)
        for gate, descriptors in (
            ("lump_present", LUMP_DESCRIPTORS),
            ("pain_present", PAIN_DESCRIPTORS),
        ):
            if values.get(gate) is False:
                for d in descriptors:
                    values.pop(d, None)
        case: dict[str, Any] = {
            "schema": CASE_SCHEMA_TAG,
            "id": f"synthetic-{seed}-{i}",
            "setting": where,
            "findings": {k: v for k, v in values.items() if k not in ("age", "sex")},
            "_condition": kb.conditions[c].id,
        }
        for key in ("age", "sex"):
            if key in values:
                case[key] = values[key]
        cases.append(case)
    return cases
