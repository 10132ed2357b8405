"""One reusable way to scope a Django admin to the brands the signed-in user belongs to.

A model admin inherits `BrandScopedAdminMixin` and names the ORM path from its model to
`Brand` in `brand_path` ("brand", "product__brand", "variant__product__brand", or "pk" for
Brand itself). The mixin then scopes the changelist, the change/delete views (other brands'
rows 404 through `get_queryset`), search and autocomplete, foreign-key and many-to-many
choices and related list filters pointing at any other brand-scoped admin, admin actions,
and grants add/change/delete/view from brand roles instead of Django's model permissions.
Inlines use `BrandScopedInlineMixin`, whose permissions follow the parent object's brand.
Superusers are never restricted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from shop.models import BrandMember

if TYPE_CHECKING:
    from django.contrib.admin.options import BaseModelAdmin, InlineModelAdmin

    _ChoicesBase = BaseModelAdmin[Any]
    _AdminBase = admin.ModelAdmin[Any]
    _InlineBase = InlineModelAdmin[Any, Any]
else:
    _ChoicesBase = object
    _AdminBase = object
    _InlineBase = object

ALL_ROLES: tuple[str, ...] = tuple(BrandMember.Role.values)
WRITE_ROLES: tuple[str, ...] = tuple(str(role) for role in BrandMember.WRITE_ROLES)
_CACHE_ATTR = "_brand_scope_memberships"
_ZONES_ATTR = "_brand_scope_timezones"


def is_unrestricted(request: HttpRequest) -> bool:
    """Superusers see and edit every brand."""
    user = request.user
    return bool(user.is_active and user.is_superuser)


def _memberships(request: HttpRequest) -> dict[int, str]:
    """The user's brand id -> role, read once per request (with the brands' time zones)."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        user = request.user
        rows = (
            list(
                BrandMember.objects.filter(user_id=user.pk).values_list(
                    "brand_id", "role", "brand__timezone"
                )
            )
            if user.is_authenticated
            else []
        )
        cached = {brand_id: role for brand_id, role, _ in rows}
        setattr(request, _CACHE_ATTR, cached)
        setattr(request, _ZONES_ATTR, {brand_id: zone for brand_id, _, zone in rows})
    return cached


def brand_timezones_for_request(request: HttpRequest) -> frozenset[str]:
    """The time zones of the brands the user belongs to (read with the memberships)."""
    _memberships(request)
    return frozenset(getattr(request, _ZONES_ATTR, {}).values())


def brand_ids_for_request(request: HttpRequest, roles: Iterable[str] = ALL_ROLES) -> frozenset[int]:
    """Ids of the brands where the user holds one of `roles`."""
    wanted = set(roles)
    return frozenset(brand_id for brand_id, role in _memberships(request).items() if role in wanted)


def brand_lookup(brand_path: str) -> str:
    """The `__in` lookup that filters a model by brand ids along `brand_path`."""
    return "pk__in" if brand_path in ("", "pk") else f"{brand_path}__in"


def scoped_admin_for(admin_site: admin.AdminSite, model: Any) -> BrandScopedAdminMixin | None:
    """The brand-scoped admin registered for `model`, if there is one."""
    try:
        model_admin = admin_site.get_model_admin(model)
    except NotRegistered:
        return None
    return model_admin if isinstance(model_admin, BrandScopedAdminMixin) else None


def _is_autocomplete(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and match.url_name == "autocomplete")


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-field list filter whose choices are only the user's brands' rows."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        related = scoped_admin_for(model_admin.admin_site, field.related_model)
        if related is None or is_unrestricted(request):
            return super().field_choices(field, request, model_admin)
        ordering = self.field_admin_ordering(field, request, model_admin)
        allowed = related.scope_queryset(
            request, field.related_model._default_manager.all(), roles=ALL_ROLES
        ).values("pk")
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": allowed}, ordering=ordering
        )


class _ScopedChoicesMixin(_ChoicesBase):
    """Limit foreign-key and many-to-many choices to rows of brands the user can write to."""

    def get_field_queryset(self, db: str | None, db_field: Any, request: HttpRequest) -> Any:
        queryset = super().get_field_queryset(db, db_field, request)
        if is_unrestricted(request):
            return queryset
        related_model = db_field.remote_field.model
        related = scoped_admin_for(self.admin_site, related_model)
        if related is None:
            return queryset
        if queryset is None:
            queryset = related_model._default_manager.using(db).all()
        return related.scope_queryset(request, queryset, roles=related.write_roles)


