"""Placing phones at sites by device pool, and users at the site of their phones."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from cucm_support import CLUSTER_A, CLUSTER_B, read_table

from vlf_frames.cucm import ImportOptions, import_cucm
from vlf_frames.cucm.exports import ExportError
from vlf_frames.errors import ConfigError

LONDON = "cucm-site:cust-001:london"
PARIS = "cucm-site:cust-001:paris"


def write_site_map(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.csv"
    path.write_text(text)
    return path


@pytest.fixture
def site_map(tmp_path: Path) -> Path:
    # Device pool names are matched trimmed and case-insensitively.
    return write_site_map(tmp_path, "device_pool,site_name\nDP_London,London\n dp_paris ,Paris\n")


def sites_by_user(drop_dir: Path) -> dict[str, str]:
    users = read_table(drop_dir, "users")
    return dict(zip(users["userid"], users["site_pkid"], strict=True))


def test_phones_placed_by_device_pool(site_map: Path, drop_dir: Path) -> None:
    import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", site_map=site_map))

    phones = read_table(drop_dir, "phones")
    placed = dict(zip(phones["device_name"], phones["site_pkid"], strict=True))
    assert placed["SEP0A0000000001"] == PARIS
    assert placed["SEP0A0000000002"] == LONDON
    assert placed["CSFOLIVIA"] == PARIS
    assert placed["AN0A0000000A01"] == PARIS
    assert placed["CTIPORT_IVR_1"] == LONDON


def test_user_sites_and_tie_rule(site_map: Path, drop_dir: Path) -> None:
    import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", site_map=site_map))

    assert sites_by_user(drop_dir) == {
        # One phone in Paris (owned), one in London (associated): the tie goes to the site
        # whose name sorts first.
        "emma.holtom": LONDON,
        "liam.ng": LONDON,
        "noah.berg": LONDON,
        "olivia.wu": PARIS,
        "old.user": LONDON,
        # Users without phones sit at the default site.
        "ava.king": "cucm-site:cust-001:default",
        "mia.costa": "cucm-site:cust-001:default",
    }
    sites = read_table(drop_dir, "sites")
    assert sorted(sites["site_name"].to_list()) == ["Default", "London", "Paris"]


def test_default_site_named_in_map(site_map: Path, drop_dir: Path) -> None:
    options = ImportOptions(customer_pkid="cust-001", site_map=site_map, default_site="paris")
    import_cucm(CLUSTER_A, drop_dir, options)

    assert sites_by_user(drop_dir)["mia.costa"] == PARIS
    assert sorted(read_table(drop_dir, "sites")["site_name"].to_list()) == ["London", "Paris"]


def test_site_map_with_pkids(tmp_path: Path, drop_dir: Path) -> None:
    site_map = write_site_map(
        tmp_path,
        "device_pool,site_name,site_pkid\nDP_London,London,site-lon\nDP_Paris,Paris,site-par\n",
    )
    import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", site_map=site_map))

    assert sites_by_user(drop_dir)["olivia.wu"] == "site-par"
    assert sites_by_user(drop_dir)["liam.ng"] == "site-lon"


def test_unmapped_device_pool(tmp_path: Path, drop_dir: Path) -> None:
    site_map = write_site_map(tmp_path, "device_pool,site_name\nDP_London,London\n")

    with pytest.raises(ConfigError, match=r"does not place 3 phones.*'DP_Paris' \(3 phones\)"):
        import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", site_map=site_map))
    assert not drop_dir.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("pool,site\nDP_London,London\n", "has no column 'device_pool'", id="header"),
        pytest.param(
            "device_pool,site_name\nDP_London,London\ndp_london,Paris\n",
            "maps device pool 'DP_London' to more than one site",
            id="pool-twice",
        ),
        pytest.param(
            "device_pool,site_name\nDP_London,\n", "empty device_pool or site_name", id="empty"
        ),
        pytest.param(
            "device_pool,site_name,site_pkid\nDP_London,London,a\nDP_Paris,London,b\n",
            "gives site 'London' more than one site_pkid",
            id="two-pkids",
        ),
    ],
)
def test_invalid_site_map(tmp_path: Path, drop_dir: Path, text: str, message: str) -> None:
    site_map = write_site_map(tmp_path, text)

    with pytest.raises(ConfigError, match=message):
        import_cucm(CLUSTER_A, drop_dir, ImportOptions(customer_pkid="cust-001", site_map=site_map))


def test_site_map_needs_fkdevicepool(tmp_path: Path, site_map: Path, drop_dir: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for path in CLUSTER_B.iterdir():
        (source / path.name).write_bytes(path.read_bytes())
    device_path = source / "device.csv"
    pl.read_csv(device_path, infer_schema=False).drop("fkdevicepool").write_csv(device_path)

    with pytest.raises(ExportError) as raised:
        import_cucm(source, drop_dir, ImportOptions(customer_pkid="cust-001", site_map=site_map))

    message = str(raised.value)
    assert str(device_path) in message
    assert "no column 'fkdevicepool'" in message
    assert "--site-map" in message
    assert "unknown device pool" not in message
    assert not drop_dir.exists()
