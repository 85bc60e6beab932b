"""Recognising CUCM export files by content, and reporting missing columns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cucm_support import BAT_EXPORT, CLUSTER_A, CLUSTER_B, FIXTURES

from vlf_frames.cucm.exports import ExportError, ExportKind, read_export_file, read_source


def test_cluster_a_files_recognised() -> None:
    exports = read_source(CLUSTER_A)

    kinds = {
        kind: [export.path.name for export in files] for kind, files in exports.by_kind.items()
    }
    assert kinds == {
        ExportKind.DEVICE: ["device.txt"],
        ExportKind.DEVICEPOOL: ["devicepool.txt"],
        ExportKind.ENDUSER: ["enduser.txt"],
        ExportKind.ENDUSERDEVICEMAP: ["enduserdevicemap.txt"],
        # models.txt is recognised from the echoed query, not from its name.
        ExportKind.TYPEMODEL: ["models.txt"],
    }


def test_axl_csv_recognised_by_columns(tmp_path: Path) -> None:
    for source in CLUSTER_B.iterdir():
        shutil.copy(source, tmp_path / f"export-{source.stem}.data")
    (tmp_path / "export-typemodel.data").rename(tmp_path / "typemodel-release14.data")

    exports = read_source(tmp_path)

    assert exports.has(ExportKind.DEVICE)
    assert exports.has(ExportKind.ENDUSER)
    assert exports.has(ExportKind.ENDUSERDEVICEMAP)
    assert exports.has(ExportKind.TYPEMODEL)
    user = exports.files(ExportKind.ENDUSER)[0].frame
    assert user["userid"].to_list() == [
        "Emma.Holtom ",
        "LIAM.NG",
        "zoe.park",
        "Token_User_99aa88bb77cc",
    ]
    assert user["mailid"][1] is None


def test_typeclass_not_taken_for_typemodel(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text(
        "admin:run sql select enum, name from typeclass\n"
        "enum name\n"
        "==== =====================\n"
        "1    Phone\n"
        "20   Remote Destination Profile\n"
    )

    assert read_export_file(tmp_path / "classes.txt") is None


def test_unknown_file_skipped(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("exported on Monday from cluster A\n")

    assert read_export_file(notes) is None


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "device.txt"
    path.write_text(
        "admin:run sql select pkid, name, tkclass, tkmodel from device\n"
        "pkid name            tkclass tkmodel\n"
        "==== =============== ======= =======\n"
        "d1   SEP0A0000000001 1       36224\n"
    )

    message = r"device\.txt: the device export has no column 'fkenduser'"
    with pytest.raises(ExportError, match=message):
        read_export_file(path)


def test_file_named_after_table_without_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "enduserdevicemap.csv"
    path.write_text("fkenduser,tkuserassociation\nu1,1\n")

    with pytest.raises(ExportError, match="has no column 'fkdevice'"):
        read_export_file(path)


def test_bat_real_headers() -> None:
    export = read_export_file(BAT_EXPORT)

    assert export is not None
    assert export.kind is ExportKind.BAT_PHONES
    # "Owner  User ID" (two spaces) is matched as "owner user id".
    assert "owner user id" in export.frame.columns
    assert "user id 1" in export.frame.columns
    assert export.frame["description"][0] == "Reception, ground floor"


def test_bat_documented_headers() -> None:
    export = read_export_file(FIXTURES / "bat" / "documented-headers.csv")

    assert export is not None
    assert export.kind is ExportKind.BAT_PHONES
    assert {"owner user id", "user id", "phone template"} <= set(export.frame.columns)


def test_single_table_file_as_source() -> None:
    with pytest.raises(ExportError, match="is not a BAT phone export"):
        read_source(CLUSTER_A / "device.txt")
