"""An administrator in the browser: creating and deactivating an account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import Server
from tests.browser.helpers import PASSWORD, screenshot, sign_in


def test_an_admin_creates_an_account_that_signs_in_then_deactivates_it(
    page: Any, browser: Any, server: Server, screenshot_dir: Path
) -> None:
    sign_in(page, "admin")
    form = page.locator("form[action='/admin/users']")
    form.get_by_label("Username").fill("dr.new")
    form.get_by_label("Name shown").fill("Dr New")
    form.get_by_label("clinician").check()
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Create account").click()
    row = page.locator("tr", has_text="dr.new")
    assert "clinician" in row.inner_text() and "active" in row.inner_text()
    screenshot(page, screenshot_dir, "flow-admin-created")

    other = browser.new_context(base_url=server.url)
    try:
        newcomer = other.new_page()
        sign_in(newcomer, "dr.new")
        assert newcomer.url.endswith("/patients")
        # deactivated: the open session ends at once
        with page.expect_navigation():
            row.get_by_role("button", name="Deactivate").click()
        assert "inactive" in page.locator("tr", has_text="dr.new").inner_text()
        newcomer.goto("/patients")
        assert newcomer.url.endswith("/login")
    finally:
        other.close()


def test_an_admin_sees_accounts_but_no_clinical_record(page: Any, server: Server) -> None:
    sign_in(page, "admin")
    response = page.goto(f"/patients/{server.patients['alice'].id}")
    assert response is not None and response.status == 403
    assert "Alice Example" not in page.content()
    assert "MRN-BR-1" not in page.content()
