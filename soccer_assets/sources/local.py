"""Reading a file from a local directory in the site's layout (a ``file://`` source).

Mimics the HTTP contract, so callers need no special case: a missing file is
``SeasonNotPublished``, ``status`` is synthesised (200, or 304 when ``cached`` equals the file)
and the validators are a content-hash ETag and the file's mtime. No network, no rate limit.
"""

from __future__ import annotations

from email.utils import formatdate
from pathlib import Path

from soccer_assets.sources.errors import SeasonNotPublished, SourceError
from soccer_assets.sources.result import FetchResult, sha256_hex

__all__ = ["read_local"]


def read_local(file: Path, url: str, *, cached: bytes | None) -> FetchResult:
    """Read ``file`` (reported as ``url``) from the local snapshot, like an HTTP fetch would."""
    try:
        content = file.read_bytes()
        mtime = file.stat().st_mtime
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise SeasonNotPublished(
            f"{url} is not published: no such file {file} in the local snapshot", url=url
        ) from exc
    except OSError as exc:
        raise SourceError(f"cannot read {file}: {exc}", url=url) from exc
    digest = sha256_hex(content)
    not_modified = cached is not None and sha256_hex(cached) == digest
    return FetchResult(
        content=cached if not_modified and cached is not None else content,
        sha256=digest,
        url=url,
        status=304 if not_modified else 200,
        etag=f'"{digest}"',
        last_modified=formatdate(mtime, usegmt=True),
        not_modified=not_modified,
        attempts=1,
    )
