"""The report of the sample drop contains no identifying value of the drop.

Identifying values are the names of customers, providers, resellers and sites, user ids,
device names, profile names and account ids, which include e-mail addresses. Each is looked
for as written in the drop and trimmed and lower-cased. Values shorter than 4 characters
are skipped because they match by chance, and so are values that are also customer pkids,
the one identifier the report may contain.
"""

from __future__ import annotations

import csv
from pathlib import Path

from test_sample_golden import REPORT_NAME, SAMPLE_DROP, run_report

IDENTIFYING_COLUMNS = {
    "customer_name",
    "provider_name",
    "reseller_name",
    "site_name",
    "userid",
    "owner_userid",
    "device_name",
    "profile_name",
    "account_id",
}
MIN_LENGTH = 4


def collect_identifying_values(drop_dir: Path) -> set[str]:
    """Return every identifying value of a drop of CSV files, raw and normalized."""
    customer_pkids: set[str] = set()
    values: set[str] = set()
    for path in sorted(drop_dir.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                customer_pkids.add(row["customer_pkid"])
                for column, value in row.items():
                    if column in IDENTIFYING_COLUMNS and value:
                        values.add(value)
                        values.add(value.strip().lower())
    return {
        value
        for value in values
        if len(value.strip()) >= MIN_LENGTH and value.strip() not in customer_pkids
    }


def test_sample_drop_has_identifying_values() -> None:
    values = collect_identifying_values(SAMPLE_DROP)

    # Guard against a collector that finds nothing and so makes the check below vacuous.
    assert "Meridian Health Trust" in values
    assert "émile.laurent" in values
    assert "SEP6C710D8A1F01" in values
    assert "noah.williams@harbourlogistics.example" in values
    assert len(values) > 150


def test_report_contains_no_identifying_value(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    result = run_report(SAMPLE_DROP, output_dir)
    assert result.returncode == 0, result.stderr
    text = (output_dir / REPORT_NAME).read_text(encoding="utf-8")
    lowered = text.lower()

    found = sorted(
        value
        for value in collect_identifying_values(SAMPLE_DROP)
        if value in text or value.lower() in lowered
    )

    assert found == []