class BrandScopedAdminMixin(_ScopedChoicesMixin, _AdminBase):
    """Scope a ModelAdmin to the user's brands; see the module docstring.

    Class attributes:
    - `brand_path`: ORM path from the model to Brand ("pk" for Brand itself).
    - `view_roles` / `write_roles`: roles that may view / add, change and delete.
    """

    brand_path: ClassVar[str] = "brand"
    view_roles: ClassVar[tuple[str, ...]] = ALL_ROLES
    write_roles: ClassVar[tuple[str, ...]] = WRITE_ROLES

    # --- scoping helpers ----------------------------------------------------
    @property
    def brand_field(self) -> str | None:
        """The direct foreign key to Brand, when the model has one."""
        path = self.brand_path
        return None if path in ("", "pk") or "__" in path else path

    def brand_ids(self, request: HttpRequest, *, write: bool = False) -> frozenset[int]:
        return brand_ids_for_request(request, self.write_roles if write else self.view_roles)

    def scope_queryset(
        self, request: HttpRequest, queryset: QuerySet[Any], *, roles: Iterable[str]
    ) -> QuerySet[Any]:
        """`queryset` narrowed to the brands where the user holds one of `roles`."""
        if is_unrestricted(request):
            return queryset
        ids = brand_ids_for_request(request, roles)
        return queryset.filter(**{brand_lookup(self.brand_path): ids})

    def brand_id_of(self, obj: Model) -> int | None:
        """The brand id `obj` belongs to, following `brand_path`."""
        path = self.brand_path
        if path in ("", "pk"):
            return obj.pk
        *hops, last = path.split("__")
        target: Any = obj
        for hop in hops:
            target = getattr(target, hop, None)
            if target is None:
                return None
        return getattr(target, f"{last}_id", None)

    def _single_write_brand(self, request: HttpRequest) -> int | None:
        ids = self.brand_ids(request, write=True)
        return next(iter(ids)) if len(ids) == 1 and not is_unrestricted(request) else None

    # --- querysets ----------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return self.scope_queryset(request, queryset, roles=self.view_roles)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if _is_autocomplete(request):
            # Autocomplete only ever fills editable form fields: offer writable brands only.
            queryset = self.scope_queryset(request, queryset, roles=self.write_roles)
        return queryset, may_have_duplicates

    def get_list_filter(self, request: HttpRequest) -> Any:
        scoped: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and self._points_at_scoped_model(item):
                scoped.append((item, ScopedRelatedFieldListFilter))
            else:
                scoped.append(item)
        return scoped

    def _points_at_scoped_model(self, field_path: str) -> bool:
        try:
            field = get_fields_from_path(self.model, field_path)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return False
        related_model = getattr(field, "related_model", None)
        return related_model is not None and (
            scoped_admin_for(self.admin_site, related_model) is not None
        )

    # --- permissions: brand roles, not Django model permissions ---------------
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request) or bool(self.brand_ids(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_unrestricted(request):
            return True
        ids = self.brand_ids(request)
        return bool(ids) if obj is None else self.brand_id_of(obj) in ids

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_unrestricted(request) or bool(self.brand_ids(request, write=True))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_unrestricted(request):
            return True
        ids = self.brand_ids(request, write=True)
        return bool(ids) if obj is None else self.brand_id_of(obj) in ids

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    # --- forms: the brand field -------------------------------------------------
    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        only = self._single_write_brand(request)
        if db_field.name == self.brand_field and only is not None:
            # One writable brand: nothing to choose, so the field is hidden and pinned.
            kwargs.setdefault("widget", forms.HiddenInput())
            kwargs["initial"] = only
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        field = self.brand_field
        if obj is not None and field and not is_unrestricted(request) and field not in readonly:
            readonly.append(field)  # members never move rows between brands
        return readonly

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.assign_brand(request, obj)
        self.require_writable(request, obj)
        super().save_model(request, obj, form, change)

    def assign_brand(self, request: HttpRequest, obj: Any) -> None:
        """Set the brand of a new row when the user can write to exactly one brand."""
        field = self.brand_field
        only = self._single_write_brand(request)
        if field and only is not None and getattr(obj, f"{field}_id", None) is None:
            setattr(obj, f"{field}_id", only)

    def require_writable(self, request: HttpRequest, obj: Any) -> None:
        if not is_unrestricted(request) and self.brand_id_of(obj) not in self.brand_ids(
            request, write=True
        ):
            raise PermissionDenied

    # --- actions --------------------------------------------------------------
    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """Run actions only on rows of brands the user can write to."""
        if not is_unrestricted(request) and self.brand_ids(request) != self.brand_ids(
            request, write=True
        ):
            writable = self.scope_queryset(request, queryset, roles=self.write_roles)
            if request.POST.get("select_across") == "1":
                selected = queryset
            else:
                selected = queryset.filter(
                    pk__in=request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
                )
            left_out = selected.exclude(pk__in=writable.values("pk")).count()
            if left_out:
                self.message_user(
                    request,
                    f"{left_out} selected item(s) belong to brands you can only view; "
                    "they were left out.",
                    messages.WARNING,
                )
            queryset = writable
        return super().response_action(request, queryset)


class BrandScopedInlineMixin(_ScopedChoicesMixin, _InlineBase):
    """Scope an inline: rows by `brand_path`, permissions by the parent object's brand."""

    brand_path: ClassVar[str] = "brand"
    view_roles: ClassVar[tuple[str, ...]] = ALL_ROLES
    write_roles: ClassVar[tuple[str, ...]] = WRITE_ROLES

    def _parent_brand_id(self, obj: Model) -> int | None:
        parent = scoped_admin_for(self.admin_site, self.parent_model)
        if parent is None:
            raise TypeError(f"{type(self).__name__} needs a brand-scoped admin for its parent.")
        return parent.brand_id_of(obj)

    def _allowed(self, request: HttpRequest, obj: Any, roles: tuple[str, ...]) -> bool:
        if is_unrestricted(request):
            return True
        ids = brand_ids_for_request(request, roles)
        return bool(ids) if obj is None else self._parent_brand_id(obj) in ids

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if is_unrestricted(request):
            return queryset
        ids = brand_ids_for_request(request, self.view_roles)
        return queryset.filter(**{brand_lookup(self.brand_path): ids})

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, obj, self.view_roles)

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:  # type: ignore[override]
        return self._allowed(request, obj, self.write_roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, obj, self.write_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, obj, self.write_roles)
