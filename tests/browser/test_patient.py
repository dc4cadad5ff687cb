"""A patient in the browser, on a phone: their plan, the pain diary, the self-check and
their handout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import Server
from tests.browser.helpers import screenshot, sign_in


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} scrolls sideways on a phone ({width} px wide)"


def test_a_patient_signs_in_on_a_phone_and_sees_only_their_own_plan(
    phone: Any, server: Server, screenshot_dir: Path
) -> None:
    sign_in(phone, "alice")
    assert phone.url.endswith("/me")
    assert "Alice" in phone.get_by_role("heading", level=1).inner_text()
    assert "Bob Example" not in phone.content()
    _fits(phone)
    # the clinician's pages are not for patients
    response = phone.goto(f"/patients/{server.patients['alice'].id}")
    assert response is not None and response.status == 403


def test_a_patient_adds_pain_diary_entries_on_a_phone(
    phone: Any, server: Server, screenshot_dir: Path
) -> None:
    sign_in(phone, "bob")
    phone.get_by_role("link", name="Pain diary").first.click()
    phone.wait_for_url("**/me/diary")
    _fits(phone)
    before = server.timeline(server.patients["bob"].id)["events"]
    # tap a score, as on a touch screen, then save
    phone.locator(".tap-grid label", has_text="4").first.tap()
    phone.get_by_label("Worst today").check()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Save entry").tap()
    assert "Saved" in phone.locator("main").inner_text()
    # a second entry with the optional answers
    phone.locator(".tap-grid label", has_text="2").first.tap()
    phone.locator("details.more summary").tap()
    phone.get_by_label("Since your treatment started, your back is").select_option("2")
    phone.get_by_label("How long can you sit").fill("45")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Save entry").tap()
    entries = phone.locator("ul.entries li")
    assert entries.count() >= 2
    newest = " ".join(entries.first.locator(".entry-score").inner_text().split())
    assert newest == "Pain 2 out of 10"  # with the words a screen reader says
    _fits(phone)
    screenshot(phone, screenshot_dir, "flow-diary-entries-phone")
    after = server.timeline(server.patients["bob"].id)["events"]
    new = [e for e in after if e not in before and e["type"] == "pain_score"]
    assert sorted((e["score"], e["kind"]) for e in new) == [(2, "current"), (4, "worst")]


def test_a_diary_entry_without_a_score_is_refused_and_saves_nothing(
    phone: Any, server: Server
) -> None:
    sign_in(phone, "bob")
    phone.goto("/me/diary")
    count = len(server.timeline(server.patients["bob"].id)["events"])
    with phone.expect_navigation():
        phone.get_by_role("button", name="Save entry").tap()
    assert "Nothing was saved" in phone.locator("[role=alert]").inner_text()
    assert len(server.timeline(server.patients["bob"].id)["events"]) == count


def test_a_patient_does_the_self_check_on_a_phone_and_gets_a_result(
    phone: Any, server: Server, screenshot_dir: Path
) -> None:
    sign_in(phone, "alice")
    phone.goto("/me/self-check")
    _fits(phone)
    screenshot(phone, screenshot_dir, "flow-self-check-start-phone")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Start the self-check").tap()
    for _ in range(40):  # answer "I don't know" until the check is done
        if "/result/" in phone.url:
            break
        _fits(phone)
        with phone.expect_navigation():
            phone.get_by_role("button", name="I don't know").first.tap()
    assert "/me/self-check/result/" in phone.url
    _fits(phone)
    screenshot(phone, screenshot_dir, "flow-self-check-done-phone")
    assert phone.get_by_role("heading", level=1).inner_text()


def test_a_patient_downloads_their_handout_as_pdf(phone: Any, server: Server) -> None:
    sign_in(phone, "alice")
    with phone.expect_download() as caught:
        phone.get_by_role("link", name="My handout (PDF)").tap()
    content = Path(caught.value.path()).read_bytes()
    assert content.startswith(b"%PDF")
