from functools import wraps

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.db.models.base import ModelBase

from console import selectors
from console.staff import StaffOnlyAdminMixin
from orgs.admin_scoping import visible_organizations

# The on-call's apps first; the rest (auth) after them in their usual order, Stripe's mirror tables last.
APP_ORDER = ["catalog", "checks", "lineage", "orgs", "billing"]
# dj-stripe's ~45 raw mirror tables: for staff (superusers) only, folded away on the landing page. An
# organization's user or a staff member without superuser never sees them, whatever permissions they hold.
STAFF_ONLY_APPS = {"djstripe"}


class CatalogAdminSite(admin.AdminSite):
    site_header = "DataXPipe Catalog"
    site_title = "DataXPipe Catalog"
    index_title = "Operator console"
    index_template = "admin/console_index.html"

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every registration passes here, dj-stripe's own (djstripe/admin) included, whatever the import order.
        models = [model_or_iterable] if isinstance(model_or_iterable, ModelBase) else model_or_iterable
        for model in models:
            model_admin = admin_class or admin.ModelAdmin
            if model._meta.app_label in STAFF_ONLY_APPS and not issubclass(model_admin, StaffOnlyAdminMixin):
                model_admin = type(f"StaffOnly{model_admin.__name__}", (StaffOnlyAdminMixin, model_admin), {})
            super().register(model, model_admin, **options)

    def admin_view(self, view, cacheable=False):
        # Every console page passes here (the model admins' views too). A NUL character in the query string
        # reaches a filter's SQL, which PostgreSQL refuses with an error: the caller's bad input, a 400.
        checked = super().admin_view(view, cacheable)

        @wraps(view)
        def refuse_nul_characters(request, *args, **kwargs):
            if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
                raise BadRequest("The query string holds a NUL character.")
            return checked(request, *args, **kwargs)

        return refuse_nul_characters

    def index(self, request, extra_context=None):
        scope = visible_organizations(request.user)
        runs_in_progress = selectors.runs_in_progress(scope)
        flagged = selectors.overruns(runs_in_progress)
        for run in runs_in_progress:
            run.overrun = flagged.get(run.pk)
        apps = self.get_app_list(request)
        stripe_apps = [app for app in apps if app["app_label"] in STAFF_ONLY_APPS]
        context = {
            "failing_pipelines": selectors.failing_pipelines(scope),
            "late_pipelines": selectors.late_pipelines(scope),
            "failed_checks": selectors.recent_failed_checks(scope),
            "runs_in_progress": runs_in_progress,
            "app_list": [app for app in apps if app["app_label"] not in STAFF_ONLY_APPS],
            "stripe_apps": stripe_apps,
            "stripe_model_count": sum(len(app["models"]) for app in stripe_apps),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if not (request.user.is_active and request.user.is_superuser):
            apps = [app for app in apps if app["app_label"] not in STAFF_ONLY_APPS]
        rank = {label: position for position, label in enumerate(APP_ORDER)}
        last = len(APP_ORDER) + 1
        return sorted(
            apps,
            key=lambda app: rank.get(app["app_label"], last if app["app_label"] in STAFF_ONLY_APPS else len(APP_ORDER)),
        )
