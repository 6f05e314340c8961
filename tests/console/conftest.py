"""A real headless Chromium (Debian's package) driven by Playwright against the live test server."""

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# The committed screenshots are rewritten only on request (DATAXPIPE_SCREENSHOTS=1), so an ordinary
# test run leaves the work tree clean; otherwise they go to a temporary directory.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# A laptop screen (issue 14): the incident pages must read at this size without scrolling sideways.
VIEWPORT = {"width": 1366, "height": 768}
PASSWORD = "pw-for-tests-only"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    # The admin's navigation sidebar starts closed: it is sticky, and full-page screenshots would
    # paint it halfway down the page.
    context.add_init_script("window.localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page, tmp_path_factory):
    if os.environ.get("DATAXPIPE_SCREENSHOTS") == "1":
        directory = DOCS_SCREENSHOTS
    else:
        directory = tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)

    def take(name: str, full_page: bool = True):
        page.screenshot(path=str(directory / f"{name}.png"), full_page=full_page)

    return take


def login(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


@pytest.fixture
def incident_page(page, live_server, settings, tmp_path):
    """`page` on the landing page of the incident scenario (tests/console/scenario.py), logged in as staff."""
    from tests.console.scenario import seed_incident

    seed_incident(settings, tmp_path)
    get_user_model().objects.create_superuser("oncall", "oncall@example.com", PASSWORD)
    login(page, live_server, "oncall")
    return page
