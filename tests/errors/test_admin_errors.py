"""No admin page answers a domain rule with a 500: plan limits, conflicts and refusals become messages."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import RequestFactory

from catalog.models import Connection, Pipeline
from console.admin_errors import DomainErrorsAdminMixin
from orgs import limits, services
from orgs.errors import Conflict
from orgs.models import ApiKey, Plan
from workflows.usage import counted_rows

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("orgs", "catalog", "checks", "lineage", "billing", "console")


def fill(organization, metric: str, count: int) -> None:
    for i in range(count):
        if metric == "pipelines":
            Pipeline.objects.create(organization=organization, name=f"pipeline-{i}")
        elif metric == "connections":
            Connection.objects.create(organization=organization, connection_id=f"conn-{i}", type="postgres")
        elif metric == "api_keys":
            services.create_api_key(organization=organization, name=f"key-{i}")
        else:
            raise AssertionError(f"teach fill() to create one {metric}")


# The add form of every counted metric the admin can create: a new metric the admin can add needs its case here.
ADD_FORMS = {
    "api_keys": lambda organization: {"organization": organization.pk, "name": "one-too-many", "role": "read"},
}


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def full_org(make_org, settings):
    small = {metric: 2 for metric in limits.COUNTED_METRICS}
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "free": {**settings.PLAN_LIMITS["free"], **small}}
    organization = make_org("full", plan=Plan.FREE)
    for metric in limits.COUNTED_METRICS:
        fill(organization, metric, 2)
    return organization


def shown(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("metric", sorted(limits.COUNTED_METRICS))
def test_every_plan_limit_in_the_admin_is_a_message_not_a_500(staff_client, superuser, full_org, metric):
    model = counted_rows(full_org)[metric].model  # the app that owns the metric says which rows count
    model_admin = admin.site._registry[model]
    add_url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/"
    request = RequestFactory().get(add_url)
    request.user = superuser
    before = model._base_manager.count()

    if not model_admin.has_add_permission(request):
        assert staff_client.get(add_url).status_code == 403  # not creatable in the admin at all
        return
    assert metric in ADD_FORMS, f"the admin can add {metric}: give its add form to ADD_FORMS"
    response = staff_client.post(add_url, ADD_FORMS[metric](full_org), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(add_url, 302)]
    assert any("plan allows 2" in message and "has used 2" in message for message in shown(response))
    assert "plan allows 2" in response.content.decode()
    assert model._base_manager.count() == before


def test_an_api_key_under_the_limit_is_still_created_and_shown_once(staff_client, org_a):
    response = staff_client.post("/admin/orgs/apikey/add/", {"organization": org_a.pk, "name": "ci", "role": "read"})

    assert response.status_code == 200
    assert "API key created" in response.content.decode()
    assert ApiKey.objects.unscoped().filter(organization=org_a, name="ci").exists()


def test_a_refusal_in_an_action_or_a_custom_view_is_a_message(staff_client, org_a, make_key, monkeypatch):
    """A service refusing mid-action (here revocation, made to refuse) leaves the page standing."""
    make_key(org_a)
    key = ApiKey.objects.unscoped().get(organization=org_a)

    def refuse(queryset):
        raise Conflict("The key is being rotated; try again in a minute.")

    monkeypatch.setattr(services, "revoke_api_keys", refuse)
    action = staff_client.post(
        "/admin/orgs/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]}, follow=True
    )
    page = f"http://testserver/admin/orgs/apikey/{key.pk}/change/"
    button = staff_client.post(f"/admin/orgs/apikey/{key.pk}/revoke/", follow=True, HTTP_REFERER=page)

    for response in (action, button):
        assert response.status_code == 200
        assert "The key is being rotated; try again in a minute." in response.content.decode()
    assert button.redirect_chain == [(page, 302)]
    assert ApiKey.objects.unscoped().get(pk=key.pk).revoked_at is None


def test_every_project_admin_that_writes_translates_domain_errors(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    writers = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        actions = set(model_admin.get_actions(request)) - {"delete_selected"}
        if actions or model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            writers.append(type(model_admin))

    assert writers  # organizations, API keys, runs (cancel) at least
    assert [cls.__name__ for cls in writers if not issubclass(cls, DomainErrorsAdminMixin)] == []
