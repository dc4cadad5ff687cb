"""The assessment format's validation (spec sections 1 and 4), without the engine."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from backmice.engine.contract import input_schema
from backmice.engine.decoding import LineDecoder
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


# --- the line decoder and the JSON Schema accept exactly the same JSON text ---------


def json_text(value: object, style: str) -> bytes:
    """`value` as JSON text, written one of several ways that a JSON parser must read
    alike: compact, spaced, ASCII-only (escapes), keys with escaped letters, numbers in
    exponent form or with 17 significant digits, whole floats as 40.0 or 4e1."""
    if style == "compact":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    if style == "spaced":
        return json.dumps(value, ensure_ascii=True).encode()

    def write(v: object) -> str:
        if isinstance(v, dict):
            items = (f"{key(k)}: {write(x)}" for k, x in v.items())
            return "{ " + " , ".join(items) + " }"
        if isinstance(v, list):
            return "[" + ",".join(write(x) for x in v) + "]"
        if isinstance(v, float) and style == "long numbers":
            return f"{v:.17e}" if v else "0.0e+0"
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            return f"{int(v)}e0" if style == "exponents" else f"{int(v)}.0"
        return json.dumps(v, ensure_ascii=False)

    def key(k: str) -> str:
        # a key spelt with escapes is the same key
        return '"' + "".join(f"\\u{ord(c):04x}" if c in "aeiou" else c for c in k) + '"'

    return write(value).encode()


TEXT_STYLES = ("compact", "spaced", "escaped keys", "long numbers", "exponents")
decoder = LineDecoder(reader.codebook)


@settings(max_examples=600, deadline=None)
@given(near_valid_cases, st.sampled_from(TEXT_STYLES))
def test_the_line_decoder_agrees_with_the_json_schema(doc: dict[str, Any], style: str) -> None:
    line = json_text(doc, style)
    parsed = orjson.loads(line)
    schema_ok = _schema_validator.is_valid(parsed)
    _, setting_codes = decoder.scan([line])
    assert (setting_codes[0] >= 0) == schema_ok, (line, list(_schema_validator.iter_errors(parsed)))


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"   ",
        b"not json",
        b"[]",
        b"null",
        b'"a case"',
        b'{"age": 40',
        b'{"age": 40}}',
        b'{"age": 40,}',
        b'{"age": NaN}',
        b'{"findings": {"duration_weeks": 1e999}}',
        b'{"findings": null}',
        b'{"id": null}',
        b'{"id": "\\ud800"}',  # a lone surrogate is no text
        b'{"id": "\xff"}',  # nor are bytes that are not UTF-8
        b'\xef\xbb\xbf{"age": 40}',  # a byte-order mark is not JSON
        b'{"findings": {"tender": 1}}',
        b'{"findings": {"lump_present": false, "mobile": true}}',
        b'{"findings": {"pain_present": false, "radiation": "none"}}',
        b'{"findings": {"lump_count": 9007199254740993}}',
        b'{"age": 40.5}',
    ],
)
def test_the_line_decoder_leaves_every_line_it_cannot_accept_to_the_reader(line: bytes) -> None:
    _, setting_codes = decoder.scan([b'{"age": 40}', line, b"{}"])
    assert setting_codes.tolist()[0] >= 0 and setting_codes.tolist()[2] >= 0
    assert setting_codes.tolist()[1] == -1


def test_the_line_decoder_refuses_only_what_the_reader_then_accepts() -> None:
    # the two kinds of valid line it leaves to the reader (see decoding's docstring)
    for line in (
        b'{"findings": {"duration_weeks": 100000000000000000000}}',  # orjson: a float
        b'{"age": 300, "age": 40}',  # orjson keeps the last
    ):
        _, setting_codes = decoder.scan([line])
        assert setting_codes.tolist() == [-1]
        reader.read(orjson.loads(line))  # valid: no InvalidCase
