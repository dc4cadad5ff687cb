"""Web server speed: the assessment API and a patient page against a bare endpoint.

Starts `backmice serve` (uvicorn, one worker, as deployed) on loopback over a fresh
SQLite database holding a clinician and a patient with a realistic record (nodules, pain
scores over weeks, assessments, an injection test, a plan decision), signs in, then drives
--clients concurrent keep-alive connections (default 32) at each of

* `POST /api/v1/assess` with generated cases (`backmice.engine.synthetic.generate_cases`),
* `GET /patients/{id}`, the clinician's page for that patient (session lookup, audit
  event, record read, plan, template),
* `GET /health`, which touches neither the database nor the session,

for --seconds each after a warm-up, and prints requests per second, p50 and p99
latency, the server's CPU time per request (from /proc: less sensitive than the rates to
other work on the machine), and the ratios to /health, with the targets (assess p99 <=
50 ms; throughput >= 50 % of /health).

The load comes from a small HTTP/1.1 client on asyncio streams in this process (one
core), so that the measurement is of the server rather than of a heavy client library;
the server runs in its own process. On a 2-core machine the two share the cores.

Run:  python benchmarks/http.py [--clients 32] [--seconds 10] [--warmup 2]
Timing is measured and printed here, never asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py and Python puts its folder first on the path, where it would
# hide the standard library's `http` package from every import below: take it off.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from itertools import cycle  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import orjson  # noqa: E402

from backmice.engine import Engine  # noqa: E402
from backmice.engine.synthetic import generate_cases  # noqa: E402
from backmice.records import services  # noqa: E402
from backmice.records.services import accounts  # noqa: E402
from backmice.records.store import RecordStore  # noqa: E402

ASSESS_P99_TARGET_MS = 50.0
THROUGHPUT_TARGET = 0.5  # of /health
PASSWORD = "benchmark password 1234"

_BACK_MOUSE = {
    "lump_present": True,
    "location": "posterior_iliac_crest",
    "size_cm": 2.0,
    "consistency": "rubbery",
    "mobile": True,
    "tender": True,
    "pressure_reproduces_pain": True,
    "pain_present": True,
}
#: The stored visits: a typical back mouse, seen again as more was found out.
TYPICAL_VISITS: list[dict[str, object]] = [
    {
        "schema": "backmice.assessment/1",
        "setting": "primary_care",
        "age": 52,
        "sex": "female",
        "findings": dict(list(_BACK_MOUSE.items())[:n]),
    }
    for n in (2, 4, 6, 8)
]


@dataclass
class Seeded:
    patient_id: str
    cookie: str
    csrf: str


def seed(url: str, engine: Engine) -> Seeded:
    """A clinician, and a patient with a record like one a clinic keeps for months."""
    store = RecordStore.open(url)
    actor = "bench:setup"
    try:
        patient = store.run(
            lambda uow: services.register_patient(
                uow,
                actor,
                identifier="MRN-BENCH-1",
                name="Bench Patient",
                birth_date=dt.date(1966, 4, 12),
                sex="female",
            )
        )
        nodules = [
            store.run(
                lambda uow, x=x, y=y, side=side: services.add_nodule(
                    uow, actor, patient.id, x=x, y=y, side=side, region="posterior_iliac_crest"
                )
            )
            for x, y, side in ((28, 38, "left"), (72, 37, "right"), (33, 42, "left"))
        ]
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
        for i, case in enumerate(TYPICAL_VISITS):
            store.run(
                lambda uow, c=case, i=i: services.record_assessment(
                    uow,
                    actor,
                    patient.id,
                    engine,
                    c,
                    nodule_ids=[nodules[0].id],
                    assessed_at=start + dt.timedelta(days=20 * i),
                )
            )
        scores = [
            services.ScoreEntry(
                max(0, 7 - day // 15),
                "current" if day % 2 else "worst",
                start + dt.timedelta(days=day, hours=9),
                nodules[day % 3].id if day % 4 else None,
            )
            for day in range(90)
        ]
        store.run(lambda uow: services.record_pain_scores(uow, actor, patient.id, scores))
        store.run(
            lambda uow: services.record_injection_and_reassess(
                uow,
                actor,
                patient.id,
                engine,
                pre_nrs=7,
                post_nrs=1,
                minutes_after=20,
                nodule_id=nodules[0].id,
                performed_at=start + dt.timedelta(days=70),
            )
        )
        store.run(lambda uow: services.decide_plan(uow, actor, patient.id, decision="accept"))
        store.run(
            lambda uow: accounts.create_user(
                uow,
                actor,
                username="dr.bench",
                display_name="Dr Bench",
                role="clinician",
                password=PASSWORD,
            )
        )
        signed = store.run(lambda uow: accounts.sign_in(uow, "dr.bench", PASSWORD))
    finally:
        store.close()
    return Seeded(patient.id, signed.token, signed.csrf_token)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKMICE_")}
    env |= {"BACKMICE_DATABASE_URL": url, "BACKMICE_DATA_DIR": str(folder)}
    process = subprocess.Popen(
        [sys.executable, "-m", "backmice", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((folder / "server.log").read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


# --- a small keep-alive HTTP/1.1 client ----------------------------------------------


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    """Send one request, read the whole response; the status code."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    port: int, requests: list[bytes], clients: int, seconds: float, warmup: float, pid: int
) -> tuple[list[float], float, dict[int, int], float | None]:
    """`clients` connections each sending the next request as soon as the last answer is
    in; latencies (s) of the requests completed in the measured window, its length, the
    status codes seen, and the server's CPU seconds in the window."""
    feed = cycle(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    begin = loop.time() + warmup
    end = begin + seconds
    cpu: dict[str, float | None] = {}
    loop.call_at(begin, lambda: cpu.update(begin=cpu_seconds(pid)))
    loop.call_at(end, lambda: cpu.update(end=cpu_seconds(pid)))

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                sent = loop.time()
                if sent >= end:
                    return
                status = await exchange(reader, writer, next(feed))
                done = loop.time()
                if sent >= begin:
                    latencies.append(done - sent)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    first, last = cpu.get("begin"), cpu.get("end")
    used = None if first is None or last is None else last - first
    return latencies, seconds, statuses, used


@dataclass
class Figures:
    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    cpu_ms: float | None  # server CPU time per request

    def line(self) -> str:
        cpu = "" if self.cpu_ms is None else f"   server CPU {self.cpu_ms:6.2f} ms/req"
        return (
            f"{self.name:<22} {self.rate:7.0f} req/s   p50 {self.p50_ms:7.2f} ms   "
            f"p99 {self.p99_ms:7.2f} ms{cpu}   statuses {self.statuses}"
        )


def measure(
    name: str, port: int, pid: int, requests: list[bytes], args: argparse.Namespace
) -> Figures:
    latencies, window, statuses, cpu = asyncio.run(
        drive(port, requests, args.clients, args.seconds, args.warmup, pid)
    )
    ms = np.array(latencies) * 1000
    return Figures(
        name,
        len(latencies) / window,
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 99)),
        statuses,
        None if cpu is None else cpu * 1000 / len(latencies),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--cases", type=int, default=500, help="distinct assessment cases")
    args = parser.parse_args()

    engine = Engine()
    with tempfile.TemporaryDirectory(prefix="bm-http-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'records.db'}"
        seeded = seed(url, engine)
        port = free_port()
        server = start_server(url, folder, port)
        try:
            auth = {"Cookie": f"backmice_session={seeded.cookie}"}
            cases = generate_cases(engine.kb, args.cases, seed=3)
            for case in cases:
                case.pop("_condition")
            assess = [
                request_bytes(
                    "POST",
                    "/api/v1/assess",
                    {**auth, "X-CSRF-Token": seeded.csrf, "Content-Type": "application/json"},
                    orjson.dumps(case),
                )
                for case in cases
            ]
            page = [request_bytes("GET", f"/patients/{seeded.patient_id}", auth)]
            health = [request_bytes("GET", "/health", {})]
            print(
                f"backmice web benchmark: {args.clients} concurrent clients, "
                f"{args.seconds:g} s each after {args.warmup:g} s warm-up, loopback, "
                f"one uvicorn worker; Python {platform.python_version()}, "
                f"{os.cpu_count()} cores"
            )
            results = {
                "health": measure("GET /health", port, server.pid, health, args),
                "assess": measure("POST /api/v1/assess", port, server.pid, assess, args),
                "page": measure("GET /patients/{id}", port, server.pid, page, args),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    for figures in results.values():
        print(figures.line())
    base = results["health"].rate
    a, p = results["assess"], results["page"]
    ok = {True: "met", False: "NOT MET"}
    print(
        f"assess/health throughput {a.rate / base:6.1%}   "
        f"(target >= {THROUGHPUT_TARGET:.0%}: {ok[a.rate / base >= THROUGHPUT_TARGET]})"
    )
    print(
        f"assess p99 {a.p99_ms:.1f} ms   (target <= {ASSESS_P99_TARGET_MS:.0f} ms: "
        f"{ok[a.p99_ms <= ASSESS_P99_TARGET_MS]})"
    )
    print(
        f"patient page/health throughput {p.rate / base:6.1%}   "
        f"(target >= {THROUGHPUT_TARGET:.0%}: {ok[p.rate / base >= THROUGHPUT_TARGET]})"
    )


if __name__ == "__main__":
    main()
