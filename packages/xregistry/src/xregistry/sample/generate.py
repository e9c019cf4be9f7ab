"""Generate the sample shop: ``shop.db`` (SQLite) and ``reviews.csv``, deterministic and synthetic.

Rows come from :class:`random.Random` seeded with :data:`SAMPLE_SEED` and word lists written here,
so the same version always yields the same rows. Files are written under temporary names and
renamed into place, so an interrupted run never leaves a half-written sample behind.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

__all__ = [
    "SAMPLE_SEED",
    "SAMPLE_VERSION",
    "SampleFiles",
    "default_data_dir",
    "ensure_sample",
    "write_sample",
]

#: Bump when the generated content changes: existing samples are then regenerated.
SAMPLE_VERSION = "1"
SAMPLE_SEED = 20240101

CUSTOMERS = 400
PRODUCTS = 50
ORDERS = 3000
REVIEWS = 1200

_FIRST = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Dana",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "Joan",
    "Ken",
    "Leslie",
    "Margaret",
    "Niklaus",
    "Ole",
    "Radia",
    "Sophie",
    "Tim",
    "Ursula",
    "Vint",
    "Whitfield",
    "Xiao",
    "Yukihiro",
    "Zuse",
]
_LAST = [
    "Abara",
    "Bellamy",
    "Corvin",
    "Dalton",
    "Esker",
    "Fenwick",
    "Galloway",
    "Harrow",
    "Ibsen",
    "Jarrett",
    "Kessler",
    "Lindqvist",
    "Marlow",
    "Norberg",
    "Ostrand",
    "Pellham",
    "Quill",
    "Rowan",
    "Sutter",
    "Thorne",
    "Underhill",
    "Vance",
    "Whitlock",
    "Yardley",
]
_COUNTRIES = ("DE", "FR", "GB", "US", "CA", "ES", "IT", "NL", "SE", "PL", "JP", "BR")
_SEGMENTS = ("consumer", "small_business", "enterprise")
_CATEGORIES = ("books", "electronics", "garden", "kitchen", "toys", "sports", "office")
_ADJECTIVES = [
    "Compact",
    "Deluxe",
    "Everyday",
    "Folding",
    "Handy",
    "Modular",
    "Quiet",
    "Rugged",
    "Smart",
    "Solar",
]
_NOUNS = {
    "books": ("Atlas", "Cookbook", "Field Guide", "Novel", "Workbook"),
    "electronics": ("Headphones", "Lamp", "Charger", "Speaker", "Keyboard"),
    "garden": ("Hose", "Planter", "Pruner", "Rake", "Sprinkler"),
    "kitchen": ("Kettle", "Knife Set", "Pan", "Grinder", "Scale"),
    "toys": ("Puzzle", "Kite", "Robot", "Train Set", "Yo-yo"),
    "sports": ("Ball", "Racket", "Helmet", "Jump Rope", "Yoga Mat"),
    "office": ("Desk Organizer", "Stapler", "Notebook", "Pen Set", "Chair Mat"),
}
_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "returned")
_STATUS_WEIGHTS = (5, 10, 15, 60, 6, 4)
_CHANNELS = ("web", "mobile", "store", "phone")
_CHANNEL_WEIGHTS = (50, 30, 15, 5)
_COUPONS = ("WELCOME10", "SPRING5", "LOYAL15")
_REVIEW_TITLES = (
    "Does the job",
    "Better than expected",
    "Would buy again",
    "Not for me",
    "Great value",
    "Arrived late",
)
_START = date(2023, 1, 1)

_SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    country TEXT NOT NULL,
    segment TEXT NOT NULL,
    signup_date DATE NOT NULL,
    phone TEXT,
    birth_year INTEGER
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL,
    in_stock BOOLEAN NOT NULL,
    launched_on DATE
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    ordered_at TIMESTAMP NOT NULL,
    shipped_at TIMESTAMP,
    coupon TEXT
);
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    discount REAL
);
CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX orders_status ON orders(status);
CREATE INDEX order_lines_order ON order_lines(order_id);
"""


@dataclass(frozen=True)
class SampleFiles:
    """Where the sample lives: the SQLite database and the CSV file."""

    directory: Path
    database: Path
    csv: Path

    @property
    def urls(self) -> list[str]:
        """Resource URLs of both files, for ``ResourceFactory.from_url``."""
        return [f"sqlite:///{self.database}", str(self.csv)]


