"""The operator console in a real browser: log in and see the landing dashboard."""

import pytest
from django.contrib.auth import get_user_model

from tests.console.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_logs_in_and_lands_on_the_console(page, live_server, screenshot):
    get_user_model().objects.create_superuser("oncall", "oncall@example.com", "pw-for-tests-only")
    login(page, live_server, "oncall", "pw-for-tests-only")
    page.wait_for_selector("#console-dashboard")
    assert page.locator("#failing-pipelines h2").inner_text() == "Failing pipelines now"
    assert "Nothing is running." in page.locator("#runs-in-progress").inner_text()
