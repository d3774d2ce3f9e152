"""Several sources served together: a file comes from the first source that has it.

Why: the shared data arrives as two folders in the site's layout (the six leagues, and the
``football-data-more`` addition), and a mirror may lack what the site has. Only "this source does
not have the file" (:class:`SeasonNotPublished`: a 404 or a missing file) moves on to the next
source. A transient fault or a bad file of the first source that has it is the answer, so a run
never silently mixes in another source's copy of a file its first source failed to deliver.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from soccer_assets.sources.client import FootballDataClient
from soccer_assets.sources.errors import SeasonNotPublished
from soccer_assets.sources.result import FetchResult

__all__ = ["SourceChain"]


class SourceChain:
    """The :class:`FootballDataClient` calls the pipeline makes, over several clients in order."""

    def __init__(self, clients: Sequence[FootballDataClient]) -> None:
        if not clients:
            raise ValueError("a source chain needs at least one source")
        self.clients = list(clients)

    @property
    def base_url(self) -> str:
        return self.clients[0].base_url

    @property
    def is_local(self) -> bool:
        return all(c.is_local for c in self.clients)

    season_path = staticmethod(FootballDataClient.season_path)

    def fetch_season(self, league: str, season: str, *, etag: str | None = None,
                     last_modified: str | None = None, cached: bytes | None = None) -> FetchResult:
        """The first source's copy of a league-season that has one (see the module docstring)."""
        return self._first(lambda c: c.fetch_season(league, season, etag=etag, last_modified=last_modified,
                                                     cached=cached), f"{league} {season}")

    def fetch_fixtures(self, *, etag: str | None = None, last_modified: str | None = None,
                       cached: bytes | None = None) -> FetchResult:
        return self._first(lambda c: c.fetch_fixtures(etag=etag, last_modified=last_modified, cached=cached),
                           "fixtures.csv")

    def _first(self, fetch, what: str) -> FetchResult:
        missing: list[SeasonNotPublished] = []
        for client in self.clients:
            try:
                return fetch(client)
            except SeasonNotPublished as exc:
                missing.append(exc)
        raise SeasonNotPublished(f"no source has {what}: " + "; ".join(str(e) for e in missing),
                                 url=missing[0].url)

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def __enter__(self) -> SourceChain:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SourceChain({[c.base_url for c in self.clients]!r})"
