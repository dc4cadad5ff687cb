"""`Engine`: a case in, a result out (the assessment format, sections 1 and 3).

>>> from backmice.engine import Engine
>>> engine = Engine()
>>> result = engine.assess({"findings": {"lump_present": True, "tender": True}})
>>> len(result["differential"]), result["schema"]
(15, 'backmice.result/1')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from backmice.engine.compiled import DEFAULT_SAMPLES, CompiledModel
from backmice.engine.contract import DISCLAIMER, PLAIN_DISCLAIMER, RESULT_SCHEMA_TAG
from backmice.engine.inference import Scores, score
from backmice.engine.safety import fire_red_flags, most_urgent, triage_from_differential, urgency
from backmice.engine.validation import Case, CaseReader
from backmice.errors import InvalidCase
from backmice.knowledge import default_knowledge
from backmice.knowledge.model import KnowledgeBase

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
        self.kb = kb if kb is not None else default_knowledge()
        self.model = CompiledModel(self.kb, samples=samples)
        self.reader = CaseReader()
        self._findings = {f.id: f for f in self.kb.findings}

    @property
    def knowledge_version(self) -> str:
        """The version of the knowledge base behind every result."""
        return self.kb.version

    def read(self, doc: object) -> Case:
        """Validate one case (raises `InvalidCase`)."""
        return self.reader.read(doc)

    def encode(self, case: Case) -> npt.NDArray[np.int64]:
        """One table row per finding; 0 where the finding is not known."""
        model = self.model
        rows = np.zeros(len(model.finding_ids), dtype=np.int64)
        for fid, value in case.values.items():
            i = model.finding_index[fid]
            rows[i] = model.state_rows[i][self._findings[fid].state_of(value)]
        return rows

    def assess(self, doc: object) -> Result:
        """Validate and assess one case; raises `InvalidCase` when it is not valid."""
        return self.assess_cases([self.read(doc)])[0]

    def assess_cases(self, cases: Sequence[Case], intervals: bool = True) -> list[Result]:
        """Assess valid cases together (one vectorised step per chunk)."""
        out: list[Result] = []
        for start in range(0, len(cases), BATCH_CHUNK):
            chunk = cases[start : start + BATCH_CHUNK]
            rows = np.stack([self.encode(c) for c in chunk])
            settings = np.array([self.model.setting_index[c.setting] for c in chunk])
            scores = score(self.model, rows, settings, intervals=intervals)
            out.extend(self._result(c, scores, n) for n, c in enumerate(chunk))
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

    def _result(self, case: Case, scores: Scores, n: int) -> Result:
        kb, model = self.kb, self.model
        probs = scores.posterior[n]
        plain = case.setting == "self_check"
        order = sorted(range(len(probs)), key=lambda i: -probs[i])
        lr = scores.likelihood_ratio[n]
        known = [model.finding_index[f] for f in case.values]
        differential = [
            {
                "condition": model.condition_ids[c],
                "name": model.condition_names[c],
                "probability": float(probs[c]),
                "interval": [float(scores.interval[n, c, 0]), float(scores.interval[n, c, 1])],
                "evidence": self._evidence(case, lr, known, c),
            }
            for c in order
        ]
        fired = fire_red_flags(kb, case.values)
        level, implying = triage_from_differential(kb, probs.tolist())
        triage = most_urgent([level, *(f.rule.severity for f in fired)])
        step_ids: list[str] = [s for f in fired for s in f.rule.next_steps]
        for c in sorted(implying, key=lambda i: (urgency(kb.conditions[i].triage), -probs[i])):
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
        self, case: Case, lr: npt.NDArray[np.float64], known: list[int], c: int
    ) -> list[dict[str, Any]]:
        model = self.model
        items = []
        for f in known:
            ratio = float(lr[f, c])
            strength = abs(math.log(ratio))
            if strength < _MIN_LOG_LR:
                continue
            fid = model.finding_ids[f]
            value = case.values[fid]
            row = model.state_rows[f][self._findings[fid].state_of(value)]
            prov = model.provenance[row][c]
            items.append(
                (
                    strength,
                    {
                        "finding": fid,
                        "value": value,
                        "likelihood_ratio": ratio,
                        "basis": prov.basis,
                        "sources": list(prov.sources),
                    },
                )
            )
        items.sort(key=lambda item: -item[0])
        return [item for _, item in items]
