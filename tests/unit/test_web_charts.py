"""Server-drawn pain charts and the assessment form's reading of answers."""

from __future__ import annotations

import datetime as dt

from backmice.engine import Engine
from backmice.web.assessment_form import case_of, form_fields, form_values, preview, read_answers
from backmice.web.charts import HEIGHT, TOP, Series, pain_chart

DAY = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


def test_a_chart_is_an_image_with_a_title_a_description_and_its_rows() -> None:
    chart = pain_chart(
        "c1",
        "Overall <pain>",
        [
            Series("current", "Current", ((DAY, 7), (DAY + dt.timedelta(days=14), 3))),
            Series("worst", "Worst", ((DAY + dt.timedelta(days=7), 9),)),
            Series("with_pressure", "With pressure", ()),
        ],
    )
    assert chart is not None
    assert chart.svg.startswith('<svg viewBox="0 0 480 260" role="img" aria-labelledby="c1-t c1-d"')
    assert '<title id="c1-t">Overall &lt;pain&gt;</title>' in chart.svg  # escaped
    assert chart.description == (
        "Pain from 0 (none) to 10 (worst), 2026-11-01 to 2026-11-15. "
        "Current: 2 readings, first 7, latest 3, lowest 3, highest 7. "
        "Worst: 1 reading, first 9, latest 9, lowest 9, highest 9."
    )
    assert [s.key for s in chart.series] == ["current", "worst"]  # empty series left out
    assert [r[2] for r in chart.rows] == [7, 9, 3]  # in time order
    assert chart.svg.count("<circle") == 2 and chart.svg.count("<rect") == 1


def test_pain_10_is_drawn_at_the_top_and_0_at_the_bottom() -> None:
    chart = pain_chart("c", "t", [Series("current", "Current", ((DAY, 10), (DAY, 0)))])
    assert chart is not None
    assert f'cy="{TOP:.1f}"' in chart.svg
    assert f'cy="{HEIGHT - 40:.1f}"' in chart.svg


def test_no_readings_no_chart() -> None:
    assert pain_chart("c", "t", [Series("current", "Current", ())]) is None


def test_form_answers_become_a_case_and_back(engine: Engine) -> None:
    groups = form_fields(engine)
    form = {"age": "52", "sex": "female", "lump_present": "yes", "size_cm": "2.5", "mobile": "no"}
    answers, skipped, problems = read_answers({**form, "tender": "unknown", "fever": ""}, groups)
    assert problems == [] and skipped == ["tender"]
    case = case_of("primary_care", answers)
    assert case["age"] == 52 and case["sex"] == "female"
    assert case["findings"] == {"lump_present": True, "size_cm": 2.5, "mobile": False}
    assert form_values(case) == form
    shown = preview(engine, "primary_care", answers, skipped)
    assert shown.next_finding not in {*form, "tender"}


def test_every_finding_is_on_the_form_once(engine: Engine) -> None:
    ids = [f.id for g in form_fields(engine) for f in g.fields]
    assert sorted(ids) == sorted(f.id for f in engine.kb.findings)
