"""Enrichment, discovery and data endpoints over the embedded sample (SQLite and CSV files in a
temporary directory: no network), as ``xregistry serve`` prepares it."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from xregistry.api import ApiConfig, Prepared, ResourceConfig, TokenConfig, hash_token, prepare
from xregistry.sample import write_sample

ADMIN = "admin-token-for-enrichment-tests"
VIEWER = "viewer-token-for-enrichment-tests"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sample")
    write_sample(directory)
    return directory


@pytest.fixture
async def prepared(sample_dir: Path, tmp_path: Path) -> AsyncIterator[Prepared]:
    # A private copy of the database: the data tests write to it.
    db = tmp_path / "shop.db"
    db.write_bytes((sample_dir / "shop.db").read_bytes())
    config = ApiConfig(
        tokens=[
            TokenConfig(id="root", roles=["admin"], token_hash=hash_token(ADMIN)),
            TokenConfig(id="vic", roles=["viewer"], token_hash=hash_token(VIEWER)),
        ],
        resources=[
            ResourceConfig(url=f"sqlite:///{db}", name="shop", namespace="shop"),
            ResourceConfig(url=str(sample_dir / "reviews.csv"), name="reviews", namespace="shop"),
        ],
        local_admin=False,
    )
    ready = await prepare(config)
    yield ready
    await ready.aclose()


@pytest.fixture
async def client(prepared: Prepared) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=prepared.app()),
        base_url="http://test",
        headers={"Authorization": f"Bearer {ADMIN}"},
    ) as c:
        yield c


VIEW = {"Authorization": f"Bearer {VIEWER}"}


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    return dict(response.json()["error"])


async def test_prepare_registers_every_table_and_file(prepared: Prepared) -> None:
    assert sorted(prepared.registry.models.models) == [
        "customers",
        "order_lines",
        "orders",
        "products",
        "reviews",
    ]
    assert all(not r.failed for r in prepared.discoveries.values())
    assert prepared.admin_token is None  # local_admin=False


async def test_model_detail_of_a_discovered_model(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/registry/models/orders")).json()
    assert body["namespace"] == "ns.models.shop.orders"
    assert body["source"] == "dynamic"
    assert body["resource"] == "shop"
    assert body["collection"] == "orders"
    assert body["enriched"] is True
    assert body["fields"]["customer_id"]["foreign_key"] == {"table": "customers", "column": "id"}
    assert body["permissions"]["*"] == ["list", "read"]


async def test_enrichment_endpoint(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/enrichment/models/orders/enrichment")).json()
    assert body["model_name"] == "orders"
    assert body["resource_name"] == "shop"
    assert body["statistics"]["total_count"] == 3000
    assert sorted(body["categorical_fields"]["status"]) == [
        "cancelled",
        "delivered",
        "paid",
        "pending",
        "returned",
        "shipped",
    ]
    assert 1 <= len(body["sample_data"]) <= 10
    assert 0 < body["data_quality"]["overall"]["completeness"] <= 1
    assert body["is_live"] is True
    nulls = body["statistics"]["field_statistics"]["shipped_at"]["null_count"]
    assert 0 < nulls < 3000
    error(await client.get("/api/enrichment/models/nope/enrichment"), 404)


async def test_suggestions_and_statistics(client: httpx.AsyncClient) -> None:
    sugg = (await client.get("/api/enrichment/models/orders/suggestions/channel")).json()
    assert sugg["field"] == "channel"
    assert sorted(sugg["suggestions"]) == ["mobile", "phone", "store", "web"]
    stats = (await client.get("/api/enrichment/models/customers/statistics/phone")).json()
    assert stats["null_count"] > 0
    assert set(stats["quality"]) == {"completeness", "uniqueness", "validity", "consistency"}
    error(await client.get("/api/enrichment/models/orders/statistics/nope"), 404)
    error(await client.get("/api/enrichment/models/orders/suggestions/nope"), 404)
    error(await client.get("/api/enrichment/models/nope/statistics/id"), 404)


async def test_validation_against_live_categorical_values(client: httpx.AsyncClient) -> None:
    url = "/api/enrichment/models/orders/validate"
    good = {
        "customer_id": 1,
        "status": "paid",
        "channel": "web",
        "ordered_at": "2024-05-01T10:00:00",
    }
    ok = (await client.post(url, json=good)).json()
    assert ok["valid"] is True
    assert ok["instance"]["status"] == "paid"
    bad = (await client.post(url, json={**good, "status": "lost"})).json()
    assert bad["valid"] is False
    assert bad["errors"][0]["loc"] == "status"
    assert "'paid'" in bad["errors"][0]["msg"]
    wrong_type = (await client.post(url, json={**good, "customer_id": "abc"})).json()
    assert wrong_type["valid"] is False
    assert wrong_type["errors"][0]["loc"] == "customer_id"
    error(await client.post(url, json=["not", "an", "object"]), 422)
    error(await client.post("/api/enrichment/models/nope/validate", json=good), 404)


async def test_refresh_needs_update_permission(client: httpx.AsyncClient) -> None:
    before = (await client.get("/api/enrichment/models/products/enrichment")).json()["last_updated"]
    done = (await client.post("/api/enrichment/refresh/products")).json()
    assert done["refreshed"] is True
    assert done["last_updated"] > before
    error(await client.post("/api/enrichment/refresh/products", headers=VIEW), 403)
    error(await client.post("/api/enrichment/refresh/nope"), 404)


async def test_discovery_runs_in_the_background(
    client: httpx.AsyncClient, prepared: Prepared
) -> None:
    resources = (await client.get("/api/discovery/resources")).json()
    assert {r["name"]: r["type"] for r in resources} == {"reviews": "csv", "shop": "sqlite"}
    assert "shop.db" not in str(resources)  # no paths or URLs
    started = await client.post(
        "/api/discovery/resources/shop/discover", params={"namespace": "again"}
    )
    assert started.status_code == 202
    assert started.json()["status"] == "discovery_started"
    for _ in range(100):
        status = (await client.get("/api/discovery/resources/shop/discover")).json()
        if status["state"] != "running":
            break
        await asyncio.sleep(0.05)
    # The tables are registered already and have not changed: discovery runs again without
    # conflicts and leaves each of them as it is (no new version).
    assert status["state"] == "done"
    assert status["failed"] == {}
    assert sorted(status["unchanged"]) == ["customers", "order_lines", "orders", "products"]
    for name in ("customers", "orders"):
        versions = (await client.get(f"/api/registry/models/{name}/versions")).json()
        assert [v["version"] for v in versions["versions"]] == ["1.0.0"]
    error(await client.post("/api/discovery/resources/shop/discover", headers=VIEW), 403)
    error(await client.post("/api/discovery/resources/nope/discover"), 404)
    error(await client.get("/api/discovery/resources/reviews/discover"), 404)
    error(
        await client.post(
            "/api/discovery/resources/shop/discover", params={"namespace": "bad ns!"}
        ),
        422,
    )


async def test_discovery_of_a_new_table(client: httpx.AsyncClient, prepared: Prepared) -> None:
    db = prepared.resources[0]
    await db.execute("CREATE TABLE coupons (code TEXT PRIMARY KEY, percent INTEGER)")  # type: ignore[attr-defined]
    await client.post("/api/discovery/resources/shop/discover", params={"namespace": "extra"})
    for _ in range(100):
        status = (await client.get("/api/discovery/resources/shop/discover")).json()
        if status["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert status["registered"] == ["coupons"]
    model = (await client.get("/api/registry/models/coupons")).json()
    assert model["namespace"] == "ns.models.extra.coupons"


async def test_namespace_search(client: httpx.AsyncClient) -> None:
    found = (await client.get("/api/discovery/namespace/order")).json()
    assert found["models"] == ["order_lines", "orders"]
    everything = (await client.get("/api/discovery/namespace/ns.*")).json()
    assert len(everything["models"]) == 5
    assert everything["functions"] == []
    assert (await client.get("/api/discovery/namespace/zzz")).json()["paths"] == []
    error(await client.get("/api/discovery/namespace/" + "a" * 300), 422)


# -- data -------------------------------------------------------------------------------------
async def test_list_records_with_filters_sort_and_pages(client: httpx.AsyncClient) -> None:
    url = "/api/data/models/orders/records"
    page = (
        await client.get(url, params={"filter": '{"status": "paid"}', "limit": 5, "sort": "-id"})
    ).json()
    assert page["limit"] == 5
    assert len(page["items"]) == 5
    assert all(r["status"] == "paid" for r in page["items"])
    ids = [r["id"] for r in page["items"]]
    assert ids == sorted(ids, reverse=True)
    second = (
        await client.get(
            url, params={"filter": '{"status": "paid"}', "limit": 5, "skip": 5, "sort": "-id"}
        )
    ).json()
    assert second["total"] == page["total"]
    assert second["items"][0]["id"] < ids[-1]
    gte = (await client.get(url, params={"filter": '{"customer_id": {"$gte": 399}}'})).json()
    assert gte["total"] > 0
    assert all(r["customer_id"] >= 399 for r in gte["items"])
    csv_page = (
        await client.get(
            "/api/data/models/reviews/records", params={"filter": '{"rating": 5}', "limit": 3}
        )
    ).json()
    assert all(r["rating"] == 5 for r in csv_page["items"])


async def test_list_records_bad_input(client: httpx.AsyncClient) -> None:
    url = "/api/data/models/orders/records"
    error(await client.get(url, params={"filter": "{not json"}), 422)
    error(await client.get(url, params={"filter": "[1, 2]"}), 422)
    error(await client.get(url, params={"filter": '{"nope": 1}'}), 422)
    error(await client.get(url, params={"filter": '{"status": {"$where": "1"}}'}), 422)
    error(await client.get(url, params={"sort": "nope"}), 422)
    error(await client.get(url, params={"sort": ","}), 422)
    error(await client.get(url, params={"limit": -1}), 422)
    error(await client.get(url, params={"limit": 5000}), 422)
    error(await client.get("/api/data/models/nope/records"), 404)
    # A hostile value is a bound parameter, not SQL: it simply matches nothing.
    hostile = (await client.get(url, params={"filter": '{"status": "x\' OR 1=1 --"}'})).json()
    assert hostile["total"] == 0


async def test_record_crud(client: httpx.AsyncClient) -> None:
    url = "/api/data/models/orders/records"
    new = {
        "customer_id": 7,
        "status": "pending",
        "channel": "web",
        "ordered_at": "2025-01-02T03:04:05",
    }
    created = await client.post(url, json=new)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["id"] == 3001
    assert record["status"] == "pending"
    assert (await client.get(f"{url}/3001")).json() == record
    updated = (await client.patch(f"{url}/3001", json={"status": "paid"})).json()
    assert updated["status"] == "paid"
    assert (await client.delete(f"{url}/3001")).status_code == 204
    error(await client.get(f"{url}/3001"), 404)
    error(await client.delete(f"{url}/3001"), 404)
    error(await client.patch(f"{url}/3001", json={"status": "paid"}), 404)
    assert (await client.get(url, params={"limit": 1})).json()["total"] == 3000


async def test_record_writes_are_validated(client: httpx.AsyncClient, prepared: Prepared) -> None:
    url = "/api/data/models/orders/records"
    base = {
        "customer_id": 7,
        "status": "pending",
        "channel": "web",
        "ordered_at": "2025-01-02T03:04:05",
    }
    bad_status = error(await client.post(url, json={**base, "status": "lost"}), 422)
    assert "status" in bad_status["message"]
    error(await client.post(url, json={**base, "customer_id": "seven"}), 422)
    error(await client.post(url, json=[base]), 422)
    error(await client.patch(f"{url}/1", json={"status": "lost"}), 422)
    error(await client.get(f"{url}/not-a-number"), 422)
    assert (await client.get(url, params={"limit": 1})).json()["total"] == 3000  # nothing written


async def test_record_permissions_come_from_roles(client: httpx.AsyncClient) -> None:
    url = "/api/data/models/orders/records"
    assert (await client.get(url, headers=VIEW, params={"limit": 1})).status_code == 200
    assert (await client.get(f"{url}/1", headers=VIEW)).status_code == 200
    error(await client.post(url, headers=VIEW, json={"status": "paid"}), 403)
    error(await client.patch(f"{url}/1", headers=VIEW, json={"status": "paid"}), 403)
    error(await client.delete(f"{url}/1", headers=VIEW), 403)
    error(await client.delete(f"{url}/1", headers=VIEW, params={"user_role": "admin"}), 403)
    assert (await client.get(f"{url}/1")).status_code == 200


async def test_static_models_have_no_records(prepared: Prepared, client: httpx.AsyncClient) -> None:
    from pydantic import BaseModel

    class Note(BaseModel):
        text: str

    prepared.registry.models.register_static_model(Note, permissions={"*": ["list"]})
    body = error(await client.get("/api/data/models/Note/records"), 404)
    assert "not backed by a connected resource" in body["message"]


def test_database_untouched_by_the_module(sample_dir: Path) -> None:
    conn = sqlite3.connect(sample_dir / "shop.db")
    try:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (3000,)
    finally:
        conn.close()
