"""One synthetic patient walked along the care pathway on a real database (SQLite and
PostgreSQL): first visit, diagnostic injection test, self-care, two corticosteroid
injections, excision referral, then a red flag arriving. The plan is checked at each
step, and so are the reviews due and the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backmice.engine import Engine
from backmice.errors import InvalidRecord
from backmice.records import services as s
from backmice.records.store import RecordStore

ACTOR = "test:dr-a"
START = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).replace(microsecond=0)

BACK_MOUSE = {
    "schema": "backmice.assessment/1",
    "setting": "pain_clinic",
    "age": 54,
    "sex": "female",
    "findings": {
        "lump_present": True,
        "location": "posterior_iliac_crest",
        "size_cm": 1.5,
        "consistency": "rubbery",
        "mobile": True,
        "tender": True,
        "pressure_reproduces_pain": True,
        "duration_weeks": 60,
    },
}


def day(n: float) -> dt.datetime:
    return START + dt.timedelta(days=n)


@pytest.fixture
def store(database_url: str) -> Any:
    opened = RecordStore.open(database_url)
    yield opened
    opened.close()


def test_a_patient_walks_the_pathway_from_first_visit_to_excision_referral(
    store: RecordStore, engine: Engine
) -> None:
    run = store.run

    def plan(on: float) -> Any:
        return run(lambda u: s.care_plan(u, ACTOR, pid, today=day(on).date()))

    def decide(on: float, **kw: Any) -> Any:
        return run(lambda u: s.decide_plan(u, ACTOR, pid, decided_at=day(on), **kw))[0]

    def scores(on: float, nrs: int, pgic: int | None = None) -> None:
        run(lambda u: s.record_pain_scores(u, ACTOR, pid, [s.ScoreEntry(nrs, "current", day(on))]))
        if pgic is not None:
            run(
                lambda u: s.record_outcome_scores(
                    u, ACTOR, pid, [s.OutcomeEntry("pgic", pgic, day(on))]
                )
            )

    def treat(on: float, *kinds: str) -> None:
        for kind in kinds:
            run(lambda u, k=kind: s.record_treatment(u, ACTOR, pid, kind=k, performed_at=day(on)))

    def due(on: float) -> list[str]:
        return [r.patient_id for r in run(lambda u: s.due_reviews(u, ACTOR, day(on).date()))]

    # first visit: registered, a nodule, an assessment with a back mouse leading
    patient = run(
        lambda u: s.register_patient(
            u,
            ACTOR,
            identifier="SCN-1",
            name="Walk Through",
            birth_date=dt.date(1971, 5, 1),
            sex="female",
        )
    )
    pid = patient.id
    nodule = run(
        lambda u: s.add_nodule(
            u, ACTOR, pid, x=36, y=63, side="left", region="posterior_iliac_crest", size_cm=1.5
        )
    )
    first = run(
        lambda u: s.record_assessment(u, ACTOR, pid, engine, BACK_MOUSE, assessed_at=day(0))
    )
    assert first.result["differential"][0]["condition"] == "episacral_lipoma"
    scores(0, 7)
    proposal = plan(0)
    assert (proposal.status, proposal.current_step.id, proposal.current_accepted) == (
        "on_pathway",
        "confirm_diagnosis",
        False,
    )
    with pytest.raises(InvalidRecord, match=r"not the proposed step 'confirm_diagnosis'"):
        decide(0, decision="accept", step_id="excision_referral")

    # the diagnostic injection, fed back into the engine
    again = run(
        lambda u: s.record_injection_and_reassess(
            u,
            ACTOR,
            pid,
            engine,
            performed_at=day(0.05),
            minutes_after=20,
            pre_nrs=7,
            post_nrs=1,
            nodule_id=nodule.id,
            agent="lidocaine 1%",
        )
    )
    assert again.reading.interpretation == "strongly_positive"
    assert again.assessment is not None
    assert again.assessment.case["findings"]["injection_relief_percent"] == 85.7
    p_before = again.before["differential"][0]["probability"]  # type: ignore[index]
    p_after = again.assessment.result["differential"][0]["probability"]
    assert p_after > p_before  # strong relief raises the back mouse

    # self-care, accepted: its review is scheduled six weeks on
    proposal = plan(0.1)
    assert (proposal.current_step.id, proposal.next_step.id) == ("self_care", "steroid_injection")
    decision = decide(0.1, decision="accept")
    assert decision.step_id == "self_care" and decision.review_due == day(42.1).date()
    treat(0.1, "self_care")
    assert pid not in due(41) and pid in due(43)
    assert plan(20).current_accepted and plan(20).review_due == day(42.1).date()

    # review: 7 -> 6 is one point (14%), not enough: a corticosteroid injection
    scores(40, 6)
    proposal = plan(43)
    assert (proposal.current_step.id, proposal.current_accepted) == ("steroid_injection", False)
    assert any("less than 2 points or 30%" in r for r in proposal.reasons)
    decide(43, decision="accept")
    treat(43, "injection", "repeated_needling")

    # four weeks on: 6 -> 5 and PGIC "no change": a second injection, but not before six
    # weeks after the first
    scores(69, 5, pgic=4)
    proposal = plan(71)
    assert proposal.current_step.id == "steroid_injection" and not proposal.current_accepted
    assert proposal.not_before == day(43 + 42).date()
    decision = decide(71, decision="accept")
    assert decision.review_due == day(43 + 42 + 28).date()  # counted from the earliest date
    treat(85, "injection")

    # after the second: no better. Two injections without relief: excision referral
    scores(84, 5)
    scores(111, 5, pgic=4)
    proposal = plan(113)
    assert proposal.current_step.id == "excision_referral"
    assert any("2 injections" in r for r in proposal.reasons)
    assert proposal.next_step is None
    decide(113, decision="accept")
    assert plan(114).current_step.id == "excision_referral"
    assert plan(114).current_accepted

    # a red flag arrives mid-pathway: a growing lump now 6 cm. The pathway is suspended
    grown = {
        **BACK_MOUSE,
        "findings": {**BACK_MOUSE["findings"], "size_cm": 6.0, "growing": True},
    }
    run(lambda u: s.record_assessment(u, ACTOR, pid, engine, grown, assessed_at=day(120)))
    proposal = plan(120)
    assert proposal.status == "suspended_for_red_flag"
    assert proposal.red_flags and proposal.current_step is None
    with pytest.raises(InvalidRecord, match=r"suspended by a red flag"):
        decide(120, decision="accept")
    stopped = decide(120, decision="stop", reason_code="diagnosis_changed")
    assert stopped.review_due is None
    assert plan(121).status == "suspended_for_red_flag"  # still: red flags are never hidden
    assert pid not in due(200)  # the stop ended the scheduled reviews

    # every read and write of the record is in the audit trail
    trail = run(lambda u: s.audit_trail(u, ACTOR, pid))
    entities = [e.entity for e in trail]
    assert entities.count("plan_decision") == 5
    assert entities.count("care_plan") >= 10
    assert entities.count("injection_test") == 1
    assert entities.count("assessment") == 3
