"""Generated models accept what the source accepts (issue 15), against the real servers.

A constraint the catalog declares (``varchar(120)``, ``NOT NULL``, ``numeric(10,2)``, a CHECK,
an enum type) is enforced; a fact only observed in the data (the longest SKU of a CSV file, the
longest name of a MongoDB collection) is information, unless ``strict_observed=True``. The
source that ``model_to_source`` writes runs in a virtual environment holding only pydantic and
xobj-prototype, and holds no sample value unless ``include_samples=True``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import Decimal128
from pydantic import ValidationError

from xinspector import XInspector, model_to_source
from xresource import MongoDBResource, ResourceFactory, SQLDatabaseResource

ROOT = Path(__file__).resolve().parents[2]


# -- a Python that has pydantic and xobj-prototype, and no xinspector -----------------------------
@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a throwaway venv with only pydantic and xobj-prototype (and their own
    dependencies) installed: the honest test that generated source needs nothing else."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed: it builds the pydantic-only venv of this test")
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([uv, "venv", "-q", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(python),
            "pydantic>=2.10,<3",
            str(ROOT / "packages" / "xobj-prototype"),
        ],
        check=True,
        timeout=300,
    )
    probe = subprocess.run(
        [str(python), "-c", "import xinspector"], capture_output=True, text=True, timeout=60
    )
    assert probe.returncode != 0, "the bare venv must not be able to import xinspector"
    return python


_RUNNER = """
import json, sys
from decimal import Decimal
sys.path.insert(0, sys.argv[1])
module = __import__(sys.argv[2])
Model = getattr(module, sys.argv[3])
out = []
for record in json.loads(sys.stdin.read()):
    try:
        out.append({"ok": True, "value": Model.model_validate(record).model_dump(mode="json")})
    except Exception as exc:
        out.append({"ok": False, "error": type(exc).__name__})
