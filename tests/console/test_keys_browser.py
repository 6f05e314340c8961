"""Staff create an API key in the console, see it once, copy it, and revoke it (real Chromium)."""

import json
import urllib.error
import urllib.request

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model

from orgs import services
from orgs.models import ApiKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def whoami(live_server, key):
    request = urllib.request.Request(f"{live_server.url}/api/v1/organizations/me", headers={"X-API-KEY": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None


def test_staff_creates_a_key_sees_it_once_and_revokes_it(page, live_server, screenshot):
    services.create_organization(slug="acme", name="Acme Corp")
    get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#console-dashboard")

    page.goto(f"{live_server.url}/admin/orgs/apikey/add/")
    page.select_option("#id_organization", label="acme")
    page.fill("#id_name", "ci-deployer")
    page.select_option("#id_role", "write")
    page.click("input[name=_save]")

    full_key = page.input_value("#new-api-key")
    assert full_key.startswith("dxp_")
    assert whoami(live_server, full_key)[0] == 200
    page.click("#copy-api-key")
    page.wait_for_selector("#copy-status:has-text('Copied.')")
    screenshot("08-api-key-created")

    # Gone from every page: the list, the key's page, the organization's page, the admin log.
    key = ApiKey.objects.unscoped().get(name="ci-deployer")
    for path in (
        "/admin/orgs/apikey/",
        f"/admin/orgs/apikey/{key.pk}/change/",
        f"/admin/orgs/organization/{key.organization_id}/change/",
        "/admin/",
    ):
        page.goto(f"{live_server.url}{path}")
        assert full_key not in page.content()
        assert full_key[len("dxp_") + 8 :] not in page.content()

    # Revoke from the key's page; the key stops working at once and the log says who did it.
    page.goto(f"{live_server.url}/admin/orgs/apikey/{key.pk}/change/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#revoke-api-key button")
    page.wait_for_selector(".messagelist .success")
    assert "revoked" in page.locator(".field-state_badge").inner_text().lower()
    assert page.locator("#revoke-api-key").count() == 0
    assert whoami(live_server, full_key)[0] == 401
    screenshot("09-api-key-revoked")

    changes = list(LogEntry.objects.filter(object_id=str(key.pk)).order_by("action_time"))
    assert [(entry.action_flag, entry.user.username) for entry in changes] == [(1, "staff"), (2, "staff")]
    assert changes[1].get_change_message() == "Revoked."
    page.goto(f"{live_server.url}/admin/orgs/apikey/{key.pk}/history/")
    assert "Revoked." in page.locator("#change-history").inner_text()
