"""The shared argument checks: what they accept, and errors that name the argument and the interval."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from seqgan_gym._checks import check_float


def test_check_float_accepts_numbers_inside_the_interval() -> None:
    assert check_float("rate", 0, 0, 1, high_open=True) == 0.0
    assert check_float("rate", np.float32(0.5), 0, 1) == 0.5
    assert check_float("lr", 1e-9, 0, low_open=True) == 1e-9
    assert check_float("x", -3) == -3.0
    assert isinstance(check_float("x", 2), float)


@pytest.mark.parametrize(
    ("value", "low", "high", "low_open", "high_open", "interval"),
    [
        (1.0, 0, 1, False, True, "[0, 1)"),
        (0, 0, None, True, False, "(0, inf)"),
        (-0.5, 0, None, False, False, "[0, inf)"),
        (2, None, 1, False, False, "(-inf, 1]"),
        (math.nan, None, None, False, False, "(-inf, inf)"),
        (math.inf, 0, None, False, False, "[0, inf)"),
        (True, 0, 1, False, False, "[0, 1]"),
        ("0.5", 0, 1, False, False, "[0, 1]"),
        (None, 0, 1, False, False, "[0, 1]"),
    ],
)
def test_check_float_names_the_argument_and_the_interval(
    value: object, low: float | None, high: float | None, low_open: bool, high_open: bool, interval: str
) -> None:
    with pytest.raises(ValueError, match=rf"^my_arg must be a finite number in {re.escape(interval)}"):
        check_float("my_arg", value, low, high, low_open=low_open, high_open=high_open)
