"""Adaptive interview: which question to ask next, and when to stop.

Each unasked finding is scored by the sum of

* its **expected information gain** over the differential, in bits: the entropy of
  the current posterior minus the expected entropy after the answer, with the
  answer's probabilities taken from the model itself;
* its **chance of changing the leader**: the probability, under the model, that the
  answer puts another condition first; and
* its **safety value**: the chance, under the model, that the answer fires a red-flag
  rule that has not fired yet, weighted by that rule's urgency (`SAFETY_WEIGHT`).

The sum is divided by the cost of asking (`COST`): a test result (an injection
test, an ultrasound) needs a procedure, so it is worth asking about only when it
would settle more than history and examination can.

The interview is *firm* when the most likely condition reaches `FIRM_PROBABILITY`,
or when no single remaining answer has a `SETTLED_CHANCE` chance of changing which
condition leads. It never stops as firm before
the screening questions have been asked: every finding that on its own can fire an
emergency rule (e.g. bladder or bowel dysfunction, saddle numbness, looking very
unwell). These thresholds are interview policy, not clinical knowledge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from backmice.engine.assess import Engine
from backmice.engine.inference import posterior
from backmice.engine.validation import LUMP_DESCRIPTORS, PAIN_DESCRIPTORS
from backmice.errors import InvalidCase
from backmice.knowledge.model import AnyOf, Finding, FindingAtLeast, FindingIs, RedFlagRule, Value

__all__ = [
    "COST",
    "FIRM_PROBABILITY",
    "SAFETY_WEIGHT",
    "SETTLED_CHANCE",
    "Interview",
    "Question",
    "candidate_values",
    "representative_values",
]

FIRM_PROBABILITY = 0.85
SETTLED_CHANCE = 0.03
SAFETY_WEIGHT = {"emergency": 1.0, "urgent": 0.6, "soon": 0.3, "routine": 0.0, "self_care": 0.0}
COST = {"history": 1.0, "examination": 1.0, "test": 3.0}

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Question:
    """A candidate question with the reasons for its rank."""

    finding: str
    text: str
    information_gain: float
    safety_value: float
    screening: bool
    cost: float = 1.0
    changes_leader: float = 0.0

    @property
    def value(self) -> float:
        """Rank: information gain + chance of changing the leader + safety, per unit of cost."""
        return (self.information_gain + self.changes_leader + self.safety_value) / self.cost


def candidate_values(finding: Finding, rules: Sequence[RedFlagRule]) -> dict[str, list[Value]]:
    """Per model state, the raw values worth trying when asking "could this answer fire a
    rule?": the state's representative value plus every rule threshold inside its bin."""
    out: dict[str, list[Value]] = {s: [v] for s, v in representative_values(finding).items()}
    if finding.type in ("number", "integer"):
        for rule in rules:
            for threshold in _thresholds(rule.when, finding.id):
                out[finding.state_of(threshold)].append(threshold)
    return out


def _thresholds(predicate: object, finding_id: str) -> list[float]:
    if isinstance(predicate, FindingAtLeast):
        return [predicate.threshold] if predicate.finding == finding_id else []
    parts = getattr(predicate, "parts", ())
    return [t for part in parts for t in _thresholds(part, finding_id)]


def representative_values(finding: Finding) -> dict[str, Value]:
    """One raw value per model state, used to ask 'would this answer fire a rule?'."""
    if finding.type == "boolean":
        return {"true": True, "false": False}
    if finding.type == "enum":
        return {s: s for s in finding.states}
    values: dict[str, Value] = {}
    lower = 0.0  # each bin is represented by its lower bound
    for b in finding.bins:
        values[b.id] = lower
        if b.below is not None:
            lower = b.below
    return values


