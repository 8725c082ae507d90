"""``kling_desktop.text``: the one clock formatter."""

from __future__ import annotations

import pytest

from kling_desktop.text import format_clock, plural


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (3.4, "0:03"),
        (59.999, "0:59"),
        (61, "1:01"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (3723, "1:02:03"),
        (-0.005, "0:00"),
        (-5, "0:00"),
    ],
)
def test_format_clock(seconds: float, shown: str) -> None:
    assert format_clock(seconds) == shown


def test_plural_counts_in_english() -> None:
    assert plural(1, "paid Kling job") == "1 paid Kling job"
    assert plural(0, "clip") == "0 clips"
    assert plural(4, "paid Kling job") == "4 paid Kling jobs"
