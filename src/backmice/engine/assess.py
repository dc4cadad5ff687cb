"""`Engine`: a case in, a result out (the assessment format, sections 1 and 3).

>>> from backmice.engine import Engine
>>> engine = Engine()
>>> result = engine.assess({"findings": {"lump_present": True, "tender": True}})
>>> len(result["differential"]), result["schema"]
(15, 'backmice.result/1')
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from backmice.engine.compiled import DEFAULT_SAMPLES, CompiledModel
from backmice.engine.contract import DISCLAIMER, PLAIN_DISCLAIMER, RESULT_SCHEMA_TAG
from backmice.engine.inference import Scores, score
from backmice.engine.safety import fire_red_flags, most_urgent, triage_from_differential, urgency
from backmice.engine.validation import Case, CaseReader
from backmice.errors import InvalidCase, KnowledgeBaseError
from backmice.knowledge import default_knowledge
from backmice.knowledge.model import Finding, KnowledgeBase, Value

__all__ = ["BATCH_CHUNK", "MIN_EVIDENCE_LR", "Engine"]

#: A finding is listed as evidence for a condition when its likelihood ratio is at
#: least this far from 1 (either way): smaller moves are not worth a line.
MIN_EVIDENCE_LR = 1.05
_MIN_LOG_LR = math.log(MIN_EVIDENCE_LR)

#: Cases scored together in one vectorised step of a batch.
BATCH_CHUNK = 2048

Result = dict[str, Any]


class Engine:
    """Inference over one knowledge base. Build once, reuse: it holds no per-case state."""

    def __init__(self, kb: KnowledgeBase | None = None, samples: int = DEFAULT_SAMPLES) -> None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
            raise ValueError(f"samples: {samples!r} is not a whole number of at least 2")
        self.kb = kb if kb is not None else default_knowledge()
        self.model = CompiledModel(self.kb, samples=samples)
        self.reader = CaseReader()
        self._findings = {f.id: f for f in self.kb.findings}
        accepted = self.reader.finding_ids | {"age", "sex"}
        if set(self._findings) != accepted:
            raise KnowledgeBaseError(
                "the knowledge base's findings do not match the input schema: "
                f"{sorted(set(self._findings) ^ accepted)}"
            )
        self._row_of = {
            f.id: (self.model.finding_index[f.id], _row_lookup(f, self.model.state_rows[i]))
            for i, f in enumerate(self.kb.findings)
        }

    @property
    def knowledge_version(self) -> str:
        """The version of the knowledge base behind every result."""
        return self.kb.version

    def read(self, doc: object) -> Case:
        """Validate one case (raises `InvalidCase`)."""
        return self.reader.read(doc)

    def rows(self, case: Case) -> list[int]:
        """One table row per finding; 0 where the finding is not known."""
        rows = [0] * len(self.model.finding_ids)
        row_of = self._row_of
        for fid, value in case.values.items():
            i, lookup = row_of[fid]
            rows[i] = lookup(value)
        return rows

    def encode(self, case: Case) -> npt.NDArray[np.int64]:
        """`rows` as an array."""
        return np.array(self.rows(case), dtype=np.int64)

    def assess(self, doc: object) -> Result:
        """Validate and assess one case; raises `InvalidCase` when it is not valid."""
        return self.assess_cases([self.read(doc)])[0]

    def assess_cases(self, cases: Sequence[Case], intervals: bool = True) -> list[Result]:
        """Assess valid cases together (one vectorised step per chunk)."""
        out: list[Result] = []
        for start in range(0, len(cases), BATCH_CHUNK):
            chunk = cases[start : start + BATCH_CHUNK]
            rows = [self.rows(c) for c in chunk]
            settings = np.array([self.model.setting_index[c.setting] for c in chunk])
            table_rows = np.array(rows, dtype=np.int64)
            scores = score(self.model, table_rows, settings, intervals=intervals)
            out.extend(
                self._result(c, r, scores, n)
                for n, (c, r) in enumerate(zip(chunk, rows, strict=True))
            )
        return out

    def assess_many(self, docs: Iterable[object]) -> Iterator[Result | InvalidCase]:
        """Assess documents in order; an invalid one yields its `InvalidCase` instead.

        The batch mode of the format (section 5) is built on this.
        """
        pending: list[tuple[int, Case]] = []
        errors: dict[int, InvalidCase] = {}
        position = 0
        for doc in docs:
            try:
                pending.append((position, self.read(doc)))
            except InvalidCase as exc:
                errors[position] = exc
            position += 1
            if position % BATCH_CHUNK == 0:
                yield from self._flush(pending, errors, position)
                pending, errors = [], {}
        yield from self._flush(pending, errors, position)

    def _flush(
        self, pending: list[tuple[int, Case]], errors: dict[int, InvalidCase], end: int
    ) -> Iterator[Result | InvalidCase]:
        results = dict(
            zip((p for p, _ in pending), self.assess_cases([c for _, c in pending]), strict=True)
        )
        start = min([*results, *errors], default=end)
        for position in range(start, end):
            yield results[position] if position in results else errors[position]

    # --- building one result ---------------------------------------------------------

    def _result(self, case: Case, rows: list[int], scores: Scores, n: int) -> Result:
        kb, model = self.kb, self.model
        probs = scores.posterior[n]
        plain = case.setting == "self_check"
        order = np.argsort(-probs, kind="stable").tolist()
        evidence = self._evidence(case, rows, scores.ratios_of(n))
        p_list = probs.tolist()
        bounds = scores.interval[n].tolist()
        differential = [
            {
                "condition": model.condition_ids[c],
                "name": model.condition_names[c],
                "probability": p_list[c],
                "interval": bounds[c],
                "evidence": evidence[c],
            }
            for c in order
        ]
        fired = fire_red_flags(kb, case.values)
        level, implying = triage_from_differential(kb, p_list)
        triage = most_urgent([level, *(f.rule.severity for f in fired)])
        step_ids: list[str] = [s for f in fired for s in f.rule.next_steps]
        for c in sorted(implying, key=lambda i: (urgency(kb.conditions[i].triage), -p_list[i])):
            # advice more than one level calmer than the triage would contradict it
            # (no "see how it goes" beside "go to an emergency department now")
            if urgency(kb.conditions[c].triage) - urgency(triage) <= 1:
                step_ids.extend(kb.conditions[c].next_steps)
        steps = [kb.next_steps[s] for s in dict.fromkeys(step_ids)]
        return {
            "schema": RESULT_SCHEMA_TAG,
            "id": case.id,
            "knowledge_version": kb.version,
            "setting": case.setting,
            "differential": differential,
            "red_flags": [
                {
                    "id": f.rule.id,
                    "severity": f.rule.severity,
                    "message": f.rule.message,
                    "findings": list(f.findings),
                    "sources": list(f.rule.sources),
                }
                for f in fired
            ],
            "triage": triage,
            "next_steps": [{"id": s.id, "text": s.plain if plain else s.text} for s in steps],
            "disclaimer": PLAIN_DISCLAIMER if plain else DISCLAIMER,
        }

    def _evidence(
        self, case: Case, rows: list[int], ratios: npt.NDArray[np.float64]
    ) -> list[list[dict[str, Any]]]:
        """Per condition: the known findings that moved it, strongest first.

        `ratios` has one row per known finding, in knowledge-base order.
        """
        model = self.model
        known = [i for i, r in enumerate(rows) if r]
        n_conditions = len(model.condition_ids)
        if not known:
            return [[] for _ in range(n_conditions)]
        strength = np.abs(np.log(ratios))
        order = np.argsort(-strength, axis=0, kind="stable").T.tolist()  # (C, K)
        strong = (strength >= _MIN_LOG_LR).tolist()
        ratio_list = ratios.tolist()
        values = case.values
        facts = [(model.finding_ids[i], model.provenance[rows[i]]) for i in known]
        out: list[list[dict[str, Any]]] = []
        for c in range(n_conditions):
            items: list[dict[str, Any]] = []
            for k in order[c]:
                if not strong[k][c]:
                    break  # sorted strongest first: the rest are weaker still
                fid, provenance = facts[k]
                items.append(
                    {
                        "finding": fid,
                        "value": values[fid],
                        "likelihood_ratio": ratio_list[k][c],
                        "basis": provenance[c].basis,
                        "sources": list(provenance[c].sources),
                    }
                )
            out.append(items)
        return out


def _row_lookup(finding: Finding, state_rows: dict[str, int]) -> Callable[[Value], int]:
    """A fast map from a valid raw value to its table row."""
    if finding.type == "boolean":
        yes, no = state_rows["true"], state_rows["false"]
        return lambda value: yes if value else no
    if finding.type == "enum":
        return lambda value: state_rows[str(value)]
    edges = [b.below for b in finding.bins if b.below is not None]
    by_bin = [state_rows[b.id] for b in finding.bins]
    return lambda value: by_bin[bisect_right(edges, float(value))]
