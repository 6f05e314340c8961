"""The operator's view of the catalog: pipelines, run history (huge: never counted) and connections.

Pipelines and connections are written through the API (validation, plan limits, encryption live in
catalog.services); the admin reads them, and cancels runs through the same service. Every page is
organization-scoped (orgs.admin_scoping): staff see all organizations, an organization's users theirs.
"""

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.views.main import ChangeList
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from catalog.connection_config import display_config
from catalog.models import TERMINAL_RUN_STATUSES, Connection, Pipeline, PipelineVersion, Run, RunStatus
from catalog.selectors import pipelines_for_listing
from catalog.services import apply_run_event, set_paused
from config.pagination import CappedCountPaginator
from console import selectors as console_selectors
from console.admin.checks import CheckResultInline
from console.admin_errors import DomainErrorsAdminMixin
from console.display import (
    admin_link,
    admin_url,
    badge,
    duration,
    error_cell,
    lateness,
    number,
    overrun_flag,
    run_cell,
    severity_badge,
    since,
    table,
    when,
)
from console.filters import LatenessFilter, OrganizationFilter, PipelineFilter
from console.scoping import ScopedAdmin, ScopedInlineMixin
from orgs.models import Organization

# Pipelines paused or unpaused per statement (and per transaction) by the console's actions.
PAUSE_BATCH = 1000
# Runs cancelled per transaction by the console's cancel action (each through the run state machine).
CANCEL_BATCH = 1000


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PipelineVersionInline(ReadOnlyAdminMixin, ScopedInlineMixin, admin.TabularInline):
    """Every version, newest first, each with a link to what changed since the one before it."""

    model = PipelineVersion
    fields = ["version", "spec_hash", "created_at", "what_changed"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "versions (newest first)"
    classes = ["pipeline-versions"]

    def get_queryset(self, request):
        # Each row's caption names its pipeline; the specs are read only by the compare page.
        return super().get_queryset(request).select_related("pipeline").defer("spec", "pipeline__description")

    @admin.display(description="what changed")
    def what_changed(self, obj):
        url = admin_url("catalog_pipeline_compare", obj.pipeline_id)
        return format_html('<a class="compare-link" href="{}?to={}">changes in {}</a>', url, obj.version, obj.version)


@admin.register(Pipeline)
class PipelineAdmin(DomainErrorsAdminMixin, ReadOnlyAdminMixin, ScopedAdmin):
    list_display = [
        "name",
        "organization",
        "current_version_label",
        "owner",
        "latest_run",
        "schedule",
        "late",
        "updated_at",
    ]
    list_filter = [LatenessFilter, OrganizationFilter, "is_external"]
    actions = ["pause_selected", "unpause_selected"]
    search_fields = ["name", "owner"]
    list_select_related = ["organization", "current_version"]
    show_full_result_count = False
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organization",
                    "name",
                    "current_version_label",
                    "owner",
                    "description",
                    "schedule",
                    "tags",
                    "is_external",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        (
            "Schedule and lateness",
            {"fields": ["schedule_timezone", "paused", "late_grace_minutes", "late", "late_slot", "late_detected_at"]},
        ),
        ("Latest runs", {"fields": ["latest_runs"]}),
        ("Checks", {"fields": ["checks"]}),
        ("Lineage: datasets read and written", {"fields": ["datasets"], "classes": ["pipeline-lineage"]}),
        ("Current spec", {"fields": ["current_spec"], "classes": ["collapse"]}),
    ]
    # Every field shown is read-only: pipelines change only by registering a new version.
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [PipelineVersionInline]

    def get_queryset(self, request):
        return pipelines_for_listing(super().get_queryset(request).select_related("organization"))

    def get_object(self, request, object_id, from_field=None):
        # The change page shows the current spec: load it (the list defers it).
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and obj.current_version_id:
            obj.current_version.refresh_from_db(fields=["spec"])
        return obj

    def get_urls(self):
        compare = path(
            "<path:object_id>/compare/",
            self.admin_site.admin_view(self.compare_view),
            name="catalog_pipeline_compare",
        )
        return [compare, *super().get_urls()]

    def compare_view(self, request, object_id):
        """Two versions' specs side by side as a unified diff (`?from=<version>&to=<version>`)."""
        pipeline = self.get_object(request, object_id)
        if pipeline is None or not self.has_view_permission(request, pipeline):
            raise Http404("No such pipeline.")
        versions = pipeline.versions.order_by("-created_at", "-id")
        newer = get_object_or_404(versions, version=request.GET.get("to")) if request.GET.get("to") else None
        older = get_object_or_404(versions, version=request.GET.get("from")) if request.GET.get("from") else None
        if newer is None:
            newer = pipeline.current_version or versions.first()
        if newer is None:
            raise Http404("This pipeline has no version.")
        if older is None:
            # The version registered before `newer`; for the first version, the whole spec is new.
            older = versions.filter(created_at__lt=newer.created_at).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": pipeline,
            "title": f"{pipeline.name}: {older.version if older else 'nothing'} → {newer.version}",
            "older": older,
            "newer": newer,
            "choices": list(versions.values_list("version", flat=True)[: console_selectors.VERSIONS_SHOWN]),
            "diff": console_selectors.spec_diff(older, newer),
        }
        return TemplateResponse(request, "admin/catalog/pipeline/compare.html", context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Pausing changes pipelines: only for users holding the change permission (staff hold all).
        if not request.user.has_perm("catalog.change_pipeline"):
            actions.pop("pause_selected", None)
            actions.pop("unpause_selected", None)
        return actions

    def _set_paused(self, request, queryset, paused: bool):
        # The queryset is the admin's, restricted to the user's organizations (orgs.admin_scoping). "Select
        # all" may hold every pipeline: all are changed, a batch (its update and its history) at a time.
        verb = "Paused" if paused else "Unpaused"
        changing = queryset.filter(paused=not paused).order_by("pk")
        changed, after = 0, 0
        while batch := list(changing.filter(pk__gt=after).values_list("pk", "name")[:PAUSE_BATCH]):
            after = batch[-1][0]
            with transaction.atomic():
                changed += set_paused(queryset.filter(pk__in=[pk for pk, _ in batch]), paused)
                LogEntry.objects.log_actions(
                    user_id=request.user.pk,
                    queryset=[Pipeline(pk=pk, name=name) for pk, name in batch],
                    action_flag=CHANGE,
                    change_message=f"{verb} from the operator console.",
                )
        self.message_user(request, f"{verb} {changed} pipeline(s).", messages.SUCCESS)

    @admin.action(description="Pause the selected pipelines (never late while paused)")
    def pause_selected(self, request, queryset):
        self._set_paused(request, queryset, True)

    @admin.action(description="Unpause the selected pipelines (expect their next slots)")
    def unpause_selected(self, request, queryset):
        self._set_paused(request, queryset, False)

    @admin.display(description="late", ordering="late_slot")
    def late(self, obj):
        return lateness(obj)

    @admin.display(description="current version", ordering="current_version__version")
    def current_version_label(self, obj):
        return obj.current_version.version if obj.current_version else "-"

    @admin.display(description="latest run", ordering="latest_run_status")
    def latest_run(self, obj):
        return badge(getattr(obj, "latest_run_status", None))

    @admin.display(description="runs")
    def latest_runs(self, obj):
        runs = console_selectors.pipeline_latest_runs(obj)
        more = admin_url("catalog_run_changelist")
        return table(
            ["run", "status", "version", "started", "duration"],
            [
                [
                    admin_link("catalog_run_change", run.pk, run.run_id),
                    badge(run.status),
                    run.pipeline_version.version if run.pipeline_version else "-",
                    when(run.started_at),
                    duration(run.started_at, run.finished_at),
                ]
                for run in runs
            ],
            empty="No run yet.",
            footer=format_html(
                '<a id="all-runs" href="{}?{}">All runs of this pipeline</a>',
                more,
                urlencode({"pipeline": obj.name, "organization": obj.organization_id}),
            )
            if more
            else "",
        )

    @admin.display(description="checks (current version)")
    def checks(self, obj):
        definitions = console_selectors.pipeline_checks(obj)
        results = admin_url("checks_checkresult_changelist")
        return table(
            ["check", "type", "severity", "dataset", "threshold"],
            [
                [
                    format_html(
                        '<a href="{}?{}">{}</a>',
                        results,
                        urlencode(
                            {"check_id": check.check_id, "pipeline": obj.name, "organization": obj.organization_id}
                        ),
                        check.check_id,
                    )
                    if results
                    else check.check_id,
                    check.type or "-",
                    badge(check.severity),
                    admin_link("lineage_dataset_change", check.dataset_id, check.dataset) if check.dataset_id else "-",
                    check.threshold,
                ]
                for check in definitions
            ],
            empty="No check defined.",
        )

    @admin.display(description="datasets")
    def datasets(self, obj):
        read, written = console_selectors.pipeline_datasets(obj)

        def links(datasets):
            if not datasets:
                return "-"
            return format_html(
                "<ul class='dataset-list'>{}</ul>",
                format_html_join(
                    "",
                    "<li>{}</li>",
                    ((admin_link("lineage_dataset_change", d.pk, d),) for d in datasets),
                ),
            )

        return format_html(
            '<div id="pipeline-lineage" class="console-columns"><div><h4>Reads</h4>{}</div>'
            "<div><h4>Writes</h4>{}</div></div>",
            links(read),
            links(written),
        )

    @admin.display(description="current spec")
    def current_spec(self, obj):
        return _pretty_json(obj.current_version.spec) if obj.current_version else "-"


class RunChangeList(ChangeList):
    """The Runs list, with each running run of the page checked against its usual duration in one query."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        flagged = console_selectors.overruns(self.result_list)
        for run in self.result_list:
            run.overrun = flagged.get(run.pk)


@admin.register(Run)
class RunAdmin(DomainErrorsAdminMixin, ReadOnlyAdminMixin, ScopedAdmin):
    """Run history is a record: viewed and cancelled here, never edited or deleted."""

    # Read at 1366 px without scrolling sideways (tests/console/test_incident_browser.py measures it).
    list_display = [
        "run",
        "pipeline_link",
        "status_badge",
        "severity",
        "error_line",
        "started",
        "run_duration",
        "organization",
    ]
    list_display_links = None  # the run column links to the run; the whole id is its hover text
    list_filter = ["status", PipelineFilter, OrganizationFilter, "created_at"]
    list_select_related = ["pipeline", "organization", "pipeline_version"]
    # Exact match on the indexed (organization, run_id) key; a LIKE over millions of rows is not an option.
    search_fields = ["=run_id"]
    search_help_text = "Exact run id."
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count the whole history per filter choice
    list_per_page = 50
    actions = ["cancel_selected"]
    fields = [
        "run_id",
        "organization",
        "pipeline_link",
        "version",
        "status_badge",
        "severity",
        "error_line",
        "started_at",
        "finished_at",
        "run_duration",
        "lineage",
        "pretty_attributes",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [CheckResultInline]

    def get_queryset(self, request):
        # A run names its organization, pipeline and version (list and page); their specs and
        # descriptions are never shown here. Its worst failed check comes in the same query.
        return console_selectors.with_worst_check(
            super()
            .get_queryset(request)
            .select_related("organization", "pipeline", "pipeline_version")
            .defer("pipeline_version__spec", "pipeline__description", "pipeline__tags")
        )

    def get_changelist(self, request, **kwargs):
        return RunChangeList

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Cancelling changes runs: only for users holding the change permission (staff hold all).
        if not request.user.has_perm("catalog.change_run"):
            actions.pop("cancel_selected", None)
        return actions

    @admin.display(description="run", ordering="run_id")
    def run(self, obj):
        return run_cell(obj.pk, obj.run_id, obj.pipeline.name)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        if not hasattr(obj, "overrun"):  # the run's own page: its list did not check it
            obj.overrun = console_selectors.overruns([obj]).get(obj.pk)
        return format_html("{}{}", badge(obj.status), overrun_flag(obj.overrun))

    @admin.display(description="severity")
    def severity(self, obj):
        """The severity of the run's worst failed check (console.selectors.with_worst_check)."""
        worst = getattr(obj, "worst_check", None)
        return severity_badge(worst["severity"]) if worst else "-"

    @admin.display(description="error (first line)")
    def error_line(self, obj):
        worst = getattr(obj, "worst_check", None)
        if not worst:
            return "-"
        if worst["error_message"]:
            return error_cell(f"{worst['check_id']}: {worst['error_message']}")
        return error_cell(f"{worst['check_id']} failed: {number(worst['violations'])} > {number(worst['threshold'])}")

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return since(obj.started_at)

    @admin.display(description="pipeline", ordering="pipeline__name")
    def pipeline_link(self, obj):
        return admin_link("catalog_pipeline_change", obj.pipeline_id, obj.pipeline.name)

    @admin.display(description="version", ordering="pipeline_version__version")
    def version(self, obj):
        return obj.pipeline_version.version if obj.pipeline_version_id else "-"

    @admin.display(description="duration")
    def run_duration(self, obj):
        return duration(obj.started_at, obj.finished_at)

    @admin.display(description="lineage")
    def lineage(self, obj):
        url = admin_url("catalog_pipeline_change", obj.pipeline_id)
        if not url:
            return "-"
        return format_html(
            '<a id="run-lineage-link" href="{}#pipeline-lineage">Datasets {} reads and writes</a>',
            url,
            obj.pipeline.name,
        )

    @admin.display(description="attributes")
    def pretty_attributes(self, obj):
        return _pretty_json(obj.attributes)

    @admin.action(description="Cancel the selected runs that are still queued or running")
    def cancel_selected(self, request, queryset):
        # The queryset is the admin's, restricted to the user's organizations (orgs.admin_scoping). "Select
        # all" during an incident may hold thousands of runs: all are cancelled, a batch (its events and its
        # history) per transaction, so a long action never holds every run's lock at once.
        pending = queryset.exclude(status__in=TERMINAL_RUN_STATUSES).order_by("pk")
        cancelled_by = {"cancelled_by": request.user.get_username()}
        cancelled, after = 0, 0
        # values_list: only the keys, without the list's per-row worst-check subquery.
        keys = ("pk", "run_id", "organization_id", "pipeline_id")
        while batch := list(pending.filter(pk__gt=after).values_list(*keys)[:CANCEL_BATCH]):
            after = batch[-1][0]
            organizations = Organization.objects.in_bulk({org for _, _, org, _ in batch})
            pipelines = Pipeline.objects.for_organizations(list(organizations)).in_bulk({p for *_, p in batch})
            with transaction.atomic():
                changed = []
                for _, run_id, organization_id, pipeline_id in batch:
                    outcome = apply_run_event(
                        organization=organizations[organization_id],
                        pipeline=pipelines[pipeline_id],
                        status=RunStatus.CANCELLED,
                        run_id=run_id,
                        attributes=cancelled_by,
                    )
                    if outcome.changed:  # a run that finished meanwhile keeps its own outcome
                        changed.append(outcome.run)
                if changed:
                    LogEntry.objects.log_actions(
                        user_id=request.user.pk,
                        queryset=changed,
                        action_flag=CHANGE,
                        change_message="Cancelled from the operator console.",
                    )
            cancelled += len(changed)
        self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = ["connection_id", "organization", "type", "updated_at"]
    list_filter = ["type", OrganizationFilter]
    search_fields = ["connection_id"]
    list_select_related = ["organization"]
    fields = ["connection_id", "organization", "type", "masked_config", "dsn_password", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="config (secrets are references; a DSN password is masked)")
    def masked_config(self, obj):
        return _pretty_json(display_config(obj))

    @admin.display(description="DSN password")
    def dsn_password(self, obj):
        return "stored encrypted" if obj.encrypted_dsn_password else "none"
