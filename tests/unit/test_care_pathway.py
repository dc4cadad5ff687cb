"""The care pathway's rules, each on its own, with the edge values around every threshold."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import yaml

from backmice.care.injection_test import read_injection_test
from backmice.care.outcomes import Reading, nrs_change, trend
from backmice.care.pathway import (
    CareHistory,
    DecisionEvent,
    InjectionEvent,
    PainEvent,
    TreatmentEvent,
    propose_plan,
)
from backmice.care.pathway_data import default_pathway, parse_pathway
from backmice.errors import KnowledgeBaseError
from backmice.knowledge import default_knowledge

PATHWAY = default_pathway()
DAY0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(days: float) -> dt.datetime:
    return DAY0 + dt.timedelta(days=days)


def result(
    leader: str = "episacral_lipoma",
    probability: float = 0.8,
    red_flags: tuple[dict[str, Any], ...] = (),
    triage: str = "routine",
) -> dict[str, Any]:
    return {
        "differential": [{"condition": leader, "name": leader, "probability": probability}],
        "red_flags": list(red_flags),
        "triage": triage,
        "next_steps": [{"id": "urgent_ultrasound", "text": "Arrange an ultrasound."}],
    }


SARCOMA_FLAG = {
    "id": "possible_soft_tissue_sarcoma",
    "severity": "soon",
    "message": "A lump that is growing",
    "findings": ["growing"],
}


def history(**overrides: Any) -> CareHistory:
    base: dict[str, Any] = {"assessment": result(), "assessed_at": DAY0}
    return CareHistory(**{**base, **overrides})


def plan(h: CareHistory, days: float = 0) -> Any:
    return propose_plan(PATHWAY, h, at(days).date())


# --- the injection test ------------------------------------------------------------


@pytest.mark.parametrize(
    ("relief", "reading"),
    [
        (49.9, "negative"),
        (50, "positive"),
        (79.9, "positive"),
        (80, "strongly_positive"),
        (100, "strongly_positive"),
        (0, "negative"),
    ],
)
def test_injection_relief_is_read_at_the_knowledge_base_thresholds(
    relief: float, reading: str
) -> None:
    got = read_injection_test(default_knowledge(), minutes_after=30, relief_percent=relief)
    assert got.interpretation == reading


def test_a_clinic_can_set_its_own_injection_thresholds() -> None:
    got = read_injection_test(
        default_knowledge(), minutes_after=30, relief_percent=60, positive_at=70
    )
    assert got.interpretation == "negative"


def test_every_injection_reading_carries_the_placebo_caveat() -> None:
    got = read_injection_test(default_knowledge(), minutes_after=30, pre_nrs=8, post_nrs=0)
    assert got.interpretation == "strongly_positive"
    assert any("saline" in c for c in got.caveats)


# --- meaningful change ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "latest", "meaningful"),
    [
        (8, 6, True),  # 2 points
        (10, 9, False),  # 1 point, 10%
        (3, 2, True),  # 1 point but 33%
        (5, 4, False),  # 1 point, 20%
        (7, 7, False),
        (4, 6, False),  # worse
        (0, 0, False),  # no pain to lose
    ],
)
def test_a_meaningful_fall_is_two_points_or_thirty_percent(
    baseline: int, latest: int, meaningful: bool
) -> None:
    assert nrs_change(baseline, latest, PATHWAY.meaningful_change).meaningful is meaningful


def test_a_trend_reads_falling_pain_as_improving_and_rising_sitting_as_improving() -> None:
    pain = [Reading(at(d), v) for d, v in ((0, 8), (7, 6), (14, 4))]
    sitting = [Reading(at(d), v) for d, v in ((0, 10), (7, 20), (14, 40))]
    assert trend("nrs", pain).direction == "improving"  # type: ignore[union-attr]
    assert trend("sitting_tolerance", sitting).direction == "improving"  # type: ignore[union-attr]
    assert trend("nrs", pain[:1]) is None
    same_day = [Reading(at(0), 8), Reading(at(0.01), 2)]
    assert trend("nrs", same_day) is None  # minutes apart: no weekly slope
    flat = [Reading(at(d), 5) for d in (0, 7, 14)]
    assert trend("nrs", flat).direction == "stable"  # type: ignore[union-attr]


# --- the plan, rule by rule ----------------------------------------------------------


def test_without_an_assessment_the_plan_has_not_started() -> None:
    proposal = plan(CareHistory())
    assert proposal.status == "not_started"
    assert "assess first" in proposal.reasons[0]


def test_another_leading_condition_keeps_the_person_off_the_pathway() -> None:
    proposal = plan(history(assessment=result(leader="lumbar_radiculopathy", probability=0.6)))
    assert proposal.status == "not_started"
    assert proposal.current_step is None
    assert proposal.actions  # the assessment's next steps instead


def test_a_back_mouse_first_gets_a_diagnostic_injection_test() -> None:
    proposal = plan(history())
    assert proposal.status == "on_pathway"
    assert proposal.current_step.id == "confirm_diagnosis"
    assert not proposal.current_accepted
    assert proposal.next_step.id == "self_care"


def test_a_positive_test_starts_self_care() -> None:
    proposal = plan(history(injection_tests=[InjectionEvent(at(0), 75.0, "positive")]))
    assert (proposal.current_step.id, proposal.next_step.id) == (
        "self_care",
        "steroid_injection",
    )


def test_a_negative_test_asks_for_reassessment_and_proposes_no_treatment() -> None:
    proposal = plan(history(injection_tests=[InjectionEvent(at(0), 49.9, "negative")]))
    assert proposal.current_step.id == "confirm_diagnosis"
    assert proposal.next_step is None
    assert any("reassess" in r for r in proposal.reasons)


def self_care_begun(**more: Any) -> CareHistory:
    return history(
        injection_tests=[InjectionEvent(at(0), 80.0, "strongly_positive")],
        decisions=[DecisionEvent(at(1), "accept", "self_care", review_due=at(43).date())],
        **more,
    )


def test_before_the_review_the_step_continues_with_its_review_date() -> None:
    proposal = plan(self_care_begun(), days=20)
    assert proposal.current_step.id == "self_care" and proposal.current_accepted
    assert proposal.review_due == at(43).date()
    assert proposal.next_step.id == "steroid_injection"


def test_at_the_review_missing_scores_are_asked_for_not_guessed() -> None:
    proposal = plan(self_care_begun(pain=[PainEvent(at(0), 7, "current")]), days=43)
    assert proposal.current_step.id == "self_care"  # stays: nothing to judge by
    assert any("record them" in r for r in proposal.reasons)


def test_at_the_review_a_meaningful_improvement_keeps_the_step() -> None:
    pain = [PainEvent(at(0), 7, "current"), PainEvent(at(40), 5, "current")]
    proposal = plan(self_care_begun(pain=pain), days=43)
    assert proposal.current_step.id == "self_care" and proposal.next_step is None
    assert any("meaningful" in r for r in proposal.reasons)


def test_at_the_review_too_little_improvement_advances_to_an_injection() -> None:
    pain = [PainEvent(at(0), 7, "current"), PainEvent(at(40), 6, "current")]  # 1 point, 14%
    proposal = plan(self_care_begun(pain=pain), days=43)
    assert proposal.current_step.id == "steroid_injection"
    assert not proposal.current_accepted
    assert proposal.next_step.id == "excision_referral"


def test_a_pgic_short_of_much_improved_advances_even_when_the_nrs_fell() -> None:
    pain = [PainEvent(at(0), 7, "current"), PainEvent(at(40), 5, "current")]
    proposal = plan(self_care_begun(pain=pain, pgic=[(at(40), 3)]), days=43)
    assert proposal.current_step.id == "steroid_injection"
    assert any("PGIC 3" in r for r in proposal.reasons)


def test_pgic_alone_can_decide_when_no_pain_score_was_repeated() -> None:
    proposal = plan(self_care_begun(pgic=[(at(40), 2)]), days=43)
    assert proposal.current_step.id == "self_care" and proposal.next_step is None


def injections(*days: float, review_days: float = 28) -> dict[str, Any]:
    decisions = [DecisionEvent(at(1), "accept", "self_care")]
    treatments = []
    for d in days:
        decisions.append(DecisionEvent(at(d), "accept", "steroid_injection"))
        treatments.append(TreatmentEvent(at(d), "injection"))
        treatments.append(TreatmentEvent(at(d), "repeated_needling"))  # same day: one
    pain = [PainEvent(at(d - 0.01), 7, "current") for d in days]
    pain += [PainEvent(at(d + review_days - 1), 6, "current") for d in days]
    return {"decisions": decisions, "treatments": treatments, "pain": pain}


def test_one_injection_without_relief_proposes_a_second_after_the_spacing_limit() -> None:
    proposal = plan(history(**injections(50)), days=50 + 28)
    assert proposal.current_step.id == "steroid_injection" and not proposal.current_accepted
    assert proposal.not_before == at(50 + 42).date()  # 42 days apart
    assert any("not before" in w for w in proposal.warnings)


def test_a_late_review_proposes_the_second_injection_with_no_wait() -> None:
    proposal = plan(history(**injections(50)), days=50 + 45)
    assert proposal.current_step.id == "steroid_injection"
    assert proposal.not_before is None and not proposal.warnings


def test_two_injections_without_relief_propose_excision() -> None:
    proposal = plan(history(**injections(50, 100)), days=100 + 28)
    assert proposal.current_step.id == "excision_referral"
    assert any("2 injections" in r for r in proposal.reasons)


def test_the_yearly_corticosteroid_limit_sends_to_excision() -> None:
    # a clinic that allows 5 attempts still stops at 3 injections in a year
    raw = _raw()
    raw["steroid_injections"]["attempts_before_excision"].update(value=5, range=[1, 5])
    pathway = parse_pathway(raw, default_knowledge())
    proposal = propose_plan(pathway, history(**injections(50, 100, 150)), at(150 + 28).date())
    assert proposal.current_step.id == "excision_referral"
    assert any("yearly limit" in r for r in proposal.reasons)


def test_a_red_flag_arriving_mid_pathway_suspends_it() -> None:
    flagged = result(red_flags=(SARCOMA_FLAG,), triage="soon")
    h = history(**injections(50))
    proposal = plan(_with(h, assessment=flagged), days=60)
    assert proposal.status == "suspended_for_red_flag"
    assert proposal.current_step is None and proposal.next_step is None
    assert proposal.red_flags[0]["id"] == SARCOMA_FLAG["id"]
    assert proposal.actions[0]["id"] == "urgent_ultrasound"


def test_an_urgent_triage_without_a_flag_also_suspends_the_pathway() -> None:
    proposal = plan(history(assessment=result(triage="urgent")))
    assert proposal.status == "suspended_for_red_flag"


def test_a_red_flag_overrides_even_a_stopped_plan() -> None:
    h = history(
        assessment=result(red_flags=(SARCOMA_FLAG,), triage="soon"),
        decisions=[DecisionEvent(at(1), "stop", "self_care", "resolved")],
    )
    assert plan(h).status == "suspended_for_red_flag"


def test_a_clinicians_stop_ends_the_plan() -> None:
    h = history(decisions=[DecisionEvent(at(1), "stop", "self_care", "resolved")])
    assert plan(h, days=2).status == "stopped"


def test_a_clinicians_choice_of_another_step_is_followed() -> None:
    h = history(
        decisions=[DecisionEvent(at(1), "choose", "complementary_therapy", "patient_preference")]
    )
    proposal = plan(h, days=5)
    assert proposal.current_step.id == "complementary_therapy" and proposal.current_accepted
    assert proposal.next_step.id == "steroid_injection"


def test_liposuction_is_offered_only_with_many_nodules() -> None:
    few = plan(history(active_nodules=3))
    many = plan(history(active_nodules=int(PATHWAY.many_nodules.value)))
    assert "liposuction_referral" not in [o.id for o in few.options]
    assert "liposuction_referral" in [o.id for o in many.options]


def _with(h: CareHistory, **changes: Any) -> CareHistory:
    fields = {name: getattr(h, name) for name in h.__dataclass_fields__}
    return CareHistory(**{**fields, **changes})


# --- the pathway data is loaded strictly ----------------------------------------------


def _raw() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("backmice.care").joinpath("data", "pathway.yaml").read_text()
    return copy.deepcopy(yaml.safe_load(text))


def test_the_pathway_refuses_an_unknown_key_and_lists_the_allowed_ones() -> None:
    raw = _raw()
    raw["steps"][0]["reviw_after_days"] = 3
    with pytest.raises(KnowledgeBaseError, match=r"unknown key 'reviw_after_days'; allowed"):
        parse_pathway(raw, default_knowledge())


def test_the_pathway_refuses_an_unknown_source() -> None:
    raw = _raw()
    raw["steps"][1]["sources"].append("nobody2020")
    with pytest.raises(KnowledgeBaseError, match=r"'nobody2020' is not in references.yaml"):
        parse_pathway(raw, default_knowledge())


def test_a_published_threshold_must_name_its_sources() -> None:
    raw = _raw()
    raw["meaningful_change"]["nrs_points"]["sources"] = []
    with pytest.raises(KnowledgeBaseError, match=r"published value must name its sources"):
        parse_pathway(raw, default_knowledge())


def test_the_pathway_refuses_a_treatment_kind_the_record_does_not_know() -> None:
    raw = _raw()
    raw["steps"][2]["treatment_kinds"].append("cupping")
    with pytest.raises(KnowledgeBaseError, match=r"'cupping' is not one of self_care"):
        parse_pathway(raw, default_knowledge())


def test_every_step_has_an_evidence_level_and_every_estimate_a_range() -> None:
    for step in (*PATHWAY.steps, *PATHWAY.alternatives):
        assert step.evidence_level and step.evidence
        review = step.review_after_days
        assert review.low <= review.value <= review.high
        if review.basis == "published":
            assert review.sources
