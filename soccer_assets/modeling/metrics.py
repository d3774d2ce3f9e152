"""Scoring rules for 3-way (home / draw / away) probability forecasts. Pure numpy.

Conventions used throughout ``soccer_assets.modeling``:

* Outcomes are integer labels ``0 = H`` (home win), ``1 = D`` (draw), ``2 = A`` (away win), in that
  order. The order is meaningful: a draw lies *between* a home and an away win, which the ranked
  probability score exploits.
* Probabilities are an ``(n, 3)`` float array whose columns follow the same order.

Metric definitions (all "lower is better" except accuracy):

* **RPS** (ranked probability score, Epstein 1969; as used by Constantinou & Fenton 2012):
  ``RPS = 1/(r-1) * sum_{i=1}^{r-1} (sum_{j<=i} p_j - sum_{j<=i} e_j)^2`` with ``r = 3`` outcomes,
  averaged over matches. Range [0, 1].
* **Log loss**: mean of ``-ln p_y`` where ``p_y`` is the probability given to the observed outcome,
  clipped below at ``eps`` (default 1e-15) so a confident miss is finite. Probabilities are not
  renormalised after clipping.
* **Brier score**: the multi-class (original, Brier 1950) form
  ``sum_{k=1}^{3} (p_k - e_k)^2`` per match, averaged over matches. Range [0, 2]; note that some
  papers report the one-vs-rest *binary* Brier score, or divide by the number of classes (÷3) —
  ours does neither.
* **Accuracy**: share of matches whose arg-max outcome (ties resolved towards H, then D) happened.
* **ECE** (expected calibration error), *class-wise*: for each outcome k separately, the forecasts
  ``p_k`` are put into ``n_bins`` (default 10) equal-width bins on [0, 1] (right-closed except the
  first bin, which also takes 0), and ``sum_b (n_b / N) * |mean(p_k in b) - freq(y == k in b)|`` is
  computed; the ECE is the mean of the three per-outcome values. ``kind="top_label"`` gives the
  more common confidence ECE instead (the max probability vs. whether the arg-max was right).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

OUTCOME_LABELS: tuple[str, str, str] = ("H", "D", "A")
_LABEL_INDEX = {label: i for i, label in enumerate(OUTCOME_LABELS)}
N_OUTCOMES = 3
DEFAULT_EPS = 1e-15
DEFAULT_BINS = 10


def outcome_index(ftr: Iterable[str] | pd.Series) -> np.ndarray:
    """Full-time result letters ``'H'/'D'/'A'`` -> int labels ``0/1/2``.

    Raises ``ValueError`` on anything else (missing results included): a metric must never be
    computed on a silently dropped or mislabelled match.
    """
    values = pd.Series(ftr, dtype="object") if not isinstance(ftr, pd.Series) else ftr
    mapped = values.map(_LABEL_INDEX)
    if mapped.isna().any():
        bad = values[mapped.isna()].unique()[:5]
        raise ValueError(f"full-time result must be one of H, D, A; got {list(bad)!r}")
    return mapped.to_numpy(dtype=np.int64)


def _check(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(y)
    if p.ndim != 2 or p.shape[1] != N_OUTCOMES:
        raise ValueError(f"probabilities must have shape (n, 3), got {p.shape}")
    if labels.shape != (p.shape[0],):
        raise ValueError(f"labels must have shape ({p.shape[0]},), got {labels.shape}")
    if p.shape[0] == 0:
        raise ValueError("no forecasts to score")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities contain NaN or inf; drop those rows first")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= N_OUTCOMES:
        raise ValueError("labels must be 0 (H), 1 (D) or 2 (A)")
    return p, labels


def one_hot(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64)
    out = np.zeros((y.shape[0], N_OUTCOMES))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def rps_per_match(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ranked probability score of every forecast (ordered H < D < A, normalised by r - 1 = 2)."""
    p, labels = _check(probs, y)
    cum_p = np.cumsum(p, axis=1)[:, : N_OUTCOMES - 1]
    cum_e = np.cumsum(one_hot(labels), axis=1)[:, : N_OUTCOMES - 1]
    return np.sum((cum_p - cum_e) ** 2, axis=1) / (N_OUTCOMES - 1)


