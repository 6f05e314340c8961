"""The parser layer on its own: every dangerous string refused in every dialect, plain checks accepted."""

import pytest

from checks.sql_safety import MAX_SQL_LENGTH, UnsafeSQL, check_read_only
from tests.checks.corpus import DANGEROUS_SQL, SAFE_SQL

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
