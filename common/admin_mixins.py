"""Admin building blocks shared by the apps' admins."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone


class ReadOnlyAdminMixin:
    """A model admin that lists and shows rows but never adds, changes or deletes one: ledgers,
    logs and records that only services write. First among the bases, it wins over a mixin
    that grants rights (brand scoping's writers)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInlineMixin:
    """The same for an inline: its rows are shown on the parent's page, never edited there."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def titled_filter(title: str, base: type[Any] | None = None) -> type[Any]:
    """A field list filter shown under `title`, for two filters whose fields share a name."""
    from django.contrib.admin import ChoicesFieldListFilter

    class TitledFilter(base or ChoicesFieldListFilter):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.title = title

    return TitledFilter


def local_datetime(value: datetime | None) -> str:
    """A moment as people read it in the admin: local time, to the minute."""
    if value is None:
        return "-"
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def is_admin_path(path: str) -> bool:
    """Whether `path` is under the admin (False where the URLconf has no admin, as in tests).

    Asked by two middlewares on every request: the admin's root is reversed once per URLconf
    and script prefix, not per call (two reversals were a fifth of a bare request's CPU)."""
    root = _admin_root(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return root is not None and path.startswith(root)


@lru_cache(maxsize=32)
def _admin_root(urlconf: Any, prefix: str) -> str | None:
    try:
        return reverse("admin:index", urlconf=urlconf)
    except NoReverseMatch:
        return None
