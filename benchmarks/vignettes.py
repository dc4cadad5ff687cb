"""Accuracy on the development vignettes, and how short the adaptive interview can be.

Prints: top-1 and top-3 accuracy against each vignette's gold diagnosis, the share
of under-triage (less urgent than the vignette's acceptable range) and over-triage
(more urgent), per-condition counts, and for the interview: how often it reaches
the same top-1 as the full case, and how many of the available questions it asks.

Run:  python benchmarks/vignettes.py [--details]
The vignettes (benchmarks/vignettes/vignettes.yaml) were written from published case
reports, blind to the knowledge base; knowledge numbers are never fitted to them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from backmice.engine import Engine
from backmice.engine.interview import Interview
from backmice.engine.safety import urgency
from backmice.engine.synthetic import generate_cases

HERE = Path(__file__).resolve().parent


def load_vignettes() -> list[dict[str, Any]]:
    doc = yaml.safe_load((HERE / "vignettes" / "vignettes.yaml").read_text(encoding="utf-8"))
    vignettes: list[dict[str, Any]] = doc["vignettes"]
    return vignettes


def simulate_interview(engine: Engine, case: dict[str, Any]) -> tuple[str, int, int]:
    """Answer the interview from the vignette; a finding it does not state is 'not known'."""
    known = engine.read(case).values
    interview = Interview(engine, setting=case.get("setting", "primary_care"))
    while (question := interview.next_question()) is not None:
        interview.record(question.finding, known.get(question.finding))
    top = engine.model.condition_ids[int(interview.probabilities().argmax())]
    return top, interview.asked, interview.available


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="one line per vignette")
    parser.add_argument(
        "--synthetic", type=int, default=200, help="synthetic cases for the interview check"
    )
    args = parser.parse_args()
    engine = Engine()
    vignettes = load_vignettes()
    n = len(vignettes)
    top1 = top3 = under = over = same = 0
    asked_share: list[float] = []
    asked_counts: list[int] = []
    per_condition: dict[str, Counter[str]] = defaultdict(Counter)
    for v in vignettes:
        result = engine.assess(v["case"])
        ranked = [e["condition"] for e in result["differential"]]
        gold = v["gold"]
        hit1, hit3 = ranked[0] == gold, gold in ranked[:3]
        level = urgency(result["triage"])
        is_under = level > urgency(v["triage"]["least_urgent"])
        is_over = level < urgency(v["triage"]["most_urgent"])
        top1 += hit1
        top3 += hit3
        under += is_under
        over += is_over
        per_condition[gold].update(n=1, top1=hit1, top3=hit3)
        interview_top, asked, available = simulate_interview(engine, v["case"])
        same += interview_top == ranked[0]
        asked_share.append(asked / available)
        asked_counts.append(asked)
        if args.details:
            print(
                f"{v['id']:<40} gold {gold:<26} top {ranked[0]:<26} "
                f"p={result['differential'][0]['probability']:.2f} triage {result['triage']:<9}"
                f"{' UNDER' if is_under else ''}{' OVER' if is_over else ''} "
                f"interview {asked}/{available} {'same' if interview_top == ranked[0] else 'DIFF'}"
            )
    print(f"knowledge base {engine.kb.version}; {n} vignettes, {len(per_condition)} conditions")
    print(f"top-1 accuracy     {top1 / n:6.1%}  ({top1}/{n})")
    print(f"top-3 accuracy     {top3 / n:6.1%}  ({top3}/{n})")
    print(
        f"under-triage       {under / n:6.1%}  ({under}/{n})  less urgent than the acceptable range"
    )
    print(
        f"over-triage        {over / n:6.1%}  ({over}/{n})  more urgent than the acceptable range"
    )
    print(
        f"interview: same top-1 as the full case in {same / n:.1%} ({same}/{n}); "
        f"asks on average {statistics.mean(asked_counts):.1f} questions, "
        f"{statistics.mean(asked_share):.1%} of those available (max {max(asked_share):.0%})"
    )
    if args.synthetic:
        cases = generate_cases(
            engine.kb, args.synthetic, seed=20261122
        )  # not the seed used to choose
        agree, shares = 0, []
        for case in cases:
            case.pop("_condition")
            full = engine.assess(case)["differential"][0]["condition"]
            top, asked, available = simulate_interview(engine, case)
            agree += top == full
            shares.append(asked / available)
        print(
            f"interview on {len(cases)} synthetic cases (not used to choose the policy): same "
            f"top-1 in {agree / len(cases):.1%}, {statistics.mean(shares):.1%} of questions asked"
        )
    print("per condition (n, top-1, top-3):")
    for condition in engine.model.condition_ids:
        c = per_condition.get(condition, Counter())
        print(f"  {condition:<28} {c['n']:>3} {c['top1']:>4} {c['top3']:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
