"""Signing in and out in the browser, as each role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.helpers import sign_in


@pytest.mark.parametrize(
    ("username", "start", "heading"),
    [
        ("dr.ada", "/patients", "Patients"),
        ("alice", "/me", "Hello, Alice"),
        ("admin", "/admin/users", "Accounts"),
    ],
)
def test_each_role_signs_in_to_its_own_start_page_and_signs_out(
    page: Any, server: Server, username: str, start: str, heading: str
) -> None:
    sign_in(page, username)
    assert page.url == f"{server.url}{start}"
    assert page.get_by_role("heading", level=1).inner_text().startswith(heading)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.url.endswith("/login")
    page.goto(start)  # the session is over
    assert page.url.endswith("/login")


def test_a_wrong_password_is_refused_with_a_message_and_no_session(
    page: Any, server: Server
) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill("dr.ada")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert "not right" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Username").input_value() == "dr.ada"  # kept, to try again
    page.goto("/patients")
    assert page.url.endswith("/login")
