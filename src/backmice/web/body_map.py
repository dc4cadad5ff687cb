"""The body map as the patient page draws it: the shared geometry
(`backmice.records.body_map`) turned into SVG path data once, on first use, so every
page view reuses the same strings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from backmice.records.body_map import LANDMARKS, OUTLINE, suggest, svg_path

__all__ = ["SvgBodyMap", "SvgLandmark", "body_map_svg", "suggest"]


@dataclass(frozen=True, slots=True)
class SvgLandmark:
    """One landmark for the template: a path (`d`) or a circle (`radius` > 0)."""

    style: str
    d: str
    x: float
    y: float
    radius: float


@dataclass(frozen=True, slots=True)
class SvgBodyMap:
    outline: str
    landmarks: tuple[SvgLandmark, ...]


@cache
def body_map_svg() -> SvgBodyMap:
    """The outline and landmarks as SVG path data, in map coordinates."""
    marks = []
    for mark in LANDMARKS:
        x, y = mark.path[0][1][:2]
        marks.append(SvgLandmark(mark.style, svg_path(mark.path), x, y, mark.radius))
    return SvgBodyMap(svg_path(OUTLINE), tuple(marks))
