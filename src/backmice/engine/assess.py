"""`Engine`: a case in, a result out (the assessment format, sections 1 and 3).

>>> from backmice.engine import Engine
>>> engine = Engine()
>>> result = engine.assess({"findings": {"lump_present": True, "tender": True}})
>>> len(result["differential"]), result["schema"]
(15, 'backmice.result/1')
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from backmice.engine.compiled import DEFAULT_SAMPLES, CompiledModel
from backmice.engine.contract import DISCLAIMER, PLAIN_DISCLAIMER, RESULT_SCHEMA_TAG
from backmice.engine.decoding import LineDecoder, parse_line
from backmice.engine.inference import Scores, Workspace, score, score_few
from backmice.engine.safety import SafetyRules, most_urgent, urgency
from backmice.engine.validation import Case, CaseReader, Codebook, FindingCodes
from backmice.errors import InvalidCase, KnowledgeBaseError
from backmice.knowledge import default_knowledge
from backmice.knowledge.model import KnowledgeBase

__all__ = ["BATCH_CHUNK", "MIN_EVIDENCE_LR", "Engine", "ScoredBatch"]

#: A finding is listed as evidence for a condition when its likelihood ratio is at
#: least this far from 1 (either way): smaller moves are not worth a line.
MIN_EVIDENCE_LR = 1.05
_MIN_LOG_LR = math.log(MIN_EVIDENCE_LR)

#: Cases scored together in one vectorised step of a batch.
BATCH_CHUNK = 2048

Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ScoredBatch:
    """Numbers for the valid documents of a batch, and the problems of the others."""

    scores: Scores  # case n of the scores is document positions[n]
    positions: npt.NDArray[np.intp]
    errors: dict[int, InvalidCase]  # by position


class Engine:
    """Inference over one knowledge base. Build once, reuse: it holds no per-case state,
    only the scratch arrays each thread that scores a batch works in."""

    def __init__(self, kb: KnowledgeBase | None = None, samples: int = DEFAULT_SAMPLES) -> None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
            raise ValueError(f"samples: {samples!r} is not a whole number of at least 2")
        self.kb = kb if kb is not None else default_knowledge()
        self.model = CompiledModel(self.kb, samples=samples)
        self._findings = {f.id: f for f in self.kb.findings}
        accepted = CaseReader().finding_ids | {"age", "sex"}
        if set(self._findings) != accepted:
            raise KnowledgeBaseError(
                "the knowledge base's findings do not match the input schema: "
                f"{sorted(set(self._findings) ^ accepted)}"
            )
        try:
            self.reader = CaseReader(self._codebook())
        except KeyError as exc:
            raise KnowledgeBaseError(
                f"the knowledge base's states do not match the input schema: {exc}"
            ) from None
        self._codes = self.reader.codebook.findings
        self.decoder = LineDecoder(self.reader.codebook)  # the same, for JSON text
        self._safety = SafetyRules(self.kb)
        self._workspaces = threading.local()  # scratch arrays of `score`, one per thread

    def _workspace(self) -> Workspace:
        """This thread's scratch arrays for `score`, made on first use and kept."""
        work: Workspace | None = getattr(self._workspaces, "work", None)
        if work is None:
            work = self._workspaces.work = Workspace(self.model)
        return work

    def _codebook(self) -> Codebook:
        """Each valid value's code is its table row, so a checked case is encoded too."""
        model = self.model
        findings: dict[str, FindingCodes] = {}
        for i, finding in enumerate(self.kb.findings):
            rows = model.state_rows[i]
            if finding.type == "boolean":
                codes = FindingCodes(i, {True: rows["true"], False: rows["false"]})
            elif finding.type == "enum":
                codes = FindingCodes(i, {state: rows[state] for state in finding.states})
            else:
                edges = tuple(b.below for b in finding.bins if b.below is not None)
                codes = FindingCodes(i, edges=edges, bins=tuple(rows[b.id] for b in finding.bins))
            findings[finding.id] = codes
        return Codebook(findings=findings, settings=dict(model.setting_index))

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
        codes = self._codes
        for fid, value in case.values.items():
            c = codes[fid]
            rows[c.index] = c.states[value] if c.states else c.bins[bisect_right(c.edges, value)]
        return rows

    def encode(self, case: Case) -> npt.NDArray[np.int64]:
        """`rows` as an array."""
        return np.array(self.rows(case), dtype=np.int64)

    def assess(self, doc: object) -> Result:
        """Validate and assess one case; raises `InvalidCase` when it is not valid."""
        case, rows, setting = self.reader.read_coded(doc)
        return self._result(case, rows, score_few(self.model, [rows], [setting]), 0)

    def assess_cases(self, cases: Sequence[Case], intervals: bool = True) -> list[Result]:
        """Assess valid cases together (one vectorised step per chunk)."""
        out: list[Result] = []
        for start in range(0, len(cases), BATCH_CHUNK):
            chunk = cases[start : start + BATCH_CHUNK]
            rows = [self.rows(c) for c in chunk]
            settings = np.array([self.model.setting_index[c.setting] for c in chunk])
            scores = score(self.model, np.array(rows), settings, intervals, self._workspace())
            out.extend(
                self._result(c, r, scores, n)
                for n, (c, r) in enumerate(zip(chunk, rows, strict=True))
            )
        return out

    def assess_many(self, docs: Iterable[object]) -> Iterator[Result | InvalidCase]:
        """Assess documents in order; an invalid one yields its `InvalidCase` instead.

        The batch mode of the format (section 5) is built on this.
        """
        pending: list[tuple[Case, list[int], int]] = []
        outcomes: list[int | InvalidCase] = []  # per document: its place in pending, or why not
        for doc in docs:
            try:
                pending.append(self.reader.read_coded(doc))
                outcomes.append(len(pending) - 1)
            except InvalidCase as exc:
                outcomes.append(exc)
            if len(outcomes) == BATCH_CHUNK:
                yield from self._flush(pending, outcomes)
                pending, outcomes = [], []
        yield from self._flush(pending, outcomes)

    def _flush(
        self, pending: list[tuple[Case, list[int], int]], outcomes: list[int | InvalidCase]
    ) -> Iterator[Result | InvalidCase]:
        if pending:
            rows = np.array([r for _, r, _ in pending])
            settings = np.array([s for _, _, s in pending])
            scores = score(self.model, rows, settings, work=self._workspace())
        for outcome in outcomes:
            if isinstance(outcome, InvalidCase):
                yield outcome
            else:
                case, case_rows, _ = pending[outcome]
                yield self._result(case, case_rows, scores, outcome)

    def score_batch(self, docs: Sequence[object], intervals: bool = True) -> ScoredBatch:
        """Validate, encode and score documents together, building no result objects:
        the numbers of `assess_many` (posterior, likelihood ratios, intervals) for a
        caller that keeps its own. Give it a few thousand documents at a time."""
        codes, settings = self.reader.scan(docs)
        valid = settings >= 0
        positions = np.flatnonzero(valid)
        errors = {
            n: InvalidCase(self.reader.problems(docs[n])) for n in np.flatnonzero(~valid).tolist()
        }
        scores = score(
            self.model, codes[positions], settings[positions], intervals, self._workspace()
        )
        return ScoredBatch(scores=scores, positions=positions, errors=errors)

    def score_lines(self, lines: Sequence[bytes], intervals: bool = True) -> ScoredBatch:
        """`score_batch` for JSON text, one case per line (a JSONL batch), checked and
        encoded in compiled code (`LineDecoder`). A line the decoder does not accept
        is parsed and read the ordinary way: scored if it is valid after all, given
        its full list of problems if not (a line that is not JSON: its syntax error)."""
        codes, settings = self.decoder.scan(lines)
        errors: dict[int, InvalidCase] = {}
        for n in np.flatnonzero(settings < 0).tolist():
            try:
                doc = parse_line(lines[n])
            except InvalidCase as exc:
                errors[n] = exc
                continue
            case_codes, case_setting = self.reader.scan([doc])
            if case_setting[0] < 0:
                errors[n] = InvalidCase(self.reader.problems(doc))
            else:
                codes[n], settings[n] = case_codes[0], case_setting[0]
        positions = np.flatnonzero(settings >= 0)
        scores = score(
            self.model, codes[positions], settings[positions], intervals, self._workspace()
        )
        return ScoredBatch(scores=scores, positions=positions, errors=errors)

    # --- building one result ---------------------------------------------------------

    def _result(self, case: Case, rows: list[int], scores: Scores, n: int) -> Result:
        kb, model = self.kb, self.model
        p_list = scores.posterior[n].tolist()
        plain = case.setting == "self_check"
        # most likely first; equal probabilities keep knowledge-base order (stable sort)
        order = sorted(range(len(p_list)), key=p_list.__getitem__, reverse=True)
        evidence = self._evidence(case, rows, scores.ratios_of(n))
        bounds = scores.interval[n].tolist()
        ids, names = model.condition_ids, model.condition_names
        differential = [
            {
                "condition": ids[c],
                "name": names[c],
                "probability": p_list[c],
                "interval": bounds[c],
                "evidence": evidence[c],
            }
            for c in order
        ]
        fired = self._safety.fire(case.values)
        level, implying = self._safety.triage(p_list)
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
        n_conditions = len(model.condition_ids)
        if not ratios.shape[0]:
            return [[] for _ in range(n_conditions)]
        strength = np.abs(np.log(ratios))
        # per condition: the findings by strength, strongest first (ties: kb order)
        ranked = (-strength).argsort(axis=0, kind="stable").T.tolist()
        strengths = strength.T.tolist()
        ratio_lists = ratios.T.tolist()
        values, finding_ids, provenance = case.values, model.finding_ids, model.provenance
        facts = [
            (finding_ids[i], values[finding_ids[i]], provenance[row])
            for i, row in enumerate(rows)
            if row
        ]
        threshold = _MIN_LOG_LR
        out: list[list[dict[str, Any]]] = []
        for c in range(n_conditions):
            strength_c, ratio_c = strengths[c], ratio_lists[c]
            items: list[dict[str, Any]] = []
            for k in ranked[c]:
                if not strength_c[k] >= threshold:
                    break  # sorted strongest first: the rest are weaker still
                fid, value, cells = facts[k]
                cell = cells[c]
                items.append(
                    {
                        "finding": fid,
                        "value": value,
                        "likelihood_ratio": ratio_c[k],
                        "basis": cell.basis,
                        "sources": list(cell.sources),
                    }
                )
            out.append(items)
        return out
