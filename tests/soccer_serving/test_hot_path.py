"""The hot path of ``/v1/predict`` (issue 16) keeps every answer what the slow path gave.

* the booster on a numpy matrix (``inplace_predict``) equals the DataFrame/DMatrix path bit for bit,
  with and without a base margin, with missing values, for both packagings;
* memoised team states equal a fresh ``resolve_team_state``, die with their league version and
  stay bounded;
* the in-memory path (``io=False``, run on the event loop) never touches the warehouse and answers
  exactly what the threadpool path answers, and says ``NeedsIO`` when it would have to read;
* the response written without pydantic equals the schema's own dump;
* the prediction log's group commit: answered after the commit, many requests per commit, a failed
  commit fails its requests and loses nothing later, back-pressure instead of drops, stop flushes.

Real pieces: the shared E0 files, the repo's trainer, a SQLite warehouse (the embedded default).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sqlalchemy import text

from soccer_assets.features.state import (
    ALL_FEATURES,
    MARKET_PROB_FEATURES,
    RATING_FEATURES,
    resolve_team_state,
)
from soccer_assets.modeling.forest import Forest
from soccer_assets.modeling.train import TrainParams, predict_proba, predict_proba_matrix, train_model
from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.log_append import LogAppender
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving import predictor as predictor_module
from soccer_serving.jobs import store as jobs_store
from soccer_serving.logwriter import PredictionLogWriter
from soccer_serving.predictor import MatchQuery, Prediction, Predictor, StaleTeamState
from soccer_serving.registry import LoadedModel
from soccer_serving.routes.predict import prediction_body, prediction_json
from soccer_serving.schemas import PredictionResponse
from soccer_serving.settings import ServingSettings
from soccer_serving.team_states import NeedsIO, TeamStateStore
from tests.soccer_serving.support import labels, small_booster, write_team_state

AS_OF = dt.date(2024, 1, 1)


@pytest.fixture(scope="module")
def market_trained(e0_features: pd.DataFrame, e0_matches: pd.DataFrame) -> Any:
    """A small market-variant model that starts from the opening prices (a base margin)."""
    y_all = pd.Series(labels(e0_matches), index=e0_matches["match_id"])
    feats = e0_features.set_index("match_id")
    train, valid = feats[feats["season"] < "2022-23"], feats[feats["season"] == "2022-23"]
    return train_model(train.reset_index(), y_all.loc[train.index].to_numpy(),
                       valid.reset_index(), y_all.loc[valid.index].to_numpy(), variant="market",
                       params=TrainParams(num_boost_round=40, early_stopping_rounds=10),
                       features=list(ALL_FEATURES), base_margin_columns=list(MARKET_PROB_FEATURES),
                       goals=False)


def _loaded(variant: str, trained: Any = None, booster: xgb.Booster | None = None,
            features: list[str] | None = None, forest: bool = False) -> LoadedModel:
    b = trained.booster if trained is not None else booster
    trees = Forest.from_booster(trained.booster, trained.best_iteration + 1) if forest else None
    return LoadedModel(forest=trees, variant=variant, name=f"hot-{variant}", version="7", alias="champion",
                       run_id=None,
                       booster=b, features=tuple(trained.features if trained is not None else features),
                       loaded_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                       format="outcome_pyfunc" if trained is not None else "xgboost", trained=trained)


def _with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Every fifth row without opening prices (the base margin falls back to the prior)."""
    out = frame.copy()
    out.loc[out.index[::5], MARKET_PROB_FEATURES] = np.nan
    return out


def test_matrix_prediction_equals_the_dataframe_path(ratings_trained: Any, market_trained: Any,
                                                     e0_features: pd.DataFrame) -> None:
    frame = _with_gaps(e0_features[e0_features["season"] == "2023-24"].reset_index(drop=True))
    for trained in (ratings_trained, market_trained):
        offline = predict_proba(trained, frame)
        base = (frame[trained.base_margin_columns].to_numpy(np.float64)
                if trained.base_margin_columns else None)
        X = frame[trained.features].to_numpy(np.float64)
        assert np.array_equal(predict_proba_matrix(trained, X, base), offline), trained.variant
        rows = frame[list(trained.features)].to_dict("records")
        served = _loaded(trained.variant, trained).predict_rows(rows)
        assert np.array_equal(served, offline), trained.variant
        # As the registry loads it: the numpy trees answer one row at a time, with the same bits.
        fast = _loaded(trained.variant, trained, forest=True)
        assert fast.forest is not None
        one_by_one = np.concatenate([fast.predict_rows(rows[i:i + 1]) for i in range(len(rows))])
        assert np.array_equal(one_by_one, offline), trained.variant
        assert np.array_equal(fast.predict_rows(rows), offline), trained.variant
    assert market_trained.base_margin_columns and np.isnan(frame[MARKET_PROB_FEATURES].to_numpy()).any()


