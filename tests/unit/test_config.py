"""Settings from the environment: the database, the data directory, clinic thresholds."""

from __future__ import annotations

import pytest

from backmice.config import load_settings
from backmice.errors import InvalidInput


def test_without_a_url_records_live_in_the_data_directory() -> None:
    settings = load_settings({"BACKMICE_DATA_DIR": "/srv/bm"})
    assert settings.database_url == "sqlite:////srv/bm/backmice.db"
    assert settings.injection_positive_at is None  # the knowledge base's threshold


def test_a_clinic_sets_its_own_injection_thresholds() -> None:
    settings = load_settings(
        {
            "BACKMICE_DATA_DIR": "/srv/bm",
            "BACKMICE_INJECTION_POSITIVE_PERCENT": "70",
            "BACKMICE_INJECTION_STRONGLY_POSITIVE_PERCENT": "90",
        }
    )
    assert (settings.injection_positive_at, settings.injection_strongly_positive_at) == (70, 90)


@pytest.mark.parametrize("raw", ["seventy", "0", "101", "-5"])
def test_a_threshold_that_is_not_a_percentage_is_refused_by_name(raw: str) -> None:
    with pytest.raises(InvalidInput, match=rf"BACKMICE_INJECTION_POSITIVE_PERCENT: '{raw}' is not"):
        load_settings({"BACKMICE_DATA_DIR": "/x", "BACKMICE_INJECTION_POSITIVE_PERCENT": raw})