def default_data_dir() -> Path:
    """``$XREGISTRY_DATA_DIR``, else ``$XDG_DATA_HOME/xregistry/sample``, else
    ``~/.local/share/xregistry/sample`` (``%LOCALAPPDATA%`` on Windows)."""
    explicit = os.environ.get("XREGISTRY_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.environ.get("LOCALAPPDATA")
    root = Path(base) if base else Path.home() / ".local" / "share"
    return root / "xregistry" / "sample"


def _files(directory: Path) -> SampleFiles:
    return SampleFiles(directory, directory / "shop.db", directory / "reviews.csv")


def _marker(directory: Path) -> Path:
    return directory / "VERSION"


def _rows(seed: int) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (and of the CSV under ``reviews``)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    customers: list[tuple[object, ...]] = []
    for cid in range(1, CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        phone = None if rng.random() < 0.3 else f"+{rng.randint(1, 99)} {rng.randint(10**8, 10**9)}"
        birth = None if rng.random() < 0.2 else rng.randint(1950, 2005)
        customers.append(
            (
                cid,
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}{cid}@example.test",
                rng.choice(_COUNTRIES),
                rng.choices(_SEGMENTS, weights=(70, 22, 8))[0],
                (_START + timedelta(days=rng.randint(0, 364))).isoformat(),
                phone,
                birth,
            )
        )
    products: list[tuple[object, ...]] = []
    for pid in range(1, PRODUCTS + 1):
        category = _CATEGORIES[(pid - 1) % len(_CATEGORIES)]
        launched = None if rng.random() < 0.1 else _START - timedelta(days=rng.randint(0, 900))
        products.append(
            (
                pid,
                f"SKU-{pid:04d}",
                f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS[category])}",
                category,
                round(rng.uniform(3, 400), 2),
                rng.random() > 0.15,
                launched.isoformat() if launched else None,
            )
        )
    orders: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []
    line_id = 0
    for oid in range(1, ORDERS + 1):
        ordered = datetime(2024, 1, 1) + timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        status = rng.choices(_STATUSES, weights=_STATUS_WEIGHTS)[0]
        shipped = (
            (ordered + timedelta(hours=rng.randint(4, 96))).isoformat(sep=" ")
            if status in ("shipped", "delivered", "returned")
            else None
        )
        coupon = rng.choice(_COUPONS) if rng.random() < 0.12 else None
        orders.append(
            (
                oid,
                rng.randint(1, CUSTOMERS),
                status,
                rng.choices(_CHANNELS, weights=_CHANNEL_WEIGHTS)[0],
                ordered.isoformat(sep=" "),
                shipped,
                coupon,
            )
        )
        for product in rng.sample(products, rng.randint(1, 4)):
            line_id += 1
            discount = None if rng.random() < 0.8 else rng.choice((0.05, 0.1, 0.15))
            lines.append((line_id, oid, product[0], rng.randint(1, 5), product[4], discount))
    reviews: list[tuple[object, ...]] = []
    for rid in range(1, REVIEWS + 1):
        product = rng.choice(products)
        reviews.append(
            (
                rid,
                product[1],
                rng.randint(1, CUSTOMERS),
                rng.choices((1, 2, 3, 4, 5), weights=(5, 7, 15, 35, 38))[0],
                (date(2024, 1, 1) + timedelta(days=rng.randint(0, 364))).isoformat(),
                "yes" if rng.random() < 0.75 else "no",
                rng.choice(_REVIEW_TITLES) if rng.random() < 0.7 else "",
            )
        )
    return {
        "customers": customers,
        "products": products,
        "orders": orders,
        "order_lines": lines,
        "reviews": reviews,
    }


_REVIEW_HEADER = ("id", "product_sku", "customer_id", "rating", "reviewed_on", "verified", "title")


def write_sample(directory: str | os.PathLike[str], *, seed: int = SAMPLE_SEED) -> SampleFiles:
    """Write the sample into ``directory`` (created when missing), replacing what is there.

    Blocking file work: call it from a thread (:func:`ensure_sample` does).
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    files = _files(target)
    rows = _rows(seed)
    with tempfile.TemporaryDirectory(dir=target, prefix=".tmp-") as tmp:
        db_tmp = Path(tmp) / files.database.name
        conn = sqlite3.connect(db_tmp)
        try:
            conn.executescript(_SCHEMA)
            for table, count in (
                ("customers", 8),
                ("products", 7),
                ("orders", 7),
                ("order_lines", 6),
            ):
                marks = ", ".join("?" * count)
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])  # noqa: S608 - fixed names
            conn.commit()
        finally:
            conn.close()
        csv_tmp = Path(tmp) / files.csv.name
        with csv_tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(_REVIEW_HEADER)
            writer.writerows(rows["reviews"])
        os.replace(db_tmp, files.database)
        os.replace(csv_tmp, files.csv)
    _marker(target).write_text(f"{SAMPLE_VERSION} {seed}\n", encoding="utf-8")
    return files


def _current(directory: Path, seed: int) -> bool:
    files = _files(directory)
    try:
        marker = _marker(directory).read_text(encoding="utf-8").split()
    except OSError:
        return False
    return (
        marker == [SAMPLE_VERSION, str(seed)] and files.database.is_file() and files.csv.is_file()
    )


def _ensure(directory: str | os.PathLike[str] | None, seed: int) -> SampleFiles:
    target = Path(directory).expanduser() if directory is not None else default_data_dir()
    if _current(target, seed):
        return _files(target)
    return write_sample(target, seed=seed)


async def ensure_sample(
    directory: str | os.PathLike[str] | None = None, *, seed: int = SAMPLE_SEED
) -> SampleFiles:
    """The sample in ``directory`` (default :func:`default_data_dir`), generated on first use or
    when it is missing, damaged or from another sample version; a current one is left alone.

    The file work runs in a thread, off the event loop.
    """
    return await asyncio.to_thread(_ensure, directory, seed)
