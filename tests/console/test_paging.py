"""The admin's one paginator for history tables: a bounded count, the planner's estimate past the cap."""

import pytest
from django.db import connection

from checks.models import CheckResult
from config.pagination import CappedCountPaginator
from tests.checks.factories import make_run, register_pipeline

pytestmark = pytest.mark.django_db


class SmallCap(CappedCountPaginator):
    COUNT_CAP = 5


@pytest.fixture
def twelve_results(org_a):
    run = make_run(org_a, register_pipeline(org_a, "orders_sync"), "run-1")
    for index in range(12):
        CheckResult.objects.create(
            organization=org_a,
            result_id=f"r{index}",
            check_id="c",
            status="fail",
            severity="error",
            run=run,
            pipeline=run.pipeline,
        )


def test_a_filtered_list_counts_at_most_one_row_past_the_cap(twelve_results, django_assert_num_queries):
    paginator = SmallCap(CheckResult.objects.unscoped().filter(status="fail").order_by("pk"), 2)
    with django_assert_num_queries(1):
        assert paginator.count == 6
    assert paginator.num_pages == 3  # the pages up to the cap, and one more that says "more"


def test_below_the_cap_the_count_is_exact_in_one_query(twelve_results, django_assert_num_queries):
    paginator = CappedCountPaginator(CheckResult.objects.unscoped().order_by("pk"), 5)
    with django_assert_num_queries(1):
        assert paginator.count == 12


@pytest.mark.postgres
def test_an_unfiltered_table_past_the_cap_answers_the_planners_estimate(twelve_results):
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CheckResult._meta.db_table}")
    paginator = SmallCap(CheckResult.objects.unscoped().order_by("pk"), 2)
    assert paginator.count == 12
    assert paginator.num_pages == 6
