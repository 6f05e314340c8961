"""The service's own URLs, plus API views that fail the ways a bug or an outage does (tests/errors only).

Each view talks to a real database through a second Django connection (the test database itself,
or an address nothing listens on), so the errors are the driver's own, wrapped by Django as in
production, and the test's transaction on the default connection stays usable.
"""

from django.db import connection, transaction
from django.db.utils import load_backend
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as service_urlpatterns

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"


def other_connection(**overrides):
    settings_dict = {**connection.settings_dict, **overrides}
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias="errors-test")


class _OpenView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]


class BrokenQuery(_OpenView):
    """A query the code got wrong: ProgrammingError (PostgreSQL) or OperationalError (SQLite)."""

    def get(self, request):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM orgs_organization")
        return Response({})


class UnreachableDatabase(_OpenView):
    """The database cannot be connected to: PostgreSQL on a port nothing listens on, or an unopenable file."""

    def get(self, request):
        if connection.vendor == "postgresql":
            unreachable = other_connection(HOST="127.0.0.1", PORT="1")
        else:
            unreachable = other_connection(NAME="/nonexistent-directory/catalog.sqlite3")
        try:
            with unreachable.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            unreachable.close()
        return Response({})


class LostConnection(_OpenView):
    """PostgreSQL ends a working session (an administrator, a failover) between two queries."""

    def get(self, request):
        session = other_connection()
        try:
            with session.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (pid,) = cursor.fetchone()
                with connection.cursor() as admin_cursor:
                    admin_cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                cursor.execute("SELECT 1")
        finally:
            session.close()
        return Response({})


class StatementTimeout(_OpenView):
    """A live server cancels a slow query: OperationalError too, but a bug to fix, not an outage."""

    def get(self, request):
        session = other_connection()
        try:
            with session.cursor() as cursor:
                cursor.execute("SET statement_timeout = 50")
                cursor.execute("SELECT pg_sleep(5)")
        finally:
            session.close()
        return Response({})


class Crash(_OpenView):
    """A plain bug in a view (not a database error): Django's 500, with the request id too."""

    def get(self, request):
        raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/_errors/broken-query", BrokenQuery.as_view()),
    path("api/v1/_errors/unreachable", UnreachableDatabase.as_view()),
    path("api/v1/_errors/lost-connection", LostConnection.as_view()),
    path("api/v1/_errors/statement-timeout", StatementTimeout.as_view()),
    path("api/v1/_errors/crash", Crash.as_view()),
    *service_urlpatterns,
]
