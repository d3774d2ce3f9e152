"""``docs/performance.md`` records figures of the current benchmark and serving hot path.

The document carries ``source-hash:``, the SHA-256 of ``bench/serving.py``, ``bench/reference_server.py``,
``bench/board.py`` and the hot-path files (``bench/_hash.py``); a change to any of them makes it stale.
The benchmark is never run here: no timing is asserted, only that the recorded figures are of this code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
STALE = "docs/performance.md is stale: run `uv run python bench/serving.py --write-doc`"


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_performance_doc_is_current() -> None:
    h = _bench("_hash")
    recorded = h.recorded_hash(REPO / h.DOC)
    assert recorded == h.source_hash(REPO), STALE


def test_no_recorded_figure_is_an_error() -> None:
    # A benchmark part that raised is recorded as {'error': ...} rather than stopping the run;
    # such a document is not a measurement of this code.
    text = (REPO / _bench("_hash").DOC).read_text(encoding="utf-8")
    assert "'error'" not in text, STALE


def test_wrk_text_output_is_parsed() -> None:
    out = """Running 3s test @ http://127.0.0.1:8000/v1/predict
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.49ms    2.10ms  38.66ms   80.00%
    Req/Sec     1.48k   225.16     1.72k    73.33%
  Latency Distribution
     50%    4.90ms
     75%    6.01ms
     90%    7.80ms
     99%   11.40ms
  4404 requests in 3.00s, 1.02MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:   1467.67
Transfer/sec:    347.12KB
"""
    r = _bench("_load").parse_wrk(out)
    assert (r["requests"], r["rps"], r["non2xx"], r["errors"]) == (4404, 1467.67, 3, 3)
    assert (r["p50_ms"], r["p99_ms"], r["max_ms"]) == (4.90, 11.40, 38.66)
    assert _bench("_load").parse_duration_ms("850.00us") == 0.85
