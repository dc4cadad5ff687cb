"""Engine speed: single-case latency, batch throughput from JSONL, and the ratio to pgmpy.

Prints, in one run on this machine:
* single-case latency, in process, validation included (`Engine.assess` on a dict),
  p50 and p99 over the generated cases;
* batch throughput: 100,000 generated cases written to a JSONL file, then read, parsed,
  validated and scored through the batch path, one thread; reported for scoring
  (posterior, likelihood ratios, intervals) from the lines and from dicts parsed by
  orjson, and end to end (JSONL in, JSONL out);
* the per-case speed ratio against pgmpy's exact inference (VariableElimination) on
  the same model: like for like (the posterior from already-encoded evidence, which
  is all pgmpy's query computes), and for the whole single-case and batch pipelines.

Run:  python benchmarks/engine.py [--cases 100000] [--pgmpy-cases 200]
Timing is measured here, never asserted in tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# one core, as the targets are stated: set before numpy loads its BLAS
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Python puts this folder first on the path, where benchmarks/http.py would hide the
# standard library's `http` package (pgmpy imports it): take the folder off.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import orjson  # noqa: E402

from backmice.cli.assess import run_batch  # noqa: E402
from backmice.engine import Engine  # noqa: E402
from backmice.engine.assess import BATCH_CHUNK  # noqa: E402
from backmice.engine.inference import posterior  # noqa: E402
from backmice.engine.synthetic import generate_cases  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def single_case_latency(engine: Engine, docs: list[dict[str, object]]) -> list[float]:
    for doc in docs[:200]:  # warm-up
        engine.assess(doc)
    times = []
    for doc in docs:
        start = time.perf_counter_ns()
        engine.assess(doc)
        times.append((time.perf_counter_ns() - start) / 1000.0)
    return times


def batch_scoring(engine: Engine, path: Path) -> tuple[float, int]:
    """Read the file, then parse, validate, encode and score every line (posterior,
    likelihood ratios, intervals), a chunk of lines at a time as a streaming scorer
    would (`Engine.score_lines`); no result objects built."""
    start = time.perf_counter()
    lines = path.read_bytes().splitlines()
    scored = 0
    for i in range(0, len(lines), BATCH_CHUNK):
        batch = engine.score_lines(lines[i : i + BATCH_CHUNK])
        if batch.errors:
            raise SystemExit(f"{len(batch.errors)} generated cases were invalid")
        scored += len(batch.positions)
    return time.perf_counter() - start, scored


def batch_scoring_documents(engine: Engine, path: Path) -> tuple[float, int]:
    """The same from documents parsed by orjson (`Engine.score_batch`), the way a
    caller holding dicts scores them."""
    start = time.perf_counter()
    lines = path.read_bytes().splitlines()
    scored = 0
    for i in range(0, len(lines), BATCH_CHUNK):
        batch = engine.score_batch([orjson.loads(line) for line in lines[i : i + BATCH_CHUNK]])
        if batch.errors:
            raise SystemExit(f"{len(batch.errors)} generated cases were invalid")
        scored += len(batch.positions)
    return time.perf_counter() - start, scored


def batch_inference_only(engine: Engine, path: Path) -> float:
    """Seconds per case for the posterior alone, from already-encoded evidence: the same
    work pgmpy's query does (no parsing, validation, explanations or intervals)."""
    cases = [engine.read(orjson.loads(line)) for line in path.read_bytes().splitlines()]
    rows = np.array([engine.rows(c) for c in cases], dtype=np.int64)
    settings = np.array([engine.model.setting_index[c.setting] for c in cases])
    start = time.perf_counter()
    for i in range(0, len(cases), 8192):
        posterior(engine.model, rows[i : i + 8192], settings[i : i + 8192])
    return (time.perf_counter() - start) / len(cases)


def batch_end_to_end(engine: Engine, path: Path, out: Path) -> tuple[float, int]:
    """JSONL in, JSONL results out: the function behind `backmice assess --batch`."""
    start = time.perf_counter()
    gc.disable()  # as `backmice assess --batch` does
    try:
        with out.open("wb") as sink:
            invalid = run_batch(engine, path.read_bytes(), sink)
    finally:
        gc.enable()
    seconds = time.perf_counter() - start
    lines = len(out.read_bytes().splitlines())
    if invalid:
        raise SystemExit(f"{invalid} generated cases were invalid")
    return seconds, lines


def pgmpy_per_case(engine: Engine, docs: list[dict[str, object]]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from pgmpy.inference import VariableElimination
        from tests.integration.test_pgmpy_oracle import build_network

        oracles = {
            s: VariableElimination(build_network(engine.kb, s))
            for s in ("primary_care", "pain_clinic", "self_check")
        }
        start = time.perf_counter()
        for doc in docs:
            case = engine.read(doc)
            evidence = {f: engine.kb.finding(f).state_of(v) for f, v in case.values.items()}
            oracles[case.setting].query(["condition"], evidence=evidence, show_progress=False)
        return (time.perf_counter() - start) / len(docs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--latency-cases", type=int, default=5_000)
    parser.add_argument("--pgmpy-cases", type=int, default=200)
    args = parser.parse_args()

    engine = Engine()
    docs = generate_cases(engine.kb, args.cases, seed=1)
    for doc in docs:
        doc.pop("_condition")
    known = statistics.mean(len(d["findings"]) for d in docs)  # type: ignore[arg-type]
    print(f"knowledge base {engine.kb.version}; {engine.model.samples} samples per interval")
    print(f"generated {len(docs):,} cases, {known:.1f} findings known on average; one thread")

    latency = single_case_latency(engine, docs[: args.latency_cases])
    p50, p99 = percentile(latency, 50), percentile(latency, 99)
    print(
        f"single case (validate + assess, in process): p50 {p50:.0f} us, p99 {p99:.0f} us "
        f"[target p50 <= 200 us]"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.jsonl"
        path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
        seconds, n = batch_scoring(engine, path)
        scoring_rate = n / seconds
        print(
            f"batch scoring from JSONL (parse, validate, posterior, LRs, intervals): "
            f"{scoring_rate:,.0f} cases/s ({seconds:.2f} s) [target >= 100,000 cases/s]"
        )
        seconds, n = batch_scoring_documents(engine, path)
        print(
            f"batch scoring from parsed documents (orjson, then validate, posterior, LRs, "
            f"intervals): {n / seconds:,.0f} cases/s ({seconds:.2f} s)"
        )
        inference_only = batch_inference_only(engine, path)
        seconds, n = batch_end_to_end(engine, path, Path(tmp) / "results.jsonl")
        print(
            f"batch end to end (JSONL in, full JSON results out): {n / seconds:,.0f} cases/s "
            f"({seconds:.2f} s)"
        )

    pg = pgmpy_per_case(engine, docs[: args.pgmpy_cases])
    print(f"pgmpy exact inference: {pg * 1e6:,.0f} us per case ({args.pgmpy_cases} cases)")
    print(
        "speed ratio, inference only (posterior from encoded evidence, the work of pgmpy's "
        f"query): {pg / inference_only:,.0f}x ({inference_only * 1e6:.2f} us per case) "
        "[target >= 1000x]"
    )
    print(
        f"speed ratio, whole pipeline: single case (p50) {pg / (p50 / 1e6):,.0f}x; "
        f"batch scoring {pg * scoring_rate:,.0f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
