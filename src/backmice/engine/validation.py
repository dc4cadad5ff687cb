"""Validate a case against the assessment format and turn it into a `Case`.

Two paths, one contract. `CaseReader.read` first runs a fast check built from the
packaged JSON Schema (types, enums, bounds, unknown keys, cross-field rules). Only
when that check finds anything wrong does it run the full JSON Schema validator to
list *every* problem, each naming the field path, the bad value and what was
expected. A property test holds the fast check to the schema: both accept exactly
the same documents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from backmice.engine.contract import input_schema
from backmice.errors import InvalidCase, Problem
from backmice.knowledge.model import Value

__all__ = ["LUMP_DESCRIPTORS", "PAIN_DESCRIPTORS", "Case", "CaseReader"]

#: Findings that describe a lump: an error while lump_present is false (spec section 1).
LUMP_DESCRIPTORS = (
    "lump_count",
    "size_cm",
    "consistency",
    "mobile",
    "deep_to_fascia",
    "growing",
    "reducible",
    "lump_bilateral",
)
#: Findings that describe a pain: an error while pain_present is false.
PAIN_DESCRIPTORS = ("pain_character", "radiation")
#: Findings that, when true, mean the person has pain (not errors beside pain_present:
#: false, which the format allows, but they imply pain when pain_present is not given).
PAIN_IMPLYING = ("night_pain", "pain_worse_with_pressure")

_DEFAULT_SETTING = "primary_care"


@dataclass(frozen=True, slots=True)
class Case:
    """A valid case: known values by finding id (age and sex included).

    `implied` names findings the case did not state but its other findings imply:
    a lump descriptor implies `lump_present`, a pain descriptor implies `pain_present`.
    """

    id: str | None
    setting: str
    values: Mapping[str, Value]
    implied: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str  # boolean, enum, integer, number
    enum: frozenset[str]
    minimum: float | None
    maximum: float | None
    exclusive_minimum: float | None


def _rule(schema: Mapping[str, Any]) -> _Rule:
    kind = "enum" if "enum" in schema else str(schema.get("type"))
    return _Rule(
        kind=kind,
        enum=frozenset(schema.get("enum", ())),
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        exclusive_minimum=schema.get("exclusiveMinimum"),
    )


#: Integers beyond this are refused: no clinical value is that large, and floats
#: (which the model bins numbers as) cannot hold them exactly.
MAX_INTEGER = 2**53


def _number_ok(value: object, rule: _Rule) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int) and abs(value) > MAX_INTEGER:
        return False
    if isinstance(value, float):
        if not math.isfinite(value):
            return False
        if rule.kind == "integer" and not value.is_integer():
            return False
    if rule.minimum is not None and value < rule.minimum:
        return False
    if rule.maximum is not None and value > rule.maximum:
        return False
    return rule.exclusive_minimum is None or value > rule.exclusive_minimum


def _value_ok(value: object, rule: _Rule) -> bool:
    if rule.kind == "boolean":
        return isinstance(value, bool)
    if rule.kind == "enum":
        return isinstance(value, str) and value in rule.enum
    return _number_ok(value, rule)


def _show(value: object) -> str:
    """A bad value as it appears in a message: short, JSON-like, strings quoted."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class CaseReader:
    """Reads cases of the assessment format; build one and reuse it."""

    def __init__(self) -> None:
        schema = input_schema()
        self._schema = schema
        self._validator = Draft202012Validator(schema)
        top = schema["properties"]
        self._top_keys = frozenset(top)
        self._settings = frozenset(top["setting"]["enum"])
        self._schema_tag = top["schema"]["const"]
        self._id_max = int(top["id"]["maxLength"])
        self._age = _rule(top["age"])
        self._sex = _rule(top["sex"])
        self._rules = {k: _rule(v) for k, v in top["findings"]["properties"].items()}

    @property
    def finding_ids(self) -> frozenset[str]:
        """The keys a case's `findings` object may hold."""
        return frozenset(self._rules)

    def read(self, doc: object) -> Case:
        """Validate `doc` and return it as a `Case`.

        Raises
        ------
        InvalidCase
            With one `Problem` per fault, naming field, value and expectation.
        """
        case = self._fast(doc)
        if case is None:
            raise InvalidCase(self.problems(doc))
        return case

    def _fast(self, doc: object) -> Case | None:
        if not isinstance(doc, dict) or not self._top_keys.issuperset(doc):
            return None
        if "schema" in doc and doc["schema"] != self._schema_tag:
            return None
        case_id = doc.get("id")
        if case_id is not None and (not isinstance(case_id, str) or len(case_id) > self._id_max):
            return None
        if "id" in doc and case_id is None:
            return None
        setting = doc.get("setting", _DEFAULT_SETTING)
        if not isinstance(setting, str) or setting not in self._settings:
            return None
        values: dict[str, Value] = {}
        if "age" in doc:
            if not _number_ok(doc["age"], self._age):
                return None
            values["age"] = doc["age"]
        if "sex" in doc:
            if not _value_ok(doc["sex"], self._sex):
                return None
            values["sex"] = doc["sex"]
        findings = doc.get("findings", {})
        if not isinstance(findings, dict):
            return None
        rules = self._rules
        for key, value in findings.items():
            rule = rules.get(key)
            if rule is None or not _value_ok(value, rule):
                return None
            values[key] = value
        implied: list[str] = []
        for gate, descriptors in (
            ("lump_present", LUMP_DESCRIPTORS),
            ("pain_present", PAIN_DESCRIPTORS),
        ):
            if any(d in findings for d in descriptors):
                if findings.get(gate) is False:
                    return None
                if gate not in findings:
                    values[gate] = True
                    implied.append(gate)
        if "pain_present" not in values and any(findings.get(f) is True for f in PAIN_IMPLYING):
            values["pain_present"] = True
            implied.append("pain_present")
        return Case(id=case_id, setting=setting, values=values, implied=frozenset(implied))

    def problems(self, doc: object) -> list[Problem]:
        """Every problem with `doc`, sorted by field; empty when it is valid."""
        found: list[Problem] = []
        for error in self._validator.iter_errors(doc):
            found.extend(self._describe(error))
        found.extend(self._cross_field(doc))
        found.extend(self._non_finite(doc))
        if not found:
            found.extend(self._not_plain_json(doc))
        unique = {(p.field, p.message): p for p in found}
        return sorted(unique.values(), key=lambda p: (p.field, p.message))

    def _describe(self, error: ValidationError) -> list[Problem]:
        if "then" in error.schema_path:
            return []  # cross-field rules get their own, clearer message
        path = ".".join(str(p) for p in error.absolute_path) or "case"
        value: Any = error.instance
        kind = error.validator
        limit: Any = error.validator_value
        schema: Any = error.schema
        if kind == "additionalProperties":
            allowed = sorted(schema.get("properties", {}))
            prefix = "" if path == "case" else f"{path}."
            return [
                Problem(f"{prefix}{key}", f"unknown key; expected one of {', '.join(allowed)}")
                for key in sorted(set(value) - set(allowed))
            ]
        if kind == "type":
            expected = {
                "object": "an object",
                "boolean": "true or false",
                "string": "text",
                "integer": "a whole number",
                "number": "a number",
            }.get(str(limit), str(limit))
            return [Problem(path, f"{_show(value)} is not {expected}")]
        if kind == "enum":
            return [Problem(path, f"{_show(value)} is not one of {', '.join(map(str, limit))}")]
        if kind == "const":
            return [Problem(path, f"{_show(value)} is not '{limit}'")]
        if kind == "minimum":
            return [Problem(path, f"{_show(value)} is not >= {limit}")]
        if kind == "maximum":
            return [Problem(path, f"{_show(value)} is not <= {limit}")]
        if kind == "exclusiveMinimum":
            return [Problem(path, f"{_show(value)} is not > {limit}")]
        if kind == "maxLength":
            return [Problem(path, f"{_show(value)} is longer than {limit} characters")]
        return [Problem(path, f"{_show(value)} is not valid: {error.message}")]  # pragma: no cover

    @staticmethod
    def _cross_field(doc: object) -> list[Problem]:
        if not isinstance(doc, dict) or not isinstance(doc.get("findings"), dict):
            return []
        findings = doc["findings"]
        out: list[Problem] = []
        for gate, descriptors, noun in (
            ("lump_present", LUMP_DESCRIPTORS, "a lump"),
            ("pain_present", PAIN_DESCRIPTORS, "a pain"),
        ):
            if findings.get(gate) is False:
                out.extend(
                    Problem(
                        f"findings.{d}",
                        f"{_show(findings[d])} given while findings.{gate} is false; "
                        f"{d} describes {noun}, so remove it or set {gate} to true",
                    )
                    for d in descriptors
                    if d in findings
                )
        return out

    @staticmethod
    def _not_plain_json(doc: object) -> list[Problem]:
        """What the JSON Schema lets through but a case cannot hold: huge integers and
        values of Python types that JSON has no form for (Decimal, numpy numbers)."""
        if not isinstance(doc, dict):
            return [Problem("case", f"{type(doc).__name__} is not a JSON object")]
        items = [(k, v) for k, v in doc.items() if k != "findings"]
        if isinstance(doc.get("findings"), dict):
            items += [(f"findings.{k}", v) for k, v in doc["findings"].items()]
        out: list[Problem] = []
        for key, value in items:
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
                out.append(Problem(key, f"is too large (more than {MAX_INTEGER})"))
            elif not isinstance(value, bool | int | float | str | type(None)):
                out.append(Problem(key, f"a {type(value).__name__} is not a plain JSON value"))
        return out or [Problem("case", "is not a valid case")]

    @staticmethod
    def _non_finite(doc: object) -> list[Problem]:
        # JSON has no NaN or Infinity, but Python callers can pass them.
        if not isinstance(doc, dict):
            return []
        out: list[Problem] = []
        items = list(doc.items())
        if isinstance(doc.get("findings"), dict):
            items += [(f"findings.{k}", v) for k, v in doc["findings"].items()]
        for key, value in items:
            if isinstance(value, float) and not math.isfinite(value):
                out.append(Problem(key, f"{value!r} is not a finite number"))
        return out
