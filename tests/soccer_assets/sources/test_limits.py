"""Download limits of the source client (issue 20, point 7): size cap, total deadline, redirects
only to the same host (and to https), against a real local HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from soccer_assets.sources.client import FootballDataClient
from soccer_assets.sources.errors import SourceError, SourceUnavailable
from soccer_assets.sources.transport import MAX_REDIRECTS, redirect_refusal
from tests.support.mirror import FaultKind, Mirror

E0_PATH = "mmz4281/2324/E0.csv"


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b"Div,Date\n" + b"E0,01/01/2024\n" * 200  # 2,809 bytes

    def do_GET(self) -> None:
        routes = {
            "/to-other-host": "http://example.invalid/mmz4281/2324/E0.csv",
            "/to-same-host": "/file",
            "/loop": "/loop",
        }
        if self.path in routes:
            self.send_response(302)
            self.send_header("Location", routes[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(self.body), 500):
                chunk = self.body[i:i + 500]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _client(base: str, **kw: object) -> FootballDataClient:
    return FootballDataClient(base, min_interval=0.0, backoff=0.0, jitter=0.0, max_retries=1, **kw)  # type: ignore[arg-type]


def test_a_redirect_on_the_same_host_is_followed(server: str) -> None:
    with _client(server) as c:
        assert c.fetch("to-same-host").content == _Handler.body


def test_a_redirect_to_another_host_is_refused_not_retried(server: str) -> None:
    with _client(server) as c, pytest.raises(SourceError, match="not followed, it leads to another host"):
        c.fetch("to-other-host")


def test_a_redirect_loop_ends(server: str) -> None:
    with _client(server) as c, pytest.raises(SourceError, match=f"more than {MAX_REDIRECTS} times"):
        c.fetch("loop")


@pytest.mark.parametrize(
    ("asked", "target", "refusal"),
    [
        ("http://www.football-data.co.uk/a.csv", "https://www.football-data.co.uk/a.csv", None),
        ("https://www.football-data.co.uk/a.csv", "https://WWW.football-data.co.uk/b.csv", None),
        ("https://www.football-data.co.uk/a.csv", "http://www.football-data.co.uk/a.csv", "leaves https"),
        ("https://www.football-data.co.uk/a.csv", "https://evil.example/a.csv", "another host"),
        ("http://127.0.0.1:8000/a.csv", "http://127.0.0.1:9000/a.csv", "another port"),
        ("https://www.football-data.co.uk/a.csv", "ftp://www.football-data.co.uk/a.csv", "leaves https"),
    ],
)
def test_the_redirect_rule(asked: str, target: str, refusal: str | None) -> None:
    got = redirect_refusal(asked, target)
    assert (got is None) if refusal is None else (refusal in (got or ""))


@pytest.mark.parametrize("path", ["file", "chunked"], ids=["content_length", "chunked"])
def test_a_body_over_the_cap_is_refused(server: str, path: str) -> None:
    with _client(server, max_bytes=len(_Handler.body)) as c:
        assert c.fetch(path).content == _Handler.body  # at the limit: fine
    with _client(server, max_bytes=1000) as c, pytest.raises(SourceError, match="limit of 1,000"):
        c.fetch(path)


def test_the_deadline_stops_further_attempts(shared_data) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with Mirror(shared_data) as mirror:
        mirror.inject(E0_PATH, FaultKind.HTTP_500, times=None)
        client = FootballDataClient(mirror.url, min_interval=0.0, backoff=10.0, max_backoff=100.0, jitter=0.0,
                                    max_retries=5, deadline=15.0, clock=lambda: now[0], sleep=sleep)
        with client, pytest.raises(SourceUnavailable) as info:
            client.fetch(E0_PATH)
        # Attempt 1 at 0 s, attempt 2 at 10 s, then 30 s > 15 s: no third attempt of six.
        assert len(mirror.requests_for(E0_PATH)) == 2
        assert "after 2 attempts" in str(info.value) and "deadline of 15s" in str(info.value)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes and deadline"):
        FootballDataClient("http://127.0.0.1:1", max_bytes=0)
