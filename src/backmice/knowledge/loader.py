"""Build a `KnowledgeBase` from its YAML files and check it as a whole.

Parsing is strict: an unknown key is an error that lists the allowed keys, and the
first inconsistency (a missing finding x condition cell, a probability outside
(0, 1), priors that do not sum to 1, a reference that does not resolve, ...) stops
the build with a message naming the file and the place. See docs/knowledge-format.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, cast

import yaml

from backmice.errors import KnowledgeBaseError
from backmice.knowledge.model import (
    CONDITION_IDS,
    SETTINGS,
    TRIAGE_LEVELS,
    AllOf,
    AnyOf,
    AtLeastOf,
    Basis,
    Bin,
    Cell,
    Condition,
    Distribution,
    Finding,
    FindingAtLeast,
    FindingIn,
    FindingIs,
    FindingIsNot,
    InjectionTestKnowledge,
    KnowledgeBase,
    NextStep,
    Predicate,
    RedFlagRule,
    Reference,
    Threshold,
    Value,
)

__all__ = ["load_knowledge"]

_SUM_TOLERANCE = 1e-6

# the C loader is several times faster; fall back to pure Python where it is missing
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_knowledge(directory: Path | Traversable | None = None) -> KnowledgeBase:
    """Read and check the knowledge base in `directory` (default: the packaged one).

    Raises
    ------
    KnowledgeBaseError
        On the first inconsistency, with a message naming the file and the problem.
    """
    root = directory if directory is not None else resources.files("backmice.knowledge") / "data"
    header = _mapping(
        _read(root, "knowledge.yaml"),
        "knowledge.yaml",
        required=("version", "released", "title", "model", "origin"),
    )
    references = _references(_read(root, "references.yaml"))
    findings = _findings(_read(root, "findings.yaml"))
    next_steps = _next_steps(_read(root, "next_steps.yaml"))
    conditions = _conditions(_read(root, "conditions.yaml"), references, next_steps)
    priors = _priors(_read(root, "priors.yaml"), references)
    likelihoods = _likelihoods(root, findings, references)
    red_flags = _red_flags(_read(root, "red_flags.yaml"), findings, references, next_steps)
    injection_test = _injection_test(_read(root, "care.yaml"), references)
    released = header["released"]
    return KnowledgeBase(
        version=_text(header["version"], "knowledge.yaml: version"),
        released=released.isoformat() if isinstance(released, dt.date) else str(released),
        title=_text(header["title"], "knowledge.yaml: title"),
        model=_text(header["model"], "knowledge.yaml: model"),
        origin=tuple(_text(o, "knowledge.yaml: origin") for o in _list(header["origin"], "origin")),
        references=references,
        conditions=conditions,
        findings=findings,
        priors=priors,
        likelihoods=likelihoods,
        red_flags=red_flags,
        next_steps=next_steps,
        injection_test=injection_test,
    )


# --- reading and strict shapes ------------------------------------------------------


def _read(root: Path | Traversable, name: str) -> Any:
    node = root / name
    try:
        text = node.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KnowledgeBaseError(f"{name}: file is missing from the knowledge base") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{name}: not valid YAML: {exc}") from None


def _mapping(
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


def _list(obj: Any, where: str) -> list[Any]:
    if not isinstance(obj, list):
        raise KnowledgeBaseError(f"{where}: expected a list, got {type(obj).__name__}")
    return obj


def _text(obj: Any, where: str) -> str:
    if not isinstance(obj, str) or not obj.strip():
        raise KnowledgeBaseError(f"{where}: expected non-empty text, got {obj!r}")
    return obj.strip()


def _unique_ids(items: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise KnowledgeBaseError(f"{where}: id {item!r} appears more than once")
        seen.add(item)


def _probability(obj: Any, where: str) -> float:
    if isinstance(obj, bool) or not isinstance(obj, int | float) or not math.isfinite(obj):
        raise KnowledgeBaseError(f"{where}: {obj!r} is not a number")
    value = float(obj)
    if not 0.0 < value < 1.0:
        raise KnowledgeBaseError(f"{where}: {value} is not strictly between 0 and 1")
    return value


def _range(obj: Any, p: float, where: str) -> tuple[float, float]:
    pair = _list(obj, where)
    if len(pair) != 2:
        raise KnowledgeBaseError(f"{where}: expected [low, high], got {obj!r}")
    low, high = _probability(pair[0], where), _probability(pair[1], where)
    if not low <= p <= high:
        raise KnowledgeBaseError(f"{where}: range [{low}, {high}] does not contain p = {p}")
    return low, high


def _provenance(
    raw: dict[str, Any], where: str, references: Mapping[str, Reference]
) -> tuple[Basis, tuple[str, ...], str]:
    basis = raw["basis"]
    if basis not in ("published", "estimate"):
        raise KnowledgeBaseError(f"{where}: basis {basis!r} is not one of published, estimate")
    sources = tuple(_text(s, where) for s in _list(raw.get("sources", []) or [], where))
    if basis == "published" and not sources:
        raise KnowledgeBaseError(f"{where}: a published value must name its sources")
    for source in sources:
        if source not in references:
            raise KnowledgeBaseError(f"{where}: source {source!r} is not in references.yaml")
    note = raw.get("note") or ""
    if not isinstance(note, str):
        raise KnowledgeBaseError(f"{where}: note must be text")
    return cast(Basis, basis), sources, note.strip()


_CELL_KEYS = ("p", "range", "basis")
_CELL_OPTIONAL = ("sources", "note")
_DISTRIBUTION_OPTIONAL = (*_CELL_OPTIONAL, "read_states")


def _cell(obj: Any, where: str, references: Mapping[str, Reference]) -> Cell:
    raw = _mapping(obj, where, _CELL_KEYS, _CELL_OPTIONAL)
    p = _probability(raw["p"], f"{where}.p")
    low, high = _range(raw["range"], p, f"{where}.range")
    basis, sources, note = _provenance(raw, where, references)
    return Cell(p=p, low=low, high=high, basis=basis, sources=sources, note=note)


def _distribution(
    obj: Any, finding: Finding, where: str, references: Mapping[str, Reference]
) -> Distribution:
    raw = _mapping(obj, where, _CELL_KEYS, _DISTRIBUTION_OPTIONAL)
    basis, sources, note = _provenance(raw, where, references)
    read = _read_states(raw, finding, basis, where)
    if finding.type == "boolean":
        p = _probability(raw["p"], f"{where}.p")
        low, high = _range(raw["range"], p, f"{where}.range")
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
    probs = _mapping(raw["p"], f"{where}.p", finding.states)
    ranges = _mapping(raw["range"], f"{where}.range", finding.states)
    ps = tuple(_probability(probs[s], f"{where}.p.{s}") for s in finding.states)
    if abs(sum(ps) - 1.0) > _SUM_TOLERANCE:
        raise KnowledgeBaseError(f"{where}.p: the states sum to {sum(ps):.6f}, expected 1")
    bounds = [
        _range(ranges[s], p, f"{where}.range.{s}") for s, p in zip(finding.states, ps, strict=True)
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


def _read_states(raw: dict[str, Any], finding: Finding, basis: str, where: str) -> frozenset[str]:
    """The states whose probability was read from a source (all, for a published cell
    without `read_states`; none for an estimate)."""
    if "read_states" not in raw:
        return frozenset(finding.states) if basis == "published" else frozenset()
    if basis != "published" or finding.type == "boolean":
        raise KnowledgeBaseError(
            f"{where}.read_states: only a published cell of a multi-state finding has read states"
        )
    states = [_text(s, f"{where}.read_states") for s in _list(raw["read_states"], where)]
    for state in states:
        if state not in finding.states:
            raise KnowledgeBaseError(
                f"{where}.read_states: {state!r} is not one of {', '.join(finding.states)}"
            )
    if not states:
        raise KnowledgeBaseError(f"{where}.read_states: name at least one state")
    return frozenset(states)


# --- the files ------------------------------------------------------------------------


def _references(doc: Any) -> dict[str, Reference]:
    items = _list(_mapping(doc, "references.yaml", ("references",))["references"], "references")
    out: dict[str, Reference] = {}
    for i, obj in enumerate(items):
        where = f"references.yaml: references[{i}]"
        raw = _mapping(
            obj, where, ("id", "citation", "read"), ("pmid", "doi", "evidence_table_number")
        )
        ref_id = _text(raw["id"], where)
        if ref_id in out:
            raise KnowledgeBaseError(f"{where}: id {ref_id!r} appears more than once")
        out[ref_id] = Reference(
            id=ref_id,
            citation=_text(raw["citation"], where),
            pmid=str(raw["pmid"]) if raw.get("pmid") else None,
            doi=str(raw["doi"]) if raw.get("doi") else None,
            read=_text(raw["read"], where),
        )
    return out


def _findings(doc: Any) -> tuple[Finding, ...]:
    items = _list(_mapping(doc, "findings.yaml", ("findings",))["findings"], "findings")
    out: list[Finding] = []
    for i, obj in enumerate(items):
        where = f"findings.yaml: findings[{i}]"
        raw = _mapping(
            obj,
            where,
            ("id", "type", "kind", "label", "question"),
            ("where", "states", "bins", "requires", "plain_states"),
        )
        fid = _text(raw["id"], where)
        where = f"findings.yaml: {fid}"
        ftype = raw["type"]
        if ftype not in ("boolean", "enum", "number", "integer"):
            raise KnowledgeBaseError(
                f"{where}.type: {ftype!r} is not one of boolean, enum, number, integer"
            )
        bins: tuple[Bin, ...] = ()
        if ftype == "boolean":
            states: tuple[str, ...] = ("true", "false")
        elif ftype == "enum":
            states = tuple(_text(s, f"{where}.states") for s in _list(raw.get("states"), where))
        else:
            bins = _bins(raw.get("bins"), where)
            states = tuple(b.id for b in bins)
        if len(states) < 2 or len(set(states)) != len(states):
            raise KnowledgeBaseError(f"{where}: needs at least two distinct states")
        if raw["kind"] not in ("history", "examination", "test"):
            raise KnowledgeBaseError(
                f"{where}.kind: {raw['kind']!r} is not one of history, examination, test"
            )
        question = _mapping(raw["question"], f"{where}.question", ("clinician",), ("self_check",))
        plain_states = None
        if "plain_states" in raw:
            if ftype != "enum":
                raise KnowledgeBaseError(f"{where}.plain_states: only an enum has plain states")
            labels = _mapping(raw["plain_states"], f"{where}.plain_states", states)
            plain_states = tuple(_text(labels[s], f"{where}.plain_states.{s}") for s in states)
        location = raw.get("where", "findings")
        if location not in ("case", "findings"):
            raise KnowledgeBaseError(f"{where}.where: {location!r} is not one of case, findings")
        out.append(
            Finding(
                id=fid,
                where=location,
                type=ftype,
                kind=raw["kind"],
                states=states,
                bins=bins,
                requires=raw.get("requires"),
                label=_text(raw["label"], where),
                question=_text(question["clinician"], f"{where}.question.clinician"),
                plain_question=question.get("self_check"),
                plain_states=plain_states,
            )
        )
    _unique_ids((f.id for f in out), "findings.yaml")
    ids = {f.id for f in out}
    for f in out:
        if f.requires is not None and f.requires not in ids:
            raise KnowledgeBaseError(f"findings.yaml: {f.id}.requires: {f.requires!r} is unknown")
    return tuple(out)


def _bins(obj: Any, where: str) -> tuple[Bin, ...]:
    out: list[Bin] = []
    items = _list(obj, f"{where}.bins")
    for i, raw_bin in enumerate(items):
        raw = _mapping(raw_bin, f"{where}.bins[{i}]", ("id",), ("below",))
        below = raw.get("below")
        last = i == len(items) - 1
        if last and below is not None:
            raise KnowledgeBaseError(f"{where}.bins: the last bin must have no 'below'")
        if not last and (isinstance(below, bool) or not isinstance(below, int | float)):
            raise KnowledgeBaseError(f"{where}.bins[{i}]: 'below' must be a number")
        if out and below is not None and out[-1].below is not None and below <= out[-1].below:
            raise KnowledgeBaseError(f"{where}.bins: 'below' must increase")
        out.append(Bin(id=str(raw["id"]), below=None if below is None else float(below)))
    return tuple(out)


def _next_steps(doc: Any) -> dict[str, NextStep]:
    items = _list(_mapping(doc, "next_steps.yaml", ("next_steps",))["next_steps"], "next_steps")
    out: dict[str, NextStep] = {}
    for i, obj in enumerate(items):
        where = f"next_steps.yaml: next_steps[{i}]"
        raw = _mapping(obj, where, ("id", "text", "plain"))
        step = NextStep(
            id=_text(raw["id"], where),
            text=_text(raw["text"], where),
            plain=_text(raw["plain"], where),
        )
        if step.id in out:
            raise KnowledgeBaseError(f"{where}: id {step.id!r} appears more than once")
        out[step.id] = step
    return out


def _step_ids(obj: Any, where: str, next_steps: Mapping[str, NextStep]) -> tuple[str, ...]:
    ids = tuple(_text(s, where) for s in _list(obj, where))
    if not ids:
        raise KnowledgeBaseError(f"{where}: needs at least one next step")
    for step in ids:
        if step not in next_steps:
            raise KnowledgeBaseError(f"{where}: next step {step!r} is not in next_steps.yaml")
    return ids


def _code(obj: Any, where: str) -> tuple[str, str] | None:
    if obj is None:
        return None
    raw = _mapping(obj, where, ("code", "display"))
    return str(raw["code"]), _text(raw["display"], where)


def _conditions(
    doc: Any, references: Mapping[str, Reference], next_steps: Mapping[str, NextStep]
) -> tuple[Condition, ...]:
    items = _list(_mapping(doc, "conditions.yaml", ("conditions",))["conditions"], "conditions")
    out: list[Condition] = []
    for i, obj in enumerate(items):
        where = f"conditions.yaml: conditions[{i}]"
        raw = _mapping(
            obj,
            where,
            ("id", "name", "plain_name", "synonyms", "summary", "codes", "triage"),
            ("triage_threshold", "next_steps"),
        )
        cid = _text(raw["id"], where)
        where = f"conditions.yaml: {cid}"
        codes = _mapping(raw["codes"], f"{where}.codes", ("icd10cm", "snomed"), ("note",))
        if raw["triage"] not in TRIAGE_LEVELS:
            raise KnowledgeBaseError(
                f"{where}.triage: {raw['triage']!r} is not one of {', '.join(TRIAGE_LEVELS)}"
            )
        if "triage_threshold" not in raw:
            raise KnowledgeBaseError(f"{where}: missing required key 'triage_threshold'")
        out.append(
            Condition(
                id=cid,
                name=_text(raw["name"], where),
                plain_name=_text(raw["plain_name"], where),
                synonyms=tuple(str(s) for s in _list(raw["synonyms"], f"{where}.synonyms")),
                summary=_text(raw["summary"], where),
                icd10cm=_code(codes["icd10cm"], f"{where}.codes.icd10cm"),
                snomed=_code(codes["snomed"], f"{where}.codes.snomed"),
                codes_note=str(codes.get("note") or ""),
                triage=raw["triage"],
                triage_threshold=_cell(
                    raw["triage_threshold"], f"{where}.triage_threshold", references
                ),
                next_steps=_step_ids(raw.get("next_steps"), f"{where}.next_steps", next_steps),
            )
        )
    ids = tuple(c.id for c in out)
    if ids != CONDITION_IDS:
        raise KnowledgeBaseError(
            "conditions.yaml: the conditions must be exactly the assessment format's 15, "
            f"in its order ({', '.join(CONDITION_IDS)}); got {', '.join(ids)}"
        )
    return tuple(out)


def _priors(doc: Any, references: Mapping[str, Reference]) -> dict[str, tuple[Cell, ...]]:
    raw = _mapping(doc, "priors.yaml", SETTINGS)
    out: dict[str, tuple[Cell, ...]] = {}
    for setting in SETTINGS:
        where = f"priors.yaml: {setting}"
        cells = _mapping(raw[setting], where, CONDITION_IDS)
        row = tuple(_cell(cells[c], f"{where}.{c}", references) for c in CONDITION_IDS)
        total = sum(cell.p for cell in row)
        if abs(total - 1.0) > _SUM_TOLERANCE:
            raise KnowledgeBaseError(f"{where}: priors sum to {total:.6f}, expected 1")
        out[setting] = row
    return out


def _likelihoods(
    root: Path | Traversable, findings: tuple[Finding, ...], references: Mapping[str, Reference]
) -> dict[str, tuple[Distribution, ...]]:
    by_id = {f.id: f for f in findings}
    folder = root / "likelihoods"
    files = sorted(
        (node for node in folder.iterdir() if node.name.endswith(".yaml")), key=lambda n: n.name
    )
    if not files:
        raise KnowledgeBaseError("likelihoods/: no likelihood files")
    out: dict[str, tuple[Distribution, ...]] = {}
    for node in files:
        name = f"likelihoods/{node.name}"
        doc = _read(folder, node.name)
        table = _mapping(doc, name, (), tuple(by_id))
        for fid, per_condition in table.items():
            where = f"{name}: {fid}"
            if fid in out:
                raise KnowledgeBaseError(f"{where}: finding is also defined in another file")
            cells = _mapping(per_condition, where, CONDITION_IDS)
            out[fid] = tuple(
                _distribution(cells[c], by_id[fid], f"{where}.{c}", references)
                for c in CONDITION_IDS
            )
    missing = [f.id for f in findings if f.id not in out]
    if missing:
        raise KnowledgeBaseError(
            f"likelihoods/: no likelihood table for finding(s) {', '.join(missing)}"
        )
    return {f.id: out[f.id] for f in findings}


def _threshold(obj: Any, where: str, references: Mapping[str, Reference]) -> Threshold:
    raw = _mapping(obj, where, ("value", "range", "basis"), _CELL_OPTIONAL)
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise KnowledgeBaseError(f"{where}.value: {value!r} is not a number")
    pair = _list(raw["range"], f"{where}.range")
    if len(pair) != 2 or not all(isinstance(x, int | float) for x in pair):
        raise KnowledgeBaseError(f"{where}.range: expected [low, high], got {pair!r}")
    low, high = float(pair[0]), float(pair[1])
    if not low <= value <= high:
        raise KnowledgeBaseError(f"{where}.range: [{low}, {high}] does not contain {value}")
    basis, sources, note = _provenance(raw, where, references)
    return Threshold(float(value), low, high, basis, sources, note)


def _injection_test(doc: Any, references: Mapping[str, Reference]) -> InjectionTestKnowledge:
    keys = (
        "positive_relief_percent",
        "strongly_positive_relief_percent",
        "window_minutes",
        "placebo_response",
    )
    raw = _mapping(
        _mapping(doc, "care.yaml", ("injection_test",))["injection_test"],
        "care.yaml: injection_test",
        keys,
    )
    parsed = {k: _threshold(raw[k], f"care.yaml: injection_test.{k}", references) for k in keys}
    if (
        not parsed["positive_relief_percent"].value
        < parsed["strongly_positive_relief_percent"].value
    ):
        raise KnowledgeBaseError(
            "care.yaml: injection_test: strongly_positive_relief_percent must exceed "
            "positive_relief_percent"
        )
    return InjectionTestKnowledge(**parsed)


def _red_flags(
    doc: Any,
    findings: tuple[Finding, ...],
    references: Mapping[str, Reference],
    next_steps: Mapping[str, NextStep],
) -> tuple[RedFlagRule, ...]:
    items = _list(_mapping(doc, "red_flags.yaml", ("red_flags",))["red_flags"], "red_flags")
    by_id = {f.id: f for f in findings}
    out: list[RedFlagRule] = []
    for i, obj in enumerate(items):
        where = f"red_flags.yaml: red_flags[{i}]"
        raw = _mapping(obj, where, ("id", "severity", "message", "when", "sources", "next_steps"))
        rid = _text(raw["id"], where)
        where = f"red_flags.yaml: {rid}"
        if raw["severity"] not in TRIAGE_LEVELS:
            raise KnowledgeBaseError(
                f"{where}.severity: {raw['severity']!r} is not one of {', '.join(TRIAGE_LEVELS)}"
            )
        sources = tuple(_text(s, where) for s in _list(raw["sources"], f"{where}.sources"))
        if not sources:
            raise KnowledgeBaseError(f"{where}.sources: a red-flag rule must name its guideline")
        for source in sources:
            if source not in references:
                raise KnowledgeBaseError(f"{where}.sources: {source!r} is not in references.yaml")
        out.append(
            RedFlagRule(
                id=rid,
                severity=raw["severity"],
                message=_text(raw["message"], where),
                when=_predicate(raw["when"], f"{where}.when", by_id),
                sources=sources,
                next_steps=_step_ids(raw["next_steps"], f"{where}.next_steps", next_steps),
            )
        )
    _unique_ids((r.id for r in out), "red_flags.yaml")
    return tuple(out)


def _predicate(obj: Any, where: str, findings: Mapping[str, Finding]) -> Predicate:
    if not isinstance(obj, dict):
        raise KnowledgeBaseError(f"{where}: expected a mapping, got {obj!r}")
    if "finding" in obj:
        raw = _mapping(obj, where, ("finding",), ("is", "is_not", "in", "at_least"))
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
        values = [raw[tests[0]]] if tests[0] in ("is", "is_not") else _list(raw["in"], where)
        for value in values:
            _check_value(finding, value, where)
        if tests[0] == "is":
            return FindingIs(fid, cast(Value, values[0]))
        if tests[0] == "is_not":
            return FindingIsNot(fid, cast(Value, values[0]))
        return FindingIn(fid, tuple(cast(Value, v) for v in values))
    if "all" in obj or "any" in obj:
        key = "all" if "all" in obj else "any"
        raw = _mapping(obj, where, (key,))
        parts = tuple(
            _predicate(p, f"{where}.{key}[{i}]", findings)
            for i, p in enumerate(_list(raw[key], where))
        )
        if not parts:
            raise KnowledgeBaseError(f"{where}.{key}: needs at least one condition")
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if "at_least" in obj:
        raw = _mapping(obj, where, ("at_least", "of"))
        parts = tuple(
            _predicate(p, f"{where}.of[{i}]", findings)
            for i, p in enumerate(_list(raw["of"], where))
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
