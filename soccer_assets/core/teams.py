"""Team-name canonicalisation: the one place where spellings are reconciled.

football-data.co.uk is consistent within its own files; the aliases below map the spellings that
users (and other sources) commonly send to the site's names, which are the canonical names.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable

_ALIASES: dict[str, str] = {
    "Manchester United": "Man United",
    "Manchester Utd": "Man United",
    "Man Utd": "Man United",
    "Manchester City": "Man City",
    "Nottingham Forest": "Nott'm Forest",
    "Nottm Forest": "Nott'm Forest",
    "Tottenham Hotspur": "Tottenham",
    "Spurs": "Tottenham",
    "Wolverhampton": "Wolves",
    "Wolverhampton Wanderers": "Wolves",
    "Newcastle United": "Newcastle",
    "West Ham United": "West Ham",
    "Brighton & Hove Albion": "Brighton",
    "Brighton and Hove Albion": "Brighton",
    "Sheffield Wednesday": "Sheffield Weds",
    "Sheffield United": "Sheffield United",
    "Leicester City": "Leicester",
    "Leeds United": "Leeds",
    "Atletico Madrid": "Ath Madrid",
    "Atlético Madrid": "Ath Madrid",
    "Athletic Bilbao": "Ath Bilbao",
    "Athletic Club": "Ath Bilbao",
    "Real Sociedad": "Sociedad",
    "Bayern München": "Bayern Munich",
    "FC Bayern München": "Bayern Munich",
    "Borussia Dortmund": "Dortmund",
    "Bayer Leverkusen": "Leverkusen",
    "Borussia Mönchengladbach": "M'gladbach",
    "Borussia Monchengladbach": "M'gladbach",
    "Eintracht Frankfurt": "Ein Frankfurt",
    "Paris Saint-Germain": "Paris SG",
    "Paris Saint Germain": "Paris SG",
    "PSG": "Paris SG",
    "Inter Milan": "Inter",
    "Internazionale": "Inter",
    "AC Milan": "Milan",
}


def _fold(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


_FOLDED_ALIASES = {_fold(k): v for k, v in _ALIASES.items()}


@functools.lru_cache(maxsize=4096)
def canonical_team(name: str) -> str:
    """Canonical spelling of a team name as it appears in a source file or a request."""
    cleaned = " ".join(str(name).split())
    return _ALIASES.get(cleaned) or _FOLDED_ALIASES.get(_fold(cleaned)) or cleaned


class UnknownTeamError(LookupError):
    """A team name that is not among the known teams; carries the closest known names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown team {name!r}{hint}")


def resolve_team(name: str, known: Iterable[str], n: int = 3) -> str:
    """Map a user-supplied name onto one of ``known`` or raise :class:`UnknownTeamError`."""
    known_list = list(known)
    canonical = canonical_team(name)
    if canonical in known_list:
        return canonical
    by_fold = {_fold(k): k for k in known_list}
    if _fold(canonical) in by_fold:
        return by_fold[_fold(canonical)]
    close = difflib.get_close_matches(_fold(name), list(by_fold), n=n, cutoff=0.5)
    raise UnknownTeamError(name, [by_fold[c] for c in close])
