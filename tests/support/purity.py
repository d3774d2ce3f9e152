"""The purity rule of the pure layers, checked on their source: no Dagster, no platform or IO modules,
no file or network IO calls."""

from __future__ import annotations

import re
from pathlib import Path

FORBIDDEN_IMPORTS = re.compile(
    r"^\s*(?:from|import)\s+(?:dagster|sqlalchemy|httpx|requests|mlflow|"
    r"soccer_assets\.(?:defs|sources|storage|cli|definitions|config))\b",
    re.MULTILINE,
)
IO_CALLS = r"\bopen\(|read_csv|read_parquet|to_parquet|to_csv|urlopen"


def impure_files(package_dir: Path, extra_io: str = "") -> tuple[list[Path], list[Path]]:
    """The package's modules, and those that import a forbidden module or call an IO function.

    ``extra_io`` adds patterns (alternatives of a regex) for calls the package must not make.
    """
    io_calls = re.compile(IO_CALLS + (f"|{extra_io}" if extra_io else ""))
    files = sorted(package_dir.glob("*.py"))
    bad = [f for f in files if FORBIDDEN_IMPORTS.search(f.read_text()) or io_calls.search(f.read_text())]
    return files, bad
