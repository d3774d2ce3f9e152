"""Reference forecasts every model is compared with (pure; sklearn + numpy).

* :class:`Climatology` — per-league H/D/A frequencies of the training period (global frequencies
  for a league never seen in training).
* :class:`RatingLogit` — the "Elo-only" baseline: a multinomial logistic regression of the outcome
  on one rating-difference feature (by default the Elo difference of the feature library),
  fitted on the training rows.
* :func:`market_probabilities` — de-margined bookmaker probabilities from the canonical match
  table (Pinnacle / market-average, opening / closing). De-margining uses **Shin's method**
  (``DEFAULT_DEMARGIN``): it models the margin as protection against insiders, shrinking the
  long-shot prices more than the favourite's, which corrects the favourite–long-shot bias that the
  simple multiplicative (proportional) normalisation leaves in. Rows with any missing or invalid
  price get a NaN row so each baseline is scored on — and reports — its own ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from soccer_assets.core.schema import odds_triplet
from soccer_assets.modeling.metrics import N_OUTCOMES

if TYPE_CHECKING:  # scikit-learn costs ~0.7 s to import; every Dagster run process loads this module
    from sklearn.linear_model import LogisticRegression

DEFAULT_DEMARGIN = "shin"

# baseline name -> (canonical book, phase). Closing odds are evaluation references only.
MARKET_BASELINES: dict[str, tuple[str, str]] = {
    "pinnacle_close": ("ps", "close"),
    "pinnacle_open": ("ps", "open"),
    "average_close": ("avg", "close"),
    "average_open": ("avg", "open"),
}


@dataclass
class Climatology:
    """Training-period outcome frequencies per league."""

    alpha: float = 1.0  # additive (Laplace) smoothing per outcome, keeps every cell > 0
    by_league: dict[str, np.ndarray] = field(default_factory=dict)
    overall: np.ndarray | None = None

    def fit(self, leagues: pd.Series | np.ndarray, y: np.ndarray) -> Climatology:
        leagues = np.asarray(leagues)
        y = np.asarray(y, dtype=np.int64)
        if len(leagues) != len(y) or len(y) == 0:
            raise ValueError("climatology needs as many leagues as labels, and at least one")

        def freq(labels: np.ndarray) -> np.ndarray:
            counts = np.bincount(labels, minlength=N_OUTCOMES).astype(np.float64) + self.alpha
            return counts / counts.sum()

        self.overall = freq(y)
        self.by_league = {str(lg): freq(y[leagues == lg]) for lg in sorted(set(leagues))}
        return self

    def predict_proba(self, leagues: pd.Series | np.ndarray) -> np.ndarray:
        if self.overall is None:
            raise RuntimeError("fit the climatology first")
        return np.vstack([self.by_league.get(str(lg), self.overall) for lg in np.asarray(leagues)]).reshape(
            -1, N_OUTCOMES
        )


@dataclass
class RatingLogit:
    """Multinomial logit of H/D/A on a single rating difference (the Elo-only baseline).

    Missing feature values are imputed with the training median (0-difference in practice).
    """

    feature: str
    C: float = 1.0
    model: LogisticRegression | None = None
    _median: float = 0.0
    _scale: float = 1.0

    def _x(self, df: pd.DataFrame) -> np.ndarray:
        x = pd.to_numeric(df[self.feature], errors="coerce").to_numpy(dtype=np.float64)
        x = np.where(np.isfinite(x), x, self._median)
        return ((x - self._median) / self._scale).reshape(-1, 1)

    def fit(self, df: pd.DataFrame, y: np.ndarray) -> RatingLogit:
        if self.feature not in df.columns:
            raise KeyError(f"rating feature {self.feature!r} not in the feature table")
        raw = pd.to_numeric(df[self.feature], errors="coerce").to_numpy(dtype=np.float64)
        finite = raw[np.isfinite(raw)]
        self._median = float(np.median(finite)) if finite.size else 0.0
        std = float(np.std(finite)) if finite.size else 0.0
        self._scale = std if std > 0 else 1.0
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=self.C, max_iter=1000)
        self.model.fit(self._x(df), np.asarray(y, dtype=np.int64))
        if list(self.model.classes_) != [0, 1, 2]:
            raise ValueError("the rating baseline needs all three outcomes in its training rows")
        return self

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("fit the rating baseline first")
        return self.model.predict_proba(self._x(df))


def demargin(odds: np.ndarray, method: str = DEFAULT_DEMARGIN) -> np.ndarray:
    """Decimal odds ``(n, 3)`` -> probabilities; NaN rows where any price is missing or <= 1."""
    from soccer_assets.features.market import implied_probabilities

    odds = np.asarray(odds, dtype=np.float64).reshape(-1, N_OUTCOMES)
    out = np.full(odds.shape, np.nan)
    ok = np.all(np.isfinite(odds) & (odds > 1.0), axis=1)
    if ok.any():
        probs = np.asarray(implied_probabilities(odds[ok], method=method), dtype=np.float64)
        out[ok] = probs
    # A de-margining that fails on a row (e.g. no Shin solution) yields NaN, never garbage.
    bad = ~np.all(np.isfinite(out) & (out >= 0.0), axis=1)
    out[bad] = np.nan
    return out


def market_probabilities(
    matches: pd.DataFrame, book: str, phase: str, method: str = DEFAULT_DEMARGIN
) -> np.ndarray:
    """De-margined probabilities of one book and phase from the canonical match table."""
    cols = odds_triplet(book, phase)
    if not set(cols) <= set(matches.columns):
        return np.full((len(matches), N_OUTCOMES), np.nan)
    return demargin(matches[cols].to_numpy(dtype=np.float64), method=method)


def all_market_baselines(matches: pd.DataFrame, method: str = DEFAULT_DEMARGIN) -> dict[str, np.ndarray]:
    """Every market baseline of :data:`MARKET_BASELINES`, row-aligned with ``matches``."""
    return {
        name: market_probabilities(matches, book, phase, method)
        for name, (book, phase) in MARKET_BASELINES.items()
    }
