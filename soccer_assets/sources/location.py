"""Naming a source: an ``http(s)://`` site or mirror, a ``file://`` URL, or a plain directory.

The one place that turns a ``file://`` URL into a local path and a directory into a ``file://``
URL. Standard library only, so that ``soccer_serving`` (which must not pull the pipeline's
retrying client) and the command line can use it too.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

__all__ = ["file_url_path", "source_dir", "to_source_url"]


def file_url_path(url: str) -> Path | None:
    """The local path a ``file://`` URL names (``file:///data/fd`` -> ``/data/fd``), else None.

    Raises ``ValueError`` for a ``file://`` URL naming another host (only ``localhost`` is local).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return None
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file:// URLs must name a local path, got {url!r}")
    return Path(url2pathname(unquote(parts.path)))


def source_dir(source: str) -> Path | None:
    """The directory a source names: a ``file://`` URL's path or a plain path; None for http(s)."""
    path = file_url_path(source)
    if path is not None:
        return path
    if urlsplit(source).scheme.lower() in ("http", "https"):
        return None
    return Path(source)


def to_source_url(source: str) -> str:
    """A base URL for the client: a URL as given (trailing slashes dropped), a directory as ``file://``.

    Raises ``ValueError`` when ``source`` is neither a URL nor an existing directory.
    """
    if "://" in source:
        return source.rstrip("/")
    path = Path(source).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"{source!r} is neither a URL nor an existing directory")
    return path.as_uri()
