"""The embedded sample: deterministic, related, with categories, nulls and dates; written once,
regenerated when damaged, never left half-written."""

import csv
import os
import sqlite3
from pathlib import Path

import pytest

from xregistry.sample import SAMPLE_VERSION, default_data_dir, ensure_sample, write_sample
from xregistry.sample.generate import CUSTOMERS, ORDERS, PRODUCTS, REVIEWS


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in tables}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sample")
    write_sample(directory)
    return directory


def test_same_seed_same_data(sample: Path, tmp_path: Path) -> None:
    again = write_sample(tmp_path)
    assert dump(again.database) == dump(sample / "shop.db")
    assert again.csv.read_bytes() == (sample / "reviews.csv").read_bytes()
    other = write_sample(tmp_path / "other", seed=7)
    assert dump(other.database)["customers"] != dump(sample / "shop.db")["customers"]


def test_sizes_and_relations(sample: Path) -> None:
    data = dump(sample / "shop.db")
    assert len(data["customers"]) == CUSTOMERS
    assert len(data["products"]) == PRODUCTS
    assert len(data["orders"]) == ORDERS
    assert ORDERS <= len(data["order_lines"]) <= 4 * ORDERS
    customer_ids = {r[0] for r in data["customers"]}
    product_ids = {r[0] for r in data["products"]}
    order_ids = {r[0] for r in data["orders"]}
    assert {r[1] for r in data["orders"]} <= customer_ids
    assert {r[1] for r in data["order_lines"]} == order_ids  # every order has lines
    assert {r[2] for r in data["order_lines"]} <= product_ids
    conn = sqlite3.connect(sample / "shop.db")
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        fks = conn.execute("PRAGMA foreign_key_list(order_lines)").fetchall()
        assert {fk[2] for fk in fks} == {"orders", "products"}
    finally:
        conn.close()


def test_categories_nulls_and_dates(sample: Path) -> None:
    data = dump(sample / "shop.db")
    statuses = {r[2] for r in data["orders"]}
    assert statuses == {"pending", "paid", "shipped", "delivered", "cancelled", "returned"}
    assert len({r[3] for r in data["customers"]}) == 12  # countries
    phones = [r[6] for r in data["customers"]]
    assert 0 < phones.count(None) < len(phones)
    shipped = {r[2]: r[5] for r in data["orders"]}
    assert all(shipped[s] is None for s in ("pending", "paid", "cancelled"))
    assert all(str(r[4]).startswith("2024-") for r in data["orders"])
    assert all(len(str(r[5])) == 10 for r in data["customers"])  # ISO dates


def test_csv_reviews(sample: Path) -> None:
    with (sample / "reviews.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == REVIEWS
    assert set(rows[0]) == {
        "id",
        "product_sku",
        "customer_id",
        "rating",
        "reviewed_on",
        "verified",
        "title",
    }
    assert {r["rating"] for r in rows} == {"1", "2", "3", "4", "5"}
    assert any(r["title"] == "" for r in rows)
    skus = {f"SKU-{i:04d}" for i in range(1, PRODUCTS + 1)}
    assert {r["product_sku"] for r in rows} <= skus


async def test_ensure_writes_once_then_reuses(tmp_path: Path) -> None:
    files = await ensure_sample(tmp_path / "data")
    assert (tmp_path / "data" / "VERSION").read_text().split()[0] == SAMPLE_VERSION
    stamp = files.database.stat().st_mtime_ns
    os.utime(files.database, ns=(stamp - 10**9, stamp - 10**9))
    again = await ensure_sample(tmp_path / "data")
    assert again == files
    assert files.database.stat().st_mtime_ns == stamp - 10**9  # not rewritten
    assert files.urls == [f"sqlite:///{files.database}", str(files.csv)]
    assert not [p for p in (tmp_path / "data").iterdir() if p.name.startswith(".tmp-")]


async def test_ensure_regenerates_a_damaged_or_old_sample(tmp_path: Path) -> None:
    files = await ensure_sample(tmp_path)
    files.csv.unlink()
    await ensure_sample(tmp_path)
    assert files.csv.is_file()
    (tmp_path / "VERSION").write_text("0 1\n")
    await ensure_sample(tmp_path)
    assert (tmp_path / "VERSION").read_text().split()[0] == SAMPLE_VERSION


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XREGISTRY_DATA_DIR", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"
    monkeypatch.delenv("XREGISTRY_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "xregistry" / "sample"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    assert default_data_dir() == Path.home() / ".local" / "share" / "xregistry" / "sample"


def test_unwritable_target_fails_clearly(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        write_sample(blocker / "sample")
