"""A clinician's care work in the browser: an assessment whose differential follows the
answers, the diagnostic injection test, the care plan moving on, the PDFs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from backmice.records import domain, services
from tests.browser.conftest import TYPICAL, Server
from tests.browser.helpers import screenshot, sign_in

BACK_MOUSE = "Back mouse (episacral lipoma / lumbar fascial fat herniation)"


def _assessed(server: Server, name: str, at: dt.datetime | None = None) -> domain.Patient:
    """A new patient with a typical back-mouse assessment (at `at`, default now)."""
    patient = server.new_patient(name)
    server.store.run(
        lambda uow: services.record_assessment(
            uow, "test:setup", patient.id, server.engine, dict(TYPICAL), assessed_at=at
        )
    )
    return patient


def _leading(page: Any, where: str) -> str:
    return str(page.locator(f"{where} ol.differential li .name").first.inner_text())


def test_the_differential_follows_the_answers_and_the_saved_assessment_keeps_it(
    page: Any, server: Server, screenshot_dir: Path
) -> None:
    patient = server.new_patient("Assessed Person")
    sign_in(page, "dr.ada")
    page.goto(f"/patients/{patient.id}/assess")
    live = "#live-differential"
    before = _leading(page, live)
    assert before != BACK_MOUSE  # with nothing known, the commonest cause leads
    page.locator("#f-lump_present input[value='yes']").check()
    page.locator("#in-location").select_option("posterior_iliac_crest")
    page.locator("#in-consistency").select_option("rubbery")
    page.locator("#f-mobile input[value='yes']").check()
    page.locator("#f-tender input[value='yes']").check()
    page.locator("#f-pressure_reproduces_pain input[value='yes']").check()
    # the result follows the answers without a page load (static/assess.js)
    page.wait_for_function(
        "name => document.querySelector('#live-differential .name').textContent === name",
        arg=BACK_MOUSE,
    )
    assert page.locator("#live-next").inner_text().strip()
    screenshot(page, screenshot_dir, "flow-assess-filled")
    with page.expect_navigation():
        page.locator("#assess-form .actions button[value='save']").click()
    assert "/assessments/" in page.url
    assert _leading(page, "main") == BACK_MOUSE
    screenshot(page, screenshot_dir, "flow-assessment-saved")
    (stored,) = [e for e in server.timeline(patient.id)["events"] if e["type"] == "assessment"]
    assert stored["result"]["differential"][0]["name"] == BACK_MOUSE


def test_the_assessment_form_works_without_javascript(browser: Any, server: Server) -> None:
    patient = server.new_patient("No Script Person")
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, "dr.ada")
        page.goto(f"/patients/{patient.id}/assess")
        before = _leading(page, "#live-differential")
        page.locator("#f-lump_present input[value='yes']").check()
        page.locator("#in-location").select_option("posterior_iliac_crest")
        page.locator("#in-consistency").select_option("rubbery")
        page.locator("#f-mobile input[value='yes']").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Update result").click()
        after = _leading(page, "#live-differential")
        assert before != after
        assert after == BACK_MOUSE
        assert not [e for e in server.timeline(patient.id)["events"] if e["type"] == "assessment"]
    finally:
        context.close()


def test_an_injection_test_is_recorded_and_the_differential_is_shown_before_and_after(
    page: Any, server: Server, screenshot_dir: Path
) -> None:
    patient = _assessed(server, "Injected Person")
    sign_in(page, "dr.ada")
    page.goto(f"/patients/{patient.id}/injection")
    page.get_by_label("Pain before (NRS)").fill("7")
    page.get_by_label("Pain after (NRS)").fill("1")
    page.get_by_label("Minutes after the injection").fill("20")
    with page.expect_navigation():
        page.get_by_role("button", name="Record and reassess").click()
    reading = page.locator("#reading-title").inner_text()
    assert "86% relief" in reading and "strongly positive" in reading
    before = page.locator("section[aria-labelledby='before-title'] li").first.inner_text()
    after = page.locator("section[aria-labelledby='after-title'] li").first.inner_text()
    percent = lambda text: int(text.split("%")[0].split()[-1].lstrip("<>"))  # noqa: E731
    assert BACK_MOUSE in before and BACK_MOUSE in after
    assert percent(after) > percent(before)  # strong relief makes a back mouse likelier
    screenshot(page, screenshot_dir, "flow-injection-recorded")
    events = server.timeline(patient.id)["events"]
    assert [e["relief_percent"] for e in events if e["type"] == "injection_test"] == [
        pytest.approx(85.7, abs=0.1)  # (7 - 1) / 7
    ]
    assert sum(e["type"] == "assessment" for e in events) == 2  # reassessed with the relief


def test_the_plan_is_accepted_then_moves_on_when_the_review_scores_show_no_change(
    page: Any, server: Server, screenshot_dir: Path
) -> None:
    # seven weeks ago: assessed, a positive injection test, self-care accepted, pain 7
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=50)
    patient = _assessed(server, "Planned Person", at=start)
    actor = "test:setup"
    server.store.run(
        lambda uow: services.record_pain_scores(
            uow, actor, patient.id, [services.ScoreEntry(7, "current", start)]
        )
    )
    server.store.run(
        lambda uow: services.record_injection_and_reassess(
            uow,
            actor,
            patient.id,
            server.engine,
            performed_at=start + dt.timedelta(hours=1),
            minutes_after=20,
            pre_nrs=7,
            post_nrs=1,
        )
    )
    sign_in(page, "dr.ada")
    page.goto(f"/patients/{patient.id}/plan")
    step = page.locator("#step-title")
    assert "Self-care" in step.inner_text() or "self-care" in step.inner_text().lower()
    assert "proposed" in step.inner_text()
    # accept the proposed step in the browser ...
    with page.expect_navigation():
        page.locator("#decide").get_by_role("button", name="Accept").click()
    assert "Your decision is recorded" in page.locator("#done").inner_text()
    assert "under way" in page.locator("#step-title").inner_text()
    screenshot(page, screenshot_dir, "flow-plan-accepted")

    # ... and move that decision seven weeks back, so that its review is due today
    def backdate(uow: Any) -> None:
        (decision,) = uow.plan_decisions.where(patient_id=patient.id)
        decision.decided_at = start + dt.timedelta(hours=2)
        decision.review_due = (start + dt.timedelta(days=42)).date()
        uow.commit()

    server.store.run(backdate)
    page.goto(f"/patients/{patient.id}/plan")
    # at the review: no change in pain and "no change" overall -> the next step
    page.locator("#nrs").fill("7")
    page.get_by_label("Global impression of change (PGIC)").select_option("4")
    with page.expect_navigation():
        page.get_by_role("button", name="Record scores").click()
    assert "The scores are recorded" in page.locator("#done").inner_text()
    step_now = page.locator("#step-title").inner_text()
    assert "injection" in step_now.lower() and "proposed" in step_now, step_now
    screenshot(page, screenshot_dir, "flow-plan-moved-on")


def test_the_visit_summary_and_handout_download_as_pdf(page: Any, server: Server) -> None:
    patient = _assessed(server, "Documented Person")
    sign_in(page, "dr.ada")
    page.goto(f"/patients/{patient.id}")
    for link in ("Visit summary (PDF)", "Patient handout (PDF)"):
        with page.expect_download() as caught:
            page.get_by_role("link", name=link).click()
        content = Path(caught.value.path()).read_bytes()
        assert content.startswith(b"%PDF"), f"{link}: {content[:20]!r}"
        assert caught.value.suggested_filename.endswith(".pdf")
