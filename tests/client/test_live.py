"""The client and the CLI against a live catalog (gunicorn on a real database)."""

import json

import pytest
from dataxpipe import ApiError, Client

from tests.client.conftest import pipeline_spec, run_cli


@pytest.fixture
def client(live):
    return Client(live.url, live.api_key, 10)


def test_organization_pipelines_connections_and_lineage(client):
    assert client.organization_me()["slug"] == "clientorg"
    assert client.get_pipeline("client_orders")["schedule"] == "0 6 * * *"
    assert "client_orders" in [p["name"] for p in client.list_pipelines()["results"]]
    assert client.get_connection("wh")["type"] == "sqlite"
    graph = client.lineage("clean_orders", direction="upstream")
    assert [node["dataset_id"] for node in graph["nodes"] if node["dataset_id"] == "raw_orders"] == ["raw_orders"]


def test_register_is_idempotent_for_the_same_spec(client):
    first = client.register_pipeline(pipeline_spec("client_idem"))
    again = client.register_pipeline(pipeline_spec("client_idem"))
    assert first["spec_hash"] == again["spec_hash"]


def test_run_events_are_idempotent_by_run_id(client):
    started = client.start_run("client_orders", "client-run-1")
    assert started["status"] == "running"
    assert client.start_run("client_orders", "client-run-1")["run_id"] == "client-run-1"  # replay: same run
    finished = client.finish_run("client-run-1", "success")
    assert finished["status"] == "success" and finished["finished_at"]
    runs = client.pipeline_runs("client_orders")["results"]
    assert [run["run_id"] for run in runs].count("client-run-1") == 1


def test_a_run_without_an_id_gets_a_fresh_one(client):
    assert client.start_run("client_orders")["run_id"] != client.start_run("client_orders")["run_id"]


def test_bad_input_is_an_api_error_with_field_messages(client):
    with pytest.raises(ApiError) as raised:
        client.run_event("no_such_pipeline", "running", "r-unknown")
    assert raised.value.status == 400 and "pipeline_id" in raised.value.body
    with pytest.raises(ApiError) as raised:
        client.get_pipeline("no_such_pipeline")
    assert raised.value.status == 404


def test_execute_a_defined_check_and_post_a_result(client):
    client.start_run("client_orders", "client-run-checks")
    failed = client.execute_check("chk_order_id_unique", run_id="client-run-checks")
    assert (failed["status"], failed["violations"], failed["severity"]) == ("fail", 1, "error")
    posted = client.post_check_result("chk_amount_positive", violations=0, run_id="client-run-checks")
    assert posted["status"] == "pass"
    results = client.check_results(run_id="client-run-checks")["results"]
    assert {result["check_id"] for result in results} == {"chk_order_id_unique", "chk_amount_positive"}
    assert client.get_check_result(posted["result_id"])["check_id"] == "chk_amount_positive"


def test_execute_replays_a_known_result_id_without_running_again(client):
    first = client.execute_check("chk_amount_positive", result_id="client-res-fixed")
    again = client.execute_check("chk_amount_positive", result_id="client-res-fixed")
    assert first == again


def test_cli_run_lifecycle_and_whoami(live):
    env = live.env()
    started = run_cli("runs", "start", "client_orders", "--run-id", "cli-run-1", env=env)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "cli-run-1"
    finished = run_cli("--json", "runs", "finish", "cli-run-1", "--status", "failed", env=env)
    assert json.loads(finished.stdout)["status"] == "failed"
    whoami = run_cli("whoami", env=env)
    assert "clientorg" in whoami.stdout and "enterprise" in whoami.stdout


def test_cli_register(live, tmp_path):
    spec = tmp_path / "pipeline.json"
    spec.write_text(json.dumps(pipeline_spec("client_cli_registered")))
    answer = run_cli("pipelines", "register", str(spec), "--json", env=live.env())
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["name"] == "client_cli_registered"


def test_cli_check_exit_code_follows_error_severity(live, tmp_path):
    env = live.env()
    sql = tmp_path / "dupes.sql"
    sql.write_text(
        "SELECT COUNT(*) AS violations FROM (SELECT order_id FROM clean_orders GROUP BY 1 HAVING COUNT(*) > 1)"
    )
    failing = run_cli(
        "checks", "execute", "--connection", "wh", "--sql-file", str(sql), "--check-id", "chk_order_id_unique", env=env
    )
    assert failing.returncode == 1
    assert failing.stdout.startswith("fail") and "error-severity check chk_order_id_unique fail" in failing.stderr
    # The definition's connection and SQL, of the named pipeline.
    warn = run_cli("checks", "execute", "--check-id", "chk_amount_positive", "--pipeline", "client_orders", env=env)
    assert warn.returncode == 0, warn.stderr
    listed = run_cli("checks", "results", "--status", "fail", "--json", env=env)
    assert all(result["status"] == "fail" for result in json.loads(listed.stdout)["results"])


def test_cli_lineage_tree(live):
    answer = run_cli("lineage", "clean_orders", env=live.env())
    assert answer.returncode == 0, answer.stderr
    lines = answer.stdout.splitlines()
    assert lines[0] == "clean_orders (wh clean_orders)"
    assert "upstream:" in lines
    upstream = lines[lines.index("upstream:") + 1]
    assert upstream.startswith("  └── raw_orders (wh raw_orders)  [") and "client_orders" in upstream


def test_cli_refusal_shows_field_messages_and_exits_2(live):
    answer = run_cli("runs", "start", "no_such_pipeline", env=live.env())
    assert answer.returncode == 2
    assert "answered 400" in answer.stderr and "pipeline_id: No pipeline named 'no_such_pipeline'" in answer.stderr
    assert live.api_key not in answer.stderr + answer.stdout


def test_cli_read_key_cannot_write(live):
    answer = run_cli("runs", "start", "client_orders", env=live.env(DATAXPIPE_API_KEY=live.read_key))
    assert answer.returncode == 2 and "answered 403" in answer.stderr


def test_cli_without_configuration(live):
    answer = run_cli("whoami", env={})
    assert answer.returncode == 2 and "DATAXPIPE_URL is not set" in answer.stderr
