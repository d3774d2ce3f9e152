"""``FeatureParams``: every hyper-parameter of the feature pipeline in one hashable value.

Why a single object: the offline build, the online API and the tuner must agree on every
parameter, and a frozen dataclass can be logged to MLflow (``as_dict``) and compared.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from soccer_assets.features.elo import EloParams
from soccer_assets.features.form import FormParams
from soccer_assets.features.pi_ratings import PiParams


@dataclass(frozen=True)
class FeatureParams:
    """Elo, pi-rating and form parameters plus promoted-team and market settings."""

    elo: EloParams = field(default_factory=EloParams)
    pi: PiParams = field(default_factory=PiParams)
    form: FormParams = field(default_factory=FormParams)
    # A new team in a league with history starts at the mean rating of the bottom
    # ``relegation_slots`` teams of the league's previous season (see ``state`` module docstring).
    relegation_slots: int = 3
    # Leagues with a higher division also lose their top teams (promoted upwards): for these the
    # top ``n`` of the previous table are averaged in too. Approximate numbers going up per season.
    promotion_slots: tuple[tuple[str, int], ...] = (
        ("E1", 3),
        ("E2", 3),
        ("E3", 4),
        ("SP2", 3),
        ("D2", 2),
        ("I2", 3),
        ("F2", 2),
    )
    market_method: str = "shin"
    # One rating scale per country: a team entering a division from another division of its
    # country (``core.seasons.DIVISION_LADDERS``) starts at the mean of the teams it replaces plus
    # this share of its own rating's gap to the mean of the teams it moved with
    # (``features.rollover.carried_state``); 0 = the table proxy alone. Off by default because
    # the pipeline builds each league's features from that league alone; ``soccer evaluate
    # --country-carry W`` builds every loaded league together.
    country_carry: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.country_carry <= 1.0:
            raise ValueError(f"country_carry is a share between 0 and 1, got {self.country_carry!r}")

    def as_dict(self) -> dict[str, Any]:
        """Flat ``{"elo.k": 20.0, ...}`` mapping, e.g. for MLflow params."""
        out: dict[str, Any] = {}

        def walk(prefix: str, obj: Any) -> None:
            for f in dataclasses.fields(obj):
                v = getattr(obj, f.name)
                key = f"{prefix}{f.name}"
                if dataclasses.is_dataclass(v):
                    walk(f"{key}.", v)
                else:
                    out[key] = v

        walk("", self)
        # No carry is how features were built before the parameter existed: leaving it out keeps
        # the hashes and the records of earlier runs (team_state, registered models) matching.
        if out["country_carry"] == 0.0:
            del out["country_carry"]
        return out
