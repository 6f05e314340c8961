from django.contrib.admin.apps import AdminConfig


class CatalogAdminConfig(AdminConfig):
    """The admin, with the operator console's site (landing dashboard) as the default site."""

    default_site = "console.sites.CatalogAdminSite"
