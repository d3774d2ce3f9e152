"""``GET /board``: the match board, HTML for people (server-rendered Jinja2, ADR 0013).

* ``/board``: upcoming fixtures by league and kick-off, with the model's 1X2 probabilities, fair
  odds, the best offered price and its edge; per match totals, BTTS, Asian handicap and a
  correct-score heat map; filters by league and date (a plain GET form, no script);
* ``/board/team/{league}/{team}``: a team's current ratings, their history and its fixtures;
* ``/board/track-record``: live RPS against the market per league and week, CLV, value-bet equity.

Access follows ``/v1/predict``: open unless ``SOCCER_PROTECT_PREDICT`` is set and keys are
configured; then a key is needed, as the ``X-API-Key`` header (like the API) or, for a browser, the
cookie that ``POST /board/login`` sets after checking the key.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from soccer_serving import board as bd
from soccer_serving import track_record as tr
from soccer_serving.auth import API_KEY_HEADER, access_denied, key_is_valid
from soccer_serving.deps import SettingsDep, StateDep
from soccer_serving.errors import request_id
from soccer_serving.fixtures import FixturesNotLoaded, read_upcoming
from soccer_serving.settings import ServingSettings

HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"
STATIC_FILES = {"board.css": "text/css"}
COOKIE = "soccer_board_key"
# Everything is served by the API itself: no CDN, no script; images are inline PNG.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'none'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

templates = Jinja2Templates(directory=str(HERE / "templates"))
def _number(v: Any) -> float | None:
    if v is None:
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def _fmt(v: Any, spec: str, scale: float = 1.0, suffix: str = "") -> str:
    x = _number(v)
    return "–" if x is None else f"{scale * x:{spec}}{suffix}"


templates.env.filters["full"] = lambda v: "" if v is None else repr(float(v))  # round-trips exactly
templates.env.filters["pct"] = lambda v: _fmt(v, ".1f", 100.0, "%")
templates.env.filters["odds"] = lambda v: _fmt(v, ".2f")
templates.env.filters["num"] = lambda v, d=3: _fmt(v, f".{d}f")
templates.env.filters["path"] = lambda v: quote(str(v), safe="")


router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    resp = templates.TemplateResponse(request, name, context, status_code=status)
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _denied(request: Request, settings: ServingSettings) -> Response | None:
    """The login page (401) unless the request may see predictions (as ``require_api_key``)."""
    if not settings.protect_predict:
        return None
    presented = request.headers.get(API_KEY_HEADER) or request.cookies.get(COOKIE)
    denied = access_denied(settings, presented)
    if denied is None:
        return None
    resp = _page(request, "login.html", {"next": request.url.path, "failed": presented is not None},
                 denied[0])
    resp.headers["WWW-Authenticate"] = "ApiKey"
    return resp


@router.post("/board/login")
async def login(request: Request, settings: SettingsDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("api_key") or [""])[0]
    target = (form.get("next") or ["/board"])[0]
    if not target.startswith("/board"):
        target = "/board"
    if not key_is_valid(key, settings.api_key_list()):
        resp = _page(request, "login.html", {"next": target, "failed": True}, 401)
        resp.headers["WWW-Authenticate"] = "ApiKey"
        return resp
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(COOKIE, key, httponly=True, samesite="strict", path="/board",
                    secure=request.url.scheme == "https")
    return resp


@router.get("/board/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response(status_code=404)
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "public, max-age=3600"})


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/board", response_class=HTMLResponse)
async def board(request: Request, state: StateDep, settings: SettingsDep, league: str = "",
                date: str = "") -> Response:
    if (denied := _denied(request, settings)) is not None:
        return denied
    try:
        fixtures = await run_in_threadpool(read_upcoming, state.warehouse)
    except FixturesNotLoaded as exc:
        return _page(request, "board.html", {"groups": [], "missing": str(exc), "leagues": [], "dates": [],
                                             "league": "", "date": "", "unpredicted": {}})
    day = _date(date)
    leagues = sorted(set(fixtures["league"]))
    dates = sorted({d.date() for d in fixtures["date"]})
    shown = fixtures
    if league:
        shown = shown[shown["league"] == league]
    if day is not None:
        shown = shown[shown["date"].dt.date == day]
    rows, bodies = bd.board_rows(shown.reset_index(drop=True))
    await bd.predict_rows(state, rows, bodies, request_id(request))
    groups, unpredicted = [], {}
    for lg, rs in bd.group_rows(rows):
        if all(r.prediction is None for r in rs):
            unpredicted[lg] = (len(rs), rs[0].error or "")
        else:
            groups.append((lg, rs))
    return _page(request, "board.html", {
        "groups": groups, "unpredicted": unpredicted, "leagues": leagues, "dates": dates,
        "league": league, "date": day.isoformat() if day else "", "missing": None,
        "n_rows": sum(len(rs) for _, rs in groups), "heat_goals": bd.HEAT_GOALS,
    })


@router.get("/board/team/{league}/{team}", response_class=HTMLResponse)
async def team_page(request: Request, league: str, team: str, state: StateDep,
                    settings: SettingsDep) -> Response:
    if (denied := _denied(request, settings)) is not None:
        return denied

    def work() -> dict[str, Any]:
        history = tr.team_history(state.warehouse, league, team, state.predictor.params)
        current = next((r for r in state.warehouse.read_team_state(league) if r["team"] == team), None)
        try:
            upcoming = read_upcoming(state.warehouse, [league])
            upcoming = upcoming[(upcoming["home_team"] == team) | (upcoming["away_team"] == team)]
        except FixturesNotLoaded:
            upcoming = None
        return {"history": history, "current": current, "upcoming": upcoming}

    data = await run_in_threadpool(work)
    history = data["history"]
    if history.empty and data["current"] is None:
        return _page(request, "team.html", {"league": league, "team": team, "found": False}, 404)
    plot = tr.png_data_uri(await run_in_threadpool(tr.rating_history_png, history, team))
    upcoming = data["upcoming"]
    return _page(request, "team.html", {
        "league": league, "team": team, "found": True, "current": data["current"], "plot": plot,
        "recent": history.tail(12).iloc[::-1].to_dict("records"), "n_matches": len(history),
        "upcoming": [] if upcoming is None else upcoming.to_dict("records"),
    })


@router.get("/board/track-record", response_class=HTMLResponse)
async def track_record(request: Request, state: StateDep, settings: SettingsDep) -> Response:
    if (denied := _denied(request, settings)) is not None:
        return denied
    if not state.schema_ready:
        await run_in_threadpool(state.ensure_schema)
    record = await run_in_threadpool(tr.track_record, state.warehouse)
    return _page(request, "track_record.html", {"r": record})
