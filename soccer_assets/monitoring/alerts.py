"""Verdicts of the monitoring checks (pure).

* :func:`rps_verdict`: for every served model version with at least ``min_matches`` scored
  predictions, the RPS of its latest ``last_n`` scored predictions against its training evaluation
  (the reference RPS); worse by more than ``margin`` fails.
* :func:`drift_verdict`: any judged feature, or any model version's predicted-outcome shares,
  with a PSI above ``psi_threshold`` fails.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from soccer_assets.modeling import metrics as M
from soccer_assets.monitoring.live import MODEL_KEYS, PROB_COLUMNS, last_n

OK, WORSE, TOO_FEW, NO_REFERENCE = "ok", "worse", "too_few", "no_reference"


def rps_verdict(
    scored: pd.DataFrame,
    references: Mapping[tuple[str, str], float | None],
    *,
    last_n_matches: int,
    margin: float,
    min_matches: int,
) -> tuple[bool, pd.DataFrame]:
    """(passed, one row per model version: window size, live RPS, reference, limit, status).

    ``references`` maps (model name, version) to the RPS the version scored out of sample when it
    was trained (``None``: unknown, the version is reported but not judged).
    """
    if min_matches < 1 or last_n_matches < min_matches:
        raise ValueError("need 1 <= min_matches <= last_n_matches")
    rows = []
    window = last_n(scored, last_n_matches) if len(scored) else scored
    for (name, version), part in (window.groupby(MODEL_KEYS, sort=True) if len(window) else []):
        live = M.rps(part[PROB_COLUMNS].to_numpy(dtype=np.float64), part["y"].to_numpy(dtype=np.int64))
        ref = references.get((name, str(version)))
        limit = None if ref is None else float(ref) + margin
        if len(part) < min_matches:
            status = TOO_FEW
        elif limit is None:
            status = NO_REFERENCE
        else:
            status = WORSE if live > limit else OK
        rows.append({
            "model_name": name, "model_version": str(version), "n_window": len(part),
            "first_match": part["date"].min(), "last_match": part["date"].max(),
            "live_rps": live, "reference_rps": ref, "limit": limit, "status": status,
        })
    table = pd.DataFrame(rows, columns=["model_name", "model_version", "n_window", "first_match",
                                        "last_match", "live_rps", "reference_rps", "limit", "status"])
    return not (table["status"] == WORSE).any(), table


def drift_verdict(
    features: pd.DataFrame,
    predictions: Mapping[tuple[str, str], Mapping[str, object]],
    *,
    psi_threshold: float,
) -> tuple[bool, list[dict[str, object]]]:
    """(passed, the breaches): judged features and predicted-outcome shares with PSI > threshold."""
    breaches: list[dict[str, object]] = []
    if len(features):
        judged = features[features["judged"].astype(bool)]
        for r in judged[judged["psi"] > psi_threshold].itertuples():
            breaches.append({"kind": "feature", "name": r.feature, "psi": float(r.psi)})
    for (name, version), pd_ in sorted(predictions.items()):
        value = float(pd_["share_psi"])  # type: ignore[arg-type]
        if value > psi_threshold:
            breaches.append({"kind": "prediction", "name": f"{name} v{version}", "psi": value})
    return not breaches, breaches


def rps_description(table: pd.DataFrame, margin: float) -> str:
    """The RPS check's one-line verdict (the versions that failed, with their figures)."""
    worse = table[table["status"] == WORSE]
    if not len(worse):
        return f"every judged version within {margin} of its training RPS"
    return (f"{len(worse)} model version(s) worse than training by > {margin}: "
            + ", ".join(f"{r.model_name} v{r.model_version} {r.live_rps:.4f} vs {r.reference_rps:.4f}"
                        for r in worse.itertuples()))


def drift_description(breaches: list[dict[str, object]], psi_threshold: float) -> str:
    """The drift check's one-line verdict (the first ten breaches)."""
    if not breaches:
        return f"no PSI above {psi_threshold}"
    return (f"{len(breaches)} drift breach(es) above PSI {psi_threshold}: "
            + ", ".join(f"{b['kind']} {b['name']} {b['psi']:.3f}" for b in breaches[:10]))
