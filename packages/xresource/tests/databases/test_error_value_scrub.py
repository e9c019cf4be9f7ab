"""Record values never leave in a database error (issue 16), and identifiers MariaDB/MySQL,
PostgreSQL and SQLite cannot take are refused by name before the server is called.

The messages below are the servers' own wording, copied from PostgreSQL 15, MariaDB 10.11,
MongoDB 6 and asyncpg; the integration suites check the same on the real servers.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xresource import XResourceIntegrityError, XResourceValidationError
from xresource.databases import MYSQL, POSTGRESQL, SQLITE
from xresource.databases.mysql import _escape_identifier_percent, _escape_many
from xresource.databases.value_scrub import HIDDEN, raise_alone, scrub_record_values

SECRET = "tok-SECRET-ÄÖ-123"

#: (server message with {v} for the value, what it must read after scrubbing)
MESSAGES = [
    (
        'duplicate key value violates unique constraint "acc_api_token_key"\n'
        "DETAIL:  Key (api_token)=({v}) already exists.",
        'duplicate key value violates unique constraint "acc_api_token_key"\n'
        "DETAIL:  Key (api_token)=(…) already exists.",
    ),
    (
        'DETAIL:  Key (owner_id)=({v}) is not present in table "owners".',
        'DETAIL:  Key (owner_id)=(…) is not present in table "owners".',
    ),
    (
        'DETAIL:  Key (id)=({v}) is still referenced from table "orders".',
        'DETAIL:  Key (id)=(…) is still referenced from table "orders".',
    ),
    (
        "DETAIL:  Key (room, during)=({v}) conflicts with existing key (room, during)=({v}).",
        "DETAIL:  Key (room, during)=(…) conflicts with existing key (room, during)=(…).",
    ),
    (
        'new row for relation "acc" violates check constraint "acc_n_check"\n'
        "DETAIL:  Failing row contains (1, {v}, null).",
        'new row for relation "acc" violates check constraint "acc_n_check"\n'
        "DETAIL:  Failing row contains (…).",
    ),
    ('invalid input syntax for type integer: "{v}"', 'invalid input syntax for type integer: "…"'),
    ('invalid input value for enum mood: "{v}"', 'invalid input value for enum mood: "…"'),
    ('value "{v}" is out of range for type integer', 'value "…" is out of range for type integer'),
    (
        'invalid input syntax for type json\nDETAIL:  Token "{v}" is invalid.',
        'invalid input syntax for type json\nDETAIL:  Token "…" is invalid.',
    ),
    (
        "invalid input for query argument $2: '{v}' ('str' object cannot be interpreted as an "
        "integer)",
        "invalid input for query argument $2: … ('str' object cannot be interpreted as an integer)",
    ),
    (
        "invalid input for query argument $1: '{v}' (could not convert string to float: '{v}')",
        "invalid input for query argument $1: … (…)",
    ),
    ("Duplicate entry '{v}' for key 'api_token'", "Duplicate entry '…' for key 'api_token'"),
    (
        "Incorrect integer value: '{v}' for column `test`.`acc`.`n` at row 1",
        "Incorrect integer value: '…' for column `test`.`acc`.`n` at row 1",
    ),
    (
        "Incorrect datetime value: '{v}' for column `test`.`acc`.`d` at row 1",
        "Incorrect datetime value: '…' for column `test`.`acc`.`d` at row 1",
    ),
    ("Truncated incorrect DOUBLE value: '{v}'", "Truncated incorrect DOUBLE value: '…'"),
    (
        "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB "
        "server version for the right syntax to use near '{v}' at line 1",
        "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB "
        "server version for the right syntax to use near '…' at line 1",
    ),
    (
        "E11000 duplicate key error collection: test.acc index: api_token_1 dup key: "
        '{{ api_token: "{v}" }}',
        "E11000 duplicate key error collection: test.acc index: api_token_1 dup key: { … }",
    ),
]

#: Messages that quote no value stay exactly as they are.
CLEAN = [
    "UNIQUE constraint failed: acc.api_token",
    "Data too long for column 'name' at row 1",
    "Out of range value for column 't' at row 1",
    'null value in column "x" of relation "acc" violates not-null constraint',
    "CONSTRAINT `ck` failed for `test`.`acc`",
    "Table 'test.acc' doesn't exist",
    'relation "public.acc" does not exist',
    "",
]


@pytest.mark.parametrize(("template", "expected"), MESSAGES)
def test_each_servers_message_loses_the_value_and_keeps_the_names(
    template: str, expected: str
) -> None:
    scrubbed = scrub_record_values(template.format(v=SECRET))
    assert scrubbed == expected
    assert SECRET not in scrubbed
    assert scrub_record_values(scrubbed) == scrubbed  # idempotent: safe to apply at every layer


@pytest.mark.parametrize("message", CLEAN)
def test_messages_without_values_are_unchanged(message: str) -> None:
    assert scrub_record_values(message) == message


def test_mongo_duplicate_key_keeps_the_key_names_when_known() -> None:
    text = f'E11000 duplicate key error index: t_1 dup key: {{ tenant: 3, token: "{SECRET}" }}'
    assert scrub_record_values(text, key_names=["tenant", "token"]).endswith(
        "dup key: { tenant: …, token: … }"
    )


def test_a_wrong_type_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="expects a string, got bytes"):
        scrub_record_values(b"Duplicate entry 'x'")  # type: ignore[arg-type]


# Values that try to end the quoted span early: quotes, parentheses, the suffix the pattern looks
# for, newlines, non-ASCII, whitespace only.
_TRICKY = st.sampled_from(
    ["'", '"', ")", "(", ") already exists", "' for key '", "\n", " ", "}", "…", "Ä", "x"]
)
secrets = st.lists(st.one_of(_TRICKY, st.text(min_size=1, max_size=8)), min_size=1).map("".join)


@settings(max_examples=300, deadline=None)
@given(value=secrets, case=st.sampled_from(MESSAGES))
def test_no_value_survives_whatever_it_holds(value: str, case: tuple[str, str]) -> None:
    marked = f"SECRET{value}SECRET"  # recognisable, and the value's own text cannot remove it
    scrubbed = scrub_record_values(case[0].format(v=marked))
    assert "SECRET" not in scrubbed
    assert HIDDEN in scrubbed


def test_raise_alone_drops_cause_and_context() -> None:
    def translate() -> None:
        try:
            raise ValueError(f"Duplicate entry '{SECRET}'")
        except ValueError:
            raise_alone(XResourceIntegrityError("constraint violated: Duplicate entry '…'"))

    with pytest.raises(XResourceIntegrityError) as caught:
        translate()
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


# -- identifiers ----------------------------------------------------------------------------------
def test_percent_in_backtick_identifiers_is_doubled_for_the_driver() -> None:
    sql = "SELECT `growth %` AS `a%sb`, 'x%%' FROM `t%` WHERE `c` = %s -- `c%`\n"
    assert _escape_identifier_percent(sql) == (
        "SELECT `growth %%` AS `a%%sb`, 'x%%' FROM `t%%` WHERE `c` = %s -- `c%`\n"
    )
    # Backticks inside string literals and comments do not start an identifier.
    tricky = "SELECT '`%' AS `x%`, /* `%` */ \"a`%\" FROM `a``%b`"
    assert _escape_identifier_percent(tricky) == (
        "SELECT '`%' AS `x%%`, /* `%` */ \"a`%\" FROM `a``%%b`"
    )
    # The driver formats the result back to what was written.
    assert _escape_identifier_percent("SELECT `t%` WHERE a = %s") % ("1",) == (
        "SELECT `t%` WHERE a = 1"
    )


def test_executemany_escapes_the_insert_prefix_only() -> None:
    sql = "INSERT INTO `t%` (`a%`) VALUES (%s) ON DUPLICATE KEY UPDATE `a%` = VALUES(`a%`)"
    assert _escape_many(sql) == (
        "INSERT INTO `t%%` (`a%%`) VALUES (%s) ON DUPLICATE KEY UPDATE `a%` = VALUES(`a%`)"
    )
    assert _escape_many("UPDATE `t%` SET a = %s") == "UPDATE `t%%` SET a = %s"


@pytest.mark.parametrize(
    "name", ["growth %", "a b", "a`b", "a'b", 'a"b', "?", ":name", "$1", "{}", "%s", "Ää 名前"]
)
def test_odd_but_legal_names_are_quoted_everywhere(name: str) -> None:
    for dialect in (MYSQL, POSTGRESQL, SQLITE):
        quoted = dialect.quote(name)
        q = dialect.quote_char
        assert quoted == q + name.replace(q, q + q) + q


def test_postgresql_counts_bytes_because_it_cuts_longer_names() -> None:
    assert POSTGRESQL.quote("é" * 31)  # 62 bytes
    with pytest.raises(XResourceValidationError, match=r"longer than 63 bytes.*postgresql"):
        POSTGRESQL.quote("é" * 32)  # 32 characters, 64 bytes
    assert SQLITE.quote("é" * 64)  # characters there
    assert MYSQL.quote("é" * 64)


def test_mysql_refuses_what_the_server_cannot_take_naming_it() -> None:
    with pytest.raises(XResourceValidationError, match=r"'x😀'.*beyond U\+FFFF.*mysql"):
        MYSQL.quote("x😀")
    assert POSTGRESQL.quote("x😀") == '"x😀"'
    assert SQLITE.quote("x😀") == '"x😀"'
    # The server strips a leading space from an output name: refused as an alias only.
    assert MYSQL.quote(" lead") == "` lead`"
    with pytest.raises(XResourceValidationError, match=r"' lead' starts with a space"):
        MYSQL.quote_alias(" lead")
    assert POSTGRESQL.quote_alias(" lead") == '" lead"'


@pytest.mark.parametrize("bad", ["", "a\x00b", "tab\there", "\ud800x", 3, None])
def test_hostile_identifiers_are_clear_errors(bad: object) -> None:
    for dialect in (MYSQL, POSTGRESQL, SQLITE):
        with pytest.raises(XResourceValidationError, match="SQL identifier"):
            dialect.quote(bad)  # type: ignore[arg-type]
