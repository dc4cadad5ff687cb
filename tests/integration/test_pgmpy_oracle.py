"""Posteriors equal pgmpy's exact inference on the same model, to 1e-9.

The oracle is built here, independently of the engine's compiled arrays: a pgmpy
DiscreteBayesianNetwork with one root (the condition) and one child per finding,
whose CPDs are read straight from the knowledge base's cells, queried with
VariableElimination (pgmpy 1.1.2).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from backmice.engine import Engine
from backmice.engine.synthetic import generate_cases
from backmice.knowledge import KnowledgeBase
from backmice.knowledge.model import SETTINGS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination
    from pgmpy.models import DiscreteBayesianNetwork

CASES = 240


def build_network(kb: KnowledgeBase, setting: str) -> Any:
    conditions = [c.id for c in kb.conditions]
    network = DiscreteBayesianNetwork([("condition", f.id) for f in kb.findings])
    prior = TabularCPD(
        "condition",
        len(conditions),
        [[cell.p] for cell in kb.priors[setting]],
        state_names={"condition": conditions},
    )
    cpds = [prior]
    for finding in kb.findings:
        table = [
            [kb.likelihoods[finding.id][c].p[s] for c in range(len(conditions))]
            for s in range(len(finding.states))
        ]
        cpds.append(
            TabularCPD(
                finding.id,
                len(finding.states),
                table,
                evidence=["condition"],
                evidence_card=[len(conditions)],
                state_names={finding.id: list(finding.states), "condition": conditions},
            )
        )
    network.add_cpds(*cpds)
    network.check_model()
    return network


@pytest.fixture(scope="module")
def oracles(kb: KnowledgeBase) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {s: VariableElimination(build_network(kb, s)) for s in SETTINGS}


def test_posteriors_equal_pgmpy_exact_inference(
    kb: KnowledgeBase, engine: Engine, oracles: dict[str, Any]
) -> None:
    cases = generate_cases(kb, CASES, seed=20261122)
    worst = 0.0
    for doc in cases:
        doc.pop("_condition")
        case = engine.read(doc)
        evidence = {fid: kb.finding(fid).state_of(value) for fid, value in case.values.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            answer = oracles[case.setting].query(
                ["condition"], evidence=evidence, show_progress=False
            )
        expected = {
            state: float(answer.values[i])
            for i, state in enumerate(answer.state_names["condition"])
        }
        result = engine.assess(doc)
        got = {entry["condition"]: entry["probability"] for entry in result["differential"]}
        for condition, p in expected.items():
            worst = max(worst, abs(got[condition] - p))
    assert worst < 1e-9, f"largest difference {worst:.3g}"


def test_an_empty_case_gives_the_setting_prior(kb: KnowledgeBase, engine: Engine) -> None:
    for setting in SETTINGS:
        result = engine.assess({"setting": setting})
        got = {e["condition"]: e["probability"] for e in result["differential"]}
        want = {c.id: cell.p for c, cell in zip(kb.conditions, kb.priors[setting], strict=True)}
        np.testing.assert_allclose([got[c] for c in want], list(want.values()), atol=1e-12)
