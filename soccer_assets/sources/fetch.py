"""One loop over league-seasons for everything that copies season files from the source.

Ingestion (``raw_match_files``), ``soccer snapshot fetch`` and ``soccer evaluate`` each ask the
client for a list of (league, season) files and deal with an unpublished season or a failure in
their own way. :func:`fetch_seasons` does the asking and hands back one :class:`SeasonFetch` per
pair, in the given order, lazily: the caller parses or stores a file before the next request is
made, and a caller that stops early makes no further requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from soccer_assets.sources.client import FootballDataClient
from soccer_assets.sources.errors import SeasonNotPublished, SourceError
from soccer_assets.sources.result import FetchResult

__all__ = ["CachedFile", "SeasonFetch", "fetch_seasons"]


@dataclass(frozen=True)
class CachedFile:
    """What a previous fetch left: the stored bytes (if any) and the validators to send back."""

    content: bytes | None = field(repr=False)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class SeasonFetch:
    """The outcome for one league-season: ``result`` when fetched, else the ``error`` raised.

    ``path`` is the file's site-relative path (``mmz4281/2324/E0.csv``).
    """

    league: str
    season: str
    path: str
    result: FetchResult | None
    error: SourceError | None

    @property
    def not_published(self) -> bool:
        """The source does not have the file (HTTP 404/410, or no such file under ``file://``)."""
        return isinstance(self.error, SeasonNotPublished)


def fetch_seasons(
    client: FootballDataClient,
    pairs: Iterable[tuple[str, str]],
    *,
    cached: Callable[[str, str], CachedFile | None] | None = None,
) -> Iterator[SeasonFetch]:
    """Fetch the season file of every ``(league, season)`` in ``pairs``, one at a time.

    ``cached(league, season)`` may return the previous copy to make the request conditional (see
    :meth:`FootballDataClient.fetch_season`); it is called just before that pair's request.
    A :class:`SourceError` (including :class:`SeasonNotPublished`) is returned in the outcome, not
    raised; an invalid league or season raises ``ValueError`` before any request for it.
    """
    for league, season in pairs:
        path = client.season_path(league, season)
        previous = cached(league, season) if cached is not None else None
        try:
            result = client.fetch_season(
                league,
                season,
                etag=previous.etag if previous is not None else None,
                last_modified=previous.last_modified if previous is not None else None,
                cached=previous.content if previous is not None else None,
            )
        except SourceError as exc:
            outcome = SeasonFetch(league, season, path, None, exc)
        else:
            outcome = SeasonFetch(league, season, path, result, None)
        yield outcome
