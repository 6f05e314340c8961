"""Retention: each plan's history window, what the purge deletes and keeps, in bounded batches, per organization."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Pipeline, Run, RunStatus
from checks.models import CheckExecution, CheckResult, ExecutionState
from config.env import env_days_or_unlimited
from lineage.models import OpenLineageEvent
from orgs import limits
from orgs.models import Plan, Role
from workflows import retention, tasks

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FREE_CUTOFF = NOW - timedelta(days=30)
OLD = FREE_CUTOFF - timedelta(seconds=1)
RECENT = FREE_CUTOFF + timedelta(seconds=1)


class History:
    """Rows of one organization, each dated on the clock the purge reads (tests read with unscoped())."""

    def __init__(self, organization):
        self.organization = organization
        self.pipeline = Pipeline.objects.create(organization=organization, name="orders")
        self.n = 0

    def _next(self, prefix):
        self.n += 1
        return f"{prefix}-{self.n}"

    def run(self, at, status=RunStatus.SUCCESS, parent=None, name=None):
        run = Run.objects.create(
            organization=self.organization,
            pipeline=self.pipeline,
            run_id=name or self._next("run"),
            status=status,
            parent=parent,
            finished_at=at if status in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED) else None,
        )
        Run.objects.unscoped().filter(pk=run.pk).update(updated_at=at, created_at=at)
        return run

    def result(self, at, run=None, name=None):
        result = CheckResult.objects.create(
            organization=self.organization,
            result_id=name or self._next("result"),
            check_id="not_null",
            status="pass",
            run=run,
            executed_at=at,
        )
        CheckResult.objects.unscoped().filter(pk=result.pk).update(created_at=at)
        return result

    def execution(self, at, state=ExecutionState.DONE, result=None):
        finished = state in (ExecutionState.DONE, ExecutionState.ERROR)
        execution = CheckExecution.objects.create(
            organization=self.organization,
            execution_id=f"{self.organization.slug}-{self._next('exec')}",
            check_id="not_null",
            state=state,
            result=result,
            finished_at=at if finished else None,
        )
        CheckExecution.objects.unscoped().filter(pk=execution.pk).update(created_at=at)
        return execution

    def event(self, at, event_time=None):
        return OpenLineageEvent.objects.create(
            organization=self.organization,
            run_id=self._next("ol"),
            event_type="COMPLETE",
            event_time=event_time or at,
            payload={"eventType": "COMPLETE"},
            received_at=at,
        )


def exists(row):
    return type(row).objects.unscoped().filter(pk=row.pk).exists()


def reload(row):
    return type(row).objects.unscoped().get(pk=row.pk)


# --- Windows ------------------------------------------------------------------------------------


def test_default_windows_free_30_days_team_400_enterprise_unlimited():
    assert limits.history_days_for_plan(Plan.FREE) == 30
    assert limits.history_days_for_plan(Plan.TEAM) == 400
    assert limits.history_days_for_plan(Plan.ENTERPRISE) is None


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 30), ("", None), ("0", None), (" 0 ", None), ("90", 90), ("3650", 3650)]
)
def test_history_days_override_unset_keeps_default_empty_or_zero_is_unlimited(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("PLAN_FREE_HISTORY_DAYS", raising=False)
    else:
        monkeypatch.setenv("PLAN_FREE_HISTORY_DAYS", raw)
    assert env_days_or_unlimited("PLAN_FREE_HISTORY_DAYS", 30) == expected


@pytest.mark.parametrize("raw", ["-1", "thirty", "1e3"])
def test_a_bad_history_days_override_stops_start_up_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("PLAN_TEAM_HISTORY_DAYS", raw)
    with pytest.raises(ImproperlyConfigured, match="PLAN_TEAM_HISTORY_DAYS"):
        env_days_or_unlimited("PLAN_TEAM_HISTORY_DAYS", 400)


def test_an_overridden_window_is_the_one_purged_by(make_org, settings):
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "team": {**settings.PLAN_LIMITS["team"], "history_days": 7}}
    history = History(make_org("acme", plan=Plan.TEAM))
    eight_days, six_days = history.run(NOW - timedelta(days=8)), history.run(NOW - timedelta(days=6))

    outcome = retention.purge_organization(history.organization, now=NOW)

    assert outcome.cutoff == NOW - timedelta(days=7)
    assert (exists(eight_days), exists(six_days)) == (False, True)


# --- What goes, what stays ---------------------------------------------------------------------


def test_rows_older_than_the_window_are_purged_and_the_boundary_is_kept(make_org):
    history = History(make_org("acme", plan=Plan.FREE))
    old = [history.run(OLD), history.result(OLD), history.execution(OLD), history.event(OLD)]
    at_cutoff = [history.run(FREE_CUTOFF), history.result(FREE_CUTOFF), history.execution(FREE_CUTOFF)]
    at_cutoff.append(history.event(FREE_CUTOFF))
    recent = [history.run(RECENT), history.result(RECENT), history.execution(RECENT), history.event(RECENT)]

    outcome = retention.purge_organization(history.organization, now=NOW)

    assert outcome.counts == {
        "check_executions": 1,
        "check_results": 1,
        "runs": 1,
        "openlineage_events": 1,
        "alerts": 0,
        "alert_delivery_attempts": 0,
    }
    assert [exists(row) for row in old] == [False] * 4
    assert [exists(row) for row in at_cutoff + recent] == [True] * 8


def test_rows_age_by_the_catalogs_clock_not_a_time_the_producer_sent(make_org):
    """A producer dating its run and event 2099 cannot keep them past the window."""
    history = History(make_org("acme", plan=Plan.FREE))
    run = history.run(OLD)
    Run.objects.unscoped().filter(pk=run.pk).update(finished_at=datetime(2099, 1, 1, tzinfo=UTC))
    event = history.event(OLD, event_time=datetime(2099, 1, 1, tzinfo=UTC))
    result = history.result(OLD)
    CheckResult.objects.unscoped().filter(pk=result.pk).update(executed_at=datetime(2099, 1, 1, tzinfo=UTC))

    retention.purge_organization(history.organization, now=NOW)

    assert (exists(run), exists(event), exists(result)) == (False, False, False)


@pytest.mark.parametrize("status", [RunStatus.RUNNING, RunStatus.QUEUED])
def test_a_run_not_finished_is_never_purged_however_old(make_org, status):
    history = History(make_org("acme", plan=Plan.FREE))
    unfinished = history.run(NOW - timedelta(days=3000), status=status)
    finished = history.run(OLD, status=RunStatus.FAILED)

    retention.purge_organization(history.organization, now=NOW)

    assert (exists(unfinished), exists(finished)) == (True, False)


@pytest.mark.parametrize("state", [ExecutionState.QUEUED, ExecutionState.DISPATCHED, ExecutionState.RUNNING])
def test_an_execution_in_flight_is_never_purged(make_org, state):
    history = History(make_org("acme", plan=Plan.FREE))
    in_flight = history.execution(NOW - timedelta(days=3000), state=state)
    errored = history.execution(OLD, state=ExecutionState.ERROR)

    retention.purge_organization(history.organization, now=NOW)

    assert (exists(in_flight), exists(errored)) == (True, False)


def test_what_stays_loses_its_link_to_what_went_and_nothing_else(make_org):
    history = History(make_org("acme", plan=Plan.FREE))
    dag_run = history.run(OLD)
    old_task = history.run(OLD, parent=dag_run)
    recent_task = history.run(RECENT, parent=dag_run)
    old_result = history.result(OLD, run=dag_run)
    recent_result_of_old_run = history.result(RECENT, run=dag_run)
    recent_run = history.run(RECENT)
    recent_result = history.result(RECENT, run=recent_run)
    recent_execution_of_old_result = history.execution(RECENT, result=old_result)
    old_execution = history.execution(OLD, result=recent_result)

    retention.purge_organization(history.organization, now=NOW)

    assert [exists(row) for row in (dag_run, old_task, old_result, old_execution)] == [False] * 4
    assert reload(recent_task).parent_id is None
    assert reload(recent_result_of_old_run).run_id is None
    assert reload(recent_execution_of_old_result).result_id is None
    assert reload(recent_result).run_id == recent_run.pk


def test_a_second_pass_purges_nothing_and_a_dry_run_deletes_nothing(make_org):
    history = History(make_org("acme", plan=Plan.FREE))
    old = [history.run(OLD), history.run(OLD), history.result(OLD), history.event(OLD)]

    dry = retention.purge_organization(history.organization, now=NOW, dry_run=True)
    assert dry.counts == {
        "check_executions": 0,
        "check_results": 1,
        "runs": 2,
        "openlineage_events": 1,
        "alerts": 0,
        "alert_delivery_attempts": 0,
    }
    assert all(exists(row) for row in old)

    assert retention.purge_organization(history.organization, now=NOW).total == 4
    assert retention.purge_organization(history.organization, now=NOW).total == 0


def test_an_enterprise_organization_keeps_everything_while_a_free_ones_is_purged(make_org):
    free, team, enterprise = (
        History(make_org("free-org", plan=Plan.FREE)),
        History(make_org("team-org", plan=Plan.TEAM)),
        History(make_org("big-org", plan=Plan.ENTERPRISE)),
    )
    ancient = NOW - timedelta(days=5000)
    hundred_days = NOW - timedelta(days=100)
    kept = [enterprise.run(ancient), enterprise.result(ancient), enterprise.execution(ancient)]
    kept += [enterprise.event(ancient)]
    kept += [team.run(hundred_days), team.result(hundred_days), team.event(hundred_days)]
    team_ancient = team.run(ancient)
    gone = [free.run(hundred_days), free.result(hundred_days), free.execution(hundred_days), free.event(hundred_days)]

    outcomes = {outcome.organization: outcome for outcome in retention.purge_history(now=NOW)}

    assert set(outcomes) == {"free-org", "team-org"}  # enterprise has no window: not even visited
    assert outcomes["free-org"].total == 4
    assert outcomes["team-org"].counts["runs"] == 1
    assert all(exists(row) for row in kept)
    assert not any(exists(row) for row in gone) and not exists(team_ancient)


def test_purging_one_organization_never_touches_anothers_rows_of_the_same_age(make_org):
    acme, other = History(make_org("acme", plan=Plan.FREE)), History(make_org("other", plan=Plan.FREE))
    theirs = [other.run(OLD), other.result(OLD), other.execution(OLD), other.event(OLD)]
    acme.run(OLD, parent=theirs[0])  # a cross-tenant link can only come from a bug; it must not widen the purge

    assert retention.purge_organization(acme.organization, now=NOW).counts["runs"] == 1
    assert all(exists(row) for row in theirs)


# --- Bounded batches ----------------------------------------------------------------------------


class DeleteStatements:
    """Rows named by each DELETE of a table (an IN list, or one array parameter on PostgreSQL)."""

    def __init__(self, table):
        self.table, self.rows = table, []

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith("DELETE") and self.table in sql:
            ids = params[-1] if isinstance(params[-1], list) else params[1:]
            self.rows.append(len(ids))
        return execute(sql, params, many, context)


def test_the_purge_deletes_in_bounded_batches_with_a_pause_between_them(make_org):
    history = History(make_org("acme", plan=Plan.FREE))
    for _ in range(25):
        history.run(OLD)
    pauses, deletes = [], DeleteStatements("catalog_run")

    with connection.execute_wrapper(deletes):
        outcome = retention.purge_organization(
            history.organization, now=NOW, batch_rows=10, pause_seconds=0.25, sleep=pauses.append
        )

    assert outcome.counts["runs"] == 25
    assert deletes.rows == [10, 10, 5]  # one statement per batch, at most batch_rows rows each
    assert pauses == [0.25, 0.25]  # between full batches, none after the last one


def test_the_statements_per_batch_do_not_grow_with_the_rows_a_batch_holds(make_org):
    def statements(rows):
        history = History(make_org(plan=Plan.FREE))
        dag = history.run(OLD)
        for _ in range(rows):
            history.result(OLD, run=history.run(OLD, parent=dag))
        with CaptureQueriesContext(connection) as queries:
            retention.purge_organization(history.organization, now=NOW, batch_rows=1000, sleep=lambda _: None)
        return len(queries.captured_queries)

    assert statements(3) == statements(40)


def test_the_periodic_task_purges_every_organization_and_beat_runs_it_hourly(make_org, settings):
    settings.RETENTION_BATCH_PAUSE_MS = 0
    history = History(make_org("acme", plan=Plan.FREE))
    history.run(NOW - timedelta(days=31 + 365))
    history.event(NOW - timedelta(days=31 + 365))

    assert tasks.purge_history() == 2
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-history"]
    assert (entry["task"], entry["schedule"]) == (tasks.purge_history.name, 3600.0)


# --- The command --------------------------------------------------------------------------------


def _command(*args):
    out = StringIO()
    call_command("purge_history", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_counts_and_dry_run_keeps_the_rows(make_org, settings):
    settings.RETENTION_BATCH_PAUSE_MS = 0
    history = History(make_org("acme", plan=Plan.FREE))
    enterprise = History(make_org("big", plan=Plan.ENTERPRISE))
    year_ago = datetime.now(UTC) - timedelta(days=365)
    run, kept = history.run(year_ago), enterprise.run(year_ago)

    dry = _command("--organization", "acme", "--dry-run")
    assert "acme: would purge check_executions 0, check_results 0, runs 1, openlineage_events 0" in dry
    assert exists(run)

    assert "big: plan keeps all history" in _command("--organization", "big")
    output = _command()
    assert "acme: purged check_executions 0, check_results 0, runs 1, openlineage_events 0" in output
    assert "total purged: 1 rows" in output
    assert (exists(run), exists(kept)) == (False, True)


def test_the_command_refuses_an_unknown_organization(db):
    with pytest.raises(CommandError, match="nope"):
        _command("--organization", "nope")


# --- organizations/me ---------------------------------------------------------------------------


@pytest.mark.parametrize(("plan", "days"), [(Plan.FREE, 30), (Plan.TEAM, 400), (Plan.ENTERPRISE, None)])
def test_organizations_me_shows_the_window_and_its_cutoff(make_org, make_client, plan, days):
    organization = make_org("acme", plan=plan)
    before = datetime.now(UTC)

    body = make_client(organization, Role.READ).get("/api/v1/organizations/me").json()

    assert body["limits"]["history_days"] == days
    if days is None:
        assert body["history_cutoff"] is None
    else:
        cutoff = datetime.fromisoformat(body["history_cutoff"].replace("Z", "+00:00"))
        assert before - timedelta(days=days) <= cutoff <= datetime.now(UTC) - timedelta(days=days)
    assert {"slug", "plan", "role", "limits", "usage", "usage_period", "billing", "created_at"} <= set(body)
