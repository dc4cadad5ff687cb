"""A clinician in the browser: signing in, registering a patient, the body map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import Server
from tests.browser.helpers import screenshot, sign_in


def click_map(page: Any, x: float, y: float) -> None:
    """Click the body map at map coordinates (x, y), wherever the map is drawn."""
    point = page.evaluate(
        """([x, y]) => {
            const svg = document.getElementById("body-map");
            const p = svg.createSVGPoint();
            p.x = x; p.y = y;
            const on = p.matrixTransform(svg.getScreenCTM());
            return [on.x, on.y];
        }""",
        [x, y],
    )
    page.mouse.click(point[0], point[1])


def test_a_clinician_signs_in_and_sees_the_clinics_patients(page: Any, server: Server) -> None:
    sign_in(page, "dr.ada")
    assert page.url.endswith("/patients")
    assert page.get_by_role("heading", name="Patients", exact=True).is_visible()
    assert page.get_by_role("link", name="Alice Example").is_visible()
    page.get_by_label("Name or record number").fill("MRN-BR-2")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="Bob Example").is_visible()
    assert page.get_by_role("link", name="Alice Example").count() == 0


def test_a_clinician_registers_a_patient_and_lands_on_their_page(
    page: Any, server: Server, screenshot_dir: Path
) -> None:
    sign_in(page, "dr.ada")
    form = page.locator("form[action='/patients'][method='post']")
    form.get_by_label("Record number").fill("MRN-NEW-77")
    form.get_by_label("Full name").fill("Nora Newcomer")
    form.get_by_label("Date of birth").fill("1981-07-09")
    form.get_by_label("Sex").select_option("female")
    form.get_by_role("button", name="Register").click()
    page.wait_for_url("**/patients/*")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Nora Newcomer")
    assert "MRN-NEW-77" in page.inner_text("h1")
    screenshot(page, screenshot_dir, "flow-patient-registered")
    # and the same record number again is refused, saying why
    page.goto("/patients")
    form.get_by_label("Record number").fill("MRN-NEW-77")
    form.get_by_label("Full name").fill("Someone Else")
    form.get_by_label("Date of birth").fill("1990-01-01")
    form.get_by_role("button", name="Register").click()
    assert "already belongs to another patient" in page.inner_text("main")


def test_clicking_the_body_map_adds_nodules_where_clicked(
    page: Any, server: Server, screenshot_dir: Path
) -> None:
    patient = server.new_patient("Mapped Person")
    sign_in(page, "dr.ada")
    page.goto(f"/patients/{patient.id}")
    assert page.locator("#body-map circle.nodule").count() == 0
    with page.expect_navigation():
        click_map(page, 28, 46)  # on the drawn left iliac crest
    assert page.locator("#body-map circle.nodule").count() == 1
    with page.expect_navigation():
        click_map(page, 71, 72)  # right buttock, below the crest
    assert page.locator("#body-map circle.nodule").count() == 2
    panel = page.locator("#nodule-panel")
    assert "right" in panel.inner_text()
    nodules = sorted(server.timeline(patient.id)["nodules"], key=lambda n: n["x"])
    assert [(n["side"], n["region"]) for n in nodules] == [
        ("left", "posterior_iliac_crest"),
        ("right", "buttock"),
    ]
    # where the click landed, to a map unit (the map is about 400 pixels across)
    assert abs(nodules[0]["x"] - 28) < 1 and abs(nodules[0]["y"] - 46) < 1
    assert abs(nodules[1]["x"] - 71) < 1 and abs(nodules[1]["y"] - 72) < 1
    screenshot(page, screenshot_dir, "flow-map-clicked")
    # a nodule's dot opens its history
    page.locator("#body-map a").first.click()
    assert "posterior iliac crest" in page.locator("#nodule-panel").inner_text()


def test_the_map_can_be_used_without_a_pointer_through_its_form(page: Any, server: Server) -> None:
    patient = server.new_patient("Keyboard Person")
    sign_in(page, "dr.ada")
    page.goto(f"/patients/{patient.id}")
    form = page.locator("#add-nodule")
    form.get_by_label("Across").fill("50")
    form.get_by_label("Down").fill("80")
    form.get_by_label("Label").fill("M1")
    with page.expect_navigation():
        form.get_by_label("Label").press("Enter")
    (nodule,) = server.timeline(patient.id)["nodules"]
    assert (nodule["side"], nodule["region"], nodule["label"]) == ("midline", "natal_cleft", "M1")
