"""The parser layer on its own: every dangerous string refused in every dialect, plain checks accepted.

No database: these run anywhere, in milliseconds."""

import pytest

from checks.sql_safety import (
    MAX_NESTING,
    MAX_SQL_LENGTH,
    UnsafeSQL,
    _is_forbidden_function,
    check_read_only,
    decode_unicode_escapes,
    normalize_name,
)
from tests.checks.corpus import DANGEROUS_SQL, FORBIDDEN_SPELLINGS, SAFE_SPELLINGS, SAFE_SQL

CONNECTION_TYPES = ["postgres", "sqlite", "snowflake", "bigquery"]


def test_the_corpus_is_large_enough():
    assert len(DANGEROUS_SQL) >= 30


@pytest.mark.parametrize("connection_type", CONNECTION_TYPES)
@pytest.mark.parametrize(("written_for", "sql"), DANGEROUS_SQL)
def test_dangerous_sql_is_refused_with_a_reason(connection_type, written_for, sql):
    with pytest.raises(UnsafeSQL) as refusal:
        check_read_only(sql, connection_type)
    assert str(refusal.value)


@pytest.mark.parametrize(("written_for", "sql"), SAFE_SQL)
def test_plain_checks_are_accepted(written_for, sql):
    types = CONNECTION_TYPES if written_for == "any" else [written_for]
    for connection_type in types:
        checked = check_read_only(sql, connection_type)
        assert not checked.sql.endswith(";")


def test_the_examples_of_the_reference_pipeline_are_accepted_in_bigquery():
    for sql in [
        "SELECT COUNT(*) AS violations FROM analytics.clean_orders "
        "WHERE loaded_at < CURRENT_TIMESTAMP - INTERVAL 1 DAY",
        "SELECT COUNT(*) AS violations FROM (SELECT order_id FROM analytics.clean_orders "
        "GROUP BY order_id HAVING COUNT(*) > 1)",
        "SELECT COUNT(*) AS violations FROM marts.orders_daily WHERE revenue < 0",
    ]:
        check_read_only(sql, "bigquery")


def test_reasons_name_what_was_found():
    with pytest.raises(UnsafeSQL, match="DELETE"):
        check_read_only("WITH d AS (DELETE FROM t RETURNING *) SELECT COUNT(*) FROM d", "postgres")
    with pytest.raises(UnsafeSQL, match="exactly one statement"):
        check_read_only("SELECT 1; SELECT 2", "postgres")
    with pytest.raises(UnsafeSQL, match="pg_read_file"):
        check_read_only("SELECT pg_read_file('/etc/passwd')", "postgres")


def test_overlong_sql_and_unknown_types_are_refused():
    with pytest.raises(UnsafeSQL, match="longer"):
        check_read_only("SELECT " + "1 + " * MAX_SQL_LENGTH + "1", "postgres")
    with pytest.raises(UnsafeSQL, match="Unknown connection type"):
        check_read_only("SELECT 1", "oracle")


# --- Forbidden functions, however they are spelled (issue: tenant-safe warehouse access, item 5) ---


@pytest.mark.parametrize(("dialect", "sql"), FORBIDDEN_SPELLINGS)
def test_every_spelling_of_a_forbidden_function_is_refused(dialect, sql):
    with pytest.raises(UnsafeSQL) as refusal:
        check_read_only(sql, dialect)
    assert str(refusal.value)


@pytest.mark.parametrize(("written_for", "sql"), SAFE_SPELLINGS)
def test_names_that_merely_contain_a_forbidden_word_and_common_functions_pass(written_for, sql):
    for connection_type in CONNECTION_TYPES if written_for == "any" else [written_for]:
        assert check_read_only(sql, connection_type).sql == sql.strip().rstrip(";").strip()


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (r"""SELECT U&"pg\005fread\005ffile"('/etc/passwd')""", "pg_read_file"),
        (r"""SELECT U&"pg!005fls!005fdir" UESCAPE '!' ('.')""", "pg_ls_dir"),
        ('SELECT "PG_CATALOG"."PG_LS_DIR"(\'.\')', "pg_ls_dir"),
        ("SELECT COUNT(*) FROM ts_stat('SELECT 1')", "ts_stat"),
        ("SELECT pg_advisory_lock(1)", "pg_advisory_lock"),
    ],
)
def test_the_refusal_names_the_decoded_function(sql, named):
    with pytest.raises(UnsafeSQL, match=f"calls {named}\\(\\)"):
        check_read_only(sql, "postgres")


