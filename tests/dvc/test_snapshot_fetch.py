"""`soccer snapshot fetch` / `hash` without DVC: what lands in a snapshot and what never does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from soccer_assets.cli.main import main as soccer
from soccer_assets.cli.snapshot import SnapshotError, dvc_dir_md5, fetch_snapshot

E0_2324 = Path("mmz4281/2324/E0.csv")


@pytest.fixture
def source(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "source"
    (root / E0_2324).parent.mkdir(parents=True)
    shutil.copy2(shared_data / E0_2324, root / E0_2324)
    return root


def test_dir_hash_is_the_one_dvc_records(tmp_path: Path) -> None:
    # `dvc add` of exactly this directory (DVC 3.67) wrote md5 38beb9a3…e973.dir into its .dvc file.
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a.csv").write_bytes(b"x\r\n")
    (d / "sub" / "b.csv").write_bytes(b"y")
    assert dvc_dir_md5(d) == "38beb9a38937f08b4b4849d831e0e973.dir"
    (d / "sub" / "b.csv").write_bytes(b"z")
    assert dvc_dir_md5(d) != "38beb9a38937f08b4b4849d831e0e973.dir"


def test_fetch_copies_bytes_as_served_and_skips_unpublished(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "snap" / "football-data"
    report = fetch_snapshot(source.as_uri(), out, ["E0"], ["2022-23", "2023-24"])
    assert (out / E0_2324).read_bytes() == (source / E0_2324).read_bytes()
    assert [f.relpath for f in report.files] == [E0_2324.as_posix()]
    assert report.files[0].rows == 380
    assert report.not_published == ["mmz4281/2223/E0.csv"]
    assert report.md5 == dvc_dir_md5(out)
    # Only season files: nothing else (no staging leftovers, no manifest with a timestamp).
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        E0_2324.as_posix()]
    assert sorted(p.name for p in out.parent.iterdir()) == ["football-data"]


def test_unparseable_file_is_refused_and_the_old_snapshot_kept(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "football-data"
    fetch_snapshot(source.as_uri(), out, ["E0"], ["2023-24"])
    before = dvc_dir_md5(out)
    (source / "mmz4281/2324/SP1.csv").write_bytes(b"<html>maintenance</html>\n")
    with pytest.raises(SnapshotError, match=r"mmz4281/2324/SP1\.csv .* does not parse"):
        fetch_snapshot(source.as_uri(), out, ["E0", "SP1"], ["2023-24"])
    assert dvc_dir_md5(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["football-data", "source"]


def test_cli_fetch_and_hash(tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "football-data"
    assert soccer(["snapshot", "fetch", "--source", str(source), "--out", str(out), "--leagues", "E0",
                   "--first-season", "2023-24", "--last-season", "2023-24"]) == 0
    assert f"DVC md5 {dvc_dir_md5(out)}" in capsys.readouterr().out
    assert soccer(["snapshot", "hash", str(out)]) == 0
    assert capsys.readouterr().out.strip() == dvc_dir_md5(out)
    # Bad input: a clear message and a non-zero exit, not a traceback.
    assert soccer(["snapshot", "hash", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
