"""Which orders and lines a user may see or act on, through their brand memberships.

An order is visible to a brand member when it holds at least one line of one of their
brands and has been paid; anything else answers 404, as if it did not exist. Acting
(shipping, refunding) needs the owner or manager role of the lines' brand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from common.errors import Forbidden, NotFound, ValidationFailed
from orders.models import Order, OrderLine
from orders.state import PAID_STATUSES
from shop.models import Brand, BrandMember


@dataclass(frozen=True)
class BrandAccess:
    view_ids: frozenset[int]
    write_ids: frozenset[int]
    unrestricted: bool = False

    def orders(self, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
        """Paid orders holding a line of one of the user's brands."""
        queryset = Order.objects.all() if queryset is None else queryset
        queryset = queryset.filter(status__in=PAID_STATUSES)
        if self.unrestricted:
            return queryset
        return queryset.filter(
            Exists(OrderLine.objects.filter(order_id=OuterRef("pk"), brand_id__in=self.view_ids))
        )

    def sees_brand(self, brand_id: int) -> bool:
        return self.unrestricted or brand_id in self.view_ids

    def require_write(self, brand_id: int) -> None:
        if not (self.unrestricted or brand_id in self.write_ids):
            raise Forbidden(
                "Only the brand's owners and managers may do this.", code="brand_write_required"
            )

    def brand_filter(self, field: str = "brand_id") -> Q:
        return Q() if self.unrestricted else Q(**{f"{field}__in": self.view_ids})


def brand_access_for(user: User) -> BrandAccess:
    if not user.is_authenticated:
        return BrandAccess(frozenset(), frozenset())
    roles = dict(BrandMember.objects.filter(user_id=user.pk).values_list("brand_id", "role"))
    writes = {str(role) for role in BrandMember.WRITE_ROLES}
    return BrandAccess(
        view_ids=frozenset(roles),
        write_ids=frozenset(b for b, role in roles.items() if role in writes),
        unrestricted=bool(user.is_active and user.is_superuser),
    )


def order_lock_for(*, access: BrandAccess, order_id: int) -> Order:
    """Lock a visible order's row (the first lock every after-sale write takes), else 404."""
    order = access.orders(Order.objects.select_for_update(of=("self",))).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def order_lines_for(
    *, access: BrandAccess, order: Order, line_ids: Iterable[int]
) -> dict[int, OrderLine]:
    """The order's lines by id, all of them the user's brands'; any other id answers 404."""
    wanted = list(line_ids)
    if len(set(wanted)) != len(wanted):
        raise ValidationFailed("Each line may appear once.", code="duplicate_line")
    lines = {
        line.pk: line
        for line in OrderLine.objects.filter(access.brand_filter(), order=order, pk__in=wanted)
    }
    missing = [pk for pk in wanted if pk not in lines]
    if missing:
        raise NotFound(
            "No such line in this order.",
            code="order_line_not_found",
            details={"line_ids": missing},
        )
    return lines


def brand_for_action(
    *, access: BrandAccess, order: Order, lines: Iterable[OrderLine], brand_slug: str | None
) -> int:
    """The one brand an action is for: its lines' brand, or the named or only brand."""
    brand_ids = {line.brand_id for line in lines}
    if len(brand_ids) > 1:
        raise ValidationFailed(
            "Lines of different brands cannot be handled together.", code="mixed_brands"
        )
    if brand_slug:
        brand = Brand.objects.filter(slug=brand_slug).values_list("pk", flat=True).first()
        if brand is None or not access.sees_brand(brand) or (brand_ids and brand not in brand_ids):
            raise NotFound("No such brand in this order.", code="brand_not_found")
        brand_ids = {brand}
    if not brand_ids:
        candidates = set(
            OrderLine.objects.filter(access.brand_filter(), order=order)
            .values_list("brand_id", flat=True)
            .distinct()
        )
        if len(candidates) != 1:
            raise ValidationFailed(
                "Name the brand: this order holds lines of several of yours.",
                code="brand_required",
                fields={"brand": ["Required here."]},
            )
        brand_ids = candidates
    (brand_id,) = brand_ids
    if not OrderLine.objects.filter(order=order, brand_id=brand_id).exists():
        raise NotFound("No such brand in this order.", code="brand_not_found")
    access.require_write(brand_id)
    return brand_id
