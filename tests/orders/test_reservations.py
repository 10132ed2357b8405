from datetime import timedelta

import pytest
from django.utils import timezone

from orders import tasks
from orders.models import Order, OrderEvent, StockReservation
from orders.services.checkout import checkout_start
from orders.services.reservations import reservations_expire
from orders.state import InvalidTransition, order_transition
from tests.orders.helpers import ADDRESS, cart_with, stripe_test_client, variant_in_stock

pytestmark = pytest.mark.usefixtures("stripe_emulator")


def start(variant, quantity=1, key=None):
    cart = cart_with((variant, quantity))
    return checkout_start(
        cart=cart,
        user=None,
        idempotency_key=key or f"k-{cart.pk}",
        email="fan@example.com",
        shipping_address=ADDRESS,
    )


@pytest.mark.django_db
def test_expiry_releases_the_hold_expires_the_order_and_cancels_its_payment_intent(
    django_capture_on_commit_callbacks,
):
    variant = variant_in_stock(on_hand=3)
    order = start(variant, 2)
    later = timezone.now() + timedelta(minutes=16)
    with django_capture_on_commit_callbacks(execute=True):
        assert reservations_expire(now=later) == 1
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == "expired"
    assert variant.reserved == 0
    assert StockReservation.objects.get().status == "released"
    assert OrderEvent.objects.filter(order=order, kind="hold_expired").exists()
    intent = stripe_test_client().v1.payment_intents.retrieve(order.stripe_payment_intent_id)
    assert intent.status == "canceled"


@pytest.mark.django_db
def test_expiry_leaves_unexpired_and_paid_orders_alone():
    variant = variant_in_stock(on_hand=3)
    fresh = start(variant, 1)
    assert reservations_expire(now=timezone.now()) == 0
    fresh.refresh_from_db()
    assert fresh.status == "pending_payment"


@pytest.mark.django_db
def test_running_expiry_twice_releases_once():
    variant = variant_in_stock(on_hand=3)
    start(variant, 2)
    later = timezone.now() + timedelta(minutes=30)
    assert reservations_expire(now=later) == 1
    assert reservations_expire(now=later) == 0
    variant.refresh_from_db()
    assert variant.reserved == 0


@pytest.mark.django_db
def test_failed_reserve_reclaims_the_variants_lapsed_holds_first():
    variant = variant_in_stock(on_hand=1)
    abandoned = start(variant, 1)
    StockReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    Order.objects.filter(pk=abandoned.pk).update(
        reservation_expires_at=timezone.now() - timedelta(seconds=1)
    )
    newcomer = start(variant, 1)
    assert newcomer.status == "pending_payment"
    variant.refresh_from_db()
    assert variant.reserved == 1
    assert StockReservation.objects.get(order_line__order=abandoned).status == "released"


@pytest.mark.django_db
def test_state_machine_refuses_illegal_moves_and_audits_legal_ones():
    variant = variant_in_stock(on_hand=3)
    order = start(variant, 1)
    with pytest.raises(InvalidTransition):
        order_transition(order=order, to_status=Order.Status.REFUNDED)
    order_transition(order=order, to_status=Order.Status.CANCELED, kind="test")
    with pytest.raises(InvalidTransition):
        order_transition(order=order, to_status=Order.Status.EXPIRED)
    event = OrderEvent.objects.get(order=order, kind="test")
    assert (event.from_status, event.to_status) == ("pending_payment", "canceled")


@pytest.mark.django_db
def test_stale_copy_of_an_order_cannot_transition_twice():
    variant = variant_in_stock(on_hand=3)
    order = start(variant, 1)
    stale = Order.objects.get(pk=order.pk)
    order_transition(order=order, to_status=Order.Status.CANCELED)
    with pytest.raises(InvalidTransition):
        order_transition(order=stale, to_status=Order.Status.EXPIRED)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_real_worker_expires_lapsed_holds(real_worker):
    variant = variant_in_stock(on_hand=2)
    order = start(variant, 2)
    Order.objects.filter(pk=order.pk).update(
        reservation_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert tasks.reservations_expire.delay().get(timeout=60) == 1
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == "expired"
    assert variant.reserved == 0
