"""Plan limits at their boundary: the last allowed creation and the first refused one."""

import datetime

import pytest
from django.db import transaction

from catalog.models import Connection, Pipeline
from catalog.selectors import counted_pipelines
from orgs import limits, services
from orgs.api.exceptions import domain_status
from orgs.models import ApiKey, Plan, Role, UsageCounter
from orgs.selectors import live_api_keys
from workflows.usage import counted_rows, organization_usage

SMALL = {
    "pipelines": 3,
    "api_keys": 3,
    "connections": 2,
    "runs_per_month": 5,
    "check_executions_per_month": 4,
    "openlineage_events_per_month": 6,
}


@pytest.fixture
def small_free_plan(settings):
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": dict(SMALL)}
    return SMALL


@pytest.fixture
def org(make_org, small_free_plan):
    return make_org("acme", plan=Plan.FREE)


def create_one(organization, metric, i):
    """What the creating endpoints do: enforce inside the transaction that writes the row."""
    with transaction.atomic():
        limits.enforce_limit(organization, metric, counted_rows(organization)[metric])
        if metric == "pipelines":
            Pipeline.objects.create(organization=organization, name=f"pipeline-{i}")
        elif metric == "connections":
            Connection.objects.create(organization=organization, connection_id=f"conn-{i}", type="postgres")
        else:
            services.create_api_key(organization=organization, name=f"key-{i}")


@pytest.mark.parametrize("metric", ["pipelines", "api_keys", "connections"])
def test_counted_limit_allows_the_last_and_refuses_the_next(org, metric):
    limit = SMALL[metric]
    for i in range(limit):
        create_one(org, metric, i)  # the last of these is the last allowed

    with pytest.raises(limits.PlanLimitReached) as refused:
        create_one(org, metric, limit)

    assert domain_status(refused.value) == 402  # the API answers it 402 (orgs/api/exceptions.py)
    body = refused.value.detail
    assert (body["limit"], body["allowed"], body["usage"], body["plan"]) == (metric, limit, limit, "free")
    assert body["upgrade"] == "/api/v1/billing/checkout"
    assert organization_usage(org)[metric] == limit


def test_external_pipelines_and_revoked_keys_do_not_count(org):
    for i in range(SMALL["pipelines"]):
        Pipeline.objects.create(organization=org, name=f"external-{i}", is_external=True)
    keys = [services.create_api_key(organization=org, name=f"k{i}")[0] for i in range(SMALL["api_keys"])]
    services.revoke_api_keys(ApiKey.objects.unscoped().filter(pk=keys[0].pk))

    with transaction.atomic():
        limits.enforce_limit(org, "pipelines", counted_pipelines(org))
        limits.enforce_limit(org, "api_keys", live_api_keys(org))


@pytest.mark.parametrize("metric", list(limits.MONTHLY_METRICS))
def test_monthly_limit_allows_the_last_and_refuses_the_next(org, metric):
    limit = SMALL[metric]
    for _ in range(limit):
        limits.consume_monthly(org, metric)

    with pytest.raises(limits.PlanLimitReached) as refused:
        limits.consume_monthly(org, metric)

    assert (refused.value.detail["limit"], refused.value.detail["usage"]) == (metric, limit)
    assert UsageCounter.objects.unscoped().get(organization=org, metric=metric).value == limit  # nothing counted


def test_a_batch_that_would_pass_the_limit_counts_nothing(org):
    limits.consume_monthly(org, "openlineage_events_per_month", amount=4)

    with pytest.raises(limits.PlanLimitReached):
        limits.consume_monthly(org, "openlineage_events_per_month", amount=3)
    limits.consume_monthly(org, "openlineage_events_per_month", amount=2)

    assert organization_usage(org)["openlineage_events_per_month"] == 6


def test_last_months_usage_does_not_count(org):
    last_month = limits.current_period() - datetime.timedelta(days=1)
    UsageCounter.objects.create(
        organization=org, metric="runs_per_month", period=last_month.replace(day=1), value=SMALL["runs_per_month"]
    )

    limits.consume_monthly(org, "runs_per_month")

    assert organization_usage(org)["runs_per_month"] == 1


