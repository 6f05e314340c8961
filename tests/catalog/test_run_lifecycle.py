"""catalog.services.apply_run_event: the one run state machine (service level, every rule)."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Run
from catalog.services import Conflict, apply_run_event
from orgs.api.exceptions import domain_status
from orgs.models import UsageCounter

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def pipeline(org_a, register, example_spec):
    return register(org_a, example_spec).pipeline


@pytest.fixture
def event(org_a, pipeline):
    def event(status, run_id="run-1", **kwargs):
        return apply_run_event(organization=org_a, pipeline=pipeline, status=status, run_id=run_id, **kwargs)

    return event


def runs_counted(org):
    counter = UsageCounter.objects.unscoped().filter(organization=org, metric="runs_per_month").first()
    return counter.value if counter else 0


def test_first_event_creates_the_run_with_the_current_version(event, org_a):
    outcome = event("running", started_at=T0)
    assert outcome.created and outcome.changed
    assert (outcome.run.status, outcome.run.started_at, outcome.run.pipeline_version.version) == ("running", T0, "3")
    assert runs_counted(org_a) == 1


def test_generated_run_id(org_a, pipeline):
    run = apply_run_event(organization=org_a, pipeline=pipeline, status="queued").run
    assert run.run_id.startswith("run-") and len(run.run_id) == 20


def test_forward_steps(event):
    event("queued")
    assert event("running", started_at=T0).run.status == "running"
    outcome = event("success", finished_at=T0 + timedelta(minutes=5))
    assert outcome.changed and not outcome.created
    assert (outcome.run.status, outcome.run.finished_at) == ("success", T0 + timedelta(minutes=5))


def test_a_step_may_be_skipped(event):
    event("queued")
    run = event("failed").run
    assert run.status == "failed" and run.finished_at is not None


def test_duplicate_event_is_a_noop_and_counts_once(event, org_a):
    event("running", started_at=T0)
    before = Run.objects.unscoped().get().updated_at
    outcome = event("running", started_at=T0)
    assert not outcome.changed and not outcome.created
    assert Run.objects.unscoped().get().updated_at == before
    assert Run.objects.unscoped().count() == 1
    assert runs_counted(org_a) == 1


def test_duplicate_terminal_event_keeps_the_first_finish(event):
    event("success", finished_at=T0)
    outcome = event("success", finished_at=T0 + timedelta(hours=1))
    assert not outcome.changed
    assert Run.objects.unscoped().get().finished_at == T0


def test_late_running_after_success_leaves_success_and_fills_the_start(event):
    event("success", finished_at=T0 + timedelta(minutes=10))
    outcome = event("running", started_at=T0)
    assert outcome.changed
    run = Run.objects.unscoped().get()
    assert (run.status, run.started_at, run.finished_at) == ("success", T0, T0 + timedelta(minutes=10))


def test_late_running_without_a_start_time_is_absorbed(event):
    event("failed", finished_at=T0)
    assert not event("running").changed
    assert Run.objects.unscoped().get().status == "failed"


def test_late_queued_after_running_is_absorbed(event):
    event("running", started_at=T0)
    assert not event("queued").changed
    assert Run.objects.unscoped().get().status == "running"


@pytest.mark.parametrize("terminal", ["success", "failed", "cancelled"])
@pytest.mark.parametrize("other", ["success", "failed", "cancelled"])
def test_a_terminal_run_never_becomes_another_terminal_state(event, terminal, other):
    event(terminal, finished_at=T0)
    if terminal == other:
        assert not event(other).changed
        return
    with pytest.raises(Conflict) as raised:
        event(other)
    assert domain_status(raised.value) == 409
    assert Run.objects.unscoped().get().status == terminal


def test_a_terminal_run_does_not_start_again(event):
    event("success", started_at=T0, finished_at=T0 + timedelta(minutes=1))
    with pytest.raises(Conflict):
        event("running", started_at=T0 + timedelta(hours=1))
    assert Run.objects.unscoped().get().status == "success"


def test_attributes_merge(event):
    event("running", attributes={"dag_id": "orders", "try": 1})
    run = event("success", attributes={"try": 2, "rows": 10}).run
    assert run.attributes == {"dag_id": "orders", "try": 2, "rows": 10}


def test_run_id_of_another_pipeline_is_a_conflict(org_a, event, register):
    from tests.catalog.conftest import small_spec

    other = register(org_a, small_spec("other")).pipeline
    event("running")
    with pytest.raises(Conflict):
        apply_run_event(organization=org_a, pipeline=other, status="success", run_id="run-1")


def test_run_ids_are_per_organization(org_a, org_b, register, example_spec, pipeline):
    pipeline_b = register(org_b, example_spec).pipeline
    apply_run_event(organization=org_a, pipeline=pipeline, status="success", run_id="shared")
    outcome = apply_run_event(organization=org_b, pipeline=pipeline_b, status="running", run_id="shared")
    assert outcome.created
    assert Run.objects.unscoped().get(organization=org_a).status == "success"


def test_the_monthly_run_limit_refuses_a_new_run_but_not_an_event(event, org_a, settings):
    limits = {**settings.PLAN_LIMITS, "team": {**settings.PLAN_LIMITS["team"], "runs_per_month": 1}}
    settings.PLAN_LIMITS = limits
    event("running")
    from orgs.limits import PlanLimitReached

    with pytest.raises(PlanLimitReached):
        event("running", run_id="run-2")
    assert not Run.objects.unscoped().filter(run_id="run-2").exists()
    assert event("success").changed  # the existing run still finishes
    assert runs_counted(org_a) == 1


def test_databases_without_insert_returning_use_a_savepoint_with_the_same_outcome(event, monkeypatch, org_a):
    from config import db_inserts

    monkeypatch.setattr(db_inserts, "can_insert_returning", lambda database: False)
    assert event("running", started_at=T0).created
    again = event("running", started_at=T0)
    assert not again.created and not again.changed
    assert event("success").run.status == "success"
    assert Run.objects.unscoped().count() == 1 and runs_counted(org_a) == 1
