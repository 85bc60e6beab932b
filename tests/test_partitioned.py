"""The customer-partitioned path gives the same results as processing the drop at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from drop_builder import customer, phone, site, user, write_drop
from temporary_files import remove_temporary

from vlf_frames import partitioned
from vlf_frames.errors import InvalidInputError, OutputError
from vlf_frames.partitioned import HASH_SEED, build_report_partitioned
from vlf_frames.pipeline import InvalidDropError, build_report
from vlf_frames.writing import report_csv_text

SAMPLE_DROP = Path(__file__).resolve().parent.parent / "data" / "sample"
DATE_TIME = "2026-01-31 23:59"


def report_text(drop: Path, partitions: int | None, on_invalid: str = "fail") -> str:
    if partitions is None:
        result = build_report(drop, on_invalid=on_invalid)  # type: ignore[arg-type]
    else:
        result = build_report_partitioned(
            drop,
            partitions=partitions,
            on_invalid=on_invalid,  # type: ignore[arg-type]
        )
    return report_csv_text(result.report, [])


@pytest.mark.parametrize("partitions", [1, 2, 3, 7])
def test_sample_drop_same_report(partitions: int) -> None:
    expected = build_report(SAMPLE_DROP)
    actual = build_report_partitioned(SAMPLE_DROP, partitions=partitions)

    assert report_csv_text(actual.report, []) == report_csv_text(expected.report, [])
    assert actual.dangling == expected.dangling
    rows_read = {name: table.rows_read for name, table in actual.validation.tables.items()}
    assert rows_read == {
        name: table.rows_read for name, table in expected.validation.tables.items()
    }


@pytest.mark.parametrize("partitions", [2, 5, 13])
def test_synthetic_drop_same_report(synthetic_drop: Path, partitions: int) -> None:
    part_files = list((synthetic_drop / "phones").glob("*.parquet"))
    assert len(part_files) > 5

    assert report_text(synthetic_drop, partitions) == report_text(synthetic_drop, None)


def test_cli_partitions_byte_identical(synthetic_drop: Path, tmp_path: Path) -> None:
    outputs = []
    for partitions in ("1", "6"):
        output_dir = tmp_path / f"p{partitions}"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "vlf_frames.cli",
                "report",
                str(synthetic_drop),
                "--output-dir",
                str(output_dir),
                "--config",
                str(SAMPLE_DROP.parent / "sample.toml"),
                "--date-time",
                DATE_TIME,
                "--partitions",
                partitions,
                "-q",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        (report,) = output_dir.iterdir()
        outputs.append(report.read_bytes())

    assert outputs[0] == outputs[1]


def test_hive_folders_by_site_same_report(tmp_path: Path) -> None:
    """A customer's phones spread over one partition folder per site."""
    drop = tmp_path / "drop"
    shutil.copytree(SAMPLE_DROP, drop)
    phones = pl.read_csv(drop / "phones.csv", infer_schema=False)
    (drop / "phones.csv").unlink()
    for (site_pkid,), rows in phones.group_by("site_pkid"):
        folder = drop / "phones" / f"site_pkid={site_pkid or '__HIVE_DEFAULT_PARTITION__'}"
        folder.mkdir(parents=True)
        rows.drop("site_pkid").write_parquet(folder / "part-0.parquet")

    assert report_text(drop, 4) == report_text(SAMPLE_DROP, None)


def customers_in_different_partitions(partitions: int) -> tuple[str, str]:
    pkids = [f"C{number}" for number in range(1, 50)]
    buckets = pl.Series(pkids).hash(seed=HASH_SEED) % partitions
    first = buckets[0]
    other = next(pkid for pkid, bucket in zip(pkids, buckets, strict=True) if bucket != first)
    return pkids[0], other


def drop_with_shared_user_pkid(root: Path) -> Path:
    """Two customers in different partitions whose users share one user_pkid."""
    first, second = customers_in_different_partitions(3)
    return write_drop(
        root,
        customers=[customer(first), customer(second)],
        sites=[site("S1", first), site("S2", second)],
        users=[
            user("anna", site="S1", customer=first, user_pkid="U-SHARED"),
            user("ben", site="S2", customer=second, user_pkid="U-SHARED"),
            user("cleo", site="S1", customer=first, user_pkid="U-3"),
        ],
        phones=[phone("SEP1", owner="cleo", site="S1", customer=first, phone_pkid="P1")],
    )


def test_duplicate_pkid_across_partitions_fails(tmp_path: Path) -> None:
    drop = drop_with_shared_user_pkid(tmp_path)

    with pytest.raises(InvalidInputError) as error:
        build_report_partitioned(drop, partitions=3)

    message = str(error.value)
    assert "unique_key(user_pkid)" in message
    assert "2 rows" in message
    assert "compared exactly, across all customers" in message


