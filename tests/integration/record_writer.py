"""A writer process for the crash-safety and concurrency tests, and its parent-side handle.

As a script (the child):

    BACKMICE_WRITER_URL=<database url> python record_writer.py PATIENT_ID COUNT ACTOR [--wait]

opens the record store, prints ``ready``, (with ``--wait``: waits for a line on standard
input, so that several writers start at once), then records COUNT pain scores for the
patient through `RecordStore.run`, one score per transaction, and prints
``ack <pain score id>`` only after that transaction's commit has returned, flushing
each line. It ends with ``done``. It prints ids only, never patient data. Any error
ends it with a traceback on standard error and a non-zero exit code.

Imported (the parent): `Writer` starts one such child and reads its lines while it runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Self

SCRIPT = Path(__file__).resolve()
URL_VARIABLE = "BACKMICE_WRITER_URL"
READY = "ready"
ACK = "ack "
DONE = "done"


def main(argv: list[str]) -> int:
    from backmice.records.services import ScoreEntry, record_pain_scores
    from backmice.records.store import RecordStore

    patient_id, count, actor = argv[0], int(argv[1]), argv[2]
    wait = "--wait" in argv[3:]
    store = RecordStore.open(os.environ[URL_VARIABLE])
    try:
        print(READY, flush=True)
        if wait and not sys.stdin.readline():
            return 3  # the parent went away before saying go
        for i in range(count):
            entry = ScoreEntry(score=i % 11, kind="current", recorded_at=dt.datetime.now(dt.UTC))
            work = partial(record_pain_scores, actor=actor, patient_id=patient_id, entries=[entry])
            scores = store.run(work)
            # store.run has returned: the transaction is committed. Only now acknowledge it.
            print(f"{ACK}{scores[0].id}", flush=True)
        print(DONE, flush=True)
    finally:
        store.close()
    return 0


class Writer:
    """One child writer: its lines are read by a thread into a queue while it runs."""

    def __init__(
        self,
        url: str,
        patient_id: str,
        count: int,
        actor: str,
        stderr_path: Path,
        *,
        wait_for_go: bool = False,
    ) -> None:
        args = [sys.executable, "-W", "error", str(SCRIPT), patient_id, str(count), actor]
        if wait_for_go:
            args.append("--wait")
        self.stderr_path = stderr_path
        self._stderr = stderr_path.open("w", encoding="utf-8")
        self.acks: list[str] = []
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._eof = False
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if wait_for_go else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, URL_VARIABLE: url},
            text=True,
            encoding="utf-8",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next_line(self, timeout: float) -> str | None:
        """The child's next line (acks are also collected), or None at end of output."""
        if self._eof:
            return None
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"writer printed nothing for {timeout} s; stderr: {self.stderr()}"
            ) from None
        if line is None:
            self._eof = True
            return None
        self.lines.append(line)
        if line.startswith(ACK):
            self.acks.append(line.removeprefix(ACK))
        return line

    def expect_ready(self, timeout: float) -> None:
        line = self.next_line(timeout)
        assert line == READY, f"writer did not start: {line!r}; stderr: {self.stderr()}"

    def go(self) -> None:
        """Let a writer started with `wait_for_go` begin writing."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.close()

    def read_acks(self, count: int, deadline: float) -> None:
        """Read lines until `count` acks have been seen (fails at the deadline or on EOF)."""
        while len(self.acks) < count:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            assert line is not None, (
                f"writer ended after {len(self.acks)} acks, before {count}; "
                f"exit code {self.process.wait(10)}; stderr: {self.stderr()}"
            )

    def drain(self, timeout: float) -> None:
        """Read every line the child had written before its output ended."""
        deadline = time.monotonic() + timeout
        while self.next_line(max(0.0, deadline - time.monotonic())) is not None:
            pass

    def sigkill(self) -> int:
        """Kill the child at once (no cleanup in it at all) and return its exit code."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=30)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8")

    def close(self) -> None:
        """Kill the child if it still runs, and release its pipes and thread."""
        try:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(timeout=30)
        finally:
            self._reader.join(timeout=30)
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None and not pipe.closed:
                    with contextlib.suppress(BrokenPipeError):
                        pipe.close()
            self._stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
