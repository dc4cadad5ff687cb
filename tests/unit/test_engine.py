"""The engine: posterior, explanations, intervals, red flags, triage and next steps."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from backmice.engine import Engine
from backmice.engine.contract import DISCLAIMER, PLAIN_DISCLAIMER, input_schema, result_schema
from backmice.engine.safety import (
    SafetyRules,
    fire_red_flags,
    triage_from_differential,
    urgency,
)
from backmice.engine.synthetic import generate_cases
from backmice.engine.validation import LUMP_DESCRIPTORS, PAIN_DESCRIPTORS, PAIN_IMPLYING
from backmice.errors import InvalidCase
from backmice.knowledge import KnowledgeBase, default_knowledge
from tests.conftest import SPEC_EXAMPLE
from tests.strategies import cases, value_strategy
from tests.unit.test_validation import TEXT_STYLES, json_text, near_valid_cases

_result_validator = Draft202012Validator(result_schema())


def probabilities(result: dict[str, Any]) -> dict[str, float]:
    return {e["condition"]: e["probability"] for e in result["differential"]}


def odds(p: float) -> float:
    return p / (1.0 - p) if p < 1.0 else math.inf


def test_the_spec_example_gives_a_valid_result(engine: Engine) -> None:
    result = engine.assess(copy.deepcopy(SPEC_EXAMPLE))
    errors = list(_result_validator.iter_errors(result))
    assert not errors, errors
    assert result["knowledge_version"] == engine.kb.version
    assert result["differential"][0]["condition"] == "episacral_lipoma"


def test_the_posterior_matches_bayes_rule_computed_by_hand(
    kb: KnowledgeBase, engine: Engine
) -> None:
    # Independent of the compiled arrays: prior x product of P(state | condition), read
    # straight from the knowledge base's cells, then normalised.
    doc = {
        "setting": "pain_clinic",
        "age": 50,
        "findings": {"tender": True, "consistency": "firm", "size_cm": 6.0},
    }
    states = {
        "tender": "true",
        "consistency": "firm",
        "size_cm": "5cm_or_more",
        "lump_present": "true",
        "age": "45_to_64",
    }
    weights = []
    for c, cell in enumerate(kb.priors["pain_clinic"]):
        w = cell.p
        for fid, state in states.items():
            dist = kb.likelihoods[fid][c]
            w *= dist.p[dist.states.index(state)]
        weights.append(w)
    total = sum(weights)
    got = probabilities(engine.assess(doc))
    for condition, w in zip(kb.conditions, weights, strict=True):
        assert got[condition.id] == pytest.approx(w / total, abs=1e-12)


def test_an_absent_finding_contributes_nothing(engine: Engine) -> None:
    with_unknown = engine.assess({"findings": {"tender": True}})
    assert probabilities(with_unknown) == probabilities(
        engine.assess({"findings": {"tender": True}})
    )
    prior_only = probabilities(engine.assess({}))
    assert probabilities(engine.assess({"findings": {}})) == prior_only


def test_same_input_and_knowledge_give_the_same_result(engine: Engine, kb: KnowledgeBase) -> None:
    first = engine.assess(copy.deepcopy(SPEC_EXAMPLE))
    again = Engine(kb).assess(copy.deepcopy(SPEC_EXAMPLE))
    assert first == again


def test_pressure_reproducing_pain_raises_back_mouse(engine: Engine) -> None:
    base = {"findings": {"lump_present": True, "location": "posterior_iliac_crest", "tender": True}}
    more = copy.deepcopy(base)
    more["findings"]["pressure_reproduces_pain"] = True
    assert (
        probabilities(engine.assess(more))["episacral_lipoma"]
        > probabilities(engine.assess(base))["episacral_lipoma"]
    )


def test_evidence_is_sorted_strongest_first_and_labels_its_basis(
    engine: Engine, kb: KnowledgeBase
) -> None:
    result = engine.assess(copy.deepcopy(SPEC_EXAMPLE))
    for entry in result["differential"]:
        strengths = [abs(math.log(e["likelihood_ratio"])) for e in entry["evidence"]]
        assert strengths == sorted(strengths, reverse=True)
        c = [x.id for x in kb.conditions].index(entry["condition"])
        for item in entry["evidence"]:
            finding = kb.finding(item["finding"])
            dist = kb.likelihoods[finding.id][c]
            state = dist.states.index(finding.state_of(item["value"]))
            assert item["basis"] == dist.state_basis[state]
            assert tuple(item["sources"]) == dist.sources


def test_an_estimated_state_of_a_published_cell_is_labelled_estimate(engine: Engine) -> None:
    # P(size >= 5 cm | sarcoma) is read (76%); how the smaller sizes split is estimated.
    def basis_for_sarcoma(size: float) -> str:
        result = engine.assess({"findings": {"size_cm": size}})
        [entry] = [e for e in result["differential"] if e["condition"] == "soft_tissue_sarcoma"]
        [item] = [e for e in entry["evidence"] if e["finding"] == "size_cm"]
        return str(item["basis"])

    assert basis_for_sarcoma(7.0) == "published"
    assert basis_for_sarcoma(1.5) == "estimate"


def test_the_likelihood_ratio_is_exactly_the_change_in_odds(engine: Engine) -> None:
    before = {"findings": {"lump_present": True, "tender": True}}
    after = {"findings": {"lump_present": True, "tender": True, "mobile": True}}
    p0, result = probabilities(engine.assess(before)), engine.assess(after)
    p1 = probabilities(result)
    for entry in result["differential"]:
        [item] = [e for e in entry["evidence"] if e["finding"] == "mobile"] or [None]
        ratio = item["likelihood_ratio"] if item else None
        c = entry["condition"]
        if ratio is not None:
            assert odds(p1[c]) == pytest.approx(odds(p0[c]) * ratio, rel=1e-9)


def test_intervals_hold_the_probability_and_stay_in_0_1(engine: Engine) -> None:
    result = engine.assess(copy.deepcopy(SPEC_EXAMPLE))
    for entry in result["differential"]:
        low, high = entry["interval"]
        assert 0.0 <= low <= entry["probability"] <= high <= 1.0
    top = result["differential"][0]
    assert top["interval"][1] - top["interval"][0] > 0.0  # the ranges do spread it


def test_every_output_carries_the_disclaimer(engine: Engine) -> None:
    assert engine.assess({})["disclaimer"] == DISCLAIMER
    assert engine.assess({"setting": "self_check"})["disclaimer"] == PLAIN_DISCLAIMER
    assert "does not replace" in DISCLAIMER and "does not replace" in PLAIN_DISCLAIMER


def test_invalid_input_raises_and_produces_no_result(engine: Engine) -> None:
    with pytest.raises(InvalidCase, match=r"findings\.size_cm: -3 is not > 0"):
        engine.assess({"findings": {"size_cm": -3}})


# --- red flags and triage ---------------------------------------------------------


def test_a_red_flag_is_never_suppressed_by_a_confident_benign_differential(engine: Engine) -> None:
    doc = copy.deepcopy(SPEC_EXAMPLE)
    doc["findings"]["saddle_anaesthesia"] = True  # type: ignore[index]
    result = engine.assess(doc)
    assert result["differential"][0]["condition"] == "episacral_lipoma"
    assert result["differential"][0]["probability"] > 0.5
    assert [f["id"] for f in result["red_flags"]] == ["cauda_equina"]
    assert result["triage"] == "emergency"
    assert result["next_steps"][0]["id"] == "emergency_department"


@pytest.mark.parametrize(
    ("findings", "rule", "level"),
    [
        ({"bladder_bowel_dysfunction": True}, "cauda_equina", "emergency"),
        ({"systemically_unwell": True}, "sepsis", "emergency"),
        ({"fever": True, "erythema_warmth": True, "lump_present": True}, "sepsis", "emergency"),
        ({"pain_present": True, "iv_drug_use": True}, "spinal_infection", "urgent"),
        (
            {"pain_present": True, "fever": True, "neuro_deficit": True},
            "spinal_infection_with_neurology",
            "emergency",
        ),
        ({"erythema_warmth": True, "drainage": True}, "abscess", "urgent"),
        ({"size_cm": 6.0}, "possible_sarcoma", "soon"),
        ({"lump_present": True, "growing": True}, "possible_sarcoma", "soon"),
        ({"deep_to_fascia": True}, "possible_sarcoma", "soon"),
        ({"consistency": "hard"}, "possible_sarcoma", "soon"),
        ({"recurred_after_excision": True}, "possible_sarcoma", "soon"),
        ({"cancer_history": True}, "possible_malignancy", "soon"),
        ({"weight_loss": True}, "possible_malignancy", "soon"),
        ({"night_pain": True}, "possible_malignancy", "soon"),
        ({"progressive_weakness": True}, "progressive_neurological_deficit", "urgent"),
        (
            {"lump_present": True, "reducible": False, "tender": True, "location": "flank"},
            "irreducible_hernia",
            "urgent",
        ),
    ],
)
def test_each_red_flag_rule_fires_and_sets_at_least_its_level(
    engine: Engine, findings: dict[str, Any], rule: str, level: str
) -> None:
    result = engine.assess({"findings": findings})
    assert rule in [f["id"] for f in result["red_flags"]]
    assert urgency(result["triage"]) <= urgency(level)


def test_a_fracture_flag_needs_trauma_and_age_or_steroids(engine: Engine) -> None:
    old = engine.assess({"age": 78, "findings": {"trauma": True}})
    young = engine.assess({"age": 30, "findings": {"trauma": True}})
    assert "possible_fracture" in [f["id"] for f in old["red_flags"]]
    assert "possible_fracture" not in [f["id"] for f in young["red_flags"]]


def test_no_red_flag_fires_on_an_empty_case(engine: Engine) -> None:
    assert engine.assess({})["red_flags"] == []


def test_a_rule_names_the_findings_that_fired_it(engine: Engine) -> None:
    result = engine.assess(
        {"findings": {"erythema_warmth": True, "drainage": True, "tender": True}}
    )
    [flag] = [f for f in result["red_flags"] if f["id"] == "abscess"]
    assert flag["findings"] == ["erythema_warmth", "drainage"]


def test_self_check_results_use_plain_next_steps(engine: Engine, kb: KnowledgeBase) -> None:
    result = engine.assess(
        {"setting": "self_check", "findings": {"bladder_bowel_dysfunction": True}}
    )
    step = result["next_steps"][0]
    assert step["text"] == kb.next_steps[step["id"]].plain


# --- properties --------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(cases)
def test_any_valid_case_gives_probabilities_that_sum_to_one(doc: dict[str, Any]) -> None:
    result = _engine().assess(doc)
    probs = [e["probability"] for e in result["differential"]]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert sum(probs) == pytest.approx(1.0, abs=1e-9)
    assert probs == sorted(probs, reverse=True)
    assert not list(_result_validator.iter_errors(result))


@settings(max_examples=300, deadline=None)
@given(cases, st.data())
def test_a_finding_with_lr_above_one_never_lowers_that_conditions_odds(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    engine = _engine()
    unasked = sorted(
        engine.reader.finding_ids - set(doc["findings"]) - {"lump_present", "pain_present"}
    )
    assume(unasked)
    name = data.draw(st.sampled_from(unasked))
    value = data.draw(value_strategy(input_schema()["properties"]["findings"]["properties"][name]))
    after = copy.deepcopy(doc)
    after["findings"][name] = value
    # a lump or pain descriptor also implies its gate: make the gate explicit before,
    # so that the two cases differ by this one finding only
    for gate, descriptors in (
        ("lump_present", LUMP_DESCRIPTORS),
        ("pain_present", PAIN_DESCRIPTORS),
    ):
        implies = name in descriptors or (
            gate == "pain_present" and name in PAIN_IMPLYING and value is True
        )
        if implies and gate not in doc["findings"]:
            doc = copy.deepcopy(doc)
            doc["findings"][gate] = True
    try:
        result_after = engine.assess(after)
    except InvalidCase:
        assume(False)
    before = probabilities(engine.assess(doc))
    for entry in result_after["differential"]:
        c = entry["condition"]
        ratios = [e["likelihood_ratio"] for e in entry["evidence"] if e["finding"] == name]
        if ratios and ratios[0] > 1.0 and before[c] < 1.0 and entry["probability"] < 1.0:
            assert odds(entry["probability"]) >= odds(before[c]) * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(
    cases,
    st.sampled_from(
        [
            "bladder_bowel_dysfunction",
            "saddle_anaesthesia",
            "systemically_unwell",
            "progressive_weakness",
            "night_pain",
            "cancer_history",
        ]
    ),
)
def test_a_red_flag_finding_always_yields_at_least_its_triage_level(
    doc: dict[str, Any], flag: str
) -> None:
    engine = _engine()
    doc = copy.deepcopy(doc)
    doc["findings"][flag] = True
    result = engine.assess(doc)
    fired = {f["id"]: f["severity"] for f in result["red_flags"]}
    assert fired, "a red-flag finding was given but no rule fired"
    for severity in fired.values():
        assert urgency(result["triage"]) <= urgency(severity)


_ENGINE: list[Engine] = []


def _engine() -> Engine:
    if not _ENGINE:
        _ENGINE.append(Engine())
    return _ENGINE[0]


# --- batch --------------------------------------------------------------------------


def test_the_batch_path_gives_the_same_numbers_as_one_case_at_a_time(
    kb: KnowledgeBase, engine: Engine
) -> None:
    docs = generate_cases(kb, 600, seed=7)
    for d in docs:
        d.pop("_condition")
    batch = list(engine.assess_many(docs))
    for doc, together in zip(docs, batch, strict=True):
        alone = engine.assess(doc)
        assert isinstance(together, dict)
        assert together["id"] == alone["id"]
        for a, b in zip(alone["differential"], together["differential"], strict=True):
            assert a["condition"] == b["condition"]
            assert a["probability"] == pytest.approx(b["probability"], abs=1e-12)
            np.testing.assert_allclose(a["interval"], b["interval"], atol=1e-12)
        assert alone["triage"] == together["triage"]
        assert alone["red_flags"] == together["red_flags"]


def test_the_batch_path_keeps_invalid_cases_in_their_place(engine: Engine) -> None:
    docs = [{"id": "a"}, {"id": "b", "findings": {"size_cm": -1}}, {"id": "c"}]
    out = list(engine.assess_many(docs))
    assert isinstance(out[0], dict) and out[0]["id"] == "a"
    assert isinstance(out[1], InvalidCase)
    assert isinstance(out[2], dict) and out[2]["id"] == "c"


# --- found in review: implied pain and lump, calm advice beside an emergency ----------


@pytest.mark.parametrize(
    ("findings", "rule"),
    [
        (
            {"iv_drug_use": True, "night_pain": True, "progressive_weakness": True},
            "spinal_infection_with_neurology",
        ),
        ({"fever": True, "neuro_deficit": True}, "spinal_infection_with_neurology"),
        ({"fever": True, "erythema_warmth": True}, "sepsis"),
    ],
)
def test_an_emergency_rule_does_not_wait_for_an_unasked_gate_question(
    engine: Engine, findings: dict[str, Any], rule: str
) -> None:
    result = engine.assess({"findings": findings})
    assert rule in [f["id"] for f in result["red_flags"]]
    assert result["triage"] == "emergency"


def test_a_stated_absence_still_blocks_the_rule(engine: Engine) -> None:
    result = engine.assess(
        {"findings": {"fever": True, "erythema_warmth": True, "lump_present": False}}
    )
    assert "sepsis" not in [f["id"] for f in result["red_flags"]]


def test_night_pain_implies_pain(engine: Engine) -> None:
    case = engine.read({"findings": {"night_pain": True}})
    assert case.values["pain_present"] is True and "pain_present" in case.implied


def test_an_emergency_comes_without_advice_to_wait_and_see(engine: Engine) -> None:
    result = engine.assess(
        {"setting": "self_check", "findings": {"bladder_bowel_dysfunction": True}}
    )
    assert [s["id"] for s in result["next_steps"]] == ["emergency_department"]


def test_a_likelihood_ratio_survives_an_underflowed_posterior(engine: Engine) -> None:
    from backmice.engine.inference import _likelihood_ratios, _log_space_ratios, _softmax

    rows = np.array(engine.rows(engine.read({"findings": {"tender": True, "mobile": True}})))
    known = rows[rows != 0]
    joint = np.zeros((1, 15)) - 3000.0
    joint[0, 0] = 0.0  # one condition 3000 nats ahead: every other posterior is exactly 0
    post = _softmax(joint.copy())
    assert (post[0, 1:] == 0.0).all()
    for case_of in (None, np.zeros(len(known), dtype=np.int64)):  # one case, or a batch
        ratios = _likelihood_ratios(engine.model, known, case_of, joint, post)
        assert np.isfinite(ratios).all() and (ratios > 0).all()
    # in ordinary ranges the log-space path agrees with the direct one
    joint = np.log(np.full((1, 15), 1 / 15))
    direct = _likelihood_ratios(engine.model, known, None, joint, _softmax(joint.copy()))
    np.testing.assert_allclose(
        _log_space_ratios(engine.model, np.repeat(joint, len(known), 0), known, 15),
        direct,
        rtol=1e-12,
    )


def test_huge_integers_and_non_json_values_get_a_named_problem(engine: Engine) -> None:
    from decimal import Decimal

    with pytest.raises(InvalidCase, match=r"findings\.duration_weeks: is too large"):
        engine.assess({"findings": {"duration_weeks": 10**400}})
    with pytest.raises(InvalidCase, match=r"findings\.bmi: a Decimal is not a plain JSON value"):
        engine.assess({"findings": {"bmi": Decimal("25")}})


def test_the_engine_refuses_too_few_samples() -> None:
    with pytest.raises(ValueError, match="samples: 0 is not a whole number of at least 2"):
        Engine(samples=0)


# --- the fast paths give the numbers of the plain computation ------------------------


def test_intervals_are_the_percentiles_of_the_sampled_knowledge_bases(
    kb: KnowledgeBase, engine: Engine
) -> None:
    # Independent of the engine's single-precision arithmetic: each sampled knowledge
    # base's posterior in double precision, then numpy's own percentiles.
    model = engine.model
    sampled, _ = model._sample(model.samples)  # (rows + settings, C, samples), unrounded
    docs = generate_cases(kb, 300, seed=11)
    for doc in docs:
        doc.pop("_condition")
    results = list(engine.assess_many(docs))
    for doc, result in zip(docs, results, strict=True):
        assert isinstance(result, dict)
        case = engine.read(doc)
        rows = [r for r in engine.rows(case) if r] + [
            model.n_rows + model.setting_index[case.setting]
        ]
        log_joint = sampled[rows].sum(axis=0)  # (C, samples)
        probs = np.exp(log_joint - log_joint.max(axis=0))
        probs /= probs.sum(axis=0)
        low, high = np.percentile(probs, [5, 95], axis=1)
        by_condition = {e["condition"]: e for e in result["differential"]}
        post = np.array([by_condition[c]["probability"] for c in model.condition_ids])
        got = np.array([by_condition[c]["interval"] for c in model.condition_ids])
        want = np.stack([np.minimum(low, post), np.minimum(np.maximum(high, post), 1.0)], axis=1)
        # single precision and the rounding of the sampled tables: a few parts per million
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=0)


def test_a_case_gets_the_same_sample_sums_alone_or_in_any_batch(
    kb: KnowledgeBase, engine: Engine
) -> None:
    from backmice.engine.inference import _gathered, _onehot, _product_deltas

    model = engine.model
    docs = generate_cases(kb, 300, seed=12)
    coded = [
        engine.reader.read_coded({k: v for k, v in d.items() if k != "_condition"}) for d in docs
    ]
    rows = np.array([r for _, r, _ in coded])
    setting_codes = np.array([s for _, _, s in coded])
    together = _product_deltas(model, _onehot(model, rows, setting_codes))
    for size in (1, 7, 37):
        for start in range(0, len(rows), size):
            part = slice(start, start + size)
            batch = _product_deltas(model, _onehot(model, rows[part], setting_codes[part]))
            assert np.array_equal(batch, together[part])
    known = [[r for r in case_rows if r] for case_rows in rows.tolist()]
    _, alone = _gathered(model, known, setting_codes.tolist(), intervals=True)
    assert alone is not None and np.array_equal(alone, together)


def test_the_sampled_tables_add_up_exactly_in_single_precision(engine: Engine) -> None:
    # exact: the single-precision product equals the double-precision one, bit for bit
    model = engine.model
    rng = np.random.default_rng(3)
    table = model.sample_deltas
    for a, b in model.sample_groups:
        onehot = (rng.random((64, b - a)) < 0.3).astype(table.dtype)
        single = onehot @ table[a:b]
        double = onehot.astype(np.float64) @ table[a:b].astype(np.float64)
        assert np.array_equal(single.astype(np.float64), double)
    assert np.abs(model.sample_deltas).max() > 0.1  # the samples do differ from the centre


def test_a_batch_of_nothing_or_of_invalid_documents_scores_nothing(engine: Engine) -> None:
    for docs, lines in (([], []), (["not a case"], [b"not a case"])):
        for batch in (engine.score_batch(docs), engine.score_lines(lines)):
            assert batch.scores.posterior.shape == (0, 15)
            assert batch.scores.interval.shape == (0, 15, 2)
            assert batch.scores.likelihood_ratio.shape == (0, 15)
            assert batch.scores.offsets.tolist() == [0]
            assert sorted(batch.errors) == list(range(len(docs)))


def test_batch_scores_are_those_of_the_full_results(kb: KnowledgeBase, engine: Engine) -> None:
    docs: list[object] = []
    for doc in generate_cases(kb, 40, seed=13):
        doc.pop("_condition")
        docs.append(doc)
    docs[3] = {"findings": {"size_cm": -1}}
    docs[17] = "not a case"
    batch = engine.score_batch(docs)
    full = list(engine.assess_many(docs))
    assert sorted(batch.errors) == [p for p, r in enumerate(full) if isinstance(r, InvalidCase)]
    assert sorted(batch.errors) == [3, 17]
    for position, error in batch.errors.items():
        assert error.problems == full[position].problems  # type: ignore[union-attr]
    for n, position in enumerate(batch.positions.tolist()):
        result = full[position]
        assert isinstance(result, dict)
        ids = engine.model.condition_ids
        by_id = {e["condition"]: e for e in result["differential"]}
        for c, condition in enumerate(ids):
            assert by_id[condition]["probability"] == pytest.approx(
                batch.scores.posterior[n, c], abs=1e-12
            )
            assert by_id[condition]["interval"] == pytest.approx(
                list(batch.scores.interval[n, c]), abs=1e-12
            )


@settings(max_examples=600, deadline=None)
@given(near_valid_cases)
def test_checking_while_encoding_accepts_and_encodes_as_reading_then_encoding(
    doc: dict[str, Any],
) -> None:
    engine = _engine()
    codes, setting_codes = engine.reader.scan([doc])
    try:
        case = engine.read(doc)
    except InvalidCase:
        assert setting_codes.tolist() == [-1]
        return
    assert setting_codes.tolist() == [engine.model.setting_index[case.setting]]
    assert codes[0].tolist() == engine.rows(case)
    assert engine.reader.read_coded(doc) == (case, engine.rows(case), setting_codes[0])


def _near_an_edge(kb: KnowledgeBase) -> st.SearchStrategy[dict[str, Any]]:
    """Cases whose numbers sit on a bin edge of the knowledge base or a few floats off
    it, where reading a number one bit differently would change its code."""
    edges = [
        (f.id, b.below)
        for f in kb.findings
        if f.type not in ("boolean", "enum")
        for b in f.bins
        if b.below is not None
    ]

    def near(edge: tuple[str, float], steps: int) -> dict[str, Any]:
        finding, value = edge
        for _ in range(abs(steps)):
            value = math.nextafter(value, math.inf if steps > 0 else -math.inf)
        return {"age": value} if finding == "age" else {"findings": {finding: value}}

    return st.builds(near, st.sampled_from(edges), st.integers(-3, 3))


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(near_valid_cases, _near_an_edge(default_knowledge())), st.sampled_from(TEXT_STYLES)
)
def test_decoding_a_line_accepts_and_encodes_as_reading_its_parsed_json(
    doc: dict[str, Any], style: str
) -> None:
    engine = _engine()
    line = json_text(doc, style)
    codes, setting_codes = engine.decoder.scan([line])
    want_codes, want_setting = engine.reader.scan([orjson.loads(line)])
    assert setting_codes.tolist() == want_setting.tolist(), line
    if want_setting[0] >= 0:
        assert codes.tolist() == want_codes.tolist(), line


@settings(max_examples=400, deadline=None)
@given(cases, st.lists(st.floats(0.0, 1.0), min_size=15, max_size=15))
def test_prepared_safety_rules_fire_as_the_rules_themselves(
    doc: dict[str, Any], weights: list[float]
) -> None:
    engine = _engine()
    values = engine.read(doc).values
    prepared = SafetyRules(engine.kb)
    assert prepared.fire(values) == fire_red_flags(engine.kb, values)
    total = sum(weights) or 1.0
    probabilities = [w / total for w in weights]
    assert prepared.triage(probabilities) == triage_from_differential(engine.kb, probabilities)


def test_a_case_gets_the_same_interval_alone_or_in_a_batch(
    kb: KnowledgeBase, engine: Engine
) -> None:
    # compiled._exact_deltas makes the sample sums exact; the rest of the interval is
    # per case, so scoring it with 599 others must not move a single bit
    from backmice.engine.inference import score_few

    docs: list[object] = []
    for doc in generate_cases(kb, 600, seed=14):
        doc.pop("_condition")
        docs.append(doc)
    batch = engine.score_batch(docs)
    for n, doc in enumerate(docs):
        _, rows, setting = engine.reader.read_coded(doc)
        alone = score_few(engine.model, [rows], [setting])
        assert np.array_equal(alone.interval[0], batch.scores.interval[n])
        np.testing.assert_allclose(alone.posterior[0], batch.scores.posterior[n], rtol=1e-13)


def test_a_reused_workspace_scores_as_a_fresh_one(kb: KnowledgeBase, engine: Engine) -> None:
    # the engine keeps one workspace per thread: nothing of one batch may leak into the
    # next, whatever their sizes (a partial last step leaves old numbers in the arrays)
    from backmice.engine.inference import Workspace, score

    model = engine.model
    docs = generate_cases(kb, 900, seed=15)
    codes, settings = engine.reader.scan(
        [{k: v for k, v in d.items() if k != "_condition"} for d in docs]
    )
    work = Workspace(model)
    for size in (900, 300, 17, 8, 531):
        rows, where = codes[:size][::-1], settings[:size][::-1]  # a different order each time
        reused = score(model, rows, where, work=work)
        fresh = score(model, rows, where, work=Workspace(model))
        for name in ("posterior", "interval", "likelihood_ratio", "offsets"):
            assert np.array_equal(getattr(reused, name), getattr(fresh, name)), (size, name)


def test_scoring_json_lines_gives_the_numbers_and_problems_of_scoring_documents(
    kb: KnowledgeBase, engine: Engine
) -> None:
    docs: list[object] = []
    for doc in generate_cases(kb, 700, seed=16):
        doc.pop("_condition")
        docs.append(doc)
    docs[5] = {"age": 200, "sex": "x", "findings": {"size_cm": -1, "tendr": True}}
    docs[6] = {"age": 40.0, "findings": {"lump_count": 2.0}}  # valid, left to the reader
    docs[7] = {"findings": {"lump_present": False, "mobile": True}}
    lines = [orjson.dumps(d) for d in docs]
    lines[8] = b'{"age": 52, "sex": "female"'  # not JSON
    lines[9] = b""
    from_lines = engine.score_lines(lines)
    docs[8] = docs[9] = "placeholder"
    from_docs = engine.score_batch(docs)
    assert from_lines.positions.tolist() == from_docs.positions.tolist()
    assert 6 in from_lines.positions.tolist()
    for name in ("posterior", "interval", "likelihood_ratio", "offsets"):
        assert np.array_equal(getattr(from_lines.scores, name), getattr(from_docs.scores, name))
    assert sorted(from_lines.errors) == [5, 7, 8, 9]
    for n in (5, 7):
        assert from_lines.errors[n].problems == from_docs.errors[n].problems
    assert len(from_lines.errors[5].problems) == 4  # every problem, not the first
    [syntax] = from_lines.errors[8].problems
    assert syntax.field == "case" and syntax.message.startswith("is not valid JSON (")
    [empty] = from_lines.errors[9].problems
    assert str(empty) == "case: is empty; expected a JSON object"
