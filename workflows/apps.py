from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Requests that span apps (no tables of its own); see workflows/__init__.py."""

    name = "workflows"
    verbose_name = "Cross-app workflows"
