"""Source faults, end to end through the real ``raw_match_files`` -> ``matches`` assets.

The local mirror (``tests/support/mirror.py``) serves 500/503s, slow responses past the client
timeout, truncated bodies, changed header layouts, garbage rows and 404s for an unpublished season.
Every case ends either in a correct partition or in a clear failure that leaves the previous
partition intact: warehouse rows and the matches Parquet byte for byte, the raw file unless a newer
file was fetched whole and parsed. Most tests moved here from ``tests/soccer_assets/defs/test_ingestion.py``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from soccer_assets.defs.ingestion import matches, raw_match_files
from soccer_assets.defs.resources import FootballDataSource
from soccer_assets.storage.warehouse import Warehouse
from tests.reliability.conftest import partition_snapshot
from tests.support.mirror import FaultKind, Mirror
from tests.support.pipeline import failure_text, materialize

pytestmark = pytest.mark.integration
KEY = "E0|2023-24"
PATH = "/mmz4281/2324/E0.csv"
ASSETS = [raw_match_files, matches]
Env = tuple[dict[str, object], Warehouse, Path]


def _snapshot(wh: Warehouse, data_dir: Path) -> tuple[int, str, str, str]:
    return partition_snapshot(wh, data_dir)


def test_transient_faults_are_retried(env, mirror):
    res, wh, _ = env
    mirror.inject(PATH, FaultKind.HTTP_500, times=2)
    result = materialize(ASSETS, KEY, res)
    assert result.success, failure_text(result)
    assert len(mirror.requests_for(PATH)) == 3
    assert wh.count_matches("E0", "2023-24") == 380


def _assert_failure_keeps_previous(env, mirror, fault_setup, message, raw_kept=True):
    res, wh, data_dir = env
    assert materialize(ASSETS, KEY, res).success
    before = _snapshot(wh, data_dir)
    fault_setup(mirror)
    result = materialize(ASSETS, KEY, res)
    assert not result.success
    assert message in failure_text(result)
    after = _snapshot(wh, data_dir)
    # Warehouse rows and the matches Parquet file are untouched in every case.
    assert after[:3] == before[:3]
    # The raw file is replaced only by a file that was fetched whole and parses.
    assert (after[3] == before[3]) is raw_kept


def test_persistent_truncation_fails_and_keeps_previous_partition(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()

    def updated_file_cut_off_in_transit(m: Mirror) -> None:
        # The site publishes a newer file (so no 304) and every transfer of it is cut short.
        m.put(PATH, good.replace(b"C Pawson", b"C Kavanagh", 1))
        m.inject(PATH, FaultKind.TRUNCATE, times=10)

    _assert_failure_keeps_previous(env, mirror, updated_file_cut_off_in_transit, "could not fetch E0 2023-24")


def test_persistent_5xx_fails_clearly(env, mirror):
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.inject(PATH, FaultKind.HTTP_503, times=10), "could not fetch E0 2023-24"
    )


def test_malformed_file_fails_and_keeps_previous_partition(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, good[: len(good) // 3]), "is not a valid season file"
    )


def test_garbage_rows_fail_and_keep_previous_partition(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, good + b"<html>oops</html>\r\n"), "is not a valid season file"
    )


def test_blocking_check_failure_writes_nothing(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    # Burnley 0-3 Man City recorded as a home win: parses, but fails a blocking check.
    bad = good.replace(b"Burnley,Man City,0,3,A", b"Burnley,Man City,0,3,H", 1)
    assert bad != good
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, bad), "result_consistent_with_goals", raw_kept=False
    )


def test_unpublished_season_is_a_clear_failure(env, mirror):
    res, wh, _ = env
    result = materialize(ASSETS, "E0|2024-25", res)
    assert not result.success
    assert "not published" in failure_text(result)
    assert len(mirror.requests_for("/mmz4281/2425/E0.csv")) == 1  # a 404 is not retried
    assert wh.count_matches("E0", "2024-25") == 0




# ------------------------------------------------------------- shorter files (issue 20, point 1)

def _cut(good: bytes, rows: int) -> bytes:
    """The file's header and first ``rows`` match rows, cut at a row boundary."""
    lines = good.split(b"\r\n") if b"\r\n" in good else good.split(b"\n")
    sep = b"\r\n" if b"\r\n" in good else b"\n"
    return sep.join(lines[: rows + 1]) + sep