def test_enterprise_is_unlimited(make_org, small_free_plan):
    organization = make_org("big", plan=Plan.ENTERPRISE)
    for i in range(SMALL["api_keys"] + 2):
        create_one(organization, "api_keys", i)
    for _ in range(SMALL["runs_per_month"] + 2):
        limits.consume_monthly(organization, "runs_per_month")

    assert limits.limits_for(organization)["api_keys"] is None
    assert organization_usage(organization)["runs_per_month"] == SMALL["runs_per_month"] + 2


def test_limits_follow_a_plan_change_made_elsewhere(org):
    """enforce_limit reads the plan under its lock, so a stale in-memory plan is not trusted."""
    for i in range(SMALL["api_keys"]):
        create_one(org, "api_keys", i)
    stale = type(org).objects.get(pk=org.pk)
    type(org).objects.filter(pk=org.pk).update(plan=Plan.TEAM)

    create_one(stale, "api_keys", 99)

    assert ApiKey.objects.unscoped().filter(organization=org).count() == SMALL["api_keys"] + 1


def test_a_downgraded_organization_keeps_its_rows_but_cannot_add_more(make_org, small_free_plan):
    organization = make_org("shrinking", plan=Plan.TEAM)
    for i in range(SMALL["connections"] + 2):
        create_one(organization, "connections", i)
    organization.plan = Plan.FREE
    organization.save()

    with pytest.raises(limits.PlanLimitReached) as refused:
        create_one(organization, "connections", 100)

    assert refused.value.detail["usage"] == SMALL["connections"] + 2
    assert Connection.objects.unscoped().filter(organization=organization).count() == SMALL["connections"] + 2


@pytest.mark.parametrize("path", ["/api/v1/api-keys", "/api/v1/api-keys/"])
def test_api_key_creation_through_the_api_at_the_limit(org, make_client, path):
    client = make_client(org, Role.ADMIN)  # the first key
    for i in range(SMALL["api_keys"] - 2):
        assert client.post(path, {"name": f"k{i}"}, format="json").status_code == 201

    last_allowed = client.post(path, {"name": "last"}, format="json")
    first_refused = client.post(path, {"name": "one-too-many", "role": "read"}, format="json")

    assert last_allowed.status_code == 201
    assert first_refused.status_code == 402
    body = first_refused.json()
    assert (body["limit"], body["allowed"], body["usage"], body["plan"]) == ("api_keys", 3, 3, "free")
    assert "checkout" in body["upgrade"] and "Upgrade" in body["detail"]
    assert not ApiKey.objects.unscoped().filter(name="one-too-many").exists()
    assert ApiKey.objects.unscoped().filter(organization=org).count() == SMALL["api_keys"]


def test_one_organizations_usage_never_counts_for_another(make_org, make_client, small_free_plan):
    full, other = make_org("full", plan=Plan.FREE), make_org("other", plan=Plan.FREE)
    client = make_client(full, Role.ADMIN)
    for i in range(SMALL["api_keys"] - 1):
        client.post("/api/v1/api-keys/", {"name": f"k{i}"}, format="json")
    for _ in range(SMALL["runs_per_month"]):
        limits.consume_monthly(full, "runs_per_month")

    assert make_client(other, Role.ADMIN).post("/api/v1/api-keys/", {"name": "x"}, format="json").status_code == 201
    limits.consume_monthly(other, "runs_per_month")
    assert organization_usage(other)["runs_per_month"] == 1


def test_unknown_metrics_are_a_programming_error(org):
    with pytest.raises(ValueError), transaction.atomic():
        limits.enforce_limit(org, "runs_per_month", Pipeline.objects.none())
    with pytest.raises(ValueError):
        limits.consume_monthly(org, "pipelines")


def test_counting_a_metered_event_is_one_update(org, django_assert_num_queries):
    limits.consume_monthly(org, "runs_per_month")  # the month's counter row now exists

    with django_assert_num_queries(1):
        limits.consume_monthly(org, "runs_per_month")


def test_a_refused_metered_event_costs_two_queries_and_counts_nothing(org, django_assert_num_queries):
    limits.consume_monthly(org, "runs_per_month", amount=SMALL["runs_per_month"])

    with django_assert_num_queries(2), pytest.raises(limits.PlanLimitReached):
        limits.consume_monthly(org, "runs_per_month")
    assert organization_usage(org)["runs_per_month"] == SMALL["runs_per_month"]
