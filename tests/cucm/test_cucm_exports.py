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


def logged_session(*commands_and_results: tuple[str, str]) -> str:
    """Return a logged SSH session: each command line, its output, then the prompt."""
    parts = [f"admin:{command}\n{result}\n" for command, result in commands_and_results]
    return "".join(parts) + "admin:\n"


PHONE_RESULT = (
    "pkid name            tkclass tkmodel fkenduser\n"
    "==== =============== ======= ======= =========\n"
    "d1   SEP0A0000000001 1       36224   u1\n"
)
PROFILE_RESULT = (
    "pkid name       tkclass tkmodel fkenduser\n"
    "==== ========== ======= ======= =========\n"
    "d2   EM_EMMA    254     36224   u1\n"
    "d3   RDP_EMMA   20      134     u1\n"
)


def test_results_after_prompt_rejected(tmp_path: Path) -> None:
    path = tmp_path / "device.txt"
    path.write_text(
        logged_session(
            ("run sql select * from device where tkclass = 1", PHONE_RESULT),
            ("run sql select * from device where tkclass in (20, 254)", PROFILE_RESULT),
        )
    )

    with pytest.raises(ExportError) as raised:
        read_source(tmp_path)

    message = str(raised.value)
    assert str(path) in message
    assert "more than one query result" in message
    assert "each query in its own file" in message


def test_users_and_map_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    path.write_text(
        logged_session(
            (
                "run sql select pkid, userid, status from enduser",
                "pkid userid status\n==== ====== ======\nu1   emma   1\n",
            ),
            (
                "run sql select fkenduser, fkdevice, tkuserassociation from enduserdevicemap",
                "fkenduser fkdevice tkuserassociation\n"
                "========= ======== =================\n"
                "u1        d1       1\n",
            ),
        )
    )

    with pytest.raises(ExportError, match=r"users\.txt is not valid 'run sql' output: .*"
                       "more than one query result"):
        read_source(tmp_path)


def test_prompt_then_other_command_accepted(tmp_path: Path) -> None:
    path = tmp_path / "device.txt"
    path.write_text(
        logged_session(("run sql select * from device where tkclass = 1", PHONE_RESULT))
        + "admin:show status\nHost Name : cucm-pub\nadmin:exit\n"
    )

    export = read_export_file(path)

    assert export is not None
    assert export.frame["name"].to_list() == ["SEP0A0000000001"]


def test_pagination_prompt_rejected(tmp_path: Path) -> None:
    path = tmp_path / "enduser.txt"
    path.write_text(
        "admin:run sql select pkid, userid, status from enduser\n"
        "pkid userid status\n"
        "==== ====== ======\n"
        "u1   emma   1\n"
        "Press <enter> for 1 line, <space> for one page, or <q> to quit\n"
        "u2   noah   1\n"
        "admin:\n"
    )

    with pytest.raises(ExportError) as raised:
        read_source(tmp_path)

    message = str(raised.value)
    assert str(path) in message
    assert "line 5 is the CLI pagination prompt" in message
    assert "set cli pagination off" in message


def test_cp1252_export_rejected(tmp_path: Path) -> None:
    for source in CLUSTER_B.iterdir():
        shutil.copy(source, tmp_path / source.name)
    path = tmp_path / "enduser.csv"
    path.write_bytes("pkid,userid,status\nu1,jürgen.müller,1\n".encode("cp1252"))

    with pytest.raises(ExportError) as raised:
        read_source(tmp_path)

    message = str(raised.value)
    assert str(path) in message
    assert "is not UTF-8 text" in message
    assert "Save it as UTF-8" in message
    assert "no enduser export" not in message


def test_binary_file_skipped(tmp_path: Path) -> None:
    shutil.copy(CLUSTER_B / "enduser.csv", tmp_path / "enduser.csv")
    (tmp_path / "users.xlsx").write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe\x9c")

    exports = read_source(tmp_path)

    assert [export.path.name for export in exports.files(ExportKind.ENDUSER)] == ["enduser.csv"]
