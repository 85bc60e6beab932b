"""Publish the input and output contracts as JSON, generated from the pandera models.

The files under ``schemas/`` are for the engineers who produce inventory drops. pandera's own
``to_json`` skips checks that are not registered extensions, so the contract is assembled here
from the models' columns, checks and metadata and from the tables' keys and references.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandera.polars as pa

from vlf_frames import AUDIT_VERSION
from vlf_frames.models import CONTACT_CENTER_PLATFORMS, FALSE_SPELLINGS, TRUE_SPELLINGS, Report
from vlf_frames.tables import TABLE_SPECS, TableSpec
from vlf_frames.writing import write_atomically

CONTRACT_VERSION = 1
CHECK_TEXTS = {
    "not_blank": "not empty and not only white space",
    "printable": "no control or format character, such as NUL, a line break, U+2028 or U+FEFF",
    "boolean": (
        "a boolean: Parquet boolean, or in CSV one of "
        + "/".join(TRUE_SPELLINGS + FALSE_SPELLINGS)
        + " in any case"
    ),
    "contact_center_platform": "one of "
    + ", ".join(p.upper() for p in CONTACT_CENTER_PLATFORMS)
    + " in any case",
}


def column_contract(name: str, column: Any) -> dict[str, Any]:
    metadata = column.metadata or {}
    entry: dict[str, Any] = {
        "name": name,
        "type": metadata.get(
            "logical_type", "str" if str(column.dtype) == "String" else str(column.dtype)
        ),
        "column_required": bool(column.required),
        "nullable": bool(column.nullable),
    }
    if metadata.get("compared"):
        entry["compared"] = metadata["compared"]
    if metadata.get("identifying"):
        entry["identifying"] = True
        entry["read"] = False
    checks = []
    for check in column.checks:
        if check.name in CHECK_TEXTS:
            checks.append({"name": check.name, "rule": CHECK_TEXTS[check.name]})
        else:
            checks.append({"name": check.name, "statistics": dict(check.statistics or {})})
    if checks:
        entry["checks"] = checks
    return entry


def table_contract(spec: TableSpec) -> dict[str, Any]:
    schema = spec.model.to_schema()
    references = []
    if spec.references_customer:
        references.append({"columns": ["customer_pkid"], "table": "customers"})
    if spec.references_site:
        references.append(
            {
                "columns": ["customer_pkid", "site_pkid"],
                "table": "sites",
                "rule": "a non-null site_pkid names a site of the same customer",
            }
        )
    return {
        "contract_version": CONTRACT_VERSION,
        "table": spec.name,
        "table_required": spec.required,
        "files": [f"{spec.name}.parquet", f"{spec.name}.csv", f"{spec.name}/"],
        "extra_columns": "allowed and ignored",
        "columns": [column_contract(name, column) for name, column in schema.columns.items()],
        "keys": [
            {"columns": list(key.columns), "compared_trimmed_and_lower_cased": list(key.normalized)}
            for key in spec.keys
        ],
        "references": references,
    }


def report_contract() -> dict[str, Any]:
    schema: pa.DataFrameSchema = Report.to_schema()
    return {
        "contract_version": CONTRACT_VERSION,
        "report": "anonymous customer aggregate report",
        "audit_version": AUDIT_VERSION,
        "file_name": "vlf_<provider_name>_<host_name>_anonymous_<YYYY-MM-DD_HHMM>.csv",
        "metadata_lines": [
            "Platform ID",
            "Provider Name",
            "Software Version",
            "Platform Version",
            "Deployment Mode",
            "Date Time",
            "Audit Version",
        ],
        "columns": [column_contract(name, column) for name, column in schema.columns.items()],
        "row_order": "Customer PKID ascending, byte order",
    }


def contract_files() -> dict[str, str]:
    """Return the contract files by name: one per input table and ``report.json``."""
    documents = {f"{name}.json": table_contract(spec) for name, spec in TABLE_SPECS.items()}
    documents["report.json"] = report_contract()
    return {
        name: json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        for name, document in documents.items()
    }


def write_contracts(output_dir: Path) -> list[Path]:
    written = []
    for name, text in contract_files().items():
        path = output_dir / name
        write_atomically(path, text)
        written.append(path)
    return written
