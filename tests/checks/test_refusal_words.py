"""The execute endpoint's refusal of SQL it cannot parse: a sentence about the SQL (tests/errors/test_plain_words.py
covers the wording of each parser error)."""

from tests.checks.factories import make_connection


def test_the_execute_endpoint_answers_the_sentence(client_a, org_a, sqlite_warehouse):
    make_connection(org_a, "shop", "sqlite", {"path": str(sqlite_warehouse)})

    response = client_a.post(
        "/api/v1/checks/execute", {"check_id": "c", "connection_id": "shop", "sql": "SELECT * FROM"}, format="json"
    )

    assert response.status_code == 400
    [message] = response.json()["sql"]
    assert message == (
        "The SQL could not be parsed as sqlite SQL, so it cannot be verified: "
        "a table name is missing after 'FROM' (line 1, column 13)."
    )
