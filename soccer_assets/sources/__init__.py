"""IO with the outside world: the football-data.co.uk client and the raw CSV parser."""