def test_quarantine_sets_aside_same_rows(tmp_path: Path) -> None:
    drop = drop_with_shared_user_pkid(tmp_path)
    expected = build_report(drop, on_invalid="quarantine")
    actual = build_report_partitioned(drop, partitions=3, on_invalid="quarantine")

    assert report_csv_text(actual.report, []) == report_csv_text(expected.report, [])
    expected_rejects = expected.validation.rejects()
    actual_rejects = actual.validation.rejects()
    assert actual_rejects.height == 2
    assert actual_rejects.equals(expected_rejects)


def test_rejects_ordered_by_line_number(tmp_path: Path) -> None:
    users = [user(f"user{number}", user_pkid=f"U{number}") for number in range(12)]
    users += [user("  ", user_pkid=f"BLANK{number}") for number in range(11)]
    drop = write_drop(tmp_path, users=users)
    expected = build_report(drop, on_invalid="quarantine").validation.rejects()
    actual = build_report_partitioned(drop, partitions=3, on_invalid="quarantine")

    rows = actual.validation.rejects().get_column("row").to_list()
    assert rows == [f"line {number}" for number in range(14, 25)]
    assert actual.validation.rejects().equals(expected)


def test_duplicate_pkid_examples_show_customers(tmp_path: Path) -> None:
    drop = drop_with_shared_user_pkid(tmp_path)
    first, second = customers_in_different_partitions(3)

    with pytest.raises(InvalidDropError) as error:
        build_report_partitioned(drop, partitions=3)

    (finding,) = [item for item in error.value.findings if item.check == "unique_key(user_pkid)"]
    assert finding.column == "user_pkid, customer_pkid"
    assert finding.failing_rows == 2
    assert f"'U-SHARED', '{first}'" in " ".join(finding.examples)
    assert f"'U-SHARED', '{second}'" in " ".join(finding.examples)


def same_hash_for_all(column: str) -> pl.Expr:
    """Stand in for the primary key hash, giving every row the same hash."""
    return pl.col(column).is_null().cast(pl.UInt64)


def test_shared_pkid_hash_alone_is_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys that share a hash are compared as text before they are reported."""
    drop = write_drop(
        tmp_path,
        users=[user("anna", user_pkid="U1"), user("ben", user_pkid="U2")],
        phones=[phone("SEP1", owner="anna", phone_pkid="P1"), phone("SEP2", phone_pkid="P2")],
    )
    expected = report_text(drop, partitions=None)
    monkeypatch.setattr(partitioned, "pkid_hash", same_hash_for_all)

    assert report_text(drop, partitions=2) == expected


def test_shared_pkid_hash_still_finds_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = drop_with_shared_user_pkid(tmp_path)
    monkeypatch.setattr(partitioned, "pkid_hash", same_hash_for_all)

    with pytest.raises(InvalidDropError) as error:
        build_report_partitioned(drop, partitions=3)

    checks = [(item.check, item.failing_rows) for item in error.value.findings]
    assert checks == [("unique_key(user_pkid)", 2)]


@pytest.mark.parametrize("removal", ["folder before partition 2", "one users file", "split"])
def test_removed_partition_files_stop_run(
    synthetic_drop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, removal: str
) -> None:
    """Partition files removed by someone else during a run stop it, instead of a report that
    counts the lost partitions as empty."""
    removed: list[str] = []
    validate_partition, scan_table = partitioned.validate_partition, partitioned.scan_table

    def validate_removing(
        layout: Any, split: partitioned.SplitFiles, partition: int, *rest: Any
    ) -> Any:
        assert isinstance(split, partitioned.SplitFiles)
        if removal == "folder before partition 2" and partition == 1:
            remove_temporary(split.root, tmp_path)
            removed.append(removal)
        if removal == "one users file" and not removed:
            remove_temporary(next((split.root / "users").glob("*/*.parquet")), tmp_path)
            removed.append(removal)
        return validate_partition(layout, split, partition, *rest)

    def scan_removing(table_files: Any) -> pl.LazyFrame:
        if table_files.spec.name == "phones" and not removed:
            remove_temporary(next(tmp_path.iterdir()), tmp_path)
            removed.append(removal)
        return scan_table(table_files)

    monkeypatch.setattr(partitioned, "validate_partition", validate_removing)
    if removal == "split":
        monkeypatch.setattr(partitioned, "scan_table", scan_removing)
    with pytest.raises(OutputError) as raised:
        build_report_partitioned(synthetic_drop, partitions=3, work_dir=tmp_path)

    assert removed == [removal]
    assert "were removed during the run" in str(raised.value)
    assert list(tmp_path.iterdir()) == []
