"""Views only the benchmark settings mount (config/bench_urls.py): one step of a flow, alone."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.services.reservations import reservations_reclaim_expired
from shop.services.stock import stock_reserve

# bench_hold is created by bench/bench_reserve.py: it stands in for the reservation row (which
# needs an order line) so the step pays for one insert as checkout does.
INSERT_HOLD = "INSERT INTO bench_hold (variant_id, quantity) VALUES (%s, 1) RETURNING id"


@csrf_exempt
@require_POST
def reserve(request: HttpRequest, variant_id: int) -> JsonResponse:
    """Hold one unit as checkout's reserve step does (retry after reclaiming), without an order."""
    hold_id = None
    with transaction.atomic(durable=True):
        held = stock_reserve(variant_id=variant_id, quantity=1)
        if not held and reservations_reclaim_expired(variant_id=variant_id):
            held = stock_reserve(variant_id=variant_id, quantity=1)
        if held:
            with connection.cursor() as cursor:
                cursor.execute(INSERT_HOLD, [variant_id])
                hold_id = cursor.fetchone()[0]
    if hold_id is None:
        return JsonResponse(
            {"error": {"code": "out_of_stock", "message": "This item is sold out."}}, status=409
        )
    return JsonResponse({"hold_id": hold_id, "variant_id": variant_id, "quantity": 1}, status=201)
