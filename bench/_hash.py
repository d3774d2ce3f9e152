"""The source hash recorded in ``docs/performance.md`` (no third-party imports: the tests load it).

``source_hash()`` is the SHA-256 of the benchmark and of the serving hot path, so a change to any of
them marks the recorded figures stale (``tests/test_performance_doc.py``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HASHED_FILES: tuple[str, ...] = (
    "bench/serving.py",
    "bench/reference_server.py",
    "bench/board.py",
    "soccer_serving/predictor.py",
    "soccer_serving/routes/predict.py",
    "soccer_serving/logwriter.py",
    "soccer_serving/middleware.py",
    "soccer_serving/state.py",
    "soccer_serving/registry.py",
    "soccer_serving/main.py",
    "soccer_assets/modeling/forest.py",
    "soccer_assets/storage/prediction_log.py",
    "soccer_assets/storage/log_append.py",
)
DOC = "docs/performance.md"
HASH_PREFIX = "source-hash: "


def source_hash(repo: Path = REPO) -> str:
    """SHA-256 over the relative path and bytes of each of ``HASHED_FILES`` (a missing file counts)."""
    h = hashlib.sha256()
    for rel in HASHED_FILES:
        path = repo / rel
        h.update(rel.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def recorded_hash(doc: Path) -> str | None:
    """The ``source-hash:`` value written in ``doc``, or None."""
    if not doc.is_file():
        return None
    for line in doc.read_text(encoding="utf-8").splitlines():
        line = line.strip().strip("`")
        if line.startswith(HASH_PREFIX):
            return line[len(HASH_PREFIX):].strip().strip("`")
    return None