@dataclass
class Interview:
    """One interview in progress. `answers` holds what is known so far."""

    engine: Engine
    setting: str = "primary_care"
    answers: dict[str, Value] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        kb = self.engine.kb
        plain = self.setting == "self_check"
        self._askable = [f for f in kb.findings if not plain or f.plain_question is not None]
        self._candidates = {f.id: candidate_values(f, kb.red_flags) for f in kb.findings}
        self._screening = frozenset(
            p.finding
            for rule in kb.red_flags
            if rule.severity == "emergency"
            for p in _sufficient_findings(rule.when)
        )

    # --- state ------------------------------------------------------------------------

    @property
    def asked(self) -> int:
        """Questions asked so far (answered or not known)."""
        return len(self.answers) + len(self.skipped)

    @property
    def available(self) -> int:
        """Questions this interview can ask in its setting."""
        return len(self._askable)

    def case(self) -> dict[str, object]:
        """The answers so far as a case of the assessment format."""
        return self._doc(self.answers)

    def record(self, finding: str, value: Value | None) -> None:
        """Record an answer; None means 'not known' (the question still counts)."""
        if value is None:
            self.skipped.add(finding)
            return
        trial = dict(self.answers)
        trial[finding] = value
        self.engine.read(self._doc(trial))  # raises InvalidCase before anything changes
        self.answers = trial

    def _doc(self, answers: Mapping[str, Value]) -> dict[str, object]:
        findings = {k: v for k, v in answers.items() if k not in ("age", "sex")}
        doc: dict[str, object] = {"setting": self.setting, "findings": findings}
        doc.update({k: answers[k] for k in ("age", "sex") if k in answers})
        return doc

    def probabilities(self) -> FloatArray:
        """Current posterior over the conditions (knowledge-base order)."""
        rows, setting = self._encoded()
        probs: FloatArray = posterior(self.engine.model, rows[None, :], np.array([setting]))[0]
        return probs

    def _encoded(self) -> tuple[npt.NDArray[np.int64], int]:
        case = self.engine.read(self._doc(self.answers))
        return self.engine.encode(case), self.engine.model.setting_index[self.setting]

    # --- choosing ---------------------------------------------------------------------

    def _known(self) -> dict[str, Value]:
        """What is known: the answers plus what they imply (a size implies a lump)."""
        return dict(self.engine.read(self._doc(self.answers)).values)

    def _open(self, finding: Finding, known: dict[str, Value]) -> bool:
        if finding.id in known or finding.id in self.skipped:
            return False
        gate = (
            "lump_present"
            if finding.id in LUMP_DESCRIPTORS
            else ("pain_present" if finding.id in PAIN_DESCRIPTORS else None)
        )
        # a lump descriptor makes no sense once we know there is no lump
        return gate is None or known.get(gate) is not False

    def ranked(self) -> list[Question]:
        """Unasked questions, most valuable first."""
        model = self.engine.model
        probs = self.probabilities()
        entropy = _entropy(probs)
        known = self._known()
        fired = {r.id for r in self.engine.kb.red_flags if r.when.holds(known)}
        plain = self.setting == "self_check"
        out: list[Question] = []
        for finding in self._askable:
            if not self._open(finding, known):
                continue
            i = model.finding_index[finding.id]
            rows = [model.state_rows[i][s] for s in finding.states]
            lik = model.likelihood[rows]  # (S, C)
            joint = lik * probs  # (S, C)
            p_answer = joint.sum(axis=1)
            after = sum(pa * _entropy(joint[s] / pa) for s, pa in enumerate(p_answer) if pa > 0)
            # chance, under the model, that the answer puts another condition in the lead
            changes = float(p_answer[joint.argmax(axis=1) != probs.argmax()].sum())
            safety = self._safety(finding, p_answer, fired, known)
            text = finding.plain_question if plain and finding.plain_question else finding.question
            out.append(
                Question(
                    finding=finding.id,
                    text=text,
                    information_gain=max(0.0, entropy - after),
                    safety_value=safety,
                    screening=finding.id in self._screening,
                    cost=COST[finding.kind],
                    changes_leader=changes,
                )
            )
        out.sort(key=lambda q: (-q.value, q.finding))
        return out

    def _safety(
        self, finding: Finding, p_answer: FloatArray, fired: set[str], known: dict[str, Value]
    ) -> float:
        """Chance that the answer fires a new rule, weighted by the rule's urgency."""
        value = 0.0
        for s, candidates in enumerate(self._candidates[finding.id].values()):
            worst = 0.0
            for raw in candidates:
                trial = dict(known)
                trial[finding.id] = raw
                try:
                    values = self.engine.read(self._doc(trial)).values
                except InvalidCase:
                    continue  # this answer is impossible beside the others
                for rule in self.engine.kb.red_flags:
                    if rule.id not in fired and rule.when.holds(values):
                        worst = max(worst, SAFETY_WEIGHT[rule.severity])
            value += float(p_answer[s]) * worst
        return value

    def next_question(self) -> Question | None:
        """The next question to ask, or None when the interview should stop."""
        ranked = self.ranked()
        if not ranked:
            return None
        probs = self.probabilities()
        unscreened = [q for q in ranked if q.screening]
        settled = max(q.changes_leader for q in ranked) < SETTLED_CHANCE
        if float(probs.max()) >= FIRM_PROBABILITY or settled:
            return unscreened[0] if unscreened else None
        return ranked[0]

    def is_firm(self) -> bool:
        """True when the leading condition is clear and nothing more is worth asking."""
        return self.next_question() is None and bool(self.ranked())


def _entropy(p: FloatArray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def _sufficient_findings(predicate: object) -> list[FindingIs]:
    """Single-finding conditions that on their own make the predicate true."""
    if isinstance(predicate, FindingIs):
        return [predicate]
    if isinstance(predicate, AnyOf):
        return [p for part in predicate.parts for p in _sufficient_findings(part)]
    return []
