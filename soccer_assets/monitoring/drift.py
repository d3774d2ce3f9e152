"""Drift of recent requests against the training distribution (pure numpy / scipy).

**Population stability index** (PSI) of a recent sample against a reference sample:
``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over bins, where ``e_i`` / ``a_i`` are the shares of the
reference / recent values in bin ``i``. The bins are the reference's quantile bins (``bins``
equal-mass bins, edges taken at observed values; repeated edges of discrete features collapse, so
a 0/1 feature gets two bins),
right-closed: bin ``i`` holds ``edges[i-1] < x <= edges[i]`` with open outer ends. An empty bin's
share is floored at ``eps`` (1e-4) so the logarithm stays finite; shares are not renormalised.
PSI is 0 for identical distributions and grows with the shift; the common reading is < 0.1 stable,
0.1–0.25 moderate, > 0.25 a significant shift. Missing values (NaN) are left out and reported
separately as missing shares.

**Kolmogorov–Smirnov**: ``scipy.stats.ks_2samp`` (statistic = largest gap between the two empirical
CDFs, with its p-value). With tens of thousands of reference rows the p-value flags even tiny
shifts, so the alerts use PSI and the KS figures are reported next to it.

**Same stage of the season**: :func:`same_season_stage` restricts the reference to the recent
requests' range of a season-progress feature before any of the above, so that a window of
mid-season requests is not judged against whole seasons.

**Prediction drift**: the share of each predicted outcome (arg-max, ties to H then D) among recent
predictions against the same model's predictions on its training rows, with the PSI of those three
shares and the KS test of the home-win and away-win probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from soccer_assets.modeling.metrics import OUTCOME_LABELS

DEFAULT_BINS = 10
DEFAULT_EPS = 1e-4


def _finite(values: np.ndarray | pd.Series | Sequence[float]) -> np.ndarray:
    v = pd.to_numeric(pd.Series(np.asarray(values).ravel()), errors="coerce").to_numpy(dtype=np.float64)
    return v[np.isfinite(v)]


def quantile_edges(reference: np.ndarray | Sequence[float], bins: int = DEFAULT_BINS) -> np.ndarray:
    """Inner bin edges: the reference's quantiles at 1/bins … (bins-1)/bins, repeats removed."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    ref = _finite(reference)
    if ref.size == 0:
        raise ValueError("the reference sample has no finite value")
    # inverted_cdf: every edge is an observed value, so a discrete feature's edges are its values
    # (linear interpolation would put an edge at 0.1 between a flag's zeros and ones).
    return np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1], method="inverted_cdf"))


def bin_counts(values: np.ndarray | Sequence[float], edges: np.ndarray) -> np.ndarray:
    """Counts of the finite ``values`` in the right-closed bins of ``edges`` (len(edges) + 1 bins)."""
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), _finite(values), side="left")
    return np.bincount(idx, minlength=len(edges) + 1)


def psi_from_counts(
    expected: np.ndarray | Sequence[float], actual: np.ndarray | Sequence[float], eps: float = DEFAULT_EPS
) -> float:
    """PSI of two histograms over the same bins (counts or shares)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1 or e.size == 0:
        raise ValueError(f"histograms must be 1-d and of one length, got {e.shape} and {a.shape}")
    if np.any(e < 0) or np.any(a < 0) or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("histograms must be non-negative with a positive total")
    pe = np.maximum(e / e.sum(), eps)
    pa = np.maximum(a / a.sum(), eps)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def psi(
    reference: np.ndarray | Sequence[float],
    recent: np.ndarray | Sequence[float],
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
) -> float:
    """PSI of ``recent`` against ``reference`` on the reference's quantile bins."""
    edges = quantile_edges(reference, bins)
    rec = _finite(recent)
    if rec.size == 0:
        raise ValueError("the recent sample has no finite value")
    return psi_from_counts(bin_counts(reference, edges), bin_counts(rec, edges), eps)


def ks_test(
    reference: np.ndarray | Sequence[float], recent: np.ndarray | Sequence[float]
) -> tuple[float, float]:
    """(statistic, p-value) of scipy's two-sample Kolmogorov–Smirnov test on the finite values."""
    ref, rec = _finite(reference), _finite(recent)
    if ref.size == 0 or rec.size == 0:
        raise ValueError("both samples need at least one finite value")
    from scipy import stats  # ~0.4 s to import; only the monitoring run needs it

    res = stats.ks_2samp(ref, rec)
    return float(res.statistic), float(res.pvalue)


