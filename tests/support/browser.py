"""A real browser for the page tests: Debian's ``chromium`` driven by Playwright for Python, and the
API served in-process by uvicorn on a loopback port (the browser needs a real HTTP server).

``playwright install`` downloads its own browser from a CDN; the tests use the distribution's
``chromium`` (``apt-get install chromium``, done by ``scripts/services.sh``) through
``executable_path`` instead.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium; scripts/services.sh does it)")
    return path


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """A headless chromium (one per test session is plenty: pages are cheap, browsers are not)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                               args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_app(app: Any, timeout: float = 180.0) -> Iterator[str]:
    """``app`` under uvicorn in a thread (lifespan included); yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="board-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class PageErrors:
    """Console errors, uncaught page errors and failed requests of a page (a test asserts none)."""

    def __init__(self, page: Any):
        self.messages: list[str] = []
        page.on("console",
                lambda m: self.messages.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.messages.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.messages.append(f"requestfailed: {r.url}"))
        page.on("response", lambda r: self.messages.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400 else None)
