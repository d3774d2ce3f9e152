"""The quality gate that decides whether a challenger model may become ``champion`` (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]
    numbers: dict[str, Any] = field(default_factory=dict)


def quality_gate(
    challenger_rps: float,
    climatology_rps: float,
    elo_rps: float,
    champion_rps: float | None,
    *,
    tolerance: float = 0.0,
) -> GateResult:
    """All RPS on the same evaluation rows; lower is better.

    The challenger must beat climatology and the Elo baseline outright, and must not be worse than
    the current champion (if any) by more than ``tolerance``.
    """
    reasons = []
    if not challenger_rps < climatology_rps:
        reasons.append(f"RPS {challenger_rps:.5f} does not beat climatology {climatology_rps:.5f}")
    if not challenger_rps < elo_rps:
        reasons.append(f"RPS {challenger_rps:.5f} does not beat the Elo baseline {elo_rps:.5f}")
    if champion_rps is not None and challenger_rps > champion_rps + tolerance:
        reasons.append(f"RPS {challenger_rps:.5f} is worse than the champion's {champion_rps:.5f}")
    return GateResult(
        passed=not reasons,
        reasons=reasons,
        numbers={
            "challenger_rps": challenger_rps,
            "climatology_rps": climatology_rps,
            "elo_rps": elo_rps,
            "champion_rps": champion_rps,
            "tolerance": tolerance,
        },
    )
