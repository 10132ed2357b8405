"""Views only the benchmark settings mount (config/bench_urls.py): one step of a flow, alone."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from creators.models import CreatorCode
from orders.services.reservations import reservation_hold
from shop.services.discounts import discount_use_reserve

# The code bench/bench_reserve.py --code seeds (bench/reserve_data.py `code_seed`).
BENCH_CODE = "BENCH10"


class _SoldOut(Exception):
    pass


@csrf_exempt
@require_POST
def reserve(request: HttpRequest, variant_id: int, order_line_id: int) -> JsonResponse:
    """Hold one unit for an order line through checkout's own reserve service; no order, no Stripe.

    bench/bench_reserve.py seeds the order lines and sends each request a line of its own. Like
    checkout, the hold lasts CHECKOUT_HOLD_MINUTES; unlike checkout, nothing else is written, so
    the service runs in autocommit.
    """
    expires_at = timezone.now() + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
    reservation = reservation_hold(
        order_line_id=order_line_id, variant_id=variant_id, quantity=1, expires_at=expires_at
    )
    if reservation is None:
        return JsonResponse(
            {"error": {"code": "out_of_stock", "message": "This item is sold out."}}, status=409
        )
    return JsonResponse(
        {"reservation_id": reservation.pk, "variant_id": variant_id, "quantity": 1}, status=201
    )


@csrf_exempt
@require_POST
def reserve_with_code(request: HttpRequest, variant_id: int, order_line_id: int) -> JsonResponse:
    """`reserve` with a code applied, as checkout does it: the code and its discount read, then
    in one transaction a use of the discount taken (the line's id stands for the order's, so
    every request holds a use of its own) and the unit held; a miss rolls the use back."""
    code = CreatorCode.objects.select_related("discount").get(code=BENCH_CODE)
    expires_at = timezone.now() + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
    try:
        with transaction.atomic():
            discount_use_reserve(
                discount=code.discount,
                code=code.code,
                order_id=order_line_id,
                email=f"bench-{order_line_id}@example.com",
                user=None,
            )
            reservation = reservation_hold(
                order_line_id=order_line_id,
                variant_id=variant_id,
                quantity=1,
                expires_at=expires_at,
            )
            if reservation is None:
                raise _SoldOut
    except _SoldOut:
        return JsonResponse(
            {"error": {"code": "out_of_stock", "message": "This item is sold out."}}, status=409
        )
    return JsonResponse(
        {"reservation_id": reservation.pk, "variant_id": variant_id, "quantity": 1}, status=201
    )


# The cheapest answer to "the 20 lowest-priced public products": one indexed ORDER BY ... LIMIT
# (the partial index on lowest_price, id), their ids, prices and stored list entries, no stock.
_PRICE_PAGE_SQL = """
SELECT p.id, p.lowest_price, l.template
FROM shop_product p
JOIN shop_brand b ON b.id = p.brand_id
LEFT JOIN shop_productlisting l ON l.product_id = p.id
WHERE p.status = 'active' AND b.is_active
ORDER BY p.lowest_price, p.id
LIMIT 21
"""


def price_page(request: HttpRequest) -> HttpResponse:
    """The raw query a price-ordered list page cannot beat, answered as a JSON array of rows.

    bench/bench_price_order.py measures it beside `/api/v1/products/?ordering=price`.
    """
    with connection.cursor() as cursor:
        cursor.execute(_PRICE_PAGE_SQL)
        rows = cursor.fetchall()
    body = ", ".join(f'[{pk}, "{price}", {len(template or "")}]' for pk, price, template in rows)
    return HttpResponse(f"[{body}]", content_type="application/json")
