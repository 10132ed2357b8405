from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Newest first, ties broken on id so pages never skip or repeat rows."""

    ordering = ("-id",)
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
