from django.contrib import admin

from console import selectors
from orgs.admin_scoping import visible_organizations


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
