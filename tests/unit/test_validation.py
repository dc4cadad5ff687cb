"""The assessment format's validation (spec sections 1 and 4), without the engine."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from backmice.engine.contract import input_schema
from backmice.engine.validation import LUMP_DESCRIPTORS, PAIN_DESCRIPTORS, CaseReader
from backmice.errors import InvalidCase
from tests.conftest import SPEC_EXAMPLE

reader = CaseReader()


def problems_of(doc: object) -> list[str]:
    with pytest.raises(InvalidCase) as caught:
        reader.read(doc)
    return [str(p) for p in caught.value.problems]


def with_findings(**findings: object) -> dict[str, Any]:
    return {"findings": findings}


def test_the_spec_example_is_a_valid_case() -> None:
    case = reader.read(copy.deepcopy(SPEC_EXAMPLE))
    assert case.setting == "primary_care"
    assert case.values["size_cm"] == 2.0
    assert case.values["age"] == 52


def test_an_empty_case_is_valid_and_defaults_to_primary_care() -> None:
    case = reader.read({})
    assert case.setting == "primary_care"
    assert dict(case.values) == {}


def test_a_negative_size_names_field_value_and_bound() -> None:
    assert problems_of(with_findings(size_cm=-3)) == ["findings.size_cm: -3 is not > 0"]


def test_an_unknown_consistency_lists_the_choices() -> None:
    assert problems_of(with_findings(consistency="squishy")) == [
        "findings.consistency: 'squishy' is not one of soft, rubbery, firm, hard, fluctuant"
    ]


def test_a_typo_in_a_finding_is_an_error_not_ignored() -> None:
    [message] = problems_of(with_findings(tendr=True))
    assert message.startswith("findings.tendr: unknown key; expected one of ")
    assert "tender" in message


def test_an_unknown_top_level_key_is_an_error() -> None:
    [message] = problems_of({"patient_name": "x"})
    assert message.startswith("patient_name: unknown key; expected one of ")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"schema": "backmice.assessment/2"},
            "schema: 'backmice.assessment/2' is not 'backmice.assessment/1'",
        ),
        (
            {"setting": "hospital"},
            "setting: 'hospital' is not one of primary_care, pain_clinic, self_check",
        ),
        ({"age": 121}, "age: 121 is not <= 120"),
        ({"age": -1}, "age: -1 is not >= 0"),
        ({"age": 40.5}, "age: 40.5 is not a whole number"),
        ({"age": "40"}, "age: '40' is not a whole number"),
        ({"sex": "f"}, "sex: 'f' is not one of female, male, other"),
        ({"id": 17}, "id: 17 is not text"),
        ({"id": "x" * 129}, "is longer than 128 characters"),
        ({"findings": []}, "findings: a list is not an object"),
        (with_findings(tender="yes"), "findings.tender: 'yes' is not true or false"),
        (with_findings(tender=1), "findings.tender: 1 is not true or false"),
        (with_findings(lump_count=0), "findings.lump_count: 0 is not >= 1"),
        (with_findings(lump_count=1.5), "findings.lump_count: 1.5 is not a whole number"),
        (with_findings(size_cm=51), "findings.size_cm: 51 is not <= 50"),
        (with_findings(size_cm=0), "findings.size_cm: 0 is not > 0"),
        (
            with_findings(sij_provocation_positive=7),
            "findings.sij_provocation_positive: 7 is not <= 6",
        ),
        (with_findings(duration_weeks=-1), "findings.duration_weeks: -1 is not >= 0"),
        (with_findings(bmi=9), "findings.bmi: 9 is not >= 10"),
        (with_findings(bmi=91), "findings.bmi: 91 is not <= 90"),
        (
            with_findings(injection_relief_percent=101),
            "findings.injection_relief_percent: 101 is not <= 100",
        ),
        (
            with_findings(radiation="foot"),
            "findings.radiation: 'foot' is not one of none, buttock_thigh, below_knee",
        ),
        (with_findings(location="neck"), "findings.location: 'neck' is not one of"),
        (with_findings(ultrasound="mri"), "findings.ultrasound: 'mri' is not one of"),
        (with_findings(pain_character="dull"), "findings.pain_character: 'dull' is not one of"),
        (with_findings(size_cm=True), "findings.size_cm: true is not a number"),
        (with_findings(size_cm=math.nan), "findings.size_cm: nan is not a finite number"),
        ("not an object", "'not an object' is not an object"),
    ],
)
def test_each_invalid_value_gets_a_message_naming_it(doc: object, expected: str) -> None:
    messages = problems_of(doc)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("descriptor", LUMP_DESCRIPTORS)
def test_a_lump_descriptor_without_a_lump_names_both_fields(descriptor: str) -> None:
    value: object = {"lump_count": 2, "size_cm": 2.0, "consistency": "soft"}.get(descriptor, True)
    [message] = problems_of(with_findings(lump_present=False, **{descriptor: value}))
    assert message.startswith(f"findings.{descriptor}: ")
    assert "findings.lump_present is false" in message


@pytest.mark.parametrize("descriptor", PAIN_DESCRIPTORS)
def test_a_pain_descriptor_without_pain_names_both_fields(descriptor: str) -> None:
    value = {"pain_character": "sharp", "radiation": "none"}[descriptor]
    [message] = problems_of(with_findings(pain_present=False, **{descriptor: value}))
    assert message.startswith(f"findings.{descriptor}: ")
    assert "findings.pain_present is false" in message


def test_every_problem_is_reported_not_just_the_first() -> None:
    messages = problems_of({"age": 200, "sex": "x", "findings": {"size_cm": -1, "tendr": True}})
    assert len(messages) == 4


def test_a_lump_descriptor_with_lump_unknown_implies_a_lump() -> None:
    case = reader.read(with_findings(size_cm=2.5))
    assert case.values["lump_present"] is True
    assert case.implied == frozenset({"lump_present"})


def test_whole_floats_count_as_integers_as_in_json_schema() -> None:
    assert reader.read({"age": 40.0}).values["age"] == 40.0


# --- the fast check and the JSON Schema accept exactly the same documents ---------

_schema_validator = Draft202012Validator(input_schema())
_finding_props: dict[str, Any] = input_schema()["properties"]["findings"]["properties"]

_odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=200),
    st.floats(min_value=-5, max_value=200, allow_nan=False),
    st.sampled_from(["", "soft", "rubbery", "none", "below_knee", "sacroiliac", "x", "true"]),
)


def _value_for(name: str) -> st.SearchStrategy[object]:
    spec = _finding_props[name]
    if "enum" in spec:
        good: st.SearchStrategy[object] = st.sampled_from(spec["enum"])
    elif spec["type"] == "boolean":
        good = st.booleans()
    elif spec["type"] == "integer":
        good = st.integers(min_value=-1, max_value=int(spec.get("maximum", 10)) + 1)
    else:
        good = st.floats(
            min_value=-1, max_value=float(spec.get("maximum", 100)) + 1, allow_nan=False
        )
    return st.one_of(good, good, good, _odd_values)


near_valid_findings = st.fixed_dictionaries(
    {}, optional={**{k: _value_for(k) for k in _finding_props}, "unknown_key": st.booleans()}
)

near_valid_cases = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.sampled_from(["backmice.assessment/1", "backmice.assessment/1", "v2"]),
        "id": st.one_of(st.text(max_size=5), st.integers()),
        "setting": st.sampled_from(["primary_care", "pain_clinic", "self_check", "clinic"]),
        "age": st.one_of(
            st.integers(min_value=-2, max_value=125), st.floats(0, 130), st.text(max_size=2)
        ),
        "sex": st.sampled_from(["female", "male", "other", "F"]),
        "findings": near_valid_findings,
        "extra": st.booleans(),
    },
)


@settings(max_examples=600, deadline=None)
@given(near_valid_cases)
def test_the_fast_check_agrees_with_the_json_schema(doc: dict[str, Any]) -> None:
    schema_ok = _schema_validator.is_valid(doc)
    try:
        reader.read(doc)
        fast_ok = True
    except InvalidCase:
        fast_ok = False
    assert fast_ok == schema_ok, _schema_validator.iter_errors(doc)