def feature_drift(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    features: Sequence[str],
    *,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
    min_rows: int = 1,
) -> pd.DataFrame:
    """One row per feature: sample sizes, missing shares, means, PSI and KS of recent vs reference.

    A feature with fewer than ``min_rows`` finite recent (or reference) values gets NaN statistics
    (``judged`` False): too few values say nothing about drift.
    """
    missing = [f for f in features if f not in reference.columns or f not in recent.columns]
    if missing:
        raise ValueError(f"features missing from the reference or recent frame: {missing}")
    rows = []
    for f in features:
        ref, rec = _finite(reference[f]), _finite(recent[f])
        row: dict[str, object] = {
            "feature": f,
            "n_reference": int(ref.size),
            "n_recent": int(rec.size),
            "missing_reference": float(1 - ref.size / len(reference)) if len(reference) else float("nan"),
            "missing_recent": float(1 - rec.size / len(recent)) if len(recent) else float("nan"),
            "mean_reference": float(ref.mean()) if ref.size else float("nan"),
            "mean_recent": float(rec.mean()) if rec.size else float("nan"),
        }
        judged = ref.size >= max(min_rows, 1) and rec.size >= max(min_rows, 1)
        if judged:
            row["psi"] = psi(ref, rec, bins, eps)
            row["ks_statistic"], row["ks_pvalue"] = ks_test(ref, rec)
        else:
            row["psi"] = row["ks_statistic"] = row["ks_pvalue"] = float("nan")
        row["judged"] = judged
        rows.append(row)
    return pd.DataFrame(rows)


def same_season_stage(reference: pd.DataFrame, recent_clock: pd.Series | Sequence[float],
                      clock: str) -> pd.DataFrame:
    """The reference rows from the same stage of the season as the recent requests.

    ``clock`` is a feature that counts the season's matches played so far (``home_season_matches``).
    Kept are the reference rows whose clock lies within the range of the recent requests' clocks.
    Season-progress and form features move within every season, so a window of recent requests
    from weeks 20-25 differs from whole training seasons even when nothing has changed. Restricting
    the reference to the same weeks compares like with like.
    """
    if clock not in reference.columns:
        raise ValueError(f"the reference has no {clock!r} column")
    rec = _finite(recent_clock)
    if rec.size == 0:
        raise ValueError(f"no recent request has a finite {clock!r}")
    values = reference[clock].to_numpy(dtype=np.float64)
    keep = (values >= rec.min()) & (values <= rec.max())
    return reference.loc[keep]


def stage_reference(reference: pd.DataFrame, recent_clock: pd.Series | Sequence[float] | None,
                    clock: str, min_rows: int) -> tuple[pd.DataFrame, str]:
    """:func:`same_season_stage` where it can judge, whole seasons where it cannot, and which it was.

    Whole seasons are kept, and the note says why, when the clock is missing from the reference or
    from every request, or when fewer than ``min_rows`` reference rows are at the requests' stage.
    """
    rec = _finite(recent_clock) if recent_clock is not None else np.empty(0)
    if clock not in reference.columns or rec.size == 0:
        return reference, f"reference: whole seasons ({clock} is not in both the reference and the requests)"
    aligned = same_season_stage(reference, rec, clock)
    span = f"{clock} in [{rec.min():g}, {rec.max():g}]"
    if len(aligned) < min_rows:
        return reference, f"reference: whole seasons (only {len(aligned)} rows with {span})"
    return aligned, (f"reference: the {len(aligned)} of {len(reference)} rows with {span}, "
                     "the recent requests' stage of the season")


def outcome_counts(probs: np.ndarray) -> np.ndarray:
    """How often each outcome (H, D, A) is the most probable one (ties to H, then D)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1, len(OUTCOME_LABELS))
    return np.bincount(np.argmax(p, axis=1), minlength=len(OUTCOME_LABELS))


def prediction_drift(
    reference_probs: np.ndarray, recent_probs: np.ndarray, eps: float = DEFAULT_EPS
) -> dict[str, object]:
    """Predicted-outcome shares and mean probabilities, recent vs reference, with PSI and KS."""
    ref = np.asarray(reference_probs, dtype=np.float64).reshape(-1, 3)
    rec = np.asarray(recent_probs, dtype=np.float64).reshape(-1, 3)
    if len(ref) == 0 or len(rec) == 0:
        raise ValueError("prediction drift needs reference and recent predictions")
    ref_counts, rec_counts = outcome_counts(ref), outcome_counts(rec)
    out: dict[str, object] = {
        "n_reference": len(ref),
        "n_recent": len(rec),
        "share_reference": dict(zip(OUTCOME_LABELS, (ref_counts / ref_counts.sum()).tolist(), strict=True)),
        "share_recent": dict(zip(OUTCOME_LABELS, (rec_counts / rec_counts.sum()).tolist(), strict=True)),
        "mean_reference": dict(zip(OUTCOME_LABELS, ref.mean(axis=0).tolist(), strict=True)),
        "mean_recent": dict(zip(OUTCOME_LABELS, rec.mean(axis=0).tolist(), strict=True)),
        "share_psi": psi_from_counts(ref_counts, rec_counts, eps),
    }
    for k, name in ((0, "home"), (2, "away")):
        out[f"ks_p_{name}"], out[f"ks_pvalue_p_{name}"] = ks_test(ref[:, k], rec[:, k])
    return out