def test_matrix_prediction_of_an_xgboost_flavour_booster(e0_features: pd.DataFrame,
                                                         e0_matches: pd.DataFrame) -> None:
    feats = e0_features.set_index("match_id")
    y = labels(e0_matches.set_index("match_id").loc[feats.index])
    booster = small_booster(feats[RATING_FEATURES], y, rounds=15)
    X = feats[RATING_FEATURES].tail(300)
    expected = booster.predict(xgb.DMatrix(X))
    served = _loaded("ratings", booster=booster, features=list(RATING_FEATURES)).predict_rows(
        X.to_dict("records"))
    assert np.array_equal(served, expected.astype(np.float64))


@pytest.fixture
def warehouse(tmp_path: Path, e0_matches: pd.DataFrame) -> Iterator[Warehouse]:
    w = Warehouse(f"sqlite:///{tmp_path / 'warehouse.db'}")
    jobs_store.create_serving_schema(w.engine)
    write_team_state(w, "E0", e0_matches, AS_OF)
    yield w
    w.dispose()


def _queries() -> list[MatchQuery]:
    return [
        MatchQuery("E0", "Arsenal", "Man City", dt.date(2024, 1, 20)),
        MatchQuery("E0", "arsenal", "Chelsea", dt.date(2024, 2, 3), odds=(2.1, 3.5, 3.4)),
        MatchQuery("E0", "Luton", "Burnley", dt.date(2024, 3, 2), odds=(2.5, 3.3, 2.9)),
        # Next season: both states rolled over (the memo keys on the season).
        MatchQuery("E0", "Liverpool", "Everton", dt.date(2024, 8, 24)),
        MatchQuery("E0", "Sheffield United", "Everton", dt.date(2024, 8, 24), season="2024-25"),
    ]


