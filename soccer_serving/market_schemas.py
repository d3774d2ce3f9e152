"""Request and response bodies of the markets: totals odds, offered prices, priced selections.

Kept apart from :mod:`soccer_serving.schemas` (which uses them) so the match request stays
readable; the checks of an offered price are :func:`soccer_serving.markets.check_price`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from soccer_assets.modeling.markets.pricing import DEFAULT_MARKETS, MARKETS
from soccer_serving.markets import LINE_MARKETS, UNPRICEABLE_MARKETS, check_price, selection_catalogue

# Literal of the pricing module's names: OpenAPI lists them and an unknown one is a 422 that names
# every valid market.
MarketName = Literal[MARKETS]  # type: ignore[valid-type]

MARKETS_DESCRIPTION = (
    f"Markets to price off the match's score grid, from {list(MARKETS)} (default "
    f"{list(DEFAULT_MARKETS)} when `prices` are sent). Without `markets` and `prices` the answer "
    "has no `markets` field. Markets beyond `1x2` need a served model with a goal model."
)


class TotalsOdds(BaseModel):
    """Pre-match (opening) decimal odds of over / under 2.5 goals."""

    model_config = ConfigDict(extra="forbid")

    over: float = Field(gt=1.0, le=1000.0, allow_inf_nan=False, examples=[1.95])
    under: float = Field(gt=1.0, le=1000.0, allow_inf_nan=False, examples=[1.87])


def price_forms() -> list[dict[str, Any]]:
    """One JSON-schema alternative per priceable market: its selections and (for the line markets)
    its lines, from the pricing module's own catalogue, so the contract accepts exactly what
    :func:`check_price` accepts."""
    forms = []
    for market, records in selection_catalogue().items():
        if market in UNPRICEABLE_MARKETS:
            continue
        props: dict[str, Any] = {
            "market": {"const": market},
            "selection": {"enum": list(dict.fromkeys(r["selection"] for r in records))},
        }
        required = ["market", "selection", "price"]
        if market in LINE_MARKETS:
            lines = sorted({r["line"] for r in records})
            props["line"] = {"type": "number", "minimum": lines[0], "maximum": lines[-1],
                             "multipleOf": 0.25}
            required.append("line")
        else:
            props["line"] = {"type": "null"}
        forms.append({"title": market, "properties": props, "required": required})
    return forms


def _offered_price_schema(schema: dict[str, Any]) -> None:
    schema["oneOf"] = price_forms()
    schema["examples"] = [
        {"market": "1x2", "selection": "home", "price": 2.1},
        {"market": "totals", "selection": "over", "line": 2.5, "price": 1.95},
        {"market": "asian_handicap", "selection": "home", "line": -0.25, "price": 2.02},
    ]


class OfferedPrice(BaseModel):
    """A decimal price offered for one selection: the answer gives its edge and Kelly stake."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_offered_price_schema)

    market: MarketName = Field(description="A market name (`expected_goals` takes no price).")
    selection: str = Field(min_length=1, max_length=20,
                           description="As the market's records name it: home/draw/away, 1X, yes, "
                           "over, 2-1, other, ...")
    line: float | None = Field(default=None, ge=-10.0, le=20.0, allow_inf_nan=False,
                               description="Goal line: required for totals and asian_handicap "
                               "(home line), absent otherwise.")
    price: float = Field(gt=1.0, le=1000.0, allow_inf_nan=False, examples=[2.1])

    @model_validator(mode="after")
    def _selection_exists(self) -> OfferedPrice:
        check_price(self.market, self.selection, self.line)
        return self


class SettlementOutcomes(BaseModel):
    """Probabilities of how a line bet settles."""

    win: float
    half_win: float
    push: float
    half_loss: float
    loss: float


class SelectionRecord(BaseModel):
    """One priced selection, as the pricing module gives it: ``probability`` and ``fair_price``
    (``1 / probability``); line markets add ``line`` and ``outcomes`` (their probability is net of
    pushes); ``expected_goals`` records carry ``value`` (goals) instead."""

    selection: str
    line: float | None = None
    probability: float | None = None
    fair_price: float | None = None
    outcomes: SettlementOutcomes | None = None
    value: float | None = None

    @model_serializer(mode="wrap")
    def _as_priced(self, handler: SerializerFunctionWrapHandler):
        # Only the keys the record has: a 1x2 record must not grow ``line: null`` and friends.
        # (Unannotated return: pydantic would document the annotation instead of the fields.)
        out = handler(self)
        return {k: v for k, v in out.items() if k in self.model_fields_set}


class Offer(BaseModel):
    """An offered price against the model: ``edge`` is the expected profit per unit stake,
    ``kelly`` the full-Kelly share of the bankroll (0 when the edge is negative)."""

    market: str
    selection: str
    line: float | None = None
    price: float
    probability: float | None = None
    edge: float
    kelly: float = Field(ge=0.0)


Markets = dict[str, list[SelectionRecord]]


def drop_absent(out: dict[str, Any], keys: tuple[str, ...] = ("markets", "offers")) -> dict[str, Any]:
    """``out`` without the market fields a request did not ask for (today's answers unchanged)."""
    for k in keys:
        if out.get(k) is None:
            out.pop(k, None)
    return out
