"""The browser layer: a real server (uvicorn on loopback, a fresh SQLite database) driven
by the distribution's Chromium through Playwright.

`BACKMICE_CHROMIUM` names the browser (default /usr/bin/chromium; `.ci/run` installs it
from Debian's packages). Playwright never downloads one. Without it these tests skip
outside CI, saying how to enable them, and fail under CI (`CI` set).
`BACKMICE_SCREENSHOTS` keeps the screenshots in a folder of your choice.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from backmice.engine import Engine
from backmice.records import domain, services
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from tests.browser.helpers import CHROMIUM_ARGS, DESKTOP, HOW_TO_ENABLE, PASSWORD, PHONE
from tests.conftest import SPEC_EXAMPLE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Server:
    """The running application and a handle on its database for arranging records."""

    url: str
    store: RecordStore
    patients: dict[str, domain.Patient]  # "alice", "bob" -> their records
    engine: Engine

    def new_patient(self, name: str, *, clinic: str = "main") -> domain.Patient:
        """A fresh patient for one test (record number from the clock: unique)."""
        identifier = f"MRN-{time.monotonic_ns()}"
        return self.store.run(
            lambda uow: services.register_patient(
                uow,
                "test:setup",
                identifier=identifier,
                name=name,
                birth_date=dt.date(1968, 5, 17),
                sex="female",
                clinic=clinic,
            )
        )

    def add_user(self, username: str, role: str, **extra: Any) -> None:
        self.store.run(
            lambda uow: accounts.create_user(
                uow,
                "test:setup",
                username=username,
                display_name=username.title(),
                role=role,
                password=PASSWORD,
                **extra,
            )
        )

    def timeline(self, patient_id: str) -> dict[str, Any]:
        return self.store.run(lambda uow: services.timeline(uow, "test:check", patient_id))


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within 60 s: {log.read_text()[-2000:]}")


#: A typical back mouse before the injection test (the spec's example without it).
TYPICAL: dict[str, Any] = {
    **SPEC_EXAMPLE,
    "findings": {
        k: v for k, v in SPEC_EXAMPLE["findings"].items() if k != "injection_relief_percent"
    },
}
#: A self-check whose answers raise a red flag (a lump over 5 cm: possible sarcoma).
FLAGGED: dict[str, Any] = {
    "schema": "backmice.assessment/1",
    "setting": "self_check",
    "findings": {"lump_present": True, "size_cm": 6},
}


def _record_of_months(store: RecordStore, engine: Engine, patient_id: str) -> None:
    """Two nodules; assessed eight weeks ago, a positive injection test, self-care
    accepted (its review now overdue), daily pain scores since; today a self-check that
    raised a red flag."""
    actor = "test:setup"
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=56)
    nodules = [
        store.run(
            lambda uow, x=x, label=label, side=side, region=region: services.add_nodule(
                uow, actor, patient_id, x=x, y=38, side=side, region=region, label=label
            )
        )
        for x, label, side, region in (
            (30, "A", "left", "posterior_iliac_crest"),
            (70, "B", "right", "posterior_iliac_crest"),
        )
    ]
    store.run(
        lambda uow: services.record_assessment(
            uow, actor, patient_id, engine, TYPICAL, nodule_ids=[nodules[0].id], assessed_at=start
        )
    )
    scores = [
        services.ScoreEntry(
            max(1, 7 - day // 10) if kind == "current" else max(2, 8 - day // 12),
            kind,
            start + dt.timedelta(days=day, hours=8),
            nodules[0].id if day % 3 == 0 else None,
        )
        for day in range(56)
        for kind in ("current", "worst")
    ]
    store.run(lambda uow: services.record_pain_scores(uow, actor, patient_id, scores))
    store.run(
        lambda uow: services.record_injection_and_reassess(
            uow,
            actor,
            patient_id,
            engine,
            performed_at=start + dt.timedelta(hours=1),
            minutes_after=20,
            pre_nrs=7,
            post_nrs=1,
            nodule_id=nodules[0].id,
        )
    )
    store.run(
        lambda uow: services.decide_plan(
            uow, actor, patient_id, decision="accept", decided_at=start + dt.timedelta(hours=2)
        )
    )
    store.run(lambda uow: services.record_assessment(uow, actor, patient_id, engine, FLAGGED))


def _seed(store: RecordStore, engine: Engine) -> dict[str, domain.Patient]:
    """One admin, one clinician, two patients with records and accounts: Alice with
    months of care, Bob assessed once."""
    actor = "test:setup"
    patients = {}
    for username, name, identifier in (
        ("alice", "Alice Example", "MRN-BR-1"),
        ("bob", "Bob Example", "MRN-BR-2"),
    ):
        patients[username] = store.run(
            lambda uow, n=name, i=identifier: services.register_patient(
                uow, actor, identifier=i, name=n, birth_date=dt.date(1970, 2, 3), sex="female"
            )
        )
    _record_of_months(store, engine, patients["alice"].id)
    bob = patients["bob"].id
    nodule = store.run(
        lambda uow: services.add_nodule(
            uow, actor, bob, x=30, y=38, side="left", region="posterior_iliac_crest", label="A"
        )
    )
    store.run(
        lambda uow: services.record_assessment(
            uow, actor, bob, engine, TYPICAL, nodule_ids=[nodule.id]
        )
    )
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    store.run(
        lambda uow: services.record_pain_scores(
            uow, actor, bob, [services.ScoreEntry(6, "current", yesterday)]
        )
    )
    for username, role, extra in (
        ("admin", "admin", {}),
        ("dr.ada", "clinician", {}),
        ("alice", "patient", {"patient_id": patients["alice"].id}),
        ("bob", "patient", {"patient_id": bob}),
    ):
        store.run(
            lambda uow, u=username, r=role, e=extra: accounts.create_user(
                uow, actor, username=u, display_name=u.title(), role=r, password=PASSWORD, **e
            )
        )
    return patients


@pytest.fixture(scope="session")
def chromium_path() -> str:
    # read in a session fixture: set up before the per-test clean_environ runs
    path = os.environ.get("BACKMICE_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        message = f"no Chromium at {path}: {HOW_TO_ENABLE}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("BACKMICE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'records.db'}"
    store = RecordStore.open(url)
    engine = Engine()
    patients = _seed(store, engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKMICE_")}
    env |= {"BACKMICE_DATABASE_URL": url, "BACKMICE_DATA_DIR": str(folder)}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # a free port, held until uvicorn takes the socket
    port = listener.getsockname()[1]
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backmice.web.server:app",
                "--fd",
                str(listener.fileno()),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
    listener.close()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield Server(base, store, patients, engine)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        store.close()
        errors = [line for line in log.read_text().splitlines() if "internal error" in line]
        assert not errors, f"the server logged internal errors: {errors}"


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser profile (no cookies) on a desktop-sized window."""
    context = browser.new_context(base_url=server.url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser profile on a phone-sized viewport (375 x 812, touch)."""
    context = browser.new_context(
        base_url=server.url, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()
