"""The match board without a browser: access (the same settings as ``/v1/predict``), the page with no
model loaded, the static files, and the offered prices it sends. The browser tests are
``test_board_browser.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from soccer_assets.sources.fixtures import parse_fixtures_csv
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving import board as bd
from tests.soccer_serving.support import offline_api_settings, offline_client

pytestmark = pytest.mark.integration  # Redis (the app's broker client)
KEY = "board-key"
PAGES = ["/board", "/board/track-record", "/board/team/D1/Wolfsburg"]
MATCH = {"league": "D1", "home_team": "Wolfsburg", "away_team": "Mainz", "kickoff": "2022-04-22"}


@pytest.fixture(scope="module")
def warehouse_url(tmp_path_factory: pytest.TempPathFactory, shared_data) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('board') / 'wh.db'}"
    wh = Warehouse(url)
    wh.replace_fixtures(parse_fixtures_csv((shared_data / "fixtures.csv").read_bytes()).fixtures,
                        source_sha256="t")
    wh.dispose()
    yield url


def _client(url: str, ns: str, **over: object):
    return offline_client(offline_api_settings(url, ns, job_queue="board-q", api_keys=[KEY], **over))


def test_public_predictions_mean_a_public_board(warehouse_url: str, redis_namespace: str) -> None:
    with _client(warehouse_url, redis_namespace, protect_predict=False) as c:
        for page in PAGES:
            r = c.get(page)
            assert r.status_code in (200, 404), (page, r.status_code)  # no stored match: team 404s
            assert r.headers["content-type"].startswith("text/html")
            assert "script-src 'none'" in r.headers["content-security-policy"]
            assert not re.search(r'(src|href)="(https?:)?//', r.text), page  # nothing from elsewhere
        board = c.get("/board")
        assert board.status_code == 200
        # No model is loaded: the fixtures are listed as not predicted, with the reason.
        assert 'id="unpredicted"' in board.text and "D1 (9)" in board.text
        assert c.get("/board/static/board.css").headers["content-type"].startswith("text/css")
        assert c.get("/board/static/../main.py").status_code == 404


def test_protected_predictions_mean_a_protected_board(warehouse_url: str, redis_namespace: str) -> None:
    with _client(warehouse_url, redis_namespace, protect_predict=True) as c:
        assert c.post("/v1/predict", json=MATCH).status_code == 401
        for page in PAGES:
            r = c.get(page)
            assert r.status_code == 401 and 'name="api_key"' in r.text, page
            assert r.headers["www-authenticate"] == "ApiKey"
            assert c.get(page, headers={"X-API-Key": "wrong"}).status_code == 401
            assert c.get(page, headers={"X-API-Key": KEY}).status_code in (200, 404)
        bad = c.post("/board/login", data={"api_key": "wrong", "next": "/board"})
        assert bad.status_code == 401 and 'id="login-error"' in bad.text
        ok = c.post("/board/login", data={"api_key": KEY, "next": "https://evil.example/"},
                    follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/board"  # never off-site
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/board" in cookie
        assert c.get("/board").status_code == 200  # the cookie now carries the key
        c.cookies.clear()
        assert c.get("/board").status_code == 401


def test_protect_predict_without_keys_fails_closed_like_the_api(warehouse_url: str,
                                                                 redis_namespace: str) -> None:
    settings = offline_api_settings(warehouse_url, redis_namespace, job_queue="board-q", api_keys=[],
                                    protect_predict=True)
    with offline_client(settings) as c:
        assert c.get("/board").status_code == 403
        r = c.post("/v1/predict", json=MATCH)
        assert r.status_code == 403 and r.json()["error"]["code"] == "auth_not_configured"
    # Explicitly turned off for local use: open, and /ready says so.
    with offline_client(settings.model_copy(update={"auth_disabled": True})) as c:
        assert c.get("/board").status_code == 200
        assert c.get("/ready").json()["checks"]["auth"]["mode"] == "disabled"


def test_the_board_offers_the_fixtures_best_prices(shared_data) -> None:
    df = parse_fixtures_csv((shared_data / "fixtures.csv").read_bytes()).fixtures
    d1 = df[df["league"] == "D1"].reset_index(drop=True)
    rows, bodies = bd.board_rows(d1)
    first = rows[0]  # Wolfsburg v Mainz: MaxH/D/A 2.45/3.47/3.3, Max>2.5 1.95, AHh -0.25, MaxAHH/A 2.06/1.9
    assert first.best == {"home": 2.45, "draw": 3.47, "away": 3.3, "over": 1.95, "under": 2.0,
                          "ah_line": -0.25, "ah_home": 2.06, "ah_away": 1.9}
    assert bodies[0]["markets"] == list(bd.BOARD_MARKETS)
    assert {(p["market"], p["selection"], p.get("line"), p["price"]) for p in bodies[0]["prices"]} == {
        ("1x2", "home", None, 2.45), ("1x2", "draw", None, 3.47), ("1x2", "away", None, 3.3),
        ("totals", "over", 2.5, 1.95), ("totals", "under", 2.5, 2.0),
        ("asian_handicap", "home", -0.25, 2.06), ("asian_handicap", "away", -0.25, 1.9)}
    # The body without markets and prices is what a client sends to /v1/predict for the fixture.
    assert {k: v for k, v in bodies[0].items() if k not in ("markets", "prices")} == first.request
    assert len(rows) == 9
