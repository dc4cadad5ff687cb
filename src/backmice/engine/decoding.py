"""Check and encode JSON lines of the assessment format in compiled code.

`LineDecoder.scan` is `CaseReader.scan` for JSON text. msgspec decodes each line into
typed Structs built from the packaged JSON Schema, checking types, choices, bounds
and unknown keys as it reads, in C; the values are then turned into codes a column at
a time for the whole batch, and the cross-field rules are checked on the codes. Per
case that is about a third of parsing with orjson and checking the dicts in Python.

The decoder never decides alone that a line is wrong: it marks every line it does not
accept, for the caller to read the ordinary way (`CaseReader`), which accepts it or
lists every problem. It accepts exactly what `CaseReader` accepts (a property test
holds it to that and to the same codes) but for two kinds of line it refuses though
they are valid: an integer of twenty digits or more, which orjson reads as a float,
and a key given twice whose first value was bad (orjson keeps the last).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, cycle
from operator import attrgetter, getitem, itemgetter
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt
import orjson

from backmice.engine.contract import input_schema
from backmice.engine.validation import (
    DEFAULT_SETTING,
    LUMP_DESCRIPTORS,
    MAX_INTEGER,
    PAIN_DESCRIPTORS,
    PAIN_IMPLYING,
    Codebook,
    FindingCodes,
    Rule,
    rule_of,
)
from backmice.errors import InvalidCase, Problem

__all__ = ["LineDecoder", "parse_line"]

IntArray = npt.NDArray[np.intc]
FloatArray = npt.NDArray[np.float64]

#: What a Struct holds for a value the line did not give. JSON cannot spell any of
#: them for the field's type: the decoder refuses null, and JSON has no NaN.
_NO_BOOLEAN = 2  # next to False (0) and True (1), so a row of booleans is bytes
_NO_CHOICE = None
_NO_NUMBER = math.nan
#: What decoding a line that is not accepted raises (older msgspec releases raise a
#: UnicodeDecodeError, a ValueError, for bytes that are not UTF-8)
_REFUSED = (msgspec.MsgspecError, ValueError)


def parse_line(line: bytes) -> object:
    """One JSON document, the ordinary way; a syntax error is the case's problem."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if not line.strip():
            raise InvalidCase([Problem("case", "is empty; expected a JSON object")]) from None
        raise InvalidCase(
            [Problem("case", f"is not valid JSON ({exc.msg} at column {exc.colno})")]
        ) from None


class _NumberCodes(NamedTuple):
    """How one number is coded: its column, its bins' edges and codes (see
    `FindingCodes`), and whether it must be whole."""

    column: int
    edges: FloatArray
    codes: IntArray
    whole: bool

    @classmethod
    def of(cls, codes: FindingCodes, rule: Rule) -> _NumberCodes:
        return cls(
            codes.index,
            np.array(codes.edges, dtype=np.float64),
            np.array(codes.bins, dtype=np.intc),
            rule.kind == "integer",
        )

    def code_into(self, out: IntArray, values: FloatArray) -> npt.NDArray[np.bool_]:
        """Writes the codes of `values` (NaN: not given) to this number's column of `out`;
        returns where a value that must be whole is not."""
        known = ~np.isnan(values)
        given = values[known]
        out[known, self.column] = self.codes[np.searchsorted(self.edges, given, side="right")]
        broken = np.zeros(len(values), dtype=bool)
        if self.whole:
            broken[known] = np.floor(given) != given
        return broken


