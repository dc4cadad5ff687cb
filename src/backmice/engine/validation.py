"""Validate a case against the assessment format and turn it into a `Case`.

Two paths, one contract. `CaseReader.read` first runs a fast check built from the
packaged JSON Schema (types, enums, bounds, unknown keys, cross-field rules). Only
when that check finds anything wrong does it run the full JSON Schema validator to
list *every* problem, each naming the field path, the bad value and what was
expected. A property test holds the fast check to the schema: both accept exactly
the same documents.

The fast check also encodes: given a `Codebook` (the engine builds one from its
tables), each value it accepts is turned into its integer code on the way, so a
batch is checked and encoded in one pass (`CaseReader.scan`). For JSON text,
`decoding.LineDecoder` does the same in compiled code, and leaves every line it does
not accept to this reader.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from backmice.engine.contract import input_schema
from backmice.errors import InvalidCase, Problem
from backmice.knowledge.model import Value

__all__ = [
    "DEFAULT_SETTING",
    "LUMP_DESCRIPTORS",
    "MAX_INTEGER",
    "PAIN_DESCRIPTORS",
    "PAIN_IMPLYING",
    "Case",
    "CaseReader",
    "Codebook",
    "FindingCodes",
    "Rule",
    "rule_of",
]

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

#: The setting of a case that names none (spec section 1).
DEFAULT_SETTING = "primary_care"


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
class FindingCodes:
    """The integer code of each valid value of one finding.

    `states` maps a boolean or enum value to its code; a number's code is that of its
    bin: `bins[i]` for values below `edges[i]` (and not below the edge before), the
    last bin for everything above the last edge.
    """

    index: int  # the finding's position in a case's codes
    states: Mapping[Value, int] = field(default_factory=dict)
    edges: tuple[float, ...] = ()
    bins: tuple[int, ...] = (1,)


@dataclass(frozen=True, slots=True)
class Codebook:
    """Codes for every finding (age and sex included) and every setting."""

    findings: Mapping[str, FindingCodes]
    settings: Mapping[str, int]

    @property
    def width(self) -> int:
        """Codes per case: one per finding, 0 where it is not known."""
        return len(self.findings)


@dataclass(frozen=True, slots=True)
class Rule:
    """What the schema allows for one value: its kind and bounds."""

    kind: str  # boolean, enum, integer, number
    enum: frozenset[str]
    minimum: float | None
    maximum: float | None
    exclusive_minimum: float | None


def rule_of(schema: Mapping[str, Any]) -> Rule:
    """The `Rule` of one property of the input schema."""
    kind = "enum" if "enum" in schema else str(schema.get("type"))
    return Rule(
        kind=kind,
        enum=frozenset(schema.get("enum", ())),
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        exclusive_minimum=schema.get("exclusiveMinimum"),
    )


#: Integers beyond this are refused: no clinical value is that large, and floats
#: (which the model bins numbers as) cannot hold them exactly.
MAX_INTEGER = 2**53


def _number_ok(value: object, rule: Rule) -> bool:
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


def _value_ok(value: object, rule: Rule) -> bool:
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


_BOOLEAN, _ENUM, _NUMBER = 0, 1, 2
_NO_FINDINGS: Mapping[str, Value] = {}
_LUMP_DESCRIPTORS = frozenset(LUMP_DESCRIPTORS)
_PAIN_DESCRIPTORS = frozenset(PAIN_DESCRIPTORS)
_PAIN_IMPLYING = frozenset(PAIN_IMPLYING)
_INT_CODES = np.intc  # the C int of `array("i")`

IntArray = npt.NDArray[np.intc]


def _implied(findings: Mapping[str, Value]) -> tuple[str, ...] | None:
    """The gates that valid findings imply, in order; None when a descriptor is given
    while its gate is false (spec section 1)."""
    implied: tuple[str, ...] = ()
    if not _LUMP_DESCRIPTORS.isdisjoint(findings):
        gate = findings.get("lump_present")
        if gate is False:
            return None
        if gate is None:
            implied = ("lump_present",)
    if not _PAIN_DESCRIPTORS.isdisjoint(findings):
        gate = findings.get("pain_present")
        if gate is False:
            return None
        if gate is None:
            implied = (*implied, "pain_present")
    elif "pain_present" not in findings and not _PAIN_IMPLYING.isdisjoint(findings):
        for finding in PAIN_IMPLYING:
            if findings.get(finding) is True:
                return (*implied, "pain_present")
    return implied


def _spec(rule: Rule, codes: FindingCodes) -> tuple[Any, ...]:
    """One finding's fast check as a flat tuple, cheap to unpack in the hot loop."""
    if rule.kind == "boolean":
        return (_BOOLEAN, codes.index, codes.states[True], codes.states[False])
    if rule.kind == "enum":
        return (_ENUM, codes.index, {v: codes.states[v] for v in rule.enum})
    return (
        _NUMBER,
        codes.index,
        rule,
        codes.edges,
        codes.bins,
        -math.inf if rule.minimum is None else rule.minimum,
        math.inf if rule.maximum is None else rule.maximum,
        -math.inf if rule.exclusive_minimum is None else rule.exclusive_minimum,
        rule.kind == "integer",
    )


