"""DuckDB's messages quote record values: the scrubber hides them (a fixed table of real
messages, each kept as DuckDB 1.1-2.0 words it), keeping what helps fixing the problem."""

from __future__ import annotations

import pytest

from xresource.databases.value_scrub import HIDDEN, scrub_record_values

CASES = [
    (
        'Constraint Error: Duplicate key "api_token: tok-123" violates primary key constraint.',
        'Constraint Error: Duplicate key "…" violates primary key constraint.',
    ),
    (
        'Constraint Error: Duplicate key "a: x\\" violates, b: 2" violates unique constraint.',
        'Constraint Error: Duplicate key "…" violates unique constraint.',
    ),
    (
        'Constraint Error: Violates foreign key constraint because key "id: 5" does not exist in '
        "the referenced table",
        'Constraint Error: Violates foreign key constraint because key "…" does not exist in '
        "the referenced table",
    ),
    ('Duplicate key "token: cut sh', 'Duplicate key "…"'),
    (
        "Conversion Error: Could not convert string 'tok-123' to INT32",
        "Conversion Error: Could not convert string '…' to INT32",
    ),
    (
        "Conversion Error: Type VARCHAR with value 'pa's'sword' can't be cast to the destination "
        "type INT32",
        "Conversion Error: Type VARCHAR with value '…' can't be cast to the destination type INT32",
    ),
    (
        'Invalid Input Error: CSV Error on Line: 2\nOriginal Line: 1,"tok-secret\n\nValue with '
        "unterminated quote found.\n\nPossible fixes:\n* Set quote\n\n  file = x.csv",
        "Invalid Input Error: CSV Error on Line: 2\nOriginal Line: …\n\nPossible fixes:\n"
        "* Set quote\n\n  file = x.csv",
    ),
    ("Original Line: a,b,secret", "Original Line: …"),
    # Nothing quoted: unchanged.
    (
        "NOT NULL constraint failed: items.name",
        "NOT NULL constraint failed: items.name",
    ),
    (
        "Catalog Error: Table with name nope does not exist!",
        "Catalog Error: Table with name nope does not exist!",
    ),
]


@pytest.mark.parametrize(("message", "scrubbed"), CASES)
def test_duckdb_messages(message: str, scrubbed: str) -> None:
    assert scrub_record_values(message) == scrubbed
    assert scrub_record_values(scrubbed) == scrubbed  # idempotent
    for secret in ("tok-123", "tok-secret", "pa's", "secret"):
        if secret in message and HIDDEN in scrubbed:
            assert secret not in scrubbed