def test_unicode_escaped_identifiers_and_strings_are_refused_whatever_they_decode_to():
    with pytest.raises(UnsafeSQL, match=r'U&"\.\.\." escaped identifier .*"orders"'):
        check_read_only(r'SELECT COUNT(*) FROM U&"\006frders"', "postgres")
    with pytest.raises(UnsafeSQL, match=r"U&'\.\.\.' escaped string"):
        check_read_only(r"SELECT COUNT(*) FROM orders WHERE note = U&'\0041'", "postgres")
    # With spaces it is a bitwise AND, in PostgreSQL as in sqlglot: nothing to refuse.
    check_read_only('SELECT COUNT(*) FROM orders WHERE u & "flags" = 1', "postgres")


def test_the_postgres_unicode_decoding_follows_the_server():
    assert decode_unicode_escapes(r"pg\005fread\+00005ffile") == "pg_read_file"
    assert decode_unicode_escapes("a!0041!!", "!") == "aA!"
    assert normalize_name('"PG_CATALOG"."PG_LS_DIR"') == "pg_ls_dir"
    assert normalize_name("`proj.region.EXTERNAL_QUERY`") == "external_query"


def test_a_backslash_before_a_quote_in_a_postgres_string_is_refused_with_a_way_out():
    with pytest.raises(UnsafeSQL, match=r"standard_conforming_strings.*E'"):
        check_read_only("SELECT COUNT(*) FROM orders WHERE note = 'C:\\'", "postgres")
    check_read_only("SELECT COUNT(*) FROM orders WHERE note = E'C:\\\\'", "postgres")


def test_the_deny_list_keeps_the_meaning_the_sqlite_authorizer_relies_on():
    for name in ["load_extension", "readfile", "pg_read_file", "pg_ls_logdir", "lo_import", "system$wait"]:
        assert _is_forbidden_function(name), name
    for name in ["lower", "coalesce", "pg_sleep", "lower_inc", "date_trunc", "count", "regexp_replace", "now"]:
        assert not _is_forbidden_function(name), name


# --- Nesting: a clear refusal before sqlglot recurses or backtracks, never a RecursionError ---


@pytest.mark.parametrize("connection_type", CONNECTION_TYPES)
@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 45, 200, 5000])
def test_sql_nested_beyond_the_limit_is_refused(connection_type, depth):
    with pytest.raises(UnsafeSQL, match=f"more than {MAX_NESTING} levels"):
        check_read_only("SELECT " + "(" * depth + "1" + ")" * depth, connection_type)


def test_sql_nested_up_to_the_limit_is_accepted():
    check_read_only("SELECT " + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING, "postgres")


def test_closing_brackets_hidden_in_strings_do_not_lower_the_count():
    sql = "SELECT " + "(')', " * 40 + "1" + ")" * 40
    with pytest.raises(UnsafeSQL, match="levels"):
        check_read_only(sql, "postgres")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "NOT " * 3000 + "true",
        "SELECT " + "- " * 5000 + "1",
        "SELECT " + "CASE WHEN true THEN " * 800 + "1" + " END" * 800,
    ],
    ids=["not", "minus", "case"],
)
def test_deep_shapes_without_brackets_are_refused_not_crashed(sql):
    with pytest.raises(UnsafeSQL, match="nested too deeply"):
        check_read_only(sql, "postgres")


@pytest.mark.parametrize(
    ("dialect", "opening", "closing"),
    [
        ("postgres", "ARRAY[", "]"),
        ("snowflake", "ARRAY[", "]"),
        ("bigquery", "STRUCT(", ")"),
        ("sqlite", "STRUCT(", ")"),
    ],
)
def test_nestings_that_make_sqlglot_backtrack_exponentially_are_refused_by_the_step_budget(dialect, opening, closing):
    # The budget counts parser steps, not seconds: "too intricate" means sqlglot was stopped, not left to backtrack.
    with pytest.raises(UnsafeSQL, match="too intricate"):
        check_read_only("SELECT " + opening * 20 + "1" + closing * 20, dialect)
