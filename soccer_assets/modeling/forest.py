"""The outcome booster's trees as numpy arrays: the raw margin of a few rows without XGBoost's call.

Why hand-written: ``Booster.inplace_predict`` has a fixed cost of about 0.15–0.2 ms per call
whatever the number of rows or trees (measured on this project's 2-core machine with XGBoost 3.2:
it re-reads the cgroup CPU quota and compiles a regular expression on every call), which was a
third of a served prediction. Walking the trees level by level in numpy costs a fraction of that
for one row and grows with the rows, so it wins up to about 16 rows and XGBoost wins beyond
(``bench/hot_path.py`` prints both side by side).

The result is XGBoost's, bit for bit, not an approximation: the same float32 comparisons
(``x < threshold`` goes left, a missing value takes the node's default side) and the same
float32 sums in the same order (the class's base score or the row's base margin, then each
tree's leaf in tree order). :meth:`Forest.from_booster` checks that on probe rows and refuses a
booster whose margins it does not reproduce exactly (categorical splits, several targets, …), so
a caller falls back to XGBoost rather than serving different numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

# Up to this many rows the numpy walk is faster than one inplace_predict call (bench/hot_path.py:
# equal at about 16 rows of the champion's 138 depth-3 trees, 7× faster for one row).
MAX_ROWS = 16


# Objectives whose stored base_score is already the margin every row starts from.
MARGIN_BASE_OBJECTIVES = ("multi:softprob", "multi:softmax")


class UnsupportedForest(ValueError):
    """The booster uses something this evaluator does not reproduce exactly."""


@dataclass(frozen=True, eq=False)
class Forest:
    """Every node of the first ``n_iterations`` rounds, flattened; leaves point at themselves."""

    feature: np.ndarray  # (nodes,) split feature; 0 at leaves (never used: they loop)
    threshold: np.ndarray  # (nodes,) float32 split condition; the leaf value at leaves
    left: np.ndarray  # (nodes,) global index of the left child (self at leaves)
    right: np.ndarray
    default_left: np.ndarray  # (nodes,) bool: where a missing value goes
    roots: np.ndarray  # (trees,) in tree order
    by_class: np.ndarray  # tree positions grouped by class, each group in tree order
    base_score: np.ndarray  # (classes,) float32 margin every row starts from
    n_classes: int
    n_features: int
    depth: int

    @classmethod
    def from_booster(cls, booster: Any, n_iterations: int) -> Forest:
        """The first ``n_iterations`` boosting rounds of a ``gbtree`` booster (``iteration_range``)."""
        learner = json.loads(booster.save_raw("json"))["learner"]
        params = learner["learner_model_param"]
        gb = learner["gradient_booster"]
        if gb.get("name") != "gbtree":
            raise UnsupportedForest(f"booster {gb.get('name')!r}, not gbtree")
        model = gb["model"]
        if int(model["gbtree_model_param"].get("num_parallel_tree", "1")) != 1:
            raise UnsupportedForest("num_parallel_tree > 1")
        objective = learner.get("objective", {}).get("name")
        if objective not in MARGIN_BASE_OBJECTIVES:
            # Others store base_score as a probability or a mean, turned into a margin by the
            # objective's own link: not reproduced here.
            raise UnsupportedForest(f"objective {objective!r}")
        if int(params.get("num_target", "1")) != 1:
            raise UnsupportedForest("several targets")
        n_classes = max(1, int(params.get("num_class", "0")))
        indptr = model.get("iteration_indptr") or list(range(0, len(model["trees"]) + 1, n_classes))
        if not 0 < n_iterations < len(indptr):
            raise UnsupportedForest(f"{n_iterations} rounds asked of a booster of {len(indptr) - 1}")
        n_trees = int(indptr[n_iterations])
        trees = model["trees"][:n_trees]
        info = np.asarray(model["tree_info"][:n_trees], dtype=np.int64)
        base = np.atleast_1d(np.asarray(json.loads(params["base_score"]), dtype=np.float32))
        if base.size == 1:
            base = np.repeat(base, n_classes)
        if base.size != n_classes:
            raise UnsupportedForest(f"{base.size} base scores for {n_classes} classes")
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("f", "t", "l", "r", "d")}
        roots, offset, depth = [], 0, 0
        for tree in trees:
            vector_leaves = int(tree["tree_param"]["size_leaf_vector"]) > 1
            if vector_leaves or any(int(s) != 0 for s in tree["split_type"]):
                raise UnsupportedForest("categorical splits or vector leaves")
            lc = np.asarray(tree["left_children"], dtype=np.int64)
            rc = np.asarray(tree["right_children"], dtype=np.int64)
            leaf = lc == -1
            own = np.arange(len(lc))
            roots.append(offset)
            parts["f"].append(np.where(leaf, 0, np.asarray(tree["split_indices"], dtype=np.int64)))
            parts["t"].append(np.asarray(tree["split_conditions"], dtype=np.float32))
            parts["l"].append(np.where(leaf, own, lc) + offset)
            parts["r"].append(np.where(leaf, own, rc) + offset)
            parts["d"].append(np.asarray(tree["default_left"], dtype=bool))
            depth = max(depth, _depth(lc, rc))
            offset += len(lc)
        groups = [np.flatnonzero(info == c) for c in range(n_classes)]
        if len({len(g) for g in groups}) != 1:
            raise UnsupportedForest("classes with different numbers of trees")
        forest = cls(
            feature=np.concatenate(parts["f"]),
            threshold=np.concatenate(parts["t"]),
            left=np.concatenate(parts["l"]),
            right=np.concatenate(parts["r"]),
            default_left=np.concatenate(parts["d"]),
            roots=np.asarray(roots, dtype=np.int64),
            by_class=np.concatenate(groups),
            base_score=base,
            n_classes=n_classes,
            n_features=int(params["num_feature"]),
            depth=depth,
        )
        forest._check(booster, n_iterations)
        return forest

    def margin(self, X: np.ndarray, base_margin: np.ndarray | None = None) -> np.ndarray:
        """``(n, classes)`` float32 raw margins of the rows ``X`` (NaN = missing), as
        ``booster.inplace_predict(X, iteration_range=(0, n_iterations), predict_type="margin",
        missing=nan, base_margin=base_margin)`` returns them."""
        X = np.ascontiguousarray(X, dtype=np.float32).reshape(-1, self.n_features)
        n = len(X)
        if n == 1:  # one row: 1-d gathers, the serving case
            x, node = X[0], self.roots
            for _ in range(self.depth):
                v = x[self.feature[node]]
                go_left = np.where(v != v, self.default_left[node], v < self.threshold[node])
                node = np.where(go_left, self.left[node], self.right[node])
            leaves = self.threshold[node[self.by_class]]
        else:
            node = np.broadcast_to(self.roots, (n, len(self.roots)))
            rows = np.arange(n)[:, None]
            for _ in range(self.depth):
                v = X[rows, self.feature[node]]
                go_left = np.where(np.isnan(v), self.default_left[node], v < self.threshold[node])
                node = np.where(go_left, self.left[node], self.right[node])
            leaves = self.threshold[node[:, self.by_class]]
        leaves = leaves.reshape(n, self.n_classes, -1)
        start = (np.broadcast_to(self.base_score, (n, self.n_classes)) if base_margin is None
                 else np.asarray(base_margin, dtype=np.float32).reshape(n, self.n_classes))
        # cumsum adds strictly left to right in float32, as XGBoost does (a sum would pair terms).
        terms = np.concatenate([start[:, :, None], leaves], axis=2)
        return np.cumsum(terms, axis=2, dtype=np.float32)[:, :, -1]

    def _check(self, booster: Any, n_iterations: int) -> None:
        """Refuse unless this forest gives XGBoost's margins bit for bit on probe rows."""
        rng = np.random.default_rng(0)
        probe = rng.normal(0.0, 100.0, size=(64, self.n_features)).astype(np.float32)
        probe[rng.random(probe.shape) < 0.2] = np.nan
        probe[0] = 0.0
        probe[1] = np.nan
        want = np.asarray(booster.inplace_predict(probe, iteration_range=(0, n_iterations),
                                                  predict_type="margin", missing=np.nan),
                          dtype=np.float32).reshape(len(probe), -1)
        got = self.margin(probe)
        one = np.concatenate([self.margin(probe[i:i + 1]) for i in range(4)])
        base = rng.normal(0.0, 1.0, size=(len(probe), self.n_classes)).astype(np.float32)
        want_b = np.asarray(booster.inplace_predict(probe, iteration_range=(0, n_iterations),
                                                    predict_type="margin", missing=np.nan, base_margin=base),
                            dtype=np.float32).reshape(len(probe), -1)
        same = (want.shape == got.shape and np.array_equal(want, got) and np.array_equal(want[:4], one)
                and np.array_equal(want_b, self.margin(probe, base)))
        if not same:
            raise UnsupportedForest("the flattened trees do not reproduce the booster's margins")


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """Edges on the longest path from the root (node 0) to a leaf."""
    deepest, stack = 0, [(0, 0)]
    while stack:
        node, d = stack.pop()
        if left[node] == -1:
            deepest = max(deepest, d)
        else:
            stack += [(int(left[node]), d + 1), (int(right[node]), d + 1)]
    return deepest
