"""Hostile records: hypothesis strategies, and a fixed dataset holding every bug class of issue 14.

Bounds (chosen so that every backend can store each value exactly, and documented here):

- strings: up to 8 characters from an alphabet of case pairs (a/A, é/É, ß/ẞ, ж/Ж, i/İ/dotless i,
  s/long s, the Kelvin sign, final and medial sigma: the letters whose case mappings are not
  one-to-one, see :mod:`differential.deviations`), an emoji (4-byte UTF-8), CJK, LIKE/regex
  metacharacters (``% _ \\ . *``), quotes, spaces, tab,
  newline and other control characters, but never NUL: PostgreSQL ``text`` cannot store U+0000;
  empty strings and values padded with trailing/leading spaces are frequent;
- ints: ``|i| <= 2**40`` in the data, so that a ``$sum`` of a dataset stays inside int64 on
  MongoDB (which turns an overflowing long sum into a double); filters use values up to and
  beyond int64;
- floats: finite, no subnormals, ``|f| <= 1e12`` (sums stay exact enough for a relative 1e-9);
- Decimals: at most 15 significant digits, at most 6 after the point, ``|d| < 10**9``, so that
  ``DECIMAL(30,10)`` on MariaDB, ``numeric`` on PostgreSQL, Decimal128 and SQLite's ``NUMERIC``
  affinity (a double) all hold them exactly;
- datetimes: 1900..2100, millisecond precision (MongoDB keeps milliseconds), naive (meaning UTC)
  or aware at UTC, +05:30 or -08:00; dates: 1900..2100;
- nested documents (``addr``): keys city/zip/n/flag/sub with str, int, float, bool, null or a
  nested document; ``zip`` is ``"10"`` next to ``10``;
- every optional field is a value, ``None`` (stored null in the oracle) or absent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

ALPHABET = [
    "a", "A", "b", "B", "c", "é", "É", "e", "E", "ß", "ẞ", "s", "S", "ж", "Ж", "i", "İ", "\u0131",
    "\u017f", "k", "\u212a", "\u03c3", "\u03c2",
    "中", "😀", "%", "_", "\\", ".", "*", "'", '"', " ", "\t", "\n", "\x01", "\x1f", "\x7f",
]  # fmt: skip
TZS = [
    None,
    dt.UTC,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(-dt.timedelta(hours=8)),
]

base_text = st.text(alphabet=st.sampled_from(ALPHABET), max_size=6)
texts = st.one_of(
    base_text,
    st.sampled_from(["", " ", "abc", "abc ", " abc", "ABC", "Abc", "abc\n", "é", "É", "ß", "SS"]),
    st.builds(lambda s, pad: s + pad, base_text, st.sampled_from([" ", "  ", "\t", "\n"])),
)
tag_texts = st.sampled_from(["a", "A", "a ", "é", "É", "ß", "", "b", "中", "x%", "10"])
ints = st.one_of(
    st.integers(-3, 3),
    st.integers(-(2**40), 2**40),
    st.sampled_from([0, 1, 2, 10, -1, 2**31, -(2**31) - 1, 2**40]),
)
floats = st.one_of(
    st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    st.sampled_from([0.0, 1.0, 1.5, 2.5, -0.5, 0.1, 0.2, 10.0, 1e-6]),
)
decimals = st.one_of(
    st.decimals(
        min_value=Decimal("-999999999"),
        max_value=Decimal("999999999"),
        places=6,
        allow_nan=False,
        allow_infinity=False,
    ).filter(lambda d: len(d.normalize().as_tuple().digits) <= 15),
    st.sampled_from([Decimal("0"), Decimal("1.5"), Decimal("1.50"), Decimal("0.1"), Decimal("10")]),
)


def _ms(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


datetimes = st.builds(
    lambda d, tz: _ms(d).replace(tzinfo=tz),
    st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 1, 1)),
    st.sampled_from(TZS),
) | st.sampled_from([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=dt.UTC)])
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)) | st.sampled_from(
    [dt.date(2024, 1, 1), dt.date(2023, 12, 31)]
)
nested_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.sampled_from([1.5, 10.0, -0.5]), tag_texts
)
addrs = st.fixed_dictionaries(
    {},
    optional={
        "city": st.one_of(texts, st.none()),
        "zip": st.sampled_from(["10", 10, 10.0, "010", 11, "11", None, True]),
        "n": nested_scalar,
        "flag": st.one_of(st.booleans(), st.none(), st.sampled_from([0, 1])),
        "sub": st.fixed_dictionaries({}, optional={"k": nested_scalar}),
    },
)

OPTIONAL = {
    "s": texts,
    "i": ints,
    "f": floats,
    "d": decimals,
    "b": st.booleans(),
    "ts": datetimes,
    "day": dates,
    "tags": st.lists(tag_texts, max_size=3),
    "nums": st.lists(st.integers(-3, 3) | st.sampled_from([10, 2**40]), max_size=3),
    "addr": addrs,
}


@st.composite
def records(draw: st.DrawFn, ident: int) -> dict[str, Any]:
    """One record with id ``ident``: each optional field a value, ``None`` or absent."""
    rec: dict[str, Any] = {"id": ident}
    for name, strategy in OPTIONAL.items():
        state = draw(st.sampled_from(["value", "value", "value", "null", "absent"]))
        if state == "value":
            rec[name] = draw(strategy)
        elif state == "null":
            rec[name] = None
    return rec


@st.composite
def datasets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """12 to 30 records with ids 1..n."""
    n = draw(st.integers(12, 30))
    return [draw(records(i)) for i in range(1, n + 1)]


def _order(i: int) -> dict[str, Any]:
    return {"id": 1000 + i, "ref": i % 9, "amt": (i * 7) % 5, "label": ["x", "X", "x ", "é"][i % 4]}


ORDERS = [_order(i) for i in range(1, 16)] + [{"id": 2000, "ref": None, "amt": None}]

# One record per bug class of issue 14 (and their neighbours), always loaded as dataset 0.
HOSTILE: list[dict[str, Any]] = [
    {"id": 1, "s": "abc", "i": 1, "f": 1.0, "d": Decimal("1.5"), "b": True,
     "ts": dt.datetime(2024, 1, 1, 12, 0, 0, 123000), "day": dt.date(2024, 1, 1),
     "tags": ["a", "é"], "nums": [1, 2], "addr": {"city": "Oslo", "zip": "10", "n": 1}},
    {"id": 2, "s": "abc ", "i": 2, "f": 2.5, "d": Decimal("2"), "b": False,
     "ts": dt.datetime(2023, 12, 31, 23, 0, tzinfo=dt.timezone(-dt.timedelta(hours=8))),
     "day": dt.date(2023, 12, 31), "tags": ["A"], "nums": [], "addr": {"city": "oslo", "zip": 10}},
    {"id": 3, "s": "ABC", "i": 0, "f": 0.0, "d": Decimal("0.1"), "b": None, "ts": None,
     "tags": ["a", "a "], "nums": [3], "addr": {"city": "Ös\u043b\u043e ", "zip": 10.0,
              "flag": True}},
    {"id": 4, "s": "abc\n", "i": -1, "f": -0.5, "d": Decimal("-1.50"), "b": True,
     "ts": dt.datetime(1969, 7, 20, 20, 17, 40, tzinfo=dt.UTC), "day": dt.date(1969, 7, 20),
     "tags": [], "nums": [1], "addr": {"sub": {"k": "10"}}},
    {"id": 5, "s": "", "i": 10, "f": 1.5, "b": False, "tags": ["ß"], "addr": {"zip": "010"}},
    {"id": 6, "s": "É", "i": 2**40, "f": 1e12, "d": Decimal("999999999"), "tags": ["É", "b"],
     "nums": [2**40], "addr": {"city": None, "n": 1.5}},
    {"id": 7, "s": "é", "i": 3, "f": 0.1, "d": Decimal("0.000001"), "b": True,
     "day": dt.date(2100, 1, 1), "tags": None, "addr": {"flag": 1, "n": "1"}},
    {"id": 8, "s": "ß", "i": None, "f": None, "d": None, "b": None,
     "ts": dt.datetime(2024, 1, 1), "day": None, "nums": None, "addr": None},
    {"id": 9, "s": " x%_\\.*", "i": 1, "tags": ["x%"], "addr": {"city": "a_b", "zip": True}},
    {"id": 10, "s": "ẞ", "i": 2, "f": 2.0, "d": Decimal("2.000"), "b": False,
     "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "day": dt.date(2024, 1, 2), "tags": ["中"]},
    {"id": 11, "s": "SS", "i": -(2**40), "f": -1e12, "d": Decimal("-999999999"),
     "tags": ["a", "A", "a"], "nums": [-3, 3, 3], "addr": {"city": "\t tab", "n": True}},
    {"id": 12},
]  # fmt: skip
