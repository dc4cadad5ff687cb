"""Build a `KnowledgeBase` from its YAML files and check it as a whole.

Parsing is strict: an unknown key is an error that lists the allowed keys, and the
first inconsistency (a missing finding x condition cell, a probability outside
(0, 1), priors that do not sum to 1, a reference that does not resolve, ...) stops
the build with a message naming the file and the place. See docs/knowledge-format.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from backmice.errors import KnowledgeBaseError
from backmice.knowledge.model import (
    CONDITION_IDS,
    SETTINGS,
    TRIAGE_LEVELS,
    Bin,
    Cell,
    Condition,
    Distribution,
    Finding,
    InjectionTestKnowledge,
    KnowledgeBase,
    NextStep,
    Reference,
)
from backmice.knowledge.rules import red_flags
from backmice.knowledge.shapes import (
    cell,
    distribution,
    list_,
    mapping,
    step_ids,
    text,
    threshold,
    unique_ids,
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
    header = mapping(
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
    rules = red_flags(_read(root, "red_flags.yaml"), findings, references, next_steps)
    injection_test = _injection_test(_read(root, "care.yaml"), references)
    released = header["released"]
    return KnowledgeBase(
        version=text(header["version"], "knowledge.yaml: version"),
        released=released.isoformat() if isinstance(released, dt.date) else str(released),
        title=text(header["title"], "knowledge.yaml: title"),
        model=text(header["model"], "knowledge.yaml: model"),
        origin=tuple(text(o, "knowledge.yaml: origin") for o in list_(header["origin"], "origin")),
        references=references,
        conditions=conditions,
        findings=findings,
        priors=priors,
        likelihoods=likelihoods,
        red_flags=rules,
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


def _references(doc: Any) -> dict[str, Reference]:
    items = list_(mapping(doc, "references.yaml", ("references",))["references"], "references")
    out: dict[str, Reference] = {}
    for i, obj in enumerate(items):
        where = f"references.yaml: references[{i}]"
        raw = mapping(
            obj, where, ("id", "citation", "read"), ("pmid", "doi", "evidence_table_number")
        )
        ref_id = text(raw["id"], where)
        if ref_id in out:
            raise KnowledgeBaseError(f"{where}: id {ref_id!r} appears more than once")
        out[ref_id] = Reference(
            id=ref_id,
            citation=text(raw["citation"], where),
            pmid=str(raw["pmid"]) if raw.get("pmid") else None,
            doi=str(raw["doi"]) if raw.get("doi") else None,
            read=text(raw["read"], where),
        )
    return out


def _findings(doc: Any) -> tuple[Finding, ...]:
    items = list_(mapping(doc, "findings.yaml", ("findings",))["findings"], "findings")
    out: list[Finding] = []
    for i, obj in enumerate(items):
        where = f"findings.yaml: findings[{i}]"
        raw = mapping(
            obj,
            where,
            ("id", "type", "kind", "label", "question"),
            ("where", "states", "bins", "requires", "plain_states"),
        )
        fid = text(raw["id"], where)
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
            states = tuple(text(s, f"{where}.states") for s in list_(raw.get("states"), where))
        else:
            bins = _bins(raw.get("bins"), where)
            states = tuple(b.id for b in bins)
        if len(states) < 2 or len(set(states)) != len(states):
            raise KnowledgeBaseError(f"{where}: needs at least two distinct states")
        if raw["kind"] not in ("history", "examination", "test"):
            raise KnowledgeBaseError(
                f"{where}.kind: {raw['kind']!r} is not one of history, examination, test"
            )
        question = mapping(raw["question"], f"{where}.question", ("clinician",), ("self_check",))
        plain_states = None
        if "plain_states" in raw:
            if ftype != "enum":
                raise KnowledgeBaseError(f"{where}.plain_states: only an enum has plain states")
            labels = mapping(raw["plain_states"], f"{where}.plain_states", states)
            plain_states = tuple(text(labels[s], f"{where}.plain_states.{s}") for s in states)
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
                label=text(raw["label"], where),
                question=text(question["clinician"], f"{where}.question.clinician"),
                plain_question=question.get("self_check"),
                plain_states=plain_states,
            )
        )
    unique_ids((f.id for f in out), "findings.yaml")
    ids = {f.id for f in out}
    for f in out:
        if f.requires is not None and f.requires not in ids:
            raise KnowledgeBaseError(f"findings.yaml: {f.id}.requires: {f.requires!r} is unknown")
    return tuple(out)


def _bins(obj: Any, where: str) -> tuple[Bin, ...]:
    out: list[Bin] = []
    items = list_(obj, f"{where}.bins")
    for i, raw_bin in enumerate(items):
        raw = mapping(raw_bin, f"{where}.bins[{i}]", ("id",), ("below",))
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
    items = list_(mapping(doc, "next_steps.yaml", ("next_steps",))["next_steps"], "next_steps")
    out: dict[str, NextStep] = {}
    for i, obj in enumerate(items):
        where = f"next_steps.yaml: next_steps[{i}]"
        raw = mapping(obj, where, ("id", "text", "plain"))
        step = NextStep(
            id=text(raw["id"], where),
            text=text(raw["text"], where),
            plain=text(raw["plain"], where),
        )
        if step.id in out:
            raise KnowledgeBaseError(f"{where}: id {step.id!r} appears more than once")
        out[step.id] = step
    return out


def _code(obj: Any, where: str) -> tuple[str, str] | None:
    if obj is None:
        return None
    raw = mapping(obj, where, ("code", "display"))
    return str(raw["code"]), text(raw["display"], where)


def _conditions(
    doc: Any, references: Mapping[str, Reference], next_steps: Mapping[str, NextStep]
) -> tuple[Condition, ...]:
    items = list_(mapping(doc, "conditions.yaml", ("conditions",))["conditions"], "conditions")
    out: list[Condition] = []
    for i, obj in enumerate(items):
        where = f"conditions.yaml: conditions[{i}]"
        raw = mapping(
            obj,
            where,
            ("id", "name", "plain_name", "synonyms", "summary", "codes", "triage"),
            ("triage_threshold", "next_steps"),
        )
        cid = text(raw["id"], where)
        where = f"conditions.yaml: {cid}"
        codes = mapping(raw["codes"], f"{where}.codes", ("icd10cm", "snomed"), ("note",))
        if raw["triage"] not in TRIAGE_LEVELS:
            raise KnowledgeBaseError(
                f"{where}.triage: {raw['triage']!r} is not one of {', '.join(TRIAGE_LEVELS)}"
            )
        if "triage_threshold" not in raw:
            raise KnowledgeBaseError(f"{where}: missing required key 'triage_threshold'")
        out.append(
            Condition(
                id=cid,
                name=text(raw["name"], where),
                plain_name=text(raw["plain_name"], where),
                synonyms=tuple(str(s) for s in list_(raw["synonyms"], f"{where}.synonyms")),
                summary=text(raw["summary"], where),
                icd10cm=_code(codes["icd10cm"], f"{where}.codes.icd10cm"),
                snomed=_code(codes["snomed"], f"{where}.codes.snomed"),
                codes_note=str(codes.get("note") or ""),
                triage=raw["triage"],
                triage_threshold=cell(
                    raw["triage_threshold"], f"{where}.triage_threshold", references
                ),
                next_steps=step_ids(raw.get("next_steps"), f"{where}.next_steps", next_steps),
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
    raw = mapping(doc, "priors.yaml", SETTINGS)
    out: dict[str, tuple[Cell, ...]] = {}
    for setting in SETTINGS:
        where = f"priors.yaml: {setting}"
        cells = mapping(raw[setting], where, CONDITION_IDS)
        row = tuple(cell(cells[c], f"{where}.{c}", references) for c in CONDITION_IDS)
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
        table = mapping(doc, name, (), tuple(by_id))
        for fid, per_condition in table.items():
            where = f"{name}: {fid}"
            if fid in out:
                raise KnowledgeBaseError(f"{where}: finding is also defined in another file")
            cells = mapping(per_condition, where, CONDITION_IDS)
            out[fid] = tuple(
                distribution(cells[c], by_id[fid], f"{where}.{c}", references)
                for c in CONDITION_IDS
            )
    missing = [f.id for f in findings if f.id not in out]
    if missing:
        raise KnowledgeBaseError(
            f"likelihoods/: no likelihood table for finding(s) {', '.join(missing)}"
        )
    return {f.id: out[f.id] for f in findings}


def _injection_test(doc: Any, references: Mapping[str, Reference]) -> InjectionTestKnowledge:
    keys = (
        "positive_relief_percent",
        "strongly_positive_relief_percent",
        "window_minutes",
        "placebo_response",
    )
    raw = mapping(
        mapping(doc, "care.yaml", ("injection_test",))["injection_test"],
        "care.yaml: injection_test",
        keys,
    )
    parsed = {k: threshold(raw[k], f"care.yaml: injection_test.{k}", references) for k in keys}
    if (
        not parsed["positive_relief_percent"].value
        < parsed["strongly_positive_relief_percent"].value
    ):
        raise KnowledgeBaseError(
            "care.yaml: injection_test: strongly_positive_relief_percent must exceed "
            "positive_relief_percent"
        )
    return InjectionTestKnowledge(**parsed)
