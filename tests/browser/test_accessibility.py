"""axe-core, run in Chromium on every main page: no serious or critical violation.

Each page is also saved as a screenshot (see `BACKMICE_SCREENSHOTS`), at desktop size
and, for the patient's pages, at phone size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.helpers import accessibility_problems, screenshot, sign_in

Path_ = Callable[[Server], str]


def _alice(server: Server) -> str:
    return server.patients["alice"].id


def _flagged(server: Server) -> str:
    """Alice's assessment that raised a red flag (its page shows the review form)."""
    events = server.timeline(_alice(server))["events"]
    return next(e["id"] for e in events if e["type"] == "assessment" and e["result"]["red_flags"])


#: name -> (who signs in, the page's path, also on a phone)
PAGES: dict[str, tuple[str | None, Path_, bool]] = {
    "login": (None, lambda s: "/login", True),
    "patients": ("dr.ada", lambda s: "/patients", False),
    "patient": ("dr.ada", lambda s: f"/patients/{_alice(s)}", False),
    "assess": ("dr.ada", lambda s: f"/patients/{_alice(s)}/assess", False),
    "assessment": ("dr.ada", lambda s: f"/patients/{_alice(s)}/assessments/{_flagged(s)}", False),
    "injection": ("dr.ada", lambda s: f"/patients/{_alice(s)}/injection", False),
    "plan": ("dr.ada", lambda s: f"/patients/{_alice(s)}/plan", False),
    "pain": ("dr.ada", lambda s: f"/patients/{_alice(s)}/pain", False),
    "due": ("dr.ada", lambda s: "/due", False),
    "me": ("alice", lambda s: "/me", True),
    "diary": ("alice", lambda s: "/me/diary", True),
    "self-check": ("alice", lambda s: "/me/self-check", True),
    "self-check-result": ("alice", lambda s: f"/me/self-check/result/{_flagged(s)}", True),
    "admin-users": ("admin", lambda s: "/admin/users", False),
    "learn": ("alice", lambda s: "/learn", True),
    "learn-page": ("alice", lambda s: "/learn/what-is-a-back-mouse", True),
    "not-found": ("dr.ada", lambda s: "/patients/no-such-patient", False),
}


def _check(page: Any, server: Server, screenshot_dir: Path, name: str, suffix: str) -> None:
    who, path, _ = PAGES[name]
    if who is not None:
        sign_in(page, who)
    page.goto(path(server))
    page.wait_for_load_state("networkidle")
    screenshot(page, screenshot_dir, f"{name}{suffix}")
    blocking, other = accessibility_problems(page)
    if other:
        print(f"{name}{suffix}: minor or moderate: {other}")
    assert not blocking, f"{name}{suffix} ({page.url}):\n" + "\n".join(blocking)


@pytest.mark.parametrize("name", list(PAGES))
def test_a_main_page_has_no_serious_accessibility_problem(
    page: Any, server: Server, screenshot_dir: Path, name: str
) -> None:
    _check(page, server, screenshot_dir, name, "")


@pytest.mark.parametrize("name", [name for name, (_, _, phone) in PAGES.items() if phone])
def test_a_patients_page_on_a_phone_has_no_serious_accessibility_problem(
    phone: Any, server: Server, screenshot_dir: Path, name: str
) -> None:
    _check(phone, server, screenshot_dir, name, "-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{name} scrolls sideways on a phone ({width} px wide)"


def test_axe_runs_under_the_apps_content_security_policy_and_finds_a_planted_problem(
    page: Any, server: Server
) -> None:
    # the check above can fail: an image without a text alternative is caught
    page.goto("/login")
    page.evaluate(
        """() => {
            const img = document.createElement("img");
            img.src = "/static/none.png";
            document.querySelector("main").append(img);
        }"""
    )
    blocking, _ = accessibility_problems(page)
    assert any(line.startswith("image-alt (critical)") for line in blocking), blocking
