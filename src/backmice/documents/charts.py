"""Vector drawings made from the record: the posterior body map with its nodules, and the
pain scores over time.

Both are `reportlab.graphics` drawings, so they print sharply at any size. Meaning is
never carried by colour alone: nodule status also changes the marker's shape (filled
dot, ring, cross) and a pain series' kind changes its dash pattern.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.graphics.shapes import (  # type: ignore[import-untyped, unused-ignore]
    Circle,
    Drawing,
    Group,
    Line,
    Path,
    PolyLine,
    Rect,
    String,
)
from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped, unused-ignore]

from backmice.documents.content import NoduleLine, PainPoint
from backmice.documents.layout import (
    FONT,
    FONT_BOLD,
    INK,
    MUTED,
    RULE,
    fmt_date,
    fmt_datetime,
    register_fonts,
)
from backmice.records.body_map import LANDMARKS, OUTLINE, Segment

__all__ = [
    "MAX_SERIES",
    "STATUS_STYLE",
    "body_map",
    "pain_chart",
    "pain_series",
]

OUTLINE_COLOUR = colors.HexColor("#9aa5b1")
BODY_FILL = colors.HexColor("#f5f7fa")
LANDMARK = colors.HexColor("#bcc5cf")

#: Nodule status -> (colour, marker shape, legend word)
STATUS_STYLE = {
    "active": (colors.HexColor("#d55e00"), "dot", "Active"),
    "resolved": (colors.HexColor("#009e73"), "ring", "Resolved"),
    "excised": (colors.HexColor("#52606d"), "cross", "Excised"),
}
#: Most lines one pain chart draws; the rest are counted under it.
MAX_SERIES = 8
#: Colour-blind-safe (Okabe-Ito) colours for the nodules' series; overall pain is black.
_SERIES_COLOURS = (
    colors.HexColor("#e69f00"),
    colors.HexColor("#0072b2"),
    colors.HexColor("#009e73"),
    colors.HexColor("#cc79a7"),
    colors.HexColor("#d55e00"),
    colors.HexColor("#56b4e9"),
    colors.HexColor("#8c6d31"),
)
_KIND_DASH: dict[str, list[float] | None] = {
    "current": None,
    "worst": [4, 2],
    "with_pressure": [1, 1.8],
}
_KIND_WORDS = {"current": "current", "worst": "worst", "with_pressure": "with pressure"}

# --- the body map -------------------------------------------------------------------

_SCALE = 0.78 * mm  # one map unit
_PAD = 6 * mm


def _map_point(x: float, y: float, height: float) -> tuple[float, float]:
    """Map coordinates (0-100, y down from the lower ribs) to drawing points."""
    return _PAD + x * _SCALE, height - _PAD - y * _SCALE


def _path(segments: Sequence[Segment], height: float, **style: Any) -> Path:
    """A path of the shared body map (`records.body_map`) as a drawing path."""
    path = Path(**style)
    for op, points in segments:
        xy = [
            c
            for i in range(0, len(points), 2)
            for c in _map_point(points[i], points[i + 1], height)
        ]
        if op == "M":
            path.moveTo(*xy)
        elif op == "L":
            path.lineTo(*xy)
        elif op == "C":
            path.curveTo(*xy)
        else:
            path.closePath()
    return path


#: Landmark style (see `records.body_map.Landmark`) -> stroke width and dash pattern.
_LANDMARK_STYLE: dict[str, tuple[float, list[float] | None]] = {
    "bone": (1.2, None),
    "crest": (0.8, [3, 2]),
    "fold": (0.7, None),
    "dimple": (0.6, None),
}


def _outline(height: float) -> Path:
    """The back of the torso from the lower ribs to the upper thighs."""
    return _path(OUTLINE, height, strokeColor=OUTLINE_COLOUR, strokeWidth=0.9, fillColor=BODY_FILL)


def _landmarks(height: float) -> Group:
    """Spine, sacrum, natal cleft, iliac crests, sacral dimples and gluteal folds."""
    group = Group()
    for mark in LANDMARKS:
        width, dash = _LANDMARK_STYLE[mark.style]
        if mark.radius:
            x, y = mark.path[0][1][:2]
            cx, cy = _map_point(x, y, height)
            group.add(
                Circle(
                    cx,
                    cy,
                    mark.radius * _SCALE,
                    strokeColor=LANDMARK,
                    fillColor=None,
                    strokeWidth=width,
                )
            )
        else:
            group.add(
                _path(
                    mark.path,
                    height,
                    strokeColor=LANDMARK,
                    strokeWidth=width,
                    fillColor=None,
                    strokeDashArray=dash,
                )
            )
    return group


def _marker(x: float, y: float, status: str, radius: float) -> Group:
    colour, shape, _ = STATUS_STYLE.get(status, STATUS_STYLE["active"])
    group = Group()
    if shape == "dot":
        group.add(Circle(x, y, radius, fillColor=colour, strokeColor=colors.white, strokeWidth=0.3))
    elif shape == "ring":
        group.add(Circle(x, y, radius, fillColor=colors.white, strokeColor=colour, strokeWidth=0.9))
    else:
        r = radius * 0.9
        for dx in (-r, r):
            group.add(Line(x - r, y + dx, x + r, y - dx, strokeColor=colour, strokeWidth=1.0))
    return group


def body_map(nodules: Sequence[NoduleLine], label_limit: int = 40) -> Drawing:
    """The posterior body map with one marker per nodule, labelled when there are at most
    `label_limit`, and a legend counting each status."""
    register_fonts()
    map_height = 100 * _SCALE + 2 * _PAD
    width = 100 * _SCALE + 2 * _PAD
    legend_height = 15 * mm
    height = map_height + legend_height
    drawing = Drawing(width, height)
    top = height  # the map sits above the legend

    def p(x: float, y: float) -> tuple[float, float]:
        return _map_point(x, y, top)

    drawing.add(_outline(top))
    drawing.add(_landmarks(top))
    for text, edge, anchor in (("Left", 0.0, "start"), ("Right", 100.0, "end")):
        lx, ly = p(edge, 0.0)
        drawing.add(
            String(
                lx,
                ly + 1.5 * mm,
                text,
                fontName=FONT,
                fontSize=7,
                fillColor=MUTED,
                textAnchor=anchor,
            )
        )
    count = len(nodules)
    radius = 1.9 * mm if count <= label_limit else (1.2 * mm if count <= 150 else 0.75 * mm)
    # draw resolved and excised first so that active nodules stay on top
    order = sorted(nodules, key=lambda n: n.status == "active")
    for nodule in order:
        x, y = p(min(max(nodule.x, 0.0), 100.0), min(max(nodule.y, 0.0), 100.0))
        drawing.add(_marker(x, y, nodule.status, radius))
        if count <= label_limit and nodule.label:
            right_side = nodule.x > 80
            label = String(
                x + (-1 if right_side else 1) * (radius + 0.8 * mm),
                y - 2.2,
                nodule.label,
                fontName=FONT_BOLD,
                fontSize=6.5,
                fillColor=INK,
                textAnchor="end" if right_side else "start",
            )
            drawing.add(label)
    # caption and legend
    caption = "Seen from behind (the patient's left is on the left)."
    drawing.add(
        String(
            width / 2,
            legend_height - 3 * mm,
            caption,
            fontName=FONT,
            fontSize=7,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )
    x = _PAD
    for status, (_, _, word) in STATUS_STYLE.items():
        n = sum(1 for nodule in nodules if nodule.status == status)
        drawing.add(_marker(x + 1.5 * mm, legend_height - 9 * mm + 2.5, status, 1.5 * mm))
        text = f"{word} ({n})"
        drawing.add(
            String(
                x + 4 * mm, legend_height - 9 * mm, text, fontName=FONT, fontSize=7.5, fillColor=INK
            )
        )
        x += 4 * mm + stringWidth(text, FONT, 7.5) + 5 * mm
    return drawing


# --- the pain chart ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PainSeries:
    """One line of the pain chart: a subject (overall or a nodule) and a kind of score."""

    nodule: str | None
    kind: str
    points: tuple[PainPoint, ...]

    @property
    def name(self) -> str:
        subject = "Overall" if self.nodule is None else f"Nodule {self.nodule}"
        return f"{subject}, {_KIND_WORDS.get(self.kind, self.kind)}"


def pain_series(
    points: Sequence[PainPoint], limit: int = MAX_SERIES
) -> tuple[list[PainSeries], int]:
    """The series to draw (overall first, then the nodules scored most recently) and how
    many were left out."""
    groups: dict[tuple[str | None, str], list[PainPoint]] = {}
    for point in points:
        groups.setdefault((point.nodule, point.kind), []).append(point)
    kinds = list(_KIND_DASH)

    def rank(key: tuple[str | None, str]) -> tuple[int, float, str, int]:
        nodule, kind = key
        latest = max(p.recorded_at for p in groups[key]).timestamp()
        kind_rank = kinds.index(kind) if kind in kinds else len(kinds)
        return (0 if nodule is None else 1, -latest, nodule or "", kind_rank)

    keys = sorted(groups, key=rank)
    chosen = [
        PainSeries(nodule, kind, tuple(sorted(groups[(nodule, kind)], key=lambda p: p.recorded_at)))
        for nodule, kind in keys[:limit]
    ]
    return chosen, max(0, len(keys) - limit)


def _date_ticks(start: float, end: float, count: int = 5) -> list[float]:
    if count < 2:
        return [start]
    step = (end - start) / (count - 1)
    return [start + i * step for i in range(count)]


def pain_chart(points: Sequence[PainPoint], width: float, plot_height: float = 55 * mm) -> Drawing:
    """Scores over time on a 0-10 axis, one line per subject and kind, with a legend."""
    register_fonts()
    series, _ = pain_series(points)
    left, right, bottom, top_pad = 14 * mm, 10 * mm, 9 * mm, 6 * mm
    per_row = 3
    rows = (len(series) + per_row - 1) // per_row
    legend_height = rows * 5 * mm + 2 * mm
    height = plot_height + bottom + top_pad + legend_height
    drawing = Drawing(width, height)
    x0, y0 = left, legend_height + bottom
    plot_width = width - left - right

    times = [p.recorded_at.timestamp() for s in series for p in s.points]
    start, end = min(times), max(times)
    if end - start < 86_400:  # less than a day: give the points room
        start, end = start - 43_200, end + 43_200
    span = end - start
    start, end = start - span * 0.03, end + span * 0.03

    def px(t: float) -> float:
        return float(x0 + (t - start) / (end - start) * plot_width)

    def py(score: float) -> float:
        return float(y0 + score / 10 * plot_height)

    drawing.add(
        Rect(x0, y0, plot_width, plot_height, fillColor=None, strokeColor=RULE, strokeWidth=0.6)
    )
    for score in range(0, 11, 2):
        drawing.add(
            Line(x0, py(score), x0 + plot_width, py(score), strokeColor=RULE, strokeWidth=0.4)
        )
        drawing.add(
            String(
                x0 - 2 * mm,
                py(score) - 2.5,
                str(score),
                fontName=FONT,
                fontSize=7,
                fillColor=MUTED,
                textAnchor="end",
            )
        )
    drawing.add(
        String(
            x0 - 2 * mm,
            y0 + plot_height + 2.5 * mm,
            "Pain (0-10)",
            fontName=FONT,
            fontSize=7,
            fillColor=MUTED,
            textAnchor="start",
        )
    )
    first, last = min(times), max(times)
    with_time = (last - first) < 3 * 86_400
    tz = series[0].points[0].recorded_at.tzinfo
    for tick in _date_ticks(start, end):
        moment = dt.datetime.fromtimestamp(tick, tz)
        label = fmt_datetime(moment) if with_time else fmt_date(moment.date())
        drawing.add(Line(px(tick), y0, px(tick), y0 - 1.2 * mm, strokeColor=MUTED, strokeWidth=0.5))
        drawing.add(
            String(
                px(tick),
                y0 - 4.5 * mm,
                label,
                fontName=FONT,
                fontSize=6.8,
                fillColor=MUTED,
                textAnchor="middle",
            )
        )

    colour_of: dict[str | None, colors.Color] = {None: INK}
    for item in series:
        if item.nodule not in colour_of:
            colour_of[item.nodule] = _SERIES_COLOURS[(len(colour_of) - 1) % len(_SERIES_COLOURS)]
    for item in series:
        colour = colour_of[item.nodule]
        dash = _KIND_DASH.get(item.kind)
        coords: list[float] = []
        for point in item.points:
            coords.extend((px(point.recorded_at.timestamp()), py(point.score)))
        if len(item.points) > 1:
            drawing.add(
                PolyLine(
                    coords,
                    strokeColor=colour,
                    strokeWidth=1.3,
                    strokeDashArray=dash,
                    strokeLineJoin=1,
                )
            )
        if len(item.points) <= 60:
            for i in range(0, len(coords), 2):
                drawing.add(
                    Circle(
                        coords[i],
                        coords[i + 1],
                        1.9,
                        fillColor=colour,
                        strokeColor=colors.white,
                        strokeWidth=0.3,
                    )
                )

    column = plot_width / per_row
    for i, item in enumerate(series):
        row, col = divmod(i, per_row)
        lx = x0 + col * column
        ly = legend_height - (row + 1) * 5 * mm + 1 * mm
        colour = colour_of[item.nodule]
        drawing.add(
            Line(
                lx,
                ly + 2.4,
                lx + 8 * mm,
                ly + 2.4,
                strokeColor=colour,
                strokeWidth=1.3,
                strokeDashArray=_KIND_DASH.get(item.kind),
            )
        )
        drawing.add(String(lx + 10 * mm, ly, item.name, fontName=FONT, fontSize=7.2, fillColor=INK))
    return drawing
