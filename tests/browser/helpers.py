"""What the browser tests do again and again: sign in, take a screenshot, run axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

HOW_TO_ENABLE = (
    "browser tests need Chromium: apt-get install chromium "
    "(or set BACKMICE_CHROMIUM to a Chromium or Chrome binary)"
)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PASSWORD = "browser test password 42"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

#: axe-core impacts that fail a page (minor and moderate ones are reported, not failed).
BLOCKING = ("serious", "critical")


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would, and wait for the start page."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} was not signed in: {page.content()[:500]}"


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """The whole page as `folder/name.png`."""
    path = folder / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_problems(page: Any) -> tuple[list[str], list[str]]:
    """axe-core's violations on the current page: (serious or critical, the others), one
    line each naming the rule, its impact, what it means and where."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking: list[str] = []
    other: list[str] = []
    for violation in results.response["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        line = (
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"at {'; '.join(targets)}"
        )
        (blocking if violation["impact"] in BLOCKING else other).append(line)
    return blocking, other
