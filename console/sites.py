from django.contrib import admin

from console import selectors
from orgs.admin_scoping import visible_organizations

# The on-call's apps first; the rest (auth, Stripe's mirror tables) after them in their usual order.
APP_ORDER = ["catalog", "checks", "lineage", "orgs", "billing"]


class CatalogAdminSite(admin.AdminSite):
    site_header = "DataXPipe Catalog"
    site_title = "DataXPipe Catalog"
    index_title = "Operator console"
    index_template = "admin/console_index.html"

    def index(self, request, extra_context=None):
        scope = visible_organizations(request.user)
        context = {
            "failing_pipelines": selectors.failing_pipelines(scope),
            "failed_checks": selectors.recent_failed_checks(scope),
            "runs_in_progress": selectors.runs_in_progress(scope),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {label: position for position, label in enumerate(APP_ORDER)}
        return sorted(apps, key=lambda app: rank.get(app["app_label"], len(APP_ORDER)))
