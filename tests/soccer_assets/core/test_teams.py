import pytest

from soccer_assets.core.teams import UnknownTeamError, canonical_team, resolve_team

KNOWN = ["Arsenal", "Man United", "Man City", "Nott'm Forest", "Tottenham", "Sheffield Weds"]


def test_aliases_map_to_site_names():
    assert canonical_team("Manchester United") == "Man United"
    assert canonical_team("  Arsenal ") == "Arsenal"
    assert resolve_team("Nottingham Forest", KNOWN) == "Nott'm Forest"
    assert resolve_team("man city", KNOWN) == "Man City"


def test_unknown_team_lists_near_matches():
    with pytest.raises(UnknownTeamError) as err:
        resolve_team("Arsenl", KNOWN)
    assert err.value.suggestions[0] == "Arsenal"
    assert "Arsenal" in str(err.value)
    with pytest.raises(UnknownTeamError) as err:
        resolve_team("Real Madrid", KNOWN)
    assert "Real Madrid" in str(err.value)
