"""The posterior torso body map: coordinates, the outline drawn on screen, and the
region and side suggested for a point.

Coordinates are the record's (see records/domain.py): x 0-100 across the back seen from
behind (the person's left at x < 50), y 0 (lower ribs) to 100 (upper thighs), spine at
x = 50. A clinician can always change the suggested region.

    >>> suggest(30, 38)
    ('left', 'posterior_iliac_crest')
    >>> suggest(50, 80)
    ('midline', 'natal_cleft')
"""

from __future__ import annotations

__all__ = ["OUTLINE", "suggest"]

#: SVG path of the outline in map coordinates (viewBox 0 0 100 100).
OUTLINE = (
    "M 22 0 L 78 0 C 80 12 82 22 86 32 C 92 46 94 60 92 74 C 90 86 84 96 78 100 "
    "L 54 100 L 50 88 L 46 100 L 22 100 C 16 96 10 86 8 74 C 6 60 8 46 14 32 "
    "C 18 22 20 12 22 0 Z"
)


def suggest(x: float, y: float) -> tuple[str, str]:
    """The side and the `location` region a point most likely belongs to."""
    off = abs(x - 50)
    side = "midline" if off <= 2 else ("left" if x < 50 else "right")
    if y < 30:
        region = "lumbar_paraspinal" if off < 16 else "flank"
    elif y < 45:
        region = "lumbosacral" if off < 7 else ("posterior_iliac_crest" if off < 34 else "flank")
    elif y < 64:
        region = "lumbosacral" if off < 5 else ("sacroiliac" if off < 16 else "buttock")
    else:
        region = "natal_cleft" if off < 4 else "buttock"
    return side, region
