"""The posterior body map: one drawing and one set of regions for every place a nodule is
shown or placed (the web page, the PDF visit summary, the demo cohort).

Coordinates are the record's (`records.domain.Nodule`): x 0-100 across the back seen
from behind (the person's left at x < 50, the spine at x = 50), y 0 at the lower ribs
to 100 at the upper thighs. The drawing is kept as plain path segments in those
coordinates, so the web page renders it as SVG and the PDF as a vector path, and a
nodule clicked just above the drawn iliac crest is suggested as "posterior iliac
crest" in both. The anatomy is schematic: it orients, it does not measure.

    >>> suggest(30, 54)
    ('left', 'posterior_iliac_crest')
    >>> suggest(58.5, 66)
    ('right', 'sacroiliac')
    >>> suggest(50, 86)
    ('midline', 'natal_cleft')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

__all__ = [
    "CREST_BAND",
    "LANDMARKS",
    "OUTLINE",
    "Landmark",
    "Segment",
    "crest_height",
    "suggest",
    "svg_path",
]

#: One path step: ("M" | "L", (x, y)), ("C", (x1, y1, x2, y2, x, y)) or ("Z", ()).
Segment = tuple[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class Landmark:
    """A drawn landmark: a path, or (`radius` > 0) a small circle at the path's one point.

    `style` is "bone" (spine, vertebrae, sacrum), "crest" (the iliac crests, dashed),
    "fold" (natal cleft and gluteal folds) or "dimple" (the sacral dimples, over the
    posterior superior iliac spines).
    """

    name: str
    style: str
    path: tuple[Segment, ...]
    radius: float = 0.0


def _mirror(path: Sequence[Segment]) -> tuple[Segment, ...]:
    """The same path on the other side of the spine (x -> 100 - x)."""
    return tuple(
        (op, tuple(100.0 - v if i % 2 == 0 else v for i, v in enumerate(points)))
        for op, points in path
    )


#: The back from the lower ribs to the upper thighs (waist, hip flare, buttocks).
OUTLINE: tuple[Segment, ...] = (
    ("M", (14, 0)),
    ("C", (16, 8, 18, 18, 16, 27)),
    ("C", (13, 36, 4, 44, 3, 58)),
    ("C", (2, 72, 3, 86, 6, 100)),
    ("L", (47.5, 100)),
    ("C", (48.5, 95, 49.5, 93, 50, 92)),
    ("C", (50.5, 93, 51.5, 95, 52.5, 100)),
    ("L", (94, 100)),
    ("C", (97, 86, 98, 72, 97, 58)),
    ("C", (96, 44, 87, 36, 84, 27)),
    ("C", (82, 18, 84, 8, 86, 0)),
    ("Z", ()),
)

_LEFT_CREST: tuple[Segment, ...] = (("M", (42, 59)), ("C", (33, 44, 18, 40, 8, 47)))
_LEFT_FOLD: tuple[Segment, ...] = (("M", (47, 91)), ("C", (38, 96, 22, 96, 10, 91)))
_LEFT_DIMPLE: tuple[Segment, ...] = (("M", (43, 61)),)

LANDMARKS: tuple[Landmark, ...] = (
    Landmark("spine", "bone", (("M", (50, 0)), ("L", (50, 58)))),
    *(
        Landmark("lumbar vertebra", "bone", (("M", (47.5, y)), ("L", (52.5, y))))
        for y in range(4, 56, 11)
    ),
    Landmark(
        "sacrum",
        "bone",
        (
            ("M", (41, 58)),
            ("L", (59, 58)),
            ("C", (56, 68, 53, 76, 50, 81)),
            ("C", (47, 76, 44, 68, 41, 58)),
        ),
    ),
    Landmark("natal cleft", "fold", (("M", (50, 81)), ("L", (50, 92)))),
    Landmark("left iliac crest", "crest", _LEFT_CREST),
    Landmark("right iliac crest", "crest", _mirror(_LEFT_CREST)),
    Landmark("left gluteal fold", "fold", _LEFT_FOLD),
    Landmark("right gluteal fold", "fold", _mirror(_LEFT_FOLD)),
    Landmark("left sacral dimple", "dimple", _LEFT_DIMPLE, radius=1.2),
    Landmark("right sacral dimple", "dimple", _mirror(_LEFT_DIMPLE), radius=1.2),
)


def svg_path(path: Sequence[Segment]) -> str:
    """A path as the `d` attribute of an SVG path, in map coordinates.

    >>> svg_path((("M", (0, 0)), ("L", (10, 5.5)), ("Z", ())))
    'M 0 0 L 10 5.5 Z'
    """
    parts: list[str] = []
    for op, points in path:
        parts.append(op)
        parts.extend(f"{v:g}" for v in points)
    return " ".join(parts)


@cache
def _crest_heights(samples: int = 64) -> tuple[tuple[float, float], ...]:
    """(distance from the spine, y) along the drawn iliac crest, medial end first."""
    (_, start), (_, controls) = _LEFT_CREST
    x0, y0 = start
    x1, y1, x2, y2, x3, y3 = controls
    points = []
    for i in range(samples + 1):
        t = i / samples
        a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3
        x = a * x0 + b * x1 + c * x2 + d * x3
        points.append((50 - x, a * y0 + b * y1 + c * y2 + d * y3))
    return tuple(points)


#: How far above or below the drawn crest a point still counts as over it (map units;
#: one unit is roughly half a centimetre on an adult back).
CREST_BAND = 8.0


def crest_height(off: float) -> float:
    """The drawn iliac crest's y at `off` units from the spine (held level past its ends).

    >>> round(crest_height(8), 1), round(crest_height(42), 1)
    (59.0, 47.0)
    """
    crest = _crest_heights()
    if off <= crest[0][0]:
        return crest[0][1]
    for (off_a, y_a), (off_b, y_b) in pairwise(crest):
        if off <= off_b:
            return y_a + (y_b - y_a) * (off - off_a) / (off_b - off_a)
    return crest[-1][1]


def suggest(x: float, y: float) -> tuple[str, str]:
    """The side and the `location` region a point most likely belongs to, read from the
    drawn landmarks; a clinician can always choose another.

    In order: the natal cleft below the sacrum's tip; lumbosacral along the midline
    over the sacrum; sacroiliac over the sacrum's sides and the sacral dimples; the
    posterior iliac crest within `CREST_BAND` of the drawn crest; lumbosacral just
    beside the midline above the dimples; lumbar paraspinal beside the spine above
    that; the flank above the crest further out; the buttock below it.
    """
    off = abs(x - 50)
    side = "midline" if off <= 2 else ("left" if x < 50 else "right")
    crest = crest_height(off)
    if off < 3 and y >= 80:
        region = "natal_cleft"
    elif off < 5 and 48 <= y < 80:
        region = "lumbosacral"
    elif off < 13 and 58 <= y < 78:
        region = "sacroiliac"
    elif off >= 6 and abs(y - crest) <= CREST_BAND:
        region = "posterior_iliac_crest"
    elif off < 9 and 48 <= y < 58:
        region = "lumbosacral"
    elif off < 16 and y < 52:
        region = "lumbar_paraspinal"
    elif y < crest:
        region = "flank"
    else:
        region = "buttock"
    return side, region