def test_memoised_team_states_equal_a_fresh_resolution(warehouse: Warehouse, ratings_trained: Any,
                                                       e0_matches: pd.DataFrame,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = TeamStateStore(warehouse, ttl_seconds=3600)
    pred = Predictor(store)
    models = {"ratings": _loaded("ratings", ratings_trained)}
    first = pred.predict(_queries(), models)
    league = store.league("E0")
    assert len(league.resolved) >= 8
    for (team, season), memo in league.resolved.items():
        assert memo == resolve_team_state(league.states, "E0", team, season, pred.params), (team, season)
    assert league.names["arsenal"] == "Arsenal"
    # Same answers from the memos.
    again = pred.predict(_queries(), models)
    assert [(r.p_home, r.p_draw, r.p_away) for r in again] == [(r.p_home, r.p_draw, r.p_away) for r in first]

    # New rows for the league (a later as_of): a new version, fresh memos, other features.
    write_team_state(warehouse, "E0", e0_matches, dt.date(2024, 3, 1))
    store.ttl = 0
    later = pred.predict([MatchQuery("E0", "Arsenal", "Man City", dt.date(2024, 3, 9))], models)[0]
    assert isinstance(later, Prediction) and later.team_state_as_of == dt.date(2024, 3, 1)
    assert store.league("E0") is not league and all(s == "2023-24" for _, s in store.league("E0").resolved)

    # Names come from requests: the memo stops growing at its bound (answers are unchanged).
    monkeypatch.setattr(predictor_module, "MEMO_LIMIT", 2)
    fresh = store.league("E0")
    fresh.names.clear()
    for spelling in ("arsenal", "ARSENAL", "ArSeNaL", "aRsenal"):
        assert pred.resolve(spelling, fresh) == "Arsenal"
    assert len(fresh.names) == 2


def test_in_memory_path_never_reads_the_warehouse(warehouse: Warehouse, ratings_trained: Any,
                                                  market_trained: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    models = {"ratings": _loaded("ratings", ratings_trained), "market": _loaded("market", market_trained)}
    pred = Predictor(TeamStateStore(warehouse, ttl_seconds=3600))
    with pytest.raises(NeedsIO):  # cold cache: the caller must go to a thread
        pred.predict(_queries(), models, io=False)
    threaded = pred.predict(_queries(), models)  # io=True fills the cache

    def no_reads(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the in-memory path read the warehouse")

    monkeypatch.setattr(plog, "team_state_version", no_reads)
    monkeypatch.setattr(plog, "known_teams", no_reads)
    monkeypatch.setattr(Warehouse, "read_team_state", no_reads)
    inline = pred.predict(_queries(), models, io=False)
    assert [type(r) for r in inline] == [Prediction] * len(_queries())
    assert [(r.model.variant, r.p_home, r.p_draw, r.p_away, r.features) for r in inline] == \
           [(r.model.variant, r.p_home, r.p_draw, r.p_away, r.features) for r in threaded]
    assert {r.model.variant for r in inline} == {"ratings", "market"}
    # A team the league does not have needs the known-team list: not from memory.
    with pytest.raises(NeedsIO):
        pred.predict([MatchQuery("E0", "Ipswich", "Arsenal", dt.date(2024, 1, 20))], models, io=False)


def test_the_fast_body_is_the_schema_dump(warehouse: Warehouse, ratings_trained: Any,
                                          market_trained: Any) -> None:
    models = {"ratings": _loaded("ratings", ratings_trained), "market": _loaded("market", market_trained)}
    results = Predictor(TeamStateStore(warehouse)).predict(_queries(), models)
    for r in results:
        assert isinstance(r, Prediction)
        fast = prediction_json(r)
        assert fast == prediction_body(r).model_dump(mode="json")
        assert PredictionResponse.model_validate(fast).model_dump(mode="json") == fast
    # Another timezone and microseconds in the team state's update time are formatted by pydantic.
    other = dataclasses.replace(results[0], team_state_updated_at=dt.datetime(
        2024, 1, 1, 6, 0, 0, 123, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert prediction_json(other) == prediction_body(other).model_dump(mode="json")


# ------------------------------------------------------------------------- the prediction log

def _row(i: int) -> dict[str, Any]:
    return {"source": "api", "league": "ZZ", "season": "2023-24", "home_team": f"H{i}", "away_team": "B",
            "kickoff": dt.date(2024, 1, 1), "p_home": 0.5, "p_draw": 0.3, "p_away": 0.2,
            "model_name": "m", "model_version": "1", "request_id": f"r{i}"}


def _logged(w: Warehouse) -> int:
    with w.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM prediction_log WHERE league = 'ZZ'")).scalar_one())


class GatedLog:
    """The writer's append (``LogAppender.append``) whose first call waits for ``release``
    (a slow commit), recording calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: int = 0):
        self.release = threading.Event()
        self.entered = threading.Event()
        self.calls: list[int] = []
        self.fail = fail
        real = LogAppender.append

        def gated(appender: Any, rows: Any) -> int:
            self.calls.append(len(rows))
            if len(self.calls) == 1:
                self.entered.set()
                assert self.release.wait(30)
            if self.fail:
                self.fail -= 1
                raise RuntimeError("disk full")
            return real(appender, rows)

        monkeypatch.setattr(LogAppender, "append", gated)


def test_sync_log_answers_after_the_group_commit(warehouse: Warehouse,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    gate = GatedLog(monkeypatch)
    writer = PredictionLogWriter(warehouse.engine, "sync")
    writer.start()

    async def scenario() -> None:
        first = asyncio.create_task(writer.write_async([_row(0)]))
        assert await asyncio.to_thread(gate.entered.wait, 30)
        others = [asyncio.create_task(writer.write_async([_row(i)])) for i in range(1, 41)]
        await asyncio.sleep(0.05)
        # Nobody is answered while their commit has not happened.
        assert not first.done() and not any(t.done() for t in others)
        assert _logged(warehouse) == 0 and writer.pending() == 41
        gate.release.set()
        await asyncio.gather(first, *others)
        assert _logged(warehouse) == 41  # every answered request is in the log

    try:
        asyncio.run(scenario())
    finally:
        writer.stop()
    # The 40 rows that queued during the slow commit went in one commit.
    assert gate.calls == [1, 40] and writer.commits == 2 and writer.pending() == 0


def test_a_failed_commit_fails_its_requests_and_the_next_ones_succeed(
        warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = GatedLog(monkeypatch, fail=1)
    gate.release.set()
    writer = PredictionLogWriter(warehouse.engine, "sync")
    writer.start()
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            writer.write([_row(1)])
        writer.write([_row(2)])
    finally:
        writer.stop()
    assert _logged(warehouse) == 1 and writer.flush_failures == 1 and writer.pending() == 0


def test_background_log_applies_back_pressure_and_stop_writes_everything(
        warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = GatedLog(monkeypatch, fail=1)  # the first commit is slow and then fails: retried
    writer = PredictionLogWriter(warehouse.engine, "background", max_queue=10, batch_rows=4)
    writer.start()
    writer.write([_row(0)])  # answered at once
    assert gate.entered.wait(30)
    for i in range(1, 10):
        writer.write([_row(i)])
    assert writer.pending() == 10
    blocked = threading.Thread(target=writer.write, args=([_row(10)],))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive(), "a full queue must make the writer wait, not drop or grow"
    gate.release.set()
    blocked.join(30)
    assert not blocked.is_alive()
    for i in range(11, 30):
        writer.write([_row(i)])
    writer.stop()  # graceful shutdown: everything queued is written
    assert _logged(warehouse) == 30 and writer.pending() == 0 and writer.flush_failures == 1
    assert max(gate.calls) <= 4  # batch_rows bounds one commit


def test_a_warm_request_is_answered_on_the_event_loop_and_logged_first(
        warehouse: Warehouse, ratings_trained: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the app: after the first request (which reads the warehouse in a thread), a request
    takes no thread at all (async dependencies, in-memory features, awaited group commit), and its
    row is in the log when the answer arrives."""
    from fastapi.testclient import TestClient

    from soccer_serving import state as state_module
    from soccer_serving.main import create_app
    from soccer_serving.settings import ServingSettings
    from tests.soccer_serving.support import free_port

    settings = ServingSettings(warehouse_url=str(warehouse.engine.url),
                               mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}",
                               redis_url=f"redis://127.0.0.1:{free_port()}/0",
                               registry_poll_seconds=3600, startup_load_timeout_seconds=0,
                               mlflow_request_max_retries=0, team_state_ttl_seconds=3600)
    app = create_app(settings)
    threads: list[str] = []
    real = state_module.run_in_threadpool

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(state_module, "run_in_threadpool", counting)
    body = {"league": "E0", "home_team": "Arsenal", "away_team": "Man City", "kickoff": "2024-01-20"}
    with TestClient(app) as client:
        app.state.serving.models._models = {"ratings": _loaded("ratings", ratings_trained)}
        cold = client.post("/v1/predict", json=body, headers={"X-Request-ID": "hot-1"})
        assert cold.status_code == 200, cold.text
        assert "predict" in threads  # the cold league was read in a thread
        threads.clear()
        for i in range(5):
            r = client.post("/v1/predict", json=body, headers={"X-Request-ID": f"hot-w{i}"})
            assert r.status_code == 200 and r.json() == cold.json()
            with warehouse.engine.connect() as conn:
                n = conn.execute(text("SELECT count(*) FROM prediction_log WHERE request_id = :r"),
                                 {"r": f"hot-w{i}"}).scalar_one()
            assert n == 1, "answered before its log row was committed"
        assert threads == []
        assert PredictionResponse.model_validate(cold.json()).model_dump(mode="json") == cold.json()


def test_a_kickoff_past_the_horizon_is_flagged_or_refused(warehouse: Warehouse, ratings_trained: Any) -> None:
    models = {"ratings": _loaded("ratings", ratings_trained)}
    store = TeamStateStore(warehouse, ttl_seconds=3600)
    as_of = store.league("E0").as_of
    at_horizon, past = (MatchQuery("E0", "Arsenal", "Man City", as_of + dt.timedelta(days=d))
                        for d in (120, 121))
    near, far = Predictor(store).predict([at_horizon, past], models)
    assert isinstance(near, Prediction) and isinstance(far, Prediction)
    assert (near.team_state_age_days, near.stale) == (120, False)
    assert (far.team_state_age_days, far.stale) == (121, True)
    for p in (near, far):  # the fast writer and the schema agree on the new fields
        assert prediction_json(p) == prediction_body(p).model_dump(mode="json")
    assert prediction_json(far)["team_state"] == {
        "as_of": as_of.isoformat(), "updated_at": prediction_json(far)["team_state"]["updated_at"],
        "age_days": 121, "stale": True}

    settings = ServingSettings(state_horizon_days=120, stale_state="refuse")
    kept, refused = Predictor.from_settings(store, settings).predict([at_horizon, past], models)
    assert isinstance(kept, Prediction) and kept.p_home == near.p_home
    assert isinstance(refused, StaleTeamState) and refused.status == 422
    assert refused.code == "stale_team_state"
    assert f"is 121 days after the team state of E0 (as_of {as_of})" in refused.message
    assert "SOCCER_STATE_HORIZON_DAYS" in refused.message


def test_only_the_served_app_freezes_its_heap(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """``soccer serve``'s factory moves the start-up heap out of the collector's sight (the p99 of a
    full collection); an app built by ``create_app`` (tests, embedding) leaves the collector alone."""
    import gc

    from fastapi.testclient import TestClient

    from soccer_serving import cli, main
    from tests.soccer_serving.support import free_port

    env = {"SOCCER_WAREHOUSE_URL": str(warehouse.engine.url),
           "SOCCER_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}",
           "SOCCER_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "SOCCER_REGISTRY_POLL_SECONDS": "3600",
           "SOCCER_STARTUP_LOAD_TIMEOUT_SECONDS": "0", "SOCCER_MLFLOW_REQUEST_MAX_RETRIES": "0"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))  # the real one would outlive the test
    with TestClient(main.create_app()) as client:
        assert client.get("/healthcheck").status_code == 200
    assert frozen == []
    with TestClient(main.create_served_app()) as client:
        assert client.get("/healthcheck").status_code == 200
    assert frozen == [1]
    ran: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: ran.update(app=app, **kw))
    assert cli.serve(["--port", "8123"]) == 0
    assert ran["app"] == "soccer_serving.main:create_served_app" and ran["factory"] is True


def test_a_booster_the_forest_cannot_reproduce_is_served_by_xgboost_alone(
        ratings_trained: Any, e0_features: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    """The registry's load keeps a model whose trees ``modeling.forest`` refuses: XGBoost answers."""
    import types

    from soccer_serving.registry import _forest

    assert _forest(ratings_trained) is not None
    X = e0_features[RATING_FEATURES].head(200).to_numpy()
    y = (X[:, 2] > np.nanmedian(X[:, 2])).astype(int)
    binary = xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(X, label=y), 3)
    with caplog.at_level("WARNING", logger="soccer_serving.registry"):
        assert _forest(types.SimpleNamespace(booster=binary, best_iteration=2)) is None
    assert "XGBoost only" in caplog.text and "binary:logistic" in caplog.text
    no_trees = types.SimpleNamespace(save_raw=lambda fmt: b"{}")
    unreadable = types.SimpleNamespace(booster=no_trees, best_iteration=0)
    assert _forest(unreadable) is None  # a dump it cannot read: also XGBoost alone, not a refused model
    loaded = dataclasses.replace(_loaded("ratings", ratings_trained), forest=None)
    assert loaded.describe()["small_requests"] == "xgboost"
    assert _loaded("ratings", ratings_trained, forest=True).describe()["small_requests"] == "numpy trees"


def test_the_predicted_outcome_is_numpys_argmax_ties_included() -> None:
    """``Prediction.outcome`` without numpy: the first of equal maxima, as ``np.argmax`` says."""
    from itertools import product

    from soccer_serving.registry import OUTCOMES

    # A Prediction needs every field; only the three probabilities matter here.
    p = Prediction(league="E0", season="2023-24", home_team="A", away_team="B", kickoff=AS_OF, odds=None,
                   p_home=0.0, p_draw=0.0, p_away=0.0, model=None,  # type: ignore[arg-type]
                   team_state_as_of=AS_OF, team_state_updated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    for h, d, a in product((0.2, 0.3, 0.5), repeat=3):
        got = dataclasses.replace(p, p_home=h, p_draw=d, p_away=a).outcome
        assert got == OUTCOMES[int(np.argmax([h, d, a]))], (h, d, a)


def test_a_batch_is_counted_once_per_label_set_with_every_prediction(ratings_trained: Any) -> None:
    """``_count`` adds a batch's predictions per (variant, version, outcome) and errors per code."""
    import types

    from soccer_serving.metrics import ApiMetrics
    from soccer_serving.predictor import UnknownTeam
    from soccer_serving.state import ServingState

    model = _loaded("ratings", ratings_trained)
    p = Prediction(league="E0", season="2023-24", home_team="A", away_team="B", kickoff=AS_OF, odds=None,
                   p_home=0.5, p_draw=0.3, p_away=0.2, model=model, team_state_as_of=AS_OF,
                   team_state_updated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    away = dataclasses.replace(p, p_home=0.2, p_away=0.5)
    results = [p, p, away, UnknownTeam("x"), p, UnknownTeam("y")]
    metrics = ApiMetrics()
    ServingState._count(types.SimpleNamespace(metrics=metrics), results, "batch")  # type: ignore[arg-type]
    ServingState._count(types.SimpleNamespace(metrics=metrics), [p], "api")  # type: ignore[arg-type]

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    common = {"variant": "ratings", "version": "7"}
    assert value("soccer_predictions_total", **common, outcome="H", source="batch") == 3
    assert value("soccer_predictions_total", **common, outcome="A", source="batch") == 1
    assert value("soccer_predictions_total", **common, outcome="H", source="api") == 1
    assert value("soccer_prediction_errors_total", code="unknown_team") == 2