def _code(spec: tuple[Any, ...], value: object) -> int:
    """The code of `value`, or -1 when it is not valid for the finding."""
    kind = spec[0]
    if kind == _BOOLEAN:
        return int(spec[2]) if value is True else (int(spec[3]) if value is False else -1)
    if kind == _ENUM:
        code = spec[2].get(value) if isinstance(value, str) else None
        return -1 if code is None else int(code)
    return _number_code(spec, value)


def _number_code(spec: tuple[Any, ...], value: Any) -> int:
    cls = value.__class__
    if cls is int:
        if value > MAX_INTEGER or value < -MAX_INTEGER:
            return -1
    elif cls is float:
        if not math.isfinite(value) or (spec[8] and not value.is_integer()):
            return -1
    elif not _number_ok(value, spec[2]):  # bool, other types, subclasses of int or float
        return -1
    if value < spec[5] or value > spec[6] or value <= spec[7]:
        return -1
    code: int = spec[4][bisect_right(spec[3], value)]
    return code


class CaseReader:
    """Reads cases of the assessment format; build one and reuse it.

    Without a `Codebook` the codes it computes on the way are placeholders; the engine
    gives it one built from its tables (`Engine.reader`).
    """

    def __init__(self, codebook: Codebook | None = None) -> None:
        schema = input_schema()
        self._schema = schema
        self._validator = Draft202012Validator(schema)
        top = schema["properties"]
        self._top_keys = frozenset(top)
        self._settings = frozenset(top["setting"]["enum"])
        self._schema_tag = top["schema"]["const"]
        self._id_max = int(top["id"]["maxLength"])
        self._age = rule_of(top["age"])
        self._sex = rule_of(top["sex"])
        self._rules = {k: rule_of(v) for k, v in top["findings"]["properties"].items()}
        book = codebook if codebook is not None else self._placeholder_codebook(top)
        rules = {"age": self._age, "sex": self._sex, **self._rules}
        if set(book.findings) != set(rules) or set(book.settings) != self._settings:
            raise ValueError(
                "the codebook does not cover the input schema's findings and settings: "
                f"{sorted(set(book.findings) ^ set(rules))}"
            )
        self.codebook = book
        specs = {k: _spec(rule, book.findings[k]) for k, rule in self._rules.items()}
        # the findings by kind, for the hot loop: (index, code of true, code of false),
        # (index, code of each choice), and the full spec of a number
        self._booleans = {k: s[1:] for k, s in specs.items() if s[0] == _BOOLEAN}
        self._enums = {k: s[1:] for k, s in specs.items() if s[0] == _ENUM}
        self._numbers = {k: s for k, s in specs.items() if s[0] == _NUMBER}
        self._age_spec = _spec(self._age, book.findings["age"])
        self._sex_spec = _spec(self._sex, book.findings["sex"])
        self._setting_codes = dict(book.settings)
        self._gate_codes = {
            gate: (book.findings[gate].index, book.findings[gate].states[True])
            for gate in ("lump_present", "pain_present")
        }

    @staticmethod
    def _placeholder_codebook(top: Mapping[str, Any]) -> Codebook:
        specs = {"age": top["age"], "sex": top["sex"], **top["findings"]["properties"]}
        findings: dict[str, FindingCodes] = {}
        for i, (key, spec) in enumerate(specs.items()):
            if "enum" in spec:
                states: dict[Value, int] = {v: j + 1 for j, v in enumerate(spec["enum"])}
            elif spec.get("type") == "boolean":
                states = {True: 1, False: 2}
            else:
                states = {}
            findings[key] = FindingCodes(index=i, states=states)
        settings = {s: i for i, s in enumerate(top["setting"]["enum"])}
        return Codebook(findings=findings, settings=settings)

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
        return self.read_coded(doc)[0]

    def read_coded(self, doc: object) -> tuple[Case, list[int], int]:
        """`read`, plus the case's codes (one per finding, 0 where not known) and its
        setting's code, both from the codebook."""
        codes = [0] * self.codebook.width
        setting = self._scan(doc, codes, 0)
        if setting < 0 or not isinstance(doc, dict):
            raise InvalidCase(self.problems(doc))
        return self._case(doc), codes, setting

    def scan(self, docs: Sequence[object]) -> tuple[IntArray, IntArray]:
        """Check and encode many documents in one pass, without raising.

        Returns their codes, (N, width), and their settings' codes, (N,), which are
        -1 for every document that is not valid: `read` it for its problems (its
        codes are then meaningless).
        """
        width = self.codebook.width
        out = array("i", bytes(array("i").itemsize * width * len(docs)))
        scan = self._scan
        settings = [scan(doc, out, n * width) for n, doc in enumerate(docs)]
        codes = np.frombuffer(out, dtype=_INT_CODES).reshape(len(docs), width)
        return codes, np.array(settings, dtype=_INT_CODES)

    def _scan(self, doc: object, out: list[int] | array[int], base: int) -> int:
        """The fast check. Writes the code of each known finding (implied gates
        included) to out[base + its index] and returns the setting's code; returns -1
        as soon as anything may be wrong, which only the full validator then names."""
        if not isinstance(doc, dict) or not self._top_keys.issuperset(doc):
            return -1
        if "schema" in doc and doc["schema"] != self._schema_tag:
            return -1
        case_id = doc.get("id")
        if case_id is not None:
            if not isinstance(case_id, str) or len(case_id) > self._id_max:
                return -1
        elif "id" in doc:
            return -1
        setting = doc.get("setting", DEFAULT_SETTING)
        if not isinstance(setting, str) or setting not in self._setting_codes:
            return -1
        findings = doc.get("findings", _NO_FINDINGS)
        if not isinstance(findings, dict):
            return -1
        if "age" in doc:
            code = _code(self._age_spec, doc["age"])
            if code < 0:
                return -1
            out[base + self._age_spec[1]] = code
        if "sex" in doc:
            code = _code(self._sex_spec, doc["sex"])
            if code < 0:
                return -1
            out[base + self._sex_spec[1]] = code
        booleans, enums, numbers = self._booleans, self._enums, self._numbers
        for key, value in findings.items():
            if value is True or value is False:
                flag = booleans.get(key)
                if flag is None:  # a boolean where something else belongs, or a typo
                    return -1
                out[base + flag[0]] = flag[1] if value else flag[2]
                continue
            choice = enums.get(key)
            if choice is not None:
                code = choice[1].get(value, -1) if isinstance(value, str) else -1
                index = choice[0]
            else:
                number = numbers.get(key)
                if number is None:  # a boolean finding given something else, or a typo
                    return -1
                code = _number_code(number, value)
                index = number[1]
            if code < 0:
                return -1
            out[base + index] = code
        implied = _implied(findings)
        if implied is None:
            return -1
        for gate in implied:
            index, code = self._gate_codes[gate]
            out[base + index] = code
        return self._setting_codes[setting]

    @staticmethod
    def _case(doc: dict[str, Any]) -> Case:
        """The `Case` of a document that passed the fast check."""
        values: dict[str, Value] = {}
        if "age" in doc:
            values["age"] = doc["age"]
        if "sex" in doc:
            values["sex"] = doc["sex"]
        findings = doc.get("findings", _NO_FINDINGS)
        values.update(findings)
        implied = _implied(findings) or ()
        for gate in implied:
            values[gate] = True
        return Case(
            id=doc.get("id"),
            setting=doc.get("setting", DEFAULT_SETTING),
            values=values,
            implied=frozenset(implied),
        )

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
