"""How lists of unbounded history are paged: cursors in the API, capped counts in the admin."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    """For bounded collections (pipelines, connections, keys)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class HistoryCursorPagination(CursorPagination):
    """For history that grows without bound: no COUNT(*), no OFFSET, stable under inserts.

    Subclasses set `ordering` to an indexed, immutable ordering ending in a unique column.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-created_at", "-id")


class CappedCountPaginator(Paginator):
    """The admin's paginator for history tables (runs, check results, lineage edges, events): never a COUNT(*)
    over the whole table.

    A count capped at COUNT_CAP rows, so a broad filter costs at most a bounded scan. When the cap is reached
    on an unfiltered PostgreSQL table, the planner's row estimate (pg_class.reltuples) instead, so every page
    stays reachable: one query for a small table, two for a huge one.
    """

    COUNT_CAP = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        capped = queryset.order_by().values("pk")[: self.COUNT_CAP + 1].count()
        database = connections[queryset.db]
        if capped <= self.COUNT_CAP or database.vendor != "postgresql" or queryset.query.where:
            return capped
        with database.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [queryset.model._meta.db_table])
            row = cursor.fetchone()
        return max(int(row[0]), capped) if row else capped
