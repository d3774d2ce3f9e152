"""Quarter lines: an Asian line ending in .25 or .75 is two half stakes on the neighbouring lines.

A line ``L`` is split into two half-stake lines ``(L − 0.25, L + 0.25)`` when ``4L`` is odd (a quarter
line) and ``(L, L)`` otherwise (a whole or half line, whose two halves are the same bet). Each half
stake then wins, is pushed (stake returned) or loses on its own.
"""

from __future__ import annotations

import numpy as np


def check_lines(lines) -> np.ndarray:
    """Lines as a float array; each must be a multiple of 0.25."""
    arr = np.asarray(lines, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("lines must be finite")
    if np.any(np.abs(arr * 4 - np.round(arr * 4)) > 1e-9):
        raise ValueError("lines must be multiples of 0.25")
    return np.round(arr * 4) / 4


def split_line(lines) -> tuple[np.ndarray, np.ndarray]:
    """The two half-stake lines of each line (same shape as ``lines``)."""
    arr = check_lines(lines)
    quarter = (np.round(arr * 4).astype(np.int64) % 2) == 1
    offset = np.where(quarter, 0.25, 0.0)
    return arr - offset, arr + offset


def half_results(margin) -> np.ndarray:
    """``+1`` (half wins), ``0`` (pushed) or ``-1`` (half loses) for a half stake's margin.

    The margin is the bet's score against its half line: goals minus line for an over, goal
    difference plus handicap for a home Asian bet.
    """
    return np.sign(np.round(np.asarray(margin, dtype=np.float64) * 4)).astype(np.int64)
