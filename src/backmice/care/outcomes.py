"""Outcome scores and what counts as a meaningful change.

Pain is rated on the NRS-11 (0-10: current, worst, with pressure); the patient's global
impression of change (PGIC) on seven points, 1 "very much improved" to 7 "very much
worse"; sitting tolerance in minutes. A fall in pain is meaningful from 2 points or 30 %
(Farrar 2001, thresholds in `care/data/pathway.yaml`).

    >>> from backmice.care.pathway_data import default_pathway
    >>> change = nrs_change(7, 4, default_pathway().meaningful_change)
    >>> change.points_fall, change.percent_fall, change.meaningful
    (3, 42.9, True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backmice.care.pathway_data import MeaningfulChange

__all__ = [
    "MEASURES",
    "PGIC_LABELS",
    "Change",
    "Reading",
    "Trend",
    "nrs_change",
    "trend",
]

#: Outcome measures other than the NRS, with their allowed range.
MEASURES: dict[str, tuple[int, int]] = {"pgic": (1, 7), "sitting_tolerance": (0, 24 * 60)}

PGIC_LABELS = {
    1: "very much improved",
    2: "much improved",
    3: "minimally improved",
    4: "no change",
    5: "minimally worse",
    6: "much worse",
    7: "very much worse",
}


@dataclass(frozen=True, slots=True)
class Change:
    """The change from a baseline pain score to a later one."""

    baseline: int
    latest: int
    points_fall: int
    percent_fall: float | None  # None when the baseline was 0
    meaningful: bool

    def describe(self) -> str:
        """E.g. 'NRS 7 to 4: a fall of 3 points (43%)'."""
        if self.points_fall == 0:
            return f"NRS {self.baseline} to {self.latest}: no change"
        word = "fall" if self.points_fall > 0 else "rise"
        size = abs(self.points_fall)
        unit = "point" if size == 1 else "points"
        percent = "" if self.percent_fall is None else f" ({abs(self.percent_fall):.0f}%)"
        return f"NRS {self.baseline} to {self.latest}: a {word} of {size} {unit}{percent}"


def nrs_change(baseline: int, latest: int, thresholds: MeaningfulChange) -> Change:
    """Whether the fall from `baseline` to `latest` is a meaningful improvement:
    at least the points threshold or at least the percent threshold."""
    fall = baseline - latest
    percent = None if baseline == 0 else round(fall / baseline * 100.0, 1)
    meaningful = fall > 0 and (
        fall >= thresholds.nrs_points.value
        or (percent is not None and percent >= thresholds.nrs_percent.value)
    )
    return Change(baseline, latest, fall, percent, meaningful)


@dataclass(frozen=True, slots=True)
class Reading:
    """One dated value of a measure."""

    at: dt.datetime
    value: float


@dataclass(frozen=True, slots=True)
class Trend:
    """How a measure has moved: first and latest value, the least-squares slope per
    week, and a direction word for people ("improving" means pain falling, or sitting
    tolerance rising)."""

    measure: str
    count: int
    first: float
    latest: float
    slope_per_week: float
    direction: str


#: Measures for which a higher value is better.
_HIGHER_IS_BETTER = {"sitting_tolerance"}
#: A slope smaller than this (units per week) reads as stable.
_FLAT = {"nrs": 0.25, "pgic": 0.25, "sitting_tolerance": 2.0}


def trend(measure: str, readings: Iterable[Reading]) -> Trend | None:
    """The trend of one measure's readings: None with fewer than two, or when they span
    less than a day (a weekly slope from minutes apart would mean nothing)."""
    points: Sequence[Reading] = sorted(readings, key=lambda r: r.at)
    if len(points) < 2 or points[-1].at - points[0].at < dt.timedelta(days=1):
        return None
    start = points[0].at
    xs = [(r.at - start).total_seconds() / (7 * 86400) for r in points]
    ys = [r.value for r in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = (
        0.0
        if spread == 0
        else sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    )
    flat = _FLAT.get(measure, 0.25)
    if abs(slope) < flat:
        direction = "stable"
    else:
        better = slope > 0 if measure in _HIGHER_IS_BETTER else slope < 0
        direction = "improving" if better else "worsening"
    return Trend(measure, len(points), ys[0], ys[-1], round(slope, 3), direction)
