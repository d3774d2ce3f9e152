"""Rolling form per team: exponentially weighted and last-N averages, venue form, rest days.

Why: ratings move slowly by design; form captures short-term swings (injuries, a new manager)
and shots / shots on target are less noisy proxies of chance creation than goals.

Conventions (all chosen so that a team's form is never NaN, which keeps "seen before" rows
complete and lets a brand-new team get a neutral, league-typical value):
- every exponentially weighted mean starts at a prior (``FormParams.priors``) and is updated
  ``m <- m + alpha (x - m)`` after each match; a missing statistic (NaN shots in some files)
  leaves that mean unchanged;
- last-N means use the last N matches (fewer at the start) and the prior when there are none;
- venue form: the home team's means over its home matches, the away team's over its away ones;
- rest days: whole days since the team's previous match in the data (the loaded leagues are the
  only competitions we see, and a team plays in one of them per season), capped at
  ``rest_cap_days``; a team with no previous match gets the cap ("fully rested").
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

# Order of the exponentially weighted statistics in ``FormState.ewm``.
EWM_STATS = ("gf", "ga", "sf", "sa", "sotf", "sota", "pts")
LAST_N_STATS = ("gf", "ga", "pts")
_EWM_NAMES = {p: [f"{p}_{s}_ewm" for s in EWM_STATS] for p in ("home", "away")}


@dataclass(frozen=True)
class FormPriors:
    """Starting values: typical big-league values per team and match (2012-2024); the venue
    priors reflect home advantage."""

    gf: float = 1.40
    ga: float = 1.40
    sf: float = 12.5
    sa: float = 12.5
    sotf: float = 4.4
    sota: float = 4.4
    pts: float = 1.37
    home_gf: float = 1.55
    home_ga: float = 1.20
    away_gf: float = 1.20
    away_ga: float = 1.55


@dataclass(frozen=True)
class FormParams:
    """Form hyper-parameters."""

    alpha: float = 0.15  # EWM weight of the newest match (effective window ~ 2/alpha - 1 = 12)
    venue_alpha: float = 0.2
    last_n: int = 5
    rest_cap_days: float = 28.0
    priors: FormPriors = field(default_factory=FormPriors)


@dataclass(frozen=True)
class FormState:
    """A team's form accumulators (immutable; ``update`` returns a new one)."""

    ewm: tuple[float, ...]
    home_ewm: tuple[float, float]  # goals for / against in home matches
    away_ewm: tuple[float, float]  # goals for / against in away matches
    last: tuple[tuple[float, float, float], ...] = ()  # (gf, ga, pts) of the last N matches


def initial_form(params: FormParams) -> FormState:
    """Neutral form: every mean at its prior, no recent matches."""
    p = params.priors
    return FormState(
        ewm=tuple(getattr(p, s) for s in EWM_STATS),
        home_ewm=(p.home_gf, p.home_ga),
        away_ewm=(p.away_gf, p.away_ga),
    )


def match_points(goals_for: float, goals_against: float) -> float:
    """League points from one match: 3 / 1 / 0."""
    if goals_for > goals_against:
        return 3.0
    return 1.0 if goals_for == goals_against else 0.0


def ewm_step(prev: float, x: float, alpha: float) -> float:
    """One exponential smoothing step; a missing (NaN) observation keeps the previous value."""
    if math.isnan(x):
        return prev
    return prev + alpha * (x - prev)


def update_form(
    form: FormState,
    *,
    goals_for: float,
    goals_against: float,
    shots_for: float,
    shots_against: float,
    sot_for: float,
    sot_against: float,
    at_home: bool,
    params: FormParams,
) -> FormState:
    """Form after one match (statistics from the team's point of view; goals must be known)."""
    pts = match_points(goals_for, goals_against)
    a = params.alpha
    e = form.ewm
    # Unrolled for speed (this runs twice per match); same arithmetic as ``ewm_step``.
    ewm = (
        e[0] + a * (goals_for - e[0]),
        e[1] + a * (goals_against - e[1]),
        ewm_step(e[2], shots_for, a),
        ewm_step(e[3], shots_against, a),
        ewm_step(e[4], sot_for, a),
        ewm_step(e[5], sot_against, a),
        e[6] + a * (pts - e[6]),
    )
    va = params.venue_alpha
    home_ewm, away_ewm = form.home_ewm, form.away_ewm
    if at_home:
        home_ewm = (ewm_step(home_ewm[0], goals_for, va), ewm_step(home_ewm[1], goals_against, va))
    else:
        away_ewm = (ewm_step(away_ewm[0], goals_for, va), ewm_step(away_ewm[1], goals_against, va))
    n = params.last_n
    last = (*form.last, (goals_for, goals_against, pts))[-n:] if n else ()
    return FormState(ewm, home_ewm, away_ewm, last)


def last_n_means(form: FormState, params: FormParams) -> tuple[float, float, float]:
    """Mean goals for, against and points over the last N matches (priors when there are none)."""
    if not form.last:
        p = params.priors
        return p.gf, p.ga, p.pts
    n = float(len(form.last))
    gf = ga = pts = 0.0
    for a, b, c in form.last:
        gf += a
        ga += b
        pts += c
    return gf / n, ga / n, pts / n


def rest_days(last_date: dt.date | None, match_date: dt.date, params: FormParams) -> float:
    """Whole days since the previous match, capped; the cap when there is no previous match."""
    if last_date is None:
        return params.rest_cap_days
    return min(float((match_date - last_date).days), params.rest_cap_days)


def form_features(
    form: FormState, prefix: str, venue: str, params: FormParams
) -> dict[str, float]:
    """Feature dict of one side: ``{prefix}_<stat>_ewm``, last-N means and venue form."""
    names = _EWM_NAMES[prefix] if prefix in _EWM_NAMES else [f"{prefix}_{s}_ewm" for s in EWM_STATS]
    out = dict(zip(names, form.ewm, strict=True))
    gf, ga, pts = last_n_means(form, params)
    out[f"{prefix}_gf_lastn"] = gf
    out[f"{prefix}_ga_lastn"] = ga
    out[f"{prefix}_pts_lastn"] = pts
    v = form.home_ewm if venue == "home" else form.away_ewm
    out[f"{prefix}_venue_gf_ewm"] = v[0]
    out[f"{prefix}_venue_ga_ewm"] = v[1]
    return out
