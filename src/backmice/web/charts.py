"""Pain charts drawn on the server as SVG: no script, no third-party code, and the same
picture with or without JavaScript.

A chart has a 0-10 axis (NRS-11), dates along the bottom and one series per kind of
score (current, worst, with pressure), told apart by line style and marker shape as
well as colour. It is an image with a title and a description that summarises every
series, and the page shows the readings as a table too.

    >>> import datetime as dt
    >>> day = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    >>> chart = pain_chart("c", "Overall", [
    ...     Series("current", "Current", ((day, 7), (day + dt.timedelta(days=7), 4)))])
    >>> 'role="img"' in chart.svg, chart.description.split(". ")[1]
    (True, 'Current: 2 readings, first 7, latest 4, lowest 4, highest 7.')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Chart", "Series", "pain_chart"]

WIDTH, HEIGHT = 480, 260
LEFT, RIGHT, TOP, BOTTOM = 36, 14, 12, 40
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
#: Above this many readings a series is drawn as a line only, without markers.
MARKERS_UP_TO = 80


@dataclass(frozen=True, slots=True)
class Series:
    """One kind of score over time: `key` names its CSS class (series-<key>)."""

    key: str
    label: str
    points: tuple[tuple[dt.datetime, float], ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """An SVG chart with the words and table that stand in for it."""

    id: str
    title: str
    description: str
    svg: Markup
    series: tuple[Series, ...]
    rows: tuple[tuple[dt.datetime, str, float], ...]  # (when, series label, value), in time order


def _y(value: float) -> float:
    return TOP + (10 - value) / 10 * PLOT_H


def _marker(key: str, x: float, y: float, tip: str) -> str:
    title = f"<title>{escape(tip)}</title>"
    if key == "worst":
        corner = f'x="{x - 4:.1f}" y="{y - 4:.1f}"'
        return f'<rect class="mark" {corner} width="8" height="8">{title}</rect>'
    if key == "with_pressure":
        points = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}"
        return f'<polygon class="mark" points="{points}">{title}</polygon>'
    return f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="4">{title}</circle>'


def _ticks(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    days = (end.date() - start.date()).days
    count = 2 if days >= 2 else 1  # three dates fit the width at any size
    return [start + (end - start) * i / count for i in range(count + 1)]


def _g(value: float) -> str:
    return f"{value:g}"


def pain_chart(chart_id: str, title: str, series: Sequence[Series]) -> Chart | None:
    """The chart of these series, or None when none has a reading."""
    drawn = tuple(s for s in series if s.points)
    if not drawn:
        return None
    times = [t for s in drawn for t, _ in s.points]
    start, end = min(times), max(times)
    if end - start < dt.timedelta(hours=1):
        start, end = start - dt.timedelta(hours=12), end + dt.timedelta(hours=12)
    span = (end - start).total_seconds()

    def x(when: dt.datetime) -> float:
        return LEFT + (when - start).total_seconds() / span * PLOT_W

    summary = []
    for s in drawn:
        values = [v for _, v in s.points]
        summary.append(
            f"{s.label}: {len(values)} reading{'s' if len(values) != 1 else ''}, "
            f"first {_g(values[0])}, latest {_g(values[-1])}, "
            f"lowest {_g(min(values))}, highest {_g(max(values))}"
        )
    first_day, last_day = min(times).date().isoformat(), max(times).date().isoformat()
    description = (
        f"Pain from 0 (none) to 10 (worst), {first_day} to {last_day}. " + ". ".join(summary) + "."
    )
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" id="{chart_id}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    for level in range(0, 11, 2):
        y = _y(level)
        parts.append(
            f'<line class="grid-line" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{level}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_H}" '
        f'x2="{WIDTH - RIGHT}" y2="{TOP + PLOT_H}"/>'
    )
    ticks = _ticks(start, end)
    for i, when in enumerate(ticks):
        anchor = "start" if i == 0 else ("end" if i == len(ticks) - 1 else "middle")
        parts.append(
            f'<text class="tick" x="{x(when):.1f}" y="{TOP + PLOT_H + 18}" '
            f'text-anchor="{anchor}">{when.strftime("%d %b %Y")}</text>'
        )
    rows: list[tuple[dt.datetime, str, float]] = []
    for s in drawn:
        coords = [(x(t), _y(v)) for t, v in s.points]
        line = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
        parts.append(f'<g class="series series-{escape(s.key)}">')
        parts.append(f'<polyline points="{line}"/>')
        if len(s.points) <= MARKERS_UP_TO:
            for (when, value), (a, b) in zip(s.points, coords, strict=True):
                tip = f"{when.strftime('%Y-%m-%d %H:%M')}: {_g(value)} ({s.label})"
                parts.append(_marker(s.key, a, b, tip))
        parts.append("</g>")
        rows.extend((when, s.label, value) for when, value in s.points)
    parts.append("</svg>")
    rows.sort(key=lambda r: r[0])
    return Chart(
        id=chart_id,
        title=title,
        description=description,
        svg=Markup("".join(parts)),  # every text in it is escaped above
        series=drawn,
        rows=tuple(rows),
    )
