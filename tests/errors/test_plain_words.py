"""Messages a person reads are sentences about their input: no enum repr, no parser internals; and the
expected refusals (4xx, a 503 that says why) are logged as warnings without a traceback."""

import logging

import pytest
from django.core.management import CommandError, call_command

from checks.sql_safety import UnsafeSQL, check_read_only

INTERNALS = ("CheckStatus", "TokenType", "<Token", "<class", "sqlglot", "Required keyword", "Error tokenizing")


def assert_plain(message: str) -> None:
    assert not [word for word in INTERNALS if word in message], message
    assert message.endswith("."), message


def test_a_status_that_contradicts_the_violations_names_both_values(client_a):
    response = client_a.post(
        "/api/v1/checks/results",
        {"check_id": "chk_orders", "status": "pass", "violations": 5, "threshold": 0},
        format="json",
    )

    assert response.status_code == 400
    message = response.json()["status"][0]
    assert message == "5 violations against threshold 0 make the status 'fail', not 'pass'."
    assert_plain(message)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT (", "something is missing after '(' (line 1, column 8)"),
        ("SELECT COUNT(*) FROM orders WHERE", "something is missing after 'WHERE' (line 1, column 33)"),
        ("SELECT * FROM", "a table name is missing after 'FROM' (line 1, column 13)"),
        ("SELECT )))", "')' is not expected there (line 1, column 8)"),
        ("SELECT 1 FROM t WHERE a IN (", "a closing ')' is missing (line 1, column 28)"),
        ("SELECT CASE WHEN 1 THEN 2 FROM t", "'END' is missing after CASE (line 1, column 25)"),
        ("SELECT 1\nFROM t\nWHERE x = 'open", "not closed or not valid (reading stopped at line 3, column 15)"),
        ('SELECT "unclosed', "a quoted string, quoted name, comment or literal is not closed"),
    ],
)
def test_sql_that_cannot_be_parsed_is_refused_in_words(sql, expected):
    with pytest.raises(UnsafeSQL) as refusal:
        check_read_only(sql, "postgres")

    assert expected in str(refusal.value)
    assert str(refusal.value).startswith("The SQL could not be")
    assert_plain(str(refusal.value))


def test_an_unknown_id_in_the_path_is_named_in_the_404(client_a):
    response = client_a.get("/api/v1/runs/no-such-run")

    assert response.status_code == 404
    assert response.json() == {"detail": "No run 'no-such-run' in this organization."}


@pytest.mark.django_db
def test_a_refused_key_name_is_a_sentence_not_a_list_repr():
    call_command("create_org", "acme")
    with pytest.raises(CommandError) as refusal:
        call_command("create_api_key", "acme", "x" * 500)
    assert "[" not in str(refusal.value) and "{" not in str(refusal.value)


def test_client_errors_are_warnings_without_tracebacks(client_a, caplog):
    with caplog.at_level(logging.INFO):
        client_a.post("/api/v1/runs/", {"pipeline_id": "nope", "status": "running"}, format="json")
        client_a.get("/api/v1/runs/no-such-run")
        client_a.post("/api/v1/billing/checkout", {"plan": "team"}, format="json")  # 503: billing not configured

    statuses = sorted(getattr(record, "status_code", 0) for record in caplog.records if record.name == "django.request")
    assert statuses == [400, 404]  # the 503 is logged once, by the handler, as a warning
    assert [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not [record for record in caplog.records if record.exc_info]
