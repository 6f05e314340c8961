"""The incident pages on a 1366x768 laptop screen (issue 14, item 4), in a real headless Chromium.

Landing page -> Failed checks -> Runs -> the failed run: on each, the run (shortened, whole id on hover),
pipeline, status, severity (an outlined "⚑ error", never a second filled "ERROR"), the error's first line
and when, all inside the viewport: no column off-screen, no sideways scrolling. A backfill running for
two hours against a usual 8-19 minutes is flagged. Screenshots: docs/screenshots/1366-*.png.
"""

import pytest

from tests.console.conftest import VIEWPORT
from tests.console.scenario import FAILED_RUN_ID, OVERRUNNING_RUN_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_inside_viewport(row, *cells):
    """Each cell of `row`, the page scrolled to it vertically only, lies wholly inside the 1366x768 viewport
    (a table scrolled sideways inside its box would pass a plain scroll-into-view: it is never scrolled)."""
    for selector in cells:
        cell = row.locator(selector).first
        cell.evaluate(
            """cell => {
                document.querySelectorAll('.results, .console-panel, .inline-related, fieldset')
                    .forEach(box => { box.scrollLeft = 0; });
                const top = cell.getBoundingClientRect().top + window.scrollY;
                window.scrollTo(0, Math.max(top - 200, 0));
            }"""
        )
        box = cell.bounding_box()
        assert box is not None, f"{selector} is not displayed"
        clipped_by = cell.evaluate(
            """cell => {
                const own = cell.getBoundingClientRect();
                for (let box = cell.parentElement; box; box = box.parentElement) {
                    if (getComputedStyle(box).overflowX === 'visible') continue;
                    const clip = box.getBoundingClientRect();
                    if (own.left < clip.left - 1 || own.right > clip.right + 1) return box.className || box.tagName;
                }
                return null;
            }"""
        )
        assert clipped_by is None, f"{selector} is cut off by its scrolling box ({clipped_by})"
        assert box["width"] > 0 and box["x"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= VIEWPORT["width"], (selector, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], (selector, box)


def assert_no_sideways_scrolling(page):
    widths = page.evaluate(
        """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
                  ...[...document.querySelectorAll('.results, .console-panel, .inline-related')]
                     .map(box => box.scrollWidth - box.clientWidth)]"""
    )
    page_width, viewport_width, *overflows = widths
    assert page_width <= viewport_width, f"the page scrolls sideways: {page_width} > {viewport_width}"
    assert all(overflow <= 1 for overflow in overflows), f"a table scrolls sideways inside its box: {overflows}"


def assert_run_cell_shortened_with_whole_id_on_hover(row, run_id):
    cell = row.locator(".run-id").first
    assert cell.get_attribute("title") == run_id
    assert len(cell.inner_text()) < len(run_id)


def assert_severity_unlike_status(row, status_word="ERROR", severity_word="⚑ warn"):
    status, severity = row.locator(".badge").first, row.locator(".severity").first
    assert (status.inner_text(), severity.inner_text()) == (status_word, severity_word)  # different words
    style = "element => [getComputedStyle(element).backgroundColor, getComputedStyle(element).borderTopWidth]"
    status_fill, _ = status.evaluate(style)
    severity_fill, severity_border = severity.evaluate(style)
    assert status_fill != "rgba(0, 0, 0, 0)"  # the status is filled
    assert severity_fill == "rgba(0, 0, 0, 0)" and severity_border != "0px"  # the severity outlined


def test_incident_pages_read_at_1366_without_scrolling_sideways(incident_page, live_server, screenshot):
    page = incident_page

    # Landing: the errored check of the failed run, with its run, pipeline, status, severity, error, when.
    panel = page.locator("#failed-checks")
    panel.wait_for()
    errored = panel.locator("tbody tr", has_text="chk_regions_known")
    assert "no such table" in errored.locator(".cell-error").inner_text()
    assert errored.locator(".cell-when").inner_text() in ("just now", "1 min ago")
    assert_severity_unlike_status(errored)
    assert_run_cell_shortened_with_whole_id_on_hover(errored, FAILED_RUN_ID)
    assert_inside_viewport(
        errored, ".cell-when", ".cell-run", "td:nth-child(3)", ".cell-status", ".cell-severity", ".cell-error"
    )
    overrunning = page.locator("#runs-in-progress tbody tr", has=page.locator(f'.run-id[title="{OVERRUNNING_RUN_ID}"]'))
    assert "x usual" in overrunning.locator(".overrun").inner_text()
    assert_inside_viewport(overrunning, ".cell-when", ".cell-run", ".cell-status", ".overrun")
    assert_no_sideways_scrolling(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("1366-01-landing", full_page=False)

    # Failed checks: the same columns on the list the on-call opens during an incident.
    page.goto(f"{live_server.url}/admin/checks/failedcheckresult/")
    row = page.locator("#result_list tbody tr", has_text="chk_regions_known")
    columns = [
        ".field-executed",
        ".field-run_link",
        ".field-pipeline_name",
        ".field-check_id",
        ".field-status_badge",
        ".field-severity_badge",
        ".field-error_line",
        ".field-violations_vs_threshold",
        ".field-organization",
    ]
    assert_inside_viewport(row, *columns)
    assert_severity_unlike_status(row)
    assert_run_cell_shortened_with_whole_id_on_hover(row, FAILED_RUN_ID)
    assert "no such table" in row.locator(".field-error_line").inner_text()
    assert_no_sideways_scrolling(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("1366-02-failed-checks", full_page=False)

    # Runs: the failed run names its worst check's severity and error; the backfill is flagged.
    page.goto(f"{live_server.url}/admin/catalog/run/")
    failed = page.locator("#result_list tbody tr", has=page.locator(f'.run-id[title="{FAILED_RUN_ID}"]'))
    run_columns = [
        ".field-run",
        ".field-pipeline_link",
        ".field-status_badge",
        ".field-severity",
        ".field-error_line",
        ".field-started",
        ".field-run_duration",
        ".field-organization",
    ]
    assert_inside_viewport(failed, *run_columns)
    assert "chk_revenue_positive failed: 1 > 0" in failed.locator(".field-error_line").inner_text()
    assert failed.locator(".severity").inner_text() == "⚑ error"
    backfill = page.locator("#result_list tbody tr", has=page.locator(f'.run-id[title="{OVERRUNNING_RUN_ID}"]'))
    assert "x usual" in backfill.locator(".field-status_badge .overrun").inner_text()
    assert_inside_viewport(backfill, ".field-run", ".field-status_badge")
    assert_no_sideways_scrolling(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("1366-03-runs", full_page=False)

    # The failed run's page: its fields, then its check results inside the page's width.
    failed.locator(".field-run a").click()
    page.wait_for_selector(".check-results")
    assert page.locator(".field-run_id .readonly").inner_text() == FAILED_RUN_ID
    fields = page.locator("#content-main")
    assert_inside_viewport(
        fields, ".field-status_badge .badge", ".field-severity .severity", ".field-error_line .error-line"
    )
    results = page.locator(".check-results tbody tr.has_original")
    errored = results.filter(has_text="chk_regions_known")
    assert_severity_unlike_status(errored)
    assert_inside_viewport(
        errored,
        "td.field-check_id",
        "td.field-status_badge",
        "td.field-severity_badge",
        "td.field-error",
        "td.field-executed",
    )
    assert_no_sideways_scrolling(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("1366-04-failed-run")
