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