def _fields(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A getter of these fields of a Struct, as a tuple however many they are."""
    if len(names) > 1:
        return attrgetter(*names)
    return lambda struct: tuple(getattr(struct, name) for name in names)


def _with_none(states: Mapping[Any, int]) -> dict[object, int]:
    """A choice's codes, and 0 for not given."""
    return {**states, _NO_CHOICE: 0}


def _choices(rule: Rule) -> Any:
    """The Literal type of an enum's values (all strings in the format)."""
    if not all(isinstance(v, str) for v in rule.enum):
        raise ValueError(f"the decoder reads text choices only, not {sorted(rule.enum)}")
    return Literal.__getitem__(tuple(sorted(rule.enum)))


def _number(rule: Rule) -> Any:
    """The type of a number: an int within the schema's bounds and the reader's limit of
    +-2^53, or a float within the schema's bounds; for an integer the scan then checks
    that the float is whole, as JSON Schema counts 40.0 an integer."""
    above = rule.exclusive_minimum
    if above is not None and rule.minimum is not None and above < rule.minimum:
        above = None  # the inclusive bound is the stricter
    low = -MAX_INTEGER if rule.minimum is None else max(math.ceil(rule.minimum), -MAX_INTEGER)
    if above is not None:
        low = max(low, math.floor(above) + 1)
    high = MAX_INTEGER if rule.maximum is None else min(math.floor(rule.maximum), MAX_INTEGER)
    whole: Any = Annotated[int, msgspec.Meta(ge=low, le=high)]
    if above is None:
        bounds = msgspec.Meta(ge=rule.minimum, le=rule.maximum)
    else:
        bounds = msgspec.Meta(gt=above, le=rule.maximum)
    fraction: Any = Annotated[float, bounds]
    # a union keeps 20 an int and 20.0 a float, as a JSON parser does
    return whole | fraction


class LineDecoder:
    """Checks and encodes JSON lines with the codes of `codebook`; build one, reuse it."""

    def __init__(self, codebook: Codebook) -> None:
        top = input_schema()["properties"]
        rules = {k: rule_of(v) for k, v in top["findings"]["properties"].items()}
        by_kind: dict[str, list[str]] = {"boolean": [], "enum": [], "number": []}
        for key, rule in rules.items():
            kind = "number" if rule.kind in ("integer", "number") else rule.kind
            if kind not in by_kind:
                raise ValueError(f"findings.{key}: the decoder cannot read a {rule.kind}")
            by_kind[kind].append(key)
        booleans, enums, numbers = by_kind["boolean"], by_kind["enum"], by_kind["number"]
        fields: list[tuple[str, Any, Any]] = [
            *((k, bool, _NO_BOOLEAN) for k in booleans),
            *((k, _choices(rules[k]), _NO_CHOICE) for k in enums),
            *((k, _number(rules[k]), _NO_NUMBER) for k in numbers),
        ]
        findings = msgspec.defstruct(
            "Findings", fields, forbid_unknown_fields=True, frozen=True, gc=False
        )
        settings = rule_of(top["setting"])
        case = msgspec.defstruct(
            "Case",
            [
                ("sex", _choices(rule_of(top["sex"])), _NO_CHOICE),
                ("age", _number(rule_of(top["age"])), _NO_NUMBER),
                ("setting", _choices(settings), DEFAULT_SETTING),
                ("schema", Literal.__getitem__((top["schema"]["const"],)), None),
                (
                    "id",
                    Annotated[str, msgspec.Meta(max_length=int(top["id"]["maxLength"]))],
                    None,
                ),
                ("findings", findings, msgspec.field(default_factory=findings)),
            ],
            forbid_unknown_fields=True,
            frozen=True,
            gc=False,
        )
        self._decode = msgspec.json.Decoder(case).decode
        self._empty = case()
        codes = codebook.findings
        self._width = codebook.width
        # the booleans come first in a Struct's fields: a slice of its tuple is the
        # quickest way to them; the others are fewer, and quicker fetched by name
        self._booleans = itemgetter(slice(0, len(booleans)))
        self._enums = _fields(enums)
        self._numbers_of = _fields(numbers)
        # per boolean column: the codes of False, True and not given
        self._boolean_codes = np.array(
            [[codes[k].states[False], codes[k].states[True], 0] for k in booleans],
            dtype=np.intc,
        )
        self._boolean_rows = np.arange(len(booleans))
        self._boolean_columns = np.array([codes[k].index for k in booleans], dtype=np.intp)
        self._enum_codes: list[Mapping[object, int]] = [_with_none(codes[k].states) for k in enums]
        self._enum_columns = np.array([codes[k].index for k in enums], dtype=np.intp)
        self._numbers = [_NumberCodes.of(codes[k], rules[k]) for k in numbers]
        self._sex_codes = _with_none(codes["sex"].states)
        self._sex_column = codes["sex"].index
        self._age = _NumberCodes.of(codes["age"], rule_of(top["age"]))
        self._setting_codes = dict(codebook.settings)
        self._lump = self._gate(codebook, "lump_present", LUMP_DESCRIPTORS)
        self._pain = self._gate(codebook, "pain_present", PAIN_DESCRIPTORS)
        self._pain_implying = [(codes[k].index, codes[k].states[True]) for k in PAIN_IMPLYING]

    @staticmethod
    def _gate(
        codebook: Codebook, gate: str, descriptors: Sequence[str]
    ) -> tuple[int, int, int, npt.NDArray[np.intp]]:
        """(column, code of true, code of false, the descriptors' columns) of a gate."""
        codes = codebook.findings[gate]
        columns = np.array([codebook.findings[d].index for d in descriptors], dtype=np.intp)
        return codes.index, codes.states[True], codes.states[False], columns

    def scan(self, lines: Sequence[bytes]) -> tuple[IntArray, IntArray]:
        """Check and encode JSON lines, one case each, without raising.

        Returns their codes, (N, width), and their settings' codes, (N,), which are -1
        for every line the decoder did not accept: read it with `CaseReader`, which
        accepts it or lists its problems (its codes here are then meaningless).
        """
        cases, refused = self._decoded(lines)
        n = len(cases)
        out = np.zeros((n, self._width), dtype=np.intc)
        findings = list(map(attrgetter("findings"), cases))
        # Each pass streams over the Structs (not tracked by the garbage collector) and
        # frees every tuple it makes at once: a list of the cases' tuples would cost
        # more in collections than in making them.

        # booleans: False, True or 2 (not given), one byte each, a row per case
        rows = map(self._booleans, map(msgspec.structs.astuple, findings))
        flags = np.frombuffer(b"".join(map(bytes, rows)), dtype=np.uint8)
        states = flags.reshape(n, len(self._boolean_rows))
        out[:, self._boolean_columns] = self._boolean_codes[self._boolean_rows, states]

        choices = chain.from_iterable(map(self._enums, findings))
        coded = map(getitem, cycle(self._enum_codes), choices)
        width = len(self._enum_codes)
        out[:, self._enum_columns] = np.fromiter(coded, np.intc, n * width).reshape(n, width)
        sex_codes = self._sex_codes
        out[:, self._sex_column] = np.fromiter(
            map(sex_codes.__getitem__, map(attrgetter("sex"), cases)), np.intc, n
        )

        given = chain.from_iterable(map(self._numbers_of, findings))
        width = len(self._numbers)
        values = np.fromiter(given, np.float64, n * width).reshape(n, width)
        ages = np.fromiter(map(attrgetter("age"), cases), np.float64, n)
        broken = self._age.code_into(out, ages)
        for j, number in enumerate(self._numbers):
            broken |= number.code_into(out, values[:, j])

        setting_codes = self._setting_codes
        settings = np.fromiter(
            map(setting_codes.__getitem__, map(attrgetter("setting"), cases)), np.intc, n
        )
        settings[broken | self._cross_field(out)] = -1
        settings[refused] = -1
        return out, settings

    def _decoded(self, lines: Sequence[bytes]) -> tuple[list[Any], list[int]]:
        """Each line decoded (an empty case where it was refused), and the refused ones'
        positions."""
        try:
            return list(map(self._decode, lines)), []
        except _REFUSED:  # go line by line
            pass
        cases: list[Any] = []
        refused: list[int] = []
        for n, line in enumerate(lines):
            try:
                cases.append(self._decode(line))
            except _REFUSED:
                cases.append(self._empty)
                refused.append(n)
        return cases, refused

    def _cross_field(self, out: IntArray) -> npt.NDArray[np.bool_]:
        """Marks the cases that break a cross-field rule (spec section 1), and writes
        the gates that the others' findings imply (as `CaseReader` does)."""
        lump, lump_true, lump_false, lump_descriptors = self._lump
        pain, pain_true, pain_false, pain_descriptors = self._pain
        lumpy = (out[:, lump_descriptors] != 0).any(axis=1)
        painful = (out[:, pain_descriptors] != 0).any(axis=1)
        broken = (lumpy & (out[:, lump] == lump_false)) | (painful & (out[:, pain] == pain_false))
        implying = np.zeros(len(out), dtype=bool)
        for column, code in self._pain_implying:
            implying |= out[:, column] == code
        pain_unstated = out[:, pain] == 0
        out[lumpy & (out[:, lump] == 0), lump] = lump_true
        out[pain_unstated & (painful | implying), pain] = pain_true
        broken_cases: npt.NDArray[np.bool_] = broken
        return broken_cases
