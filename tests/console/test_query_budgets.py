"""Console pages cost a fixed number of queries, whatever the number of rows: no N+1 over runs,
results or datasets, and no full COUNT over the run and result histories.

Each page is measured with a few rows, then with many; the count must not move, and it is pinned.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Run
from tests.console import world

pytestmark = pytest.mark.django_db

# page -> the most queries it may take, pinned at today's count (the session and the user are 2 of them).
BUDGETS = {
    "landing": 7,  # 6, and the late pipelines panel (one bounded query)
    "runs": 7,
    "run": 4,
    "results": 7,
    "failed_results": 7,
    "result": 4,
    "pipeline": 9,
    "pipelines": 5,
    "compare": 6,
    "dataset": 13,
    "datasets": 5,
    "edges": 5,
    "events": 6,
}


def pages(rows) -> dict:
    return {
        "landing": "/admin/",
        "runs": "/admin/catalog/run/",
        "run": f"/admin/catalog/run/{rows['run'].pk}/change/",
        "results": "/admin/checks/checkresult/",
        "failed_results": "/admin/checks/failedcheckresult/",
        "result": f"/admin/checks/checkresult/{rows['result'].pk}/change/",
        "pipeline": f"/admin/catalog/pipeline/{rows['pipeline'].pk}/change/",
        "pipelines": "/admin/catalog/pipeline/",
        "compare": f"/admin/catalog/pipeline/{rows['pipeline'].pk}/compare/",
        "dataset": f"/admin/lineage/dataset/{rows['dataset'].pk}/change/",
        "datasets": "/admin/lineage/dataset/",
        "edges": "/admin/lineage/lineageedge/",
        "events": "/admin/lineage/openlineageevent/",
    }


def measure(client, rows) -> dict:
    counts = {}
    for name, url in pages(rows).items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[name] = len(queries)
        sql = " ".join(query["sql"] for query in queries).upper()
        if name in ("runs", "results", "failed_results"):
            # Paging counts at most a capped number of rows, never the whole history.
            assert all("COUNT(" not in q["sql"].upper() or "LIMIT" in q["sql"].upper() for q in queries), sql
    return counts


def test_pages_take_the_same_few_queries_with_few_and_many_rows(client, org_a, org_b):
    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
    few = world.build(org_a, runs=2, results_per_run=2, versions=2)
    measure(client, few)  # warms the per-process caches (content types) that the first visit fills
    few_counts = measure(client, few)

    many = world.build(org_b, runs=70, results_per_run=4, versions=6)
    many["run"] = Run.objects.unscoped().filter(pipeline=many["pipeline"]).order_by("created_at").first()
    many_counts = measure(client, many)

    over = {name: count for name, count in many_counts.items() if count > BUDGETS[name]}
    assert not over, f"over budget: {over} (budgets {BUDGETS})"
    # The lineage walk skips a lookup when the graph's answer already holds it (lineage.graph):
    # its count is bounded, not constant.
    del few_counts["dataset"], many_counts["dataset"]
    assert many_counts == few_counts


def test_the_run_page_reads_its_check_results_in_one_query(client, org_a, django_assert_max_num_queries):
    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
    rows = world.build(org_a, runs=1, results_per_run=30)
    url = f"/admin/catalog/run/{rows['run'].pk}/change/"
    client.get(url)  # warms the content type cache
    with django_assert_max_num_queries(BUDGETS["run"]):
        response = client.get(url)
    assert response.content.decode().count('class="badge badge-pass"') == 29


def test_the_organization_page_reads_each_members_user_and_organization_with_its_row(client, make_org):
    """The members inline: each row's caption names its user and organization, joined in the rows' query.
    What is left per row is Django's autocomplete widget looking up its selected user (one query each)."""
    from orgs.models import Membership

    client.force_login(get_user_model().objects.create_superuser("root", "root@x.example", "pw-for-tests-only"))
    users = get_user_model().objects

    def page_queries(organization, members):
        for i in range(members):
            user = users.create_user(f"{organization.slug}-member-{i}")
            Membership.objects.create(organization=organization, user=user, role="read")
        url = f"/admin/orgs/organization/{organization.pk}/change/"
        client.get(url)  # warms the content type cache
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few, many = page_queries(make_org("few-members"), 2), page_queries(make_org("many-members"), 12)
    assert many - few <= 10, (few, many)  # 3 a row (30) before the join