@pytest.mark.parametrize("rows", [126, 379], ids=["cut_at_a_row_boundary", "missing_its_last_row"])
def test_a_shorter_file_is_refused_and_nothing_is_replaced(env, mirror, shared_data, rows):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    short = _cut(good, rows)
    assert short.count(b"\nE0,") == rows and short.startswith(b"Div,")
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, short), f"the new file has {rows} matches where the stored file "
        "holds 380; refused")
    _, wh, data_dir = env
    assert wh.count_matches("E0", "2023-24") == 380
    assert (data_dir / "raw_match_files/E0/2023-24.csv").read_bytes() == good
    assert not (data_dir / "raw_match_files/E0/2023-24.previous.csv").exists()


def test_the_warehouse_guard_refuses_a_shorter_raw_file_stored_by_other_means(env, shared_data):
    res, wh, data_dir = env
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    assert materialize(ASSETS, KEY, res).success
    before = _snapshot(wh, data_dir)
    # The raw file is replaced behind the pipeline's back (an old copy restored by hand, say).
    res["lake"].get().write_raw("E0", "2023-24", _cut(good, 200), {"url": "by-hand"})
    result = materialize(ASSETS, KEY, res, selection=[matches])
    assert not result.success
    assert "the new file has 200 matches where the warehouse holds 380; refused" in failure_text(result)
    assert _snapshot(wh, data_dir)[:3] == before[:3]


def test_allow_fewer_matches_accepts_a_correction_and_keeps_the_previous_raw(env, mirror, shared_data):
    res, wh, data_dir = env
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    assert materialize(ASSETS, KEY, res).success
    short = _cut(good, 379)
    mirror.put(PATH, short)
    allow = {"ops": {op: {"config": {"allow_fewer_matches": True}} for op in ("raw_match_files", "matches")}}
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(ASSETS, partition_key=KEY, resources=res, run_config=allow,
                            instance=instance, raise_on_error=False)
    assert result.success, failure_text(result)
    assert wh.count_matches("E0", "2023-24") == 379
    raw = data_dir / "raw_match_files/E0/2023-24.csv"
    assert raw.read_bytes() == short
    assert (data_dir / "raw_match_files/E0/2023-24.previous.csv").read_bytes() == good
    # The override is logged, with the numbers.
    logged = [r.user_message for r in instance.all_logs(result.run_id) if r.level == logging.WARNING]
    assert [m for m in logged if m.startswith("allow_fewer_matches") and "holds 380" in m], logged


# ------------------------------------------------------------------ slow responses (timeouts)

def _short_timeout(env: Env, mirror: Mirror, seconds: float = 0.5) -> dict[str, object]:
    res = dict(env[0])
    res["source"] = FootballDataSource(base_url=mirror.url, min_interval_seconds=0.0, backoff_seconds=0.01,
                                       max_retries=3, timeout_seconds=seconds)
    return res


def test_slow_response_past_the_timeout_is_retried(env: Env, mirror: Mirror) -> None:
    _, wh, _ = env
    res = _short_timeout(env, mirror)
    fault = mirror.inject(PATH, FaultKind.SLOW, delay=3.0, times=1)
    result = materialize(ASSETS, KEY, res)
    assert result.success, failure_text(result)
    assert fault.hits == 1 and len(mirror.requests_for(PATH)) == 2
    assert wh.count_matches("E0", "2023-24") == 380


def test_persistently_slow_source_fails_clearly_and_keeps_previous_partition(
    env: Env, mirror: Mirror, shared_data: Path
) -> None:
    _, wh, data_dir = env
    res = _short_timeout(env, mirror)
    assert materialize(ASSETS, KEY, res).success
    before = _snapshot(wh, data_dir)
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    mirror.put(PATH, good.replace(b"C Pawson", b"C Kavanagh", 1))  # a newer file: no 304 shortcut
    mirror.inject(PATH, FaultKind.SLOW, delay=2.0, times=None)
    result = materialize(ASSETS, KEY, res)
    assert not result.success
    text = failure_text(result)
    assert "could not fetch E0 2023-24" in text and "timed out" in text.lower(), text
    assert len(mirror.requests_for(PATH)) == 1 + 4  # first run + 1 try and 3 bounded retries
    assert _snapshot(wh, data_dir) == before


