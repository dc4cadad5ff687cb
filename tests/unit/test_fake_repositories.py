"""The in-memory repositories hand out field dicts as the SQL ones do: the records of
`where`, `where_in` and `for_patient`, in the same order, each a dict of its fields in
the order the class declares them."""

from __future__ import annotations

import datetime as dt

from backmice.records import domain
from backmice.records import services as s
from backmice.records.unit_of_work import FakeUnitOfWork

WHEN = dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC)


def test_fake_field_dicts_follow_the_objects() -> None:
    uow = FakeUnitOfWork()
    first = domain.Nodule(patient_id="p1", x=30.0, y=50.0, side="left", region="buttock")
    uow.nodules.add(first)
    scores = [
        domain.PainScore(patient_id="p1", score=5, kind="current", recorded_at=WHEN),
        domain.PainScore(
            patient_id="p1",
            score=7,
            kind="with_pressure",
            recorded_at=WHEN - dt.timedelta(days=1),
            nodule_id=first.id,
        ),
        domain.PainScore(
            patient_id="p2", score=2, kind="worst", recorded_at=WHEN + dt.timedelta(hours=1)
        ),
    ]
    for score in scores:
        uow.pain_scores.add(score)

    mine = uow.pain_scores.fields_for_patient("p1")
    assert [f["score"] for f in mine] == [7, 5]  # oldest first
    assert list(mine[0]) == ["patient_id", "score", "kind", "recorded_at", "nodule_id", "id"]
    assert mine[0]["recorded_at"] == WHEN - dt.timedelta(days=1)  # values as they are
    assert [f["score"] for f in uow.pain_scores.fields_where(nodule_id=None)] == [5, 2]
    assert [f["id"] for f in uow.pain_scores.fields_where_in("nodule_id", [first.id])] == [
        scores[1].id
    ]
    assert uow.pain_scores.fields_where_in("nodule_id", []) == []
    # as_dict is the same dict made ready for JSON
    assert s.as_dict(scores[0]) == {**uow.pain_scores.fields_where(id=scores[0].id)[0],
                                    "recorded_at": WHEN.isoformat()}  # fmt: skip