print(json.dumps(out))
"""


def _run_bare(
    python: Path, source: str, folder: Path, module: str, model: str, records: list[Any]
) -> list[dict[str, Any]]:
    """Validate ``records`` with the generated module in the bare venv (``-I``: no user site,
    no environment variables, no current directory on the path)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    result = subprocess.run(
        [str(python), "-I", "-c", _RUNNER, str(folder), module, model],
        input=json.dumps(records),
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def _in_process(Model: Any, records: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for record in records:
        try:
            out.append({"ok": True, "value": Model.model_validate(record).model_dump(mode="json")})
        except ValidationError:
            out.append({"ok": False, "error": "ValidationError"})
    return out


# -- CSV: the SKU case ----------------------------------------------------------------------------
def _skus(tmp_path: Path) -> Path:
    path = tmp_path / "skus.csv"
    lines = ["sku,price,contact"] + [f"S{i},{i}.50,buyer{i}@shop.example" for i in range(300)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_csv_model_accepts_sku_s1000(tmp_path: Path) -> None:
    inspector = XInspector(ResourceFactory.from_url(str(_skus(tmp_path))))
    Model = await inspector.generate_model()
    assert Model.model_validate({"sku": "S1000", "price": "3.50", "contact": "x"}).sku == "S1000"
    assert Model.model_json_schema()["properties"]["sku"]["x-observed"]["max_length"] == 4
    Strict = await inspector.generate_model(strict_observed=True)
    assert Strict.model_validate({"sku": "S299", "price": "3.50", "contact": "a@b.org"})
    with pytest.raises(ValidationError, match="at most 4 characters"):
        Strict.model_validate({"sku": "S1000", "price": "3.50", "contact": "a@b.org"})


async def test_csv_source_has_no_samples_unless_asked(tmp_path: Path) -> None:
    inspector = XInspector(ResourceFactory.from_url(str(_skus(tmp_path))))
    Model = await inspector.generate_model(profile=True)
    source = model_to_source(Model)
    assert "buyer0@shop.example" not in source
    assert "shop.example" not in source
    assert "buyer0@shop.example" in model_to_source(Model, include_samples=True)


# -- MongoDB: the users case --------------------------------------------------------------------
@pytest.fixture
async def mongo(mongodb_url: str) -> AsyncIterator[MongoDBResource]:
    resource = ResourceFactory.from_url(mongodb_url, database="xinspector_tests")
    assert isinstance(resource, MongoDBResource)
    async with resource:
        yield resource


async def test_mongodb_model_accepts_a_longer_name(
    mongo: MongoDBResource, unique_name: str, bare_python: Path, tmp_path: Path
) -> None:
    users = [
        {"name": n, "email": f"{n.lower()}@people.example", "balance": Decimal128(f"{i}.25")}
        for i, n in enumerate(["Ann", "Bob", "Cyd", "Dee"])
    ]
    await mongo.insert_many(unique_name, users)
    try:
        inspector = XInspector(mongo)
        schema = await inspector.discover(unique_name)
        assert schema.fields["name"].max_length == 3  # seen: every document was read
        assert "max_length" in schema.fields["name"].observed
        User = await inspector.generate_model(unique_name)
        longer = {"name": "Bartholomew", "email": "bart@x.org", "balance": "1.5"}
        assert User.model_validate(longer).name == "Bartholomew"
        Strict = await inspector.generate_model(unique_name, strict_observed=True)
        with pytest.raises(ValidationError):
            Strict.model_validate(longer)

        # The exported module, in a venv without xinspector, agrees with the in-process model,
        # ObjectId-as-string and Decimal fields included.
        stored = await mongo.fetch_all(unique_name)
        records: list[Any] = [
            {**doc, "_id": str(doc["_id"]), "balance": str(doc["balance"].to_decimal())}
            for doc in stored
        ]
        records += [
            longer,
            {**longer, "_id": "65f0c0ffee0000000000beef"},
            {**longer, "balance": "not a number"},
            {"email": "no-name@x.org", "balance": "1"},
            {**longer, "_id": 42},
        ]
        source = model_to_source(User)
        assert "from xinspector" not in source
        assert "import xinspector" not in source
        assert "people.example" not in source  # sample e-mails stay out by default
        bare = _run_bare(
            bare_python, source, tmp_path / "mod", f"m_{unique_name}", User.__name__, records
        )
        assert bare == _in_process(User, records)
        assert [r["ok"] for r in bare] == [True] * 6 + [False, False, False]
        assert bare[5]["value"]["id"] == "65f0c0ffee0000000000beef"
        assert bare[0]["value"]["balance"] == "0.25"
    finally:
        await mongo.db.drop_collection(unique_name)


# -- PostgreSQL: declared constraints are enforced ----------------------------------------------
async def test_postgres_declared_constraints(
    postgres_url: str, unique_name: str, bare_python: Path, tmp_path: Path
) -> None:
    mood = f"{unique_name}_mood"
    async with ResourceFactory.from_url(postgres_url) as db:
        assert isinstance(db, SQLDatabaseResource)
        table, enum_type = db.dialect.quote(unique_name), db.dialect.quote(mood)
        await db.execute(f"CREATE TYPE {enum_type} AS ENUM ('sad', 'ok', 'happy')")
        await db.execute(
            f"CREATE TABLE {table} (id serial PRIMARY KEY, title varchar(120) NOT NULL, "
            "price numeric(10,2) NOT NULL CHECK (price >= 0), "
            "qty integer CHECK (qty > 0 AND qty <= 100), "
            f"status text CHECK (status IN ('new', 'paid')), mood {enum_type}, "
            "odd integer CHECK (odd % 2 = 1))"
        )
        try:
            await db.execute(
                f"INSERT INTO {table} (title, price, qty, status, mood) "
                "VALUES ('ab', 1.50, 1, 'new', 'ok')"
            )
            inspector = XInspector(db)
            schema = await inspector.discover(unique_name)
            f = schema.fields
            assert (f["title"].max_length, f["title"].observed) == (120, [])
            assert (f["price"].minimum, f["qty"].exclusive_minimum, f["qty"].maximum) == (
                0,
                0,
                100,
            )
            assert f["status"].enum == ["new", "paid"]
            assert f["mood"].enum == ["sad", "ok", "happy"]
            assert f["odd"].checks == ["((odd % 2) = 1)"]
            Model = await inspector.generate_model(unique_name, profile=True)
            good = {
                "title": "x" * 120,
                "price": "12345678.99",
                "qty": 100,
                "status": "paid",
                "mood": "happy",
            }
            assert Model.model_validate(good).price == Decimal("12345678.99")
            bad = [
                ("title", "x" * 121),
                ("title", None),
                ("price", "1.999"),
                ("price", None),
                ("price", "-0.01"),
                ("qty", 0),
                ("qty", 101),
                ("status", "lost"),
                ("mood", "angry"),
            ]
            for field, value in bad:
                with pytest.raises(ValidationError):
                    Model.model_validate({**good, field: value})
            # The server rejects the same values (three decimals aside: numeric(10,2) rounds
            # them where the model, which cannot round silently, refuses them).
            for field, value in bad[:1] + bad[4:]:
                row = {**good, field: value}
                with pytest.raises(Exception):  # noqa: B017 - the driver's own error class
                    await db.execute(
                        f"INSERT INTO {table} (title, price, qty, status, mood) "
                        f"VALUES ($1, $2::numeric(10,2), $3, $4, $5::{enum_type})",
                        [row["title"], str(row["price"]), row["qty"], row["status"], row["mood"]],
                    )
            records = [good] + [{**good, k: v} for k, v in bad]
            bare = _run_bare(
                bare_python,
                model_to_source(Model),
                tmp_path / "pg",
                f"m_{unique_name}",
                Model.__name__,
                records,
            )
            assert bare == _in_process(Model, records)
            assert [r["ok"] for r in bare] == [True] + [False] * len(bad)
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")
            await db.execute(f"DROP TYPE IF EXISTS {enum_type}")


# -- MariaDB: varchar and ENUM --------------------------------------------------------------------
async def test_mariadb_declared_constraints(mysql_url: str, unique_name: str) -> None:
    async with ResourceFactory.from_url(mysql_url) as db:
        assert isinstance(db, SQLDatabaseResource)
        table = db.dialect.quote(unique_name)
        await db.execute(
            f"CREATE TABLE {table} (id int AUTO_INCREMENT PRIMARY KEY, "
            "title varchar(120) NOT NULL, size ENUM('S','M','L') NOT NULL, "
            "price decimal(10,2) CHECK (price >= 0), "
            "kind varchar(10) CHECK (kind IN ('a','b')))"
        )
        try:
            await db.execute(
                f"INSERT INTO {table} (title, size, price, kind) VALUES ('ab', 'M', 1.50, 'a')"
            )
            inspector = XInspector(db)
            schema = await inspector.discover(unique_name)
            assert schema.fields["size"].enum == ["S", "M", "L"]
            assert schema.fields["kind"].enum == ["a", "b"]
            assert schema.fields["price"].minimum == 0
            Model = await inspector.generate_model(unique_name, profile=True)
            good = {"title": "x" * 120, "size": "L", "price": "99999999.99", "kind": "b"}
            assert Model.model_validate(good).size == "L"
            for field, value in [
                ("title", "x" * 121),
                ("title", None),
                ("size", "XL"),
                ("price", "1.001"),
                ("price", "-1"),
                ("kind", "c"),
            ]:
                with pytest.raises(ValidationError):
                    Model.model_validate({**good, field: value})
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")


def test_bare_venv_has_pydantic_and_nothing_of_ours_but_xobj_prototype(bare_python: Path) -> None:
    # The comparisons above mean something only if the bare venv really lacks xinspector.
    probe = (
        "import importlib.util, sys; print(sys.prefix); "
        "print([m for m in ('pydantic', 'xobj_prototype', 'xresource', 'xinspector', 'bson') "
        "if importlib.util.find_spec(m)])"
    )
    result = subprocess.run(
        [str(bare_python), "-I", "-c", probe], capture_output=True, text=True, timeout=60
    )
    prefix, found = result.stdout.splitlines()
    assert Path(prefix).resolve() != Path(sys.prefix).resolve()
    assert found == "['pydantic', 'xobj_prototype']"