# ---------------------------------------------------------------------- changed header layout

def _relayout(raw: bytes, *, order: list[str] | None = None, drop: str | None = None,
              add: str | None = None, bom: bool = False) -> bytes:
    """The same season with its columns reordered / one dropped / a new one added."""
    text = raw.decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text))]
    header = rows[0]
    cols = list(header)
    if order is not None:
        cols = order + [c for c in cols if c not in order]
    if drop is not None:
        cols.remove(drop)
    idx = [header.index(c) for c in cols]
    out = [[r[i] if i < len(r) else "" for i in idx] for r in rows]
    if add is not None:
        out[0].append(add)
        for r in out[1:]:
            r.append("1.5" if any(r) else "")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(out)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def _rows(wh: Warehouse) -> pd.DataFrame:
    df = wh.read_matches(["E0"], ["2023-24"]).sort_values("match_id").reset_index(drop=True)
    return df.drop(columns=["extra"])


def test_reordered_newer_layout_gives_the_same_partition(env: Env, mirror: Mirror, shared_data: Path) -> None:
    res, wh, data_dir = env
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    assert materialize(ASSETS, KEY, res).success
    expected = _rows(wh)
    # The newer site layout: BOM, columns moved around, a bookmaker column never seen before.
    changed = _relayout(good, order=["Date", "FTR", "AwayTeam", "HomeTeam", "FTAG", "FTHG", "Div"],
                        add="NewBookH", bom=True)
    mirror.put(PATH, changed)
    result = materialize(ASSETS, KEY, res)
    assert result.success, failure_text(result)
    assert (data_dir / "raw_match_files/E0/2023-24.csv").read_bytes() == changed
    got = _rows(wh)
    pd.testing.assert_frame_equal(got, expected)
    stored = wh.read_matches(["E0"], ["2023-24"])["extra"]
    extra = [e if isinstance(e, dict) else json.loads(e) for e in stored]
    # The unknown column is kept verbatim, not silently dropped.
    assert all(e.get("NewBookH") == "1.5" for e in extra), extra[:2]


def test_layout_missing_a_required_column_fails_and_keeps_previous_partition(
    env: Env, mirror: Mirror, shared_data: Path
) -> None:
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, _relayout(good, drop="FTHG")), "lacks required columns ['FTHG']"
    )


def test_the_pipeline_run_of_the_issue_fails_and_keeps_the_season(mirror, tmp_path, pg_url, shared_data):
    """`soccer pipeline` over E0 2021-22..2022-23, then E0 2022-23 re-served cut to 126 rows: the
    partition fails and 380 matches stay; `--allow-fewer-matches` (here: its argument) takes it."""
    from soccer_assets.cli.pipeline import run_pipeline
    from soccer_assets.config import load_config

    config = load_config(leagues="E0", first_season="2021-22", last_season="2022-23",
                         data_dir=tmp_path / "data", warehouse_url=pg_url, source_url=mirror.url,
                         source_min_interval=0.0)
    keys = ["E0|2021-22", "E0|2022-23"]
    instance = dg.DagsterInstance.ephemeral()
    wh = Warehouse(pg_url)
    try:
        first = run_pipeline(config, keys, test_seasons=[], champion=False, instance=instance)
        assert first.ok and wh.count_matches("E0", "2022-23") == 380
        mirror.put("/mmz4281/2223/E0.csv", _cut((shared_data / "mmz4281/2223/E0.csv").read_bytes(), 126))
        again = run_pipeline(config, keys, test_seasons=[], champion=False, instance=instance)
        assert not again.ok
        by_key = {o.key: o for o in again.partitions}
        assert by_key["E0|2021-22"].success and not by_key["E0|2022-23"].success
        assert "the new file has 126 matches where the stored file holds 380" in by_key["E0|2022-23"].error
        assert wh.count_matches("E0", "2022-23") == 380
        forced = run_pipeline(config, keys, test_seasons=[], champion=False, instance=instance,
                              allow_fewer_matches=True)
        assert forced.ok and wh.count_matches("E0", "2022-23") == 126
    finally:
        wh.dispose()
