"""The body map's geometry, shared by the web page and the PDF, and the region it
suggests for a point: the suggestion must agree with the landmarks a clinician sees."""

from __future__ import annotations

import doctest

import pytest

from backmice.engine.contract import input_schema
from backmice.records import body_map
from backmice.records.body_map import CREST_BAND, LANDMARKS, OUTLINE, crest_height, suggest
from backmice.web.body_map import body_map_svg


def test_the_modules_examples_hold() -> None:
    failures, tried = doctest.testmod(body_map)
    assert tried > 0 and failures == 0


def test_points_on_the_drawn_iliac_crest_are_suggested_as_the_crest() -> None:
    # from beside the sacroiliac region (whose box ends 13 out) to the crest's lateral end
    for off in range(14, 43, 2):
        for x in (50 - off, 50 + off):
            for dy in (-CREST_BAND + 0.5, 0.0, CREST_BAND - 0.5):
                y = crest_height(off) + dy
                assert suggest(x, y)[1] == "posterior_iliac_crest", (x, y)


def test_the_crest_rises_from_beside_the_sacrum_to_its_top_and_drops_to_the_flank() -> None:
    assert crest_height(8) == pytest.approx(59.0)
    top = min(crest_height(off / 2) for off in range(16, 85))
    assert 43 < top < 46
    assert crest_height(42) == pytest.approx(47.0)
    assert crest_height(60) == crest_height(42)  # held level past the end


def test_the_sacral_dimples_lie_over_the_sacroiliac_joints() -> None:
    dimples = [m for m in LANDMARKS if m.style == "dimple"]
    assert len(dimples) == 2
    for mark in dimples:
        x, y = mark.path[0][1]
        assert suggest(x, y)[1] == "sacroiliac"


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (50, 86, ("midline", "natal_cleft")),
        (50, 66, ("midline", "lumbosacral")),
        (46, 54, ("left", "lumbosacral")),
        (44, 30, ("left", "lumbar_paraspinal")),
        (86, 25, ("right", "flank")),
        (30, 84, ("left", "buttock")),
        (71, 72, ("right", "buttock")),
        (28, 46, ("left", "posterior_iliac_crest")),
    ],
)
def test_a_point_is_suggested_the_region_its_landmarks_show(
    x: float, y: float, expected: tuple[str, str]
) -> None:
    assert suggest(x, y) == expected


def test_the_two_sides_mirror_each_other() -> None:
    for x in range(0, 50, 3):
        for y in range(0, 101, 3):
            left_side, left_region = suggest(x, y)
            right_side, right_region = suggest(100 - x, y)
            assert left_region == right_region, (x, y)
            assert {left_side, right_side} in ({"left", "right"}, {"midline"})


def test_every_suggestion_is_a_location_of_the_format_and_every_place_is_reachable() -> None:
    locations = set(input_schema()["properties"]["findings"]["properties"]["location"]["enum"])
    seen = {suggest(x / 2, y / 2)[1] for x in range(0, 201) for y in range(0, 201)}
    assert seen <= locations
    assert seen == locations - {"other"}  # "other" is for a place off this map


def test_the_web_map_draws_the_shared_outline_and_every_landmark() -> None:
    svg = body_map_svg()
    assert svg.outline.startswith("M 14 0 C") and svg.outline.endswith("Z")
    assert len(OUTLINE) == 12
    assert [m.style for m in svg.landmarks] == [m.style for m in LANDMARKS]
    circles = [m for m in svg.landmarks if m.radius]
    assert [(m.x, m.y) for m in circles] == [(43, 61), (57, 61)]
