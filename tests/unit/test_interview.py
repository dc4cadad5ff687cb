"""The adaptive interview: ranking, screening, stopping, and bad answers."""

from __future__ import annotations

import pytest

from backmice.engine import Engine
from backmice.engine.interview import FIRM_PROBABILITY, Interview, representative_values
from backmice.errors import InvalidCase


def test_questions_are_ranked_by_value_with_reasons(engine: Engine) -> None:
    ranked = Interview(engine).ranked()
    values = [q.value for q in ranked]
    assert values == sorted(values, reverse=True)
    assert all(q.information_gain >= 0 and q.safety_value >= 0 for q in ranked)
    assert len(ranked) == 42


def test_a_self_check_asks_only_what_a_person_can_answer(engine: Engine) -> None:
    interview = Interview(engine, setting="self_check")
    asked = {q.finding for q in interview.ranked()}
    assert "neuro_deficit" not in asked and "straight_leg_raise" not in asked
    assert "lump_present" in asked
    assert all(engine.kb.finding(f).plain_question for f in asked)
    question = interview.ranked()[0]
    assert question.text == engine.kb.finding(question.finding).plain_question


def test_the_emergency_screening_questions_come_before_a_firm_stop(engine: Engine) -> None:
    interview = Interview(engine)
    for finding, value in {
        "lump_present": True,
        "location": "posterior_iliac_crest",
        "tender": True,
        "pressure_reproduces_pain": True,
        "consistency": "rubbery",
        "mobile": True,
        "injection_relief_percent": 95,
        "size_cm": 2.0,
    }.items():
        interview.record(finding, value)
    assert interview.probabilities().max() >= FIRM_PROBABILITY
    asked_before_stop = []
    while (q := interview.next_question()) is not None:
        asked_before_stop.append(q.finding)
        interview.record(
            q.finding, False if engine.kb.finding(q.finding).type == "boolean" else None
        )
    assert {"bladder_bowel_dysfunction", "saddle_anaesthesia", "systemically_unwell"} <= set(
        asked_before_stop
    )


def test_an_answer_that_raises_a_red_flag_is_asked_early_when_likely(engine: Engine) -> None:
    interview = Interview(engine)
    interview.record("pain_present", True)
    interview.record("fever", True)
    ranked = {q.finding: q for q in interview.ranked()}
    # with fever and back pain, immunosuppression or injecting drugs would fire a rule
    assert ranked["neuro_deficit"].safety_value > 0


def test_an_invalid_answer_is_rejected_and_changes_nothing(engine: Engine) -> None:
    interview = Interview(engine)
    interview.record("lump_present", False)
    before = dict(interview.answers)
    with pytest.raises(
        InvalidCase, match=r"findings\.size_cm: 3\.0 given while findings\.lump_present is false"
    ):
        interview.record("size_cm", 3.0)
    assert interview.answers == before


def test_lump_questions_are_not_asked_once_there_is_no_lump(engine: Engine) -> None:
    interview = Interview(engine)
    interview.record("lump_present", False)
    asked = {q.finding for q in interview.ranked()}
    assert "size_cm" not in asked and "consistency" not in asked


def test_not_known_answers_count_as_asked_and_leave_the_case_unchanged(engine: Engine) -> None:
    interview = Interview(engine)
    interview.record("trauma", None)
    assert interview.asked == 1
    assert interview.case() == {"setting": "primary_care", "findings": {}}


def test_representative_values_fall_in_their_own_bins(engine: Engine) -> None:
    for finding in engine.kb.findings:
        for state, value in representative_values(finding).items():
            assert finding.state_of(value) == state


def test_age_can_raise_the_fracture_flag_after_a_fall(engine: Engine) -> None:
    interview = Interview(engine)
    interview.record("trauma", True)
    age = {q.finding: q for q in interview.ranked()}["age"]
    assert age.safety_value > 0  # 70 or over fires possible_fracture; the bin starts at 65


def test_an_implied_lump_is_not_asked_about(engine: Engine) -> None:
    interview = Interview(engine)
    interview.record("size_cm", 3.0)
    assert "lump_present" not in {q.finding for q in interview.ranked()}
