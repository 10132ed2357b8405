"""A brand's settlement statements as its members read them: the list, and one with its lines."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from commissions.models import Settlement, SettlementLine
from common.errors import NotFound
from shop.selectors import brand_ids_for_user


def brand_settlement_list(*, user: User) -> QuerySet[Settlement]:
    """The settlements of the user's brands (every brand for a superuser)."""
    settlements = Settlement.objects.select_related("brand")
    if user.is_active and user.is_superuser:
        return settlements
    return settlements.filter(brand_id__in=brand_ids_for_user(user))


def brand_settlement_get(*, user: User, settlement_id: int) -> Settlement:
    """One of the user's brands' settlements with its lines loaded; 404 for any other."""
    lines = SettlementLine.objects.select_related("settlement").order_by("pk")
    found = (
        brand_settlement_list(user=user)
        .prefetch_related(Prefetch("lines", queryset=lines))
        .filter(pk=settlement_id)
        .first()
    )
    if found is None:
        raise NotFound("No such settlement.", code="settlement_not_found")
    return found
