"""Every ModelAdmin of the catalog, in the console (the top layer), one module per app it shows.

Django's admin autodiscovery imports `console.admin`; importing the modules here registers their
ModelAdmins on the console's site. The admins sit on top so they may use any app's services and
selectors, while the domain apps below import nothing of the admin.
"""

from console.admin import (  # noqa: F401 (registers the ModelAdmins)
    alerts,
    billing,
    catalog,
    check_executions,
    checks,
    lineage,
    orgs,
)
