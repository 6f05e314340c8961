"""The on-call's path through an incident, in a real headless Chromium against the live server.

Landing page -> the failing pipeline's failed run -> its check results -> the pipeline's lineage ->
a dataset's upstream and downstream; the results list filtered; two pipeline versions compared.
Each step saves a screenshot to docs/screenshots/ (shown in the README).
"""

import re

import pytest

from tests.console.scenario import FAILED_RUN_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_oncall_follows_a_failed_run_to_its_checks_and_lineage(incident_page, live_server, screenshot):
    page = incident_page
    # Landing: revenue_report is failing now (latest run failed).
    failing = page.locator("#failing-pipelines")
    failing.wait_for()
    row = failing.locator("tr", has_text="revenue_report")
    assert "failed" in row.inner_text().lower()
    assert "chk_revenue_positive" in page.locator("#failed-checks").inner_text()
    assert "orders_sync" in page.locator("#runs-in-progress").inner_text()
    screenshot("01-landing", full_page=False)  # the dashboard; the app list follows

    # The failed run: status, duration, version, and its check results failed first.
    row.get_by_role("link", name=re.compile(FAILED_RUN_ID)).click()
    page.wait_for_selector(".check-results")
    assert "12 min 05 s" in page.locator(".field-run_duration").inner_text()
    assert page.locator(".field-version .readonly").inner_text() == "3"
    results = page.locator(".check-results tbody tr.has_original")
    first, second = results.nth(0).inner_text(), results.nth(1).inner_text()
    assert "chk_revenue_positive" in first and "FAIL" in first and "1 > 0" in first
    assert "revenue < 0" in first  # the SQL
    assert "chk_regions_known" in second and "ERROR" in second and "no such table" in second
    screenshot("02-failed-run")

    # From the run to the pipeline's lineage: what it reads and writes.
    page.click("#run-lineage-link")
    lineage = page.locator("#pipeline-lineage")
    lineage.wait_for()
    assert "orders_daily" in lineage.inner_text() and "revenue_by_region" in lineage.inner_text()
    assert "chk_revenue_positive" in page.locator(".field-checks").inner_text()
    screenshot("03-pipeline")

    # A dataset: upstream (who feeds it) and downstream (who reads it), and the checks a change would hit.
    lineage.get_by_role("link", name="orders_daily", exact=True).click()
    upstream = page.locator("ul.lineage-tree[data-direction=upstream]")
    upstream.wait_for()
    assert "clean_orders" in upstream.inner_text() and "raw_orders" in upstream.inner_text()
    downstream = page.locator("ul.lineage-tree[data-direction=downstream]").inner_text()
    assert "revenue_by_region" in downstream and "via revenue_report" in downstream
    assert "chk_revenue_positive" in page.locator(".field-impacted_checks").inner_text()
    screenshot("04-dataset-lineage")

    # Check results: failed first; filtered to the failures of revenue_report.
    page.goto(f"{live_server.url}/admin/checks/checkresult/")
    page.locator("#changelist-filter").get_by_role("link", name="revenue_report", exact=True).click()
    page.wait_for_url(re.compile(r"pipeline=revenue_report"))
    page.locator("#changelist-filter").get_by_role("link", name=re.compile("^fail$", re.IGNORECASE)).click()
    page.wait_for_url(re.compile(r"status__exact=fail"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "chk_revenue_positive" in rows.first.inner_text()
    page.goto(f"{live_server.url}/admin/checks/checkresult/")
    screenshot("05-check-results")

    # The runs list: coloured statuses, durations, pipeline and version; search by exact run id.
    page.goto(f"{live_server.url}/admin/catalog/run/")
    screenshot("06-runs")
    page.fill("#searchbar", FAILED_RUN_ID)
    page.press("#searchbar", "Enter")
    page.wait_for_url(re.compile(r"q="))
    assert page.locator("#result_list tbody tr").count() == 1

    # What changed between the pipeline's versions 2 and 3.
    page.goto(f"{live_server.url}/admin/catalog/pipeline/")
    page.get_by_role("link", name="revenue_report", exact=True).click()
    page.get_by_role("link", name="changes in 3").click()
    diff = page.locator("#spec-diff").inner_text()
    assert '+  "schedule": "30 6 * * 1-5"' in diff and '-  "schedule": "0 7 * * 1-5"' in diff
    screenshot("07-version-diff")