def rps(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean ranked probability score."""
    return float(np.mean(rps_per_match(probs, y)))


def log_loss(probs: np.ndarray, y: np.ndarray, eps: float = DEFAULT_EPS) -> float:
    """Mean negative log-likelihood of the observed outcome, ``p_y`` clipped to ``[eps, 1]``."""
    p, labels = _check(probs, y)
    p_obs = np.clip(p[np.arange(p.shape[0]), labels], eps, 1.0)
    return float(-np.mean(np.log(p_obs)))


def brier(probs: np.ndarray, y: np.ndarray) -> float:
    """Multi-class Brier score: sum over the 3 outcomes of the squared error, mean over matches."""
    p, labels = _check(probs, y)
    return float(np.mean(np.sum((p - one_hot(labels)) ** 2, axis=1)))


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    """Share of matches where the most probable outcome happened (ties -> first of H, D, A)."""
    p, labels = _check(probs, y)
    return float(np.mean(np.argmax(p, axis=1) == labels))


def _bin_index(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins on [0, 1]: bin b holds (b/n, (b+1)/n], bin 0 also holds 0 exactly."""
    idx = np.ceil(np.clip(values, 0.0, 1.0) * n_bins).astype(np.int64) - 1
    return np.clip(idx, 0, n_bins - 1)


def _binned(pred: np.ndarray, hit: np.ndarray, n_bins: int) -> dict[str, np.ndarray]:
    idx = _bin_index(pred, n_bins)
    count = np.bincount(idx, minlength=n_bins).astype(np.int64)
    sum_pred = np.bincount(idx, weights=pred, minlength=n_bins)
    sum_hit = np.bincount(idx, weights=hit.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.where(count > 0, sum_pred / np.maximum(count, 1), np.nan)
        freq = np.where(count > 0, sum_hit / np.maximum(count, 1), np.nan)
    return {"count": count, "mean_predicted": mean_pred, "observed_frequency": freq}


def _ece_from_bins(bins: dict[str, np.ndarray]) -> float:
    count = bins["count"]
    total = count.sum()
    used = count > 0
    gaps = np.abs(bins["mean_predicted"][used] - bins["observed_frequency"][used])
    return float(np.sum(count[used] / total * gaps))


def ece(probs: np.ndarray, y: np.ndarray, n_bins: int = DEFAULT_BINS, kind: str = "classwise") -> float:
    """Expected calibration error with ``n_bins`` equal-width bins (see the module docstring).

    ``kind="classwise"`` (default): mean over H, D, A of each outcome's binned |forecast - freq|.
    ``kind="top_label"``: binned |confidence - accuracy| of the arg-max outcome.
    """
    p, labels = _check(probs, y)
    if kind == "classwise":
        hits = one_hot(labels)
        return float(np.mean([_ece_from_bins(_binned(p[:, k], hits[:, k], n_bins)) for k in range(3)]))
    if kind == "top_label":
        top = np.argmax(p, axis=1)
        return _ece_from_bins(_binned(p.max(axis=1), top == labels, n_bins))
    raise ValueError(f"kind must be 'classwise' or 'top_label', got {kind!r}")


def reliability_data(
    probs: np.ndarray, y: np.ndarray, n_bins: int = DEFAULT_BINS
) -> dict[str, dict[str, list]]:
    """Per outcome (``"H"``, ``"D"``, ``"A"``): the data of a reliability diagram.

    Each value is ``{"bin_lower": [...], "bin_upper": [...], "mean_predicted": [...],
    "observed_frequency": [...], "count": [...]}`` over the same equal-width bins as :func:`ece`;
    empty bins have count 0 and ``None`` for the two means (JSON friendly).
    """
    p, labels = _check(probs, y)
    hits = one_hot(labels)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    out: dict[str, dict[str, list]] = {}
    for k, name in enumerate(OUTCOME_LABELS):
        b = _binned(p[:, k], hits[:, k], n_bins)
        out[name] = {
            "bin_lower": [round(float(v), 10) for v in edges[:-1]],
            "bin_upper": [round(float(v), 10) for v in edges[1:]],
            "mean_predicted": [None if np.isnan(v) else float(v) for v in b["mean_predicted"]],
            "observed_frequency": [None if np.isnan(v) else float(v) for v in b["observed_frequency"]],
            "count": [int(c) for c in b["count"]],
        }
    return out


def score_all(probs: np.ndarray, y: np.ndarray, n_bins: int = DEFAULT_BINS) -> dict[str, float]:
    """Every headline metric of one set of forecasts, plus ``n``."""
    p, labels = _check(probs, y)
    return {
        "n": int(p.shape[0]),
        "rps": rps(p, labels),
        "log_loss": log_loss(p, labels),
        "brier": brier(p, labels),
        "accuracy": accuracy(p, labels),
        "ece": ece(p, labels, n_bins=n_bins),
    }


def paired_rps_diff(probs_a: np.ndarray, probs_b: np.ndarray, y: np.ndarray, n_boot: int = 2000,
                    seed: int = 0) -> dict:
    """Mean RPS of ``a`` minus ``b`` on the same matches, with a 95% paired bootstrap interval and
    the share of resamples in which ``a`` scores lower (``share_below``).

    Why paired: two forecasts of the same matches share the matches' luck, so resampling the
    per-match differences gives a far narrower (and correct) interval than comparing two separate
    intervals. Over one season of one league (200-550 matches) a gap of a few 1e-4 is inside it.
    """
    d = rps_per_match(probs_a, y) - rps_per_match(probs_b, y)  # refuses no forecasts, like rps
    n = len(d)
    if n_boot <= 0:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n)  # bounded memory for a pooled table of many leagues
    means = np.concatenate([d[rng.integers(0, n, size=(min(chunk, n_boot - i), n))].mean(axis=1)
                            for i in range(0, n_boot, chunk)])
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"n": n, "rps_diff": float(d.mean()), "ci95": [float(lo), float(hi)],
            "share_below": float(np.mean(means < 0))}


