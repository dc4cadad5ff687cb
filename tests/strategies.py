"""Hypothesis strategies for valid cases of the assessment format."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from backmice.engine.contract import input_schema
from backmice.engine.validation import LUMP_DESCRIPTORS, PAIN_DESCRIPTORS

_schema = input_schema()
_props: dict[str, Any] = _schema["properties"]["findings"]["properties"]


def value_strategy(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid values for one property of the input schema."""
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    if spec["type"] == "boolean":
        return st.booleans()
    if spec["type"] == "integer":
        return st.integers(int(spec.get("minimum", 0)), int(spec.get("maximum", 30)))
    low = float(spec.get("minimum", spec.get("exclusiveMinimum", 0)))
    high = float(spec.get("maximum", 200))
    return st.floats(low, high, allow_nan=False, exclude_min="exclusiveMinimum" in spec)


def _coherent(findings: dict[str, Any]) -> dict[str, Any]:
    for gate, descriptors in (
        ("lump_present", LUMP_DESCRIPTORS),
        ("pain_present", PAIN_DESCRIPTORS),
    ):
        if findings.get(gate) is False:
            for d in descriptors:
                findings.pop(d, None)
    return findings


findings_strategy = st.fixed_dictionaries(
    {}, optional={k: value_strategy(v) for k, v in _props.items()}
).map(_coherent)

cases = st.fixed_dictionaries(
    {"findings": findings_strategy},
    optional={
        "setting": st.sampled_from(["primary_care", "pain_clinic", "self_check"]),
        "age": value_strategy(_schema["properties"]["age"]),
        "sex": st.sampled_from(["female", "male", "other"]),
    },
)
