from config.pagination import HistoryCursorPagination


class RunHistoryPagination(HistoryCursorPagination):
    # created_at never changes after insert; the (pipeline, -created_at, -id) index serves every page.
    ordering = ("-created_at", "-id")
