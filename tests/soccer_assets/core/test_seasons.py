import datetime as dt

import pytest

from soccer_assets.config import load_config
from soccer_assets.core import seasons as p


def test_season_code_round_trip():
    assert p.season_to_code("2023-24") == "2324"
    assert p.code_to_season("2324") == "2023-24"
    assert p.code_to_season("9900") == "1999-00"
    assert p.season_to_code("1999-00") == "9900"
    for y in range(1993, 2040):
        s = p.season_from_start_year(y)
        assert p.code_to_season(p.season_to_code(s)) == s


@pytest.mark.parametrize("bad", ["2023-25", "2023/24", "23-24", "", "2023-2024"])
def test_bad_seasons_are_rejected(bad):
    with pytest.raises(p.SeasonError):
        p.season_start_year(bad)


def test_calendar_year_seasons():
    assert p.split_partition_key("ARG|2025") == ("ARG", "2025")
    assert p.is_calendar_season("2025") and not p.is_calendar_season("2024-25")
    assert p.season_from_label("2024/2025") == "2024-25" and p.season_from_label(" 2025 ") == "2025"
    for bad in ("2024/2026", "24/25", "2025-26", ""):
        with pytest.raises(p.SeasonError):
            p.season_from_label(bad)
    # Chronological: 2013-14, then the calendar 2014, then 2014-15; plain string order agrees.
    mixed = ["2016-17", "2014", "2013-14", "2016", "2015", "2014-15", "2020", "2019-20"]
    ordered = ["2013-14", "2014", "2014-15", "2015", "2016", "2016-17", "2019-20", "2020"]
    assert sorted(mixed, key=p.season_key) == ordered == sorted(mixed)
    assert p.season_bounds("2025") == (dt.date(2025, 1, 1), dt.date(2026, 3, 15))
    assert p.season_of_date(dt.date(2025, 11, 30), "USA") == "2025"
    assert p.season_of_date(dt.date(2025, 11, 30), "MEX") == "2025-26"  # Liga MX plays split seasons
    assert p.seasons_between("2022-23", "2025") == ["2022-23", "2023-24", "2024-25"]
    with pytest.raises(p.SeasonError, match="calendar-year season"):
        p.season_to_code("2025")


def test_season_of_date_turns_over_in_july():
    assert p.season_of_date(dt.date(2024, 6, 30)) == "2023-24"
    assert p.season_of_date(dt.date(2024, 7, 1)) == "2024-25"
    assert p.current_season(dt.date(2026, 11, 28)) == "2026-27"


def test_partition_keys_are_human_readable(monkeypatch):
    assert p.partition_key("E0", "2023-24") == "E0|2023-24"
    assert p.split_partition_key("SP1|2019-20") == ("SP1", "2019-20")
    with pytest.raises(p.SeasonError):
        p.split_partition_key("E0|2019-21")
    with pytest.raises(p.SeasonError):
        p.validate_league("e0; drop table")


def test_configured_partitions(monkeypatch):
    monkeypatch.setenv("SOCCER_LEAGUES", "E0,SP1")
    monkeypatch.setenv("SOCCER_FIRST_SEASON", "2021-22")
    monkeypatch.setenv("SOCCER_LAST_SEASON", "2023-24")
    assert load_config().league_list() == ["E0", "SP1"]
    assert load_config().season_list() == ["2021-22", "2022-23", "2023-24"]
    monkeypatch.delenv("SOCCER_LAST_SEASON")
    assert load_config().season_list()[-1] == p.current_season()


def test_seasons_with_years_interleave_calendar_years_by_rank_and_only_with_a_calendar_league():
    assert p.seasons_with_years_between("2019-20", "2021-22") == [
        "2019-20", "2020", "2020-21", "2021", "2021-22"]
    assert p.seasons_with_years_between("2019-20", "2019-20") == ["2019-20"]
    # The code location's season keys: years only when a calendar-year league is configured.
    assert load_config(leagues="E0,SC0", first_season="2021-22", last_season="2022-23").season_list() == [
        "2021-22", "2022-23"]
    assert load_config(leagues="E0,USA", first_season="2021-22", last_season="2022-23").season_list() == [
        "2021-22", "2022", "2022-23"]
    assert load_config(leagues="MEX", first_season="2021-22", last_season="2022-23").season_list() == [
        "2021-22", "2022-23"]  # MEX plays split seasons
