"""What the fraud rules read: the signals orders kept at payment, by sale and by creator.

Orders own the signals (salted hashes of the client, device and address, the card's
fingerprint; orders.risk normalises the email); these reads return plain values, a fixed
number of queries for any number of sales.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q

from commissions.fraud_rules import CreatorOwn, Sale, Shared
from commissions.models import CommissionHold, CommissionLine, CommissionTerms
from commissions.selectors.order_lines import creator_paid_lines
from creators.models import Creator, PaymentFingerprint
from orders.models import Order, OrderLine
from orders.risk import email_key
from orders.state import PAID_STATUSES

# The reason code a dispute's hold carries (commissions.services.holds).
# Attribution rules that credit a sale after a click (creators.selectors.attribution).
CLICK_RULES = ["last_click", "storefront", "link_over_code"]


def sales_for_order_lines(*, order_line_ids: Iterable[int]) -> list[Sale]:
    """The sale behind the commission line of each of these order lines, with its order's
    signals. Two queries."""
    lines = list(
        CommissionLine.objects.filter(
            order_line_id__in=list(order_line_ids), kind=CommissionLine.Kind.COMMISSION
        )
        .order_by("pk")
        .values_list("pk", "order_id", "creator_id", "brand_id")
    )
    orders = {
        row[0]: row[1:]
        for row in Order.objects.filter(pk__in={line[1] for line in lines}).values_list(
            "pk", "email", "card_fingerprint", "device_hash", "shipping_hash"
        )
    }
    sales = []
    for line_id, order_id, creator_id, brand_id in lines:
        email, card, device, address = orders.get(order_id, ("", "", "", ""))
        sales.append(
            Sale(
                line_id=line_id,
                order_id=order_id,
                creator_id=creator_id,
                brand_id=brand_id,
                email_key=email_key(email) if email else "",
                card_fingerprint=card,
                device_hash=device,
                shipping_hash=address,
            )
        )
    return sales


def creators_own(*, creator_ids: Iterable[int]) -> dict[int, CreatorOwn]:
    """Each creator's account email, and the cards and devices of their own purchases (as
    a logged-in buyer, and the cards attribution knows as theirs). Three queries."""
    rows = Creator.objects.filter(pk__in=list(creator_ids)).values_list(
        "pk", "user__email", "user_id"
    )
    accounts = {pk: email for pk, email, _ in rows}
    users = {user_id: pk for pk, _, user_id in rows}
    cards: dict[int, set[str]] = {pk: set() for pk in accounts}
    devices: dict[int, set[str]] = {pk: set() for pk in accounts}
    for creator_id, fingerprint in PaymentFingerprint.objects.filter(
        creator_id__in=list(accounts)
    ).values_list("creator_id", "fingerprint"):
        cards[creator_id].add(fingerprint)
    for user_id, card, device in Order.objects.filter(user_id__in=list(users)).values_list(
        "user_id", "card_fingerprint", "device_hash"
    ):
        if card:
            cards[users[user_id]].add(card)
        if device:
            devices[users[user_id]].add(device)
    return {
        pk: CreatorOwn(
            email_key=email_key(email) if email else "",
            cards=frozenset(cards[pk]),
            devices=frozenset(devices[pk]),
        )
        for pk, email in accounts.items()
    }


def _shared(field: str, values: set[str], since: datetime) -> dict[str, Shared]:
    if not values:
        return {}
    rows = (
        OrderLine.objects.filter(
            **{f"order__{field}__in": values},
            order__paid_at__gte=since,
            order__status__in=PAID_STATUSES,
        )
        .values(f"order__{field}")
        .annotate(
            orders=Count("order_id", distinct=True),
            creators=Count("attributed_creator_id", distinct=True),
        )
        .values_list(f"order__{field}", "orders", "creators")
    )
    return {value: Shared(orders=orders, creators=creators) for value, orders, creators in rows}


def shared_signals(
    *, device_hashes: set[str], shipping_hashes: set[str], since: datetime
) -> tuple[dict[str, Shared], dict[str, Shared]]:
    """Paid orders since `since` per device and per address, and how many creators they
    credited. Two queries (none for an empty set)."""
    return (
        _shared("device_hash", device_hashes, since),
        _shared("shipping_hash", shipping_hashes, since),
    )


def creators_click_counts(
    *, creator_ids: Iterable[int], since: datetime
) -> dict[int, tuple[int, int]]:
    """Creator id -> (paid orders credited to them since `since`, of which with no click
    before them: the attribution receipt names no click and no rule that follows one (a
    code alone credited it). One query."""
    no_click = (
        ~Q(attribution__has_key="click_id")
        & ~Q(attribution__has_key="clicked_at")
        & ~Q(attribution__rule__in=CLICK_RULES)
    )
    rows = (
        OrderLine.objects.filter(
            attributed_creator_id__in=list(creator_ids),
            order__paid_at__gte=since,
            order__status__in=PAID_STATUSES,
        )
        .values("attributed_creator_id")
        .annotate(
            orders=Count("order_id", distinct=True),
            without=Count("order_id", distinct=True, filter=no_click),
        )
        .values_list("attributed_creator_id", "orders", "without")
    )
    return {
        creator_id: (orders, without)
        for creator_id, orders, without in rows
        if creator_id is not None
    }


def creators_refund_or_dispute_counts(
    *, brand_ids: Iterable[int], creator_ids: Iterable[int]
) -> dict[tuple[int, int], tuple[int, int]]:
    """(brand id, creator id) -> (paid orders credited to the creator for the brand, of which
    refunded or disputed), as the refund-rate flag counts them. One query."""
    disputed = CommissionHold.objects.filter(
        reason=CommissionHold.DISPUTE, line__order_line_id=OuterRef("pk")
    )
    rows = (
        creator_paid_lines(brand_ids=brand_ids)
        .filter(attributed_creator_id__in=list(creator_ids))
        .annotate(was_disputed=Exists(disputed))
        .order_by()
        .values("brand_id", "attributed_creator_id")
        .annotate(
            orders=Count("order_id", distinct=True),
            bad=Count(
                "order_id", distinct=True, filter=Q(was_refunded=True) | Q(was_disputed=True)
            ),
        )
        .values_list("brand_id", "attributed_creator_id", "orders", "bad")
    )
    return {
        (brand_id, creator_id): (orders, bad)
        for brand_id, creator_id, orders, bad in rows
        if creator_id is not None
    }


def brands_refund_thresholds(*, brand_ids: Iterable[int]) -> dict[int, Decimal | None]:
    """Each brand's own refund-rate threshold (None: the platform's default). One query."""
    ids = list(brand_ids)
    found = dict(
        CommissionTerms.objects.filter(brand_id__in=ids).values_list(
            "brand_id", "fraud_refund_rate"
        )
    )
    return {brand_id: found.get(brand_id) for brand_id in ids}


def lines_with_holds(*, line_ids: Iterable[int], reasons: Iterable[str]) -> set[tuple[int, str]]:
    """(line, reason) pairs that ever had a hold: a rule holds a line once, and a staff
    decision on it stands. One query."""
    return set(
        CommissionHold.objects.filter(
            line_id__in=list(line_ids), reason__in=list(reasons)
        ).values_list("line_id", "reason")
    )