# -- two-way markets (over/under, both teams to score, Asian handicap) --------------------------


def _binary_inputs(p, y, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(p) if w is None else np.asarray(w, dtype=np.float64)
    if not (p.shape == y.shape == w.shape) or p.ndim != 1:
        raise ValueError(f"p, y and w must be 1-D of one length, got {p.shape}, {y.shape}, {w.shape}")
    if np.any((p < 0) | (p > 1)) or np.any(~np.isin(y, (0.0, 1.0))) or np.any(w < 0):
        raise ValueError("p must be in [0, 1], y in {0, 1} and w >= 0")
    return p, y, w


def binary_scores(p, y, w=None, eps: float = DEFAULT_EPS) -> dict[str, float]:
    """``n`` (rows with weight > 0), weighted log loss and Brier score of P(y = 1) = ``p``.

    Weights are the share of the stake a row settles (``markets.settlement.total_outcome`` /
    ``asian_outcome``): 1 for a decided line, 1/2 for a half result, 0 for a push.
    """
    p, y, w = _binary_inputs(p, y, w)
    keep = w > 0
    if not keep.any():
        return {"n": 0}
    p, y, w = p[keep], y[keep], w[keep]
    q = np.clip(p, eps, 1.0 - eps)
    ll = -(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))
    return {
        "n": int(keep.sum()),
        "log_loss": float(np.sum(w * ll) / np.sum(w)),
        "brier": float(np.sum(w * (p - y) ** 2) / np.sum(w)),
    }


def binary_reliability(p, y, w=None, n_bins: int = DEFAULT_BINS) -> dict[str, list]:
    """Reliability-diagram data of a two-way forecast, in :func:`reliability_data`'s per-outcome
    format (weighted means per equal-width bin; ``count`` = rows in the bin)."""
    p, y, w = _binary_inputs(p, y, w)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = _bin_index(p, n_bins)
    out: dict[str, list] = {"bin_lower": [round(float(v), 10) for v in edges[:-1]],
                            "bin_upper": [round(float(v), 10) for v in edges[1:]],
                            "mean_predicted": [], "observed_frequency": [], "count": []}
    for b in range(n_bins):
        m = (idx == b) & (w > 0)
        total = float(w[m].sum())
        out["count"].append(int(m.sum()))
        out["mean_predicted"].append(float(np.sum(w[m] * p[m]) / total) if total else None)
        out["observed_frequency"].append(float(np.sum(w[m] * y[m]) / total) if total else None)
    return out
