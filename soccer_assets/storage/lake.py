"""The file lake: raw season files as served and Parquet tables, one file per partition.

Layout under the data dir: ``<asset>/<league>/<season>.<ext>``. Writes go to a temporary file in
the same directory and are moved into place with ``os.replace``, so a reader sees either the old
file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _durable_temp(path: Path, data: bytes, suffix: str) -> Path:
    """``data`` in a synced temporary file next to ``path`` (same filesystem: ``os.replace`` is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = _durable_temp(path, data, ".tmp")
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic Parquet encoding (same frame -> same bytes), so reruns are comparable."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return sink.getvalue().to_pybytes()


class StagedFiles:
    """Files written next to their targets but not yet visible, installed together.

    ``install`` moves each into place (keeping the file it replaces), ``rollback`` puts the replaced
    files back, ``commit`` drops them. Lets a caller make a set of files visible inside a database
    transaction and undo that if the commit fails, so the files and the rows change together.
    """

    def __init__(self, targets: dict[Path, bytes]):
        self._staged: dict[Path, Path] = {}
        self._backups: dict[Path, Path | None] = {}
        try:
            for path, data in targets.items():
                self._staged[path] = _durable_temp(path, data, ".staged")
        except BaseException:
            self.rollback()
            raise

    def install(self) -> None:
        """Move every staged file into place; idempotent (a retried transaction calls it again)."""
        for path, tmp in self._staged.items():
            if path in self._backups:
                continue
            backup = None
            if path.exists():
                backup = path.with_name(f".{path.name}.replaced")
                os.replace(path, backup)
            self._backups[path] = backup
            os.replace(tmp, path)

    def rollback(self) -> None:
        """Undo ``install`` (and drop what was staged): the targets are as before."""
        for path, backup in self._backups.items():
            if backup is not None:
                os.replace(backup, path)
            else:
                path.unlink(missing_ok=True)
        self._backups.clear()
        for tmp in self._staged.values():
            tmp.unlink(missing_ok=True)

    def commit(self) -> None:
        for backup in self._backups.values():
            if backup is not None:
                backup.unlink(missing_ok=True)
        self._backups.clear()
        self._staged.clear()


class Lake:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def path(self, asset: str, league: str, season: str, ext: str) -> Path:
        return self.root / asset / league / f"{season}.{ext}"

    # raw files -----------------------------------------------------------------------------
    def write_raw(self, league: str, season: str, data: bytes, meta: dict[str, Any]) -> Path:
        path = self.path("raw_match_files", league, season, "csv")
        meta = {**meta, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        # The copy being replaced stays as <season>.previous.csv (+ sidecar): a file the source
        # changed can be compared with, or restored from, the one it replaced.
        if path.exists() and path.read_bytes() != data:
            previous = self.previous_raw_path(league, season)
            atomic_write_bytes(previous, path.read_bytes())
            old_meta = path.with_suffix(".meta.json")
            if old_meta.exists():
                atomic_write_bytes(previous.with_suffix(".meta.json"), old_meta.read_bytes())
        # Bytes first, then the sidecar: a crash in between leaves a sidecar whose sha256 no
        # longer matches, which read_raw_meta treats as "no validators" (a full re-fetch).
        atomic_write_bytes(path, data)
        atomic_write_bytes(path.with_suffix(".meta.json"), json.dumps(meta, indent=1).encode())
        return path

    def previous_raw_path(self, league: str, season: str) -> Path:
        """Where the raw file that the latest stored one replaced is kept."""
        path = self.path("raw_match_files", league, season, "csv")
        return path.with_name(f"{path.stem}.previous.csv")

    def read_raw(self, league: str, season: str) -> bytes:
        path = self.path("raw_match_files", league, season, "csv")
        if not path.exists():
            raise FileNotFoundError(
                f"raw file for {league}|{season} is not in the lake ({path}); "
                "materialize raw_match_files for this partition first"
            )
        return path.read_bytes()

    def read_raw_meta(self, league: str, season: str) -> dict[str, Any] | None:
        path = self.path("raw_match_files", league, season, "csv")
        meta_path = path.with_suffix(".meta.json")
        if not (path.exists() and meta_path.exists()):
            return None
        meta = json.loads(meta_path.read_text())
        if meta.get("sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
            return None
        return meta

    # parquet tables --------------------------------------------------------------------------
    def write_table(self, asset: str, league: str, season: str, df: pd.DataFrame) -> Path:
        path = self.path(asset, league, season, "parquet")
        atomic_write_bytes(path, parquet_bytes(df))
        return path

    def stage_tables(self, asset: str, frames: dict[tuple[str, str], pd.DataFrame]) -> StagedFiles:
        """The Parquet files of ``{(league, season): frame}``, staged (see :class:`StagedFiles`)."""
        return StagedFiles({
            self.path(asset, league, season, "parquet"): parquet_bytes(df)
            for (league, season), df in frames.items()
        })

    def read_table(self, asset: str, league: str, season: str) -> pd.DataFrame:
        path = self.path(asset, league, season, "parquet")
        if not path.exists():
            raise FileNotFoundError(
                f"{asset} for {league}|{season} is not in the lake ({path}); materialize it first"
            )
        return pd.read_parquet(path)

    def has_table(self, asset: str, league: str, season: str) -> bool:
        return self.path(asset, league, season, "parquet").exists()

    # files of assets partitioned by season only (splits, models, evaluations) -----------------
    def season_dir(self, asset: str, season: str) -> Path:
        return self.root / asset / season

    def write_file(self, asset: str, season: str, name: str, data: bytes) -> Path:
        path = self.season_dir(asset, season) / name
        atomic_write_bytes(path, data)
        return path

    def read_file(self, asset: str, season: str, name: str) -> bytes:
        path = self.season_dir(asset, season) / name
        if not path.exists():
            raise FileNotFoundError(f"{asset} for {season} has no {name} ({path}); materialize it first")
        return path.read_bytes()
