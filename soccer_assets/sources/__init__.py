"""IO with the outside world: the football-data.co.uk client and the raw CSV parser.

* ``client.py`` — ``FootballDataClient``: one API for ``https://``, an ``http://`` mirror and ``file://``;
* ``fetch.py`` — ``fetch_seasons``: the one loop over league × season (ingestion, snapshot, evaluate);
* ``transport.py`` — HTTP: timeouts, retries with backoff, conditional requests, polite rate;
* ``local.py`` — reading a ``file://`` directory with the same contract;
* ``layout.py`` — where the site keeps its files (``mmz4281/<code>/<DIV>.csv``, ``fixtures.csv``);
* ``location.py`` — ``file://`` URL <-> directory (also used by the CLI and ``soccer_serving``);
* ``errors.py``, ``result.py`` — ``SourceError`` and friends, ``FetchResult``;
* ``parser.py`` — a season file's bytes -> canonical match rows.
"""
