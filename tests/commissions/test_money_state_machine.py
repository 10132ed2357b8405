"""The money state machine: random sequences of what happens to money, and the rules that
must hold after every step.

This is the one place where money rules are proven together. Steps: checkouts (pending
orders of 1-3 lines, credited to a creator at a snapshotted rate, in a 0-, 2- or 3-decimal
currency), payments (the order paid and `orders.order_paid` recorded in the outbox), refunds
from every source (the brand's, through the refunds service that the brand API and the admin
desk share, minus the Stripe call; and Stripe dashboard refunds through
`refund_record_external`, spread over the order's lines), disputes (opened on a paid order's
charge for some of what is left, then won or lost, as Stripe's re-fetched dispute is synced),
outbox deliveries in order, in reverse, or twice, the clock moving, approvals, payouts and
settlements.

After every step, once the outbox has delivered everything:

- each paid, credited line's ledger holds exactly commission(paid) - reversed(refunded +
  lost to disputes), to the cent (amounts.py); an open dispute's lines are never paid out;
- a payout takes exactly the creator's approved balance, never more, and its lines add up
  to it;
- each settlement is gross - discounts - refunds - commissions - platform fee - disputes -
  dispute fees, and its lines add up to it; what it pays is its amount due plus the debt
  carried in, never below zero;
- the ledger reconciliation finds nothing;
- a code's discount holds exactly one use per unpaid or paid order that took it, never
  more than its cap.

Codes: `checkout_with_code` takes a use of a capped discount (through the same conditional
statement as checkout) and allocates it over the order's lines by largest remainder, each
line paying its list price less its share; `cancel_unpaid` gives the use back. The JPY
brand's terms pay commission on the list price, the others on what was paid; refunds
reverse pro rata of what was paid either way.

Services are called directly (no HTTP), on PostgreSQL, with a fixed seed and a bounded
budget (derandomize, MAX_EXAMPLES x STEPS) so CI runs the same sequences every time.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any, cast

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from commissions import conf
from commissions.amounts import commission_amount, reversed_target
from commissions.errors import PayoutBelowMinimum
from commissions.models import (
    CommissionHold,
    CommissionLine,
    CommissionTerms,
    Payout,
    Settlement,
)
from commissions.selectors.reconciliation import commission_ledger_differences
from commissions.services.approval import commissions_approve_due
from commissions.services.payouts import payout_create_for_creator
from commissions.services.settlement_payouts import settlements_pay_due
from commissions.services.settlement_periods import periods_due
from commissions.services.settlements import settlement_create
from common.errors import ApplicationError
from common.money import quantize, quantum, to_minor_units
from common.outbox import event_record
from common.outbox.models import OutboxDelivery
from common.outbox.services import delivery_run
from creators.models import Creator
from orders.events import ORDER_PAID
from orders.models import Dispute, DisputeLine, Order, OrderLine
from orders.order_selectors import order_lines_refunded_succeeded
from orders.services.disputes import dispute_sync
from orders.services.payments import order_cancel_unpaid
from orders.services.refund_events import refund_record_external
from orders.services.refunds import RefundLineRequest, _reserve, refund_complete
from shop.discounts import PricedLine, discount_allocate
from shop.models import Brand, Discount, DiscountUse
from shop.services.discounts import discount_use_reserve
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.hypothesis_budget import state_machine_budget
from tests.orders.aftersale_helpers import member
from tests.shop.factories import BrandFactory


def stripe_units(amount: Decimal, currency: str) -> int:
    """Minor units as Stripe moves them: 3-decimal currencies in multiples of 0.010."""
    if quantum(currency) == Decimal("0.001"):
        step = Decimal("0.010")
        amount = (amount / step).to_integral_value(rounding=ROUND_FLOOR) * step
    return to_minor_units(amount, currency)


def held_order_lines() -> list[int]:
    return list(
        CommissionHold.objects.filter(resolved_at__isnull=True).values_list(
            "line__order_line_id", flat=True
        )
    )


MAX_EXAMPLES = 15
STEPS = 25
CURRENCIES = ["USD", "JPY", "KWD"]
RATES = [Decimal(r) for r in ("0.00", "7.50", "10.00", "12.50", "33.33")]
CODE_PERCENTS = [Decimal(p) for p in ("12.5", "33.33", "100")]
CODE_CAP = 2
LIST_PRICE_CURRENCY = "JPY"  # that brand's terms: commission on the list price
Status = CommissionLine.Status


class MoneyMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    paid = Bundle("paid")

    def __init__(self) -> None:
        super().__init__()
        self.now: datetime = timezone.now()
        self.brands: dict[str, Brand] = {}
        self.owners: dict[int, object] = {}
        self.creator: Creator = CreatorFactory.create()
        PayoutAccountFactory.create(creator=self.creator, provider="manual", stripe_account_id=None)
        self.order_ids: list[int] = []
        self.payouts: list[int] = []
        self.brand_ids: set[int] = set()
        self.disputes: dict[str, dict] = {}  # Stripe's dispute, as last synced

    # --- helpers -------------------------------------------------------------------------

    def brand(self, currency: str) -> Brand:
        if currency not in self.brands:
            brand = BrandFactory.create(currency=currency)
            self.brands[currency] = brand
            self.owners[brand.pk] = member(brand)
            CommissionTerms.objects.create(
                brand=brand, hold_days=7, commission_on_list_price=currency == LIST_PRICE_CURRENCY
            )
            self.brand_ids.add(brand.pk)
        return self.brands[currency]

    def discount(self, brand: Brand, percent: Decimal) -> Discount:
        """The brand's capped code discount (one per brand and percentage)."""
        found = Discount.objects.filter(brand=brand, value=percent).first()
        return found or Discount.objects.create(
            brand=brand, name=f"{percent}%", kind="percentage", value=percent, max_uses=CODE_CAP
        )

    def lines(self) -> list[OrderLine]:
        return list(
            OrderLine.objects.filter(order_id__in=self.order_ids, order__paid_at__isnull=False)
        )

    def undelivered(self) -> list[int]:
        return list(
            OutboxDelivery.objects.filter(done_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    # --- steps ---------------------------------------------------------------------------

    @rule(
        target=orders,
        currency=st.sampled_from(CURRENCIES),
        units=st.lists(st.integers(1, 50_000), min_size=1, max_size=3),
        rate=st.sampled_from(RATES),
    )
    def checkout(self, currency: str, units: list[int], rate: Decimal) -> int:
        brand = self.brand(currency)
        step = quantum(currency)
        order = paid_order(
            *[(variant_of(brand), str(u * step)) for u in units],
            creator=self.creator,
            rate=str(rate),
            currency=currency,
            shipping="0",
            status=Order.Status.PENDING_PAYMENT,
        )
        Order.objects.filter(pk=order.pk).update(stripe_payment_intent_id=f"pi_{uuid.uuid4().hex}")
        self.order_ids.append(order.pk)
        return order.pk

    @rule(
        target=orders,
        currency=st.sampled_from(CURRENCIES),
        units=st.lists(st.integers(1, 50_000), min_size=1, max_size=3),
        rate=st.sampled_from(RATES),
        percent=st.sampled_from(CODE_PERCENTS),
    )
    def checkout_with_code(
        self, currency: str, units: list[int], rate: Decimal, percent: Decimal
    ) -> object:
        """A checkout with the brand's code: a use taken, the discount split over the lines."""
        brand = self.brand(currency)
        discount = self.discount(brand, percent)
        order_id = cast(int, self.checkout(currency, units, rate))
        order = Order.objects.get(pk=order_id)
        lines = list(order.lines.order_by("pk"))
        result = discount_allocate(
            kind=discount.kind,
            value=discount.value_decimal,
            lines=[
                PricedLine(key=ln.pk, product_id=ln.product_id, amount=ln.line_total)
                for ln in lines
            ],
            currency=currency,
        )
        refused = None
        try:
            with transaction.atomic():
                discount_use_reserve(
                    discount=discount,
                    code=f"CODE{discount.pk}",
                    order_id=order_id,
                    email=f"fan{order_id}@example.com",
                    user=None,
                )
                for line in lines:
                    share = result.parts[line.pk]
                    OrderLine.objects.filter(pk=line.pk).update(
                        list_total=line.line_total,
                        discount_amount=share,
                        line_total=line.line_total - share,
                        discount_code=f"CODE{discount.pk}",
                        discount_id=discount.pk,
                    )
                Order.objects.filter(pk=order_id).update(
                    discount_total=result.total, grand_total=order.grand_total - result.total
                )
        except ApplicationError as exc:  # the cap was reached: the order stays undiscounted
            refused = exc.code
        if refused is not None:
            assert refused == "code_exhausted"
            assert Discount.objects.get(pk=discount.pk).uses == CODE_CAP
        return order_id

    @rule(order_id=consumes(orders))
    def cancel_unpaid(self, order_id: int) -> None:
        """An order that will never be paid: canceled, its code's use given back."""
        order_cancel_unpaid(order_id=order_id, reason="payment_intent_canceled")

    @initialize(
        target=paid,
        currency=st.sampled_from(CURRENCIES),
        units=st.lists(st.integers(1, 50_000), min_size=1, max_size=3),
        rate=st.sampled_from(RATES[1:]),
    )
    def first_sale(self, currency: str, units: list[int], rate: Decimal) -> int:
        """Every run starts with a paid order, so refunds have something to take back."""
        order_id = self.checkout(currency, units, rate)
        return cast(int, self.pay(order_id))

    @rule(target=paid, order_id=consumes(orders))
    def pay(self, order_id: int) -> int:
        """What payment does to money: the order paid (now) and `order_paid` in the outbox."""
        with transaction.atomic():
            paid = Order.objects.filter(pk=order_id, paid_at__isnull=True).update(
                status=Order.Status.PAID, paid_at=self.now
            )
            if paid:
                event_record(name=ORDER_PAID, payload={"order_id": order_id})
        return order_id

    @rule(order_id=paid, share=st.integers(1, 100), whole_line=st.booleans())
    def refund_by_brand(self, order_id: int, share: int, whole_line: bool) -> None:
        """The brand API and the admin desk: both reserve, ask Stripe, record the answer."""
        order = Order.objects.get(pk=order_id)
        line = order.lines.order_by("pk").first()
        if order.paid_at is None or line is None:
            return
        left = line.line_total - line.refunded_amount
        amount = left if whole_line else quantize(left * share / 100, line.currency)
        if amount <= 0:
            return
        try:
            refund = _reserve(
                order_id=order_id,
                user=self.owners[line.brand_id],  # type: ignore[arg-type]
                lines=[RefundLineRequest(line_id=line.pk, amount=amount)],
                shipping=False,
                restock=False,
                reason="requested_by_customer",
                note="",
                brand_slug=None,
            )
        except ApplicationError:
            return  # e.g. nothing left to refund: refused, nothing written
        refund_complete(
            refund_id=refund.pk, stripe_refund_id=f"re_{refund.pk}", stripe_status="succeeded"
        )

    @rule(order_id=paid, share=st.integers(1, 100))
    def refund_in_dashboard(self, order_id: int, share: int) -> None:
        order = Order.objects.get(pk=order_id)
        if order.paid_at is None or self.charged_back(order_id):
            return  # Stripe refuses to refund a charge the bank holds or took back
        left = order.grand_total - order.refunded_total
        # Stripe moves 3-decimal currencies in multiples of 0.010: so does its dashboard.
        step = Decimal("0.010") if quantum(order.currency) == Decimal("0.001") else None
        amount = quantize(left * share / 100, order.currency)
        if step is not None:
            amount = (amount / step).to_integral_value(rounding=ROUND_FLOOR) * step
        if amount <= 0:
            return
        refund_record_external(
            order_id=order_id,
            stripe_refund_id=f"re_dash_{uuid.uuid4().hex}",
            amount=to_minor_units(amount, order.currency),
            currency=order.currency.lower(),
            status="succeeded",
            reason="duplicate",
        )

    def charged_back(self, order_id: int) -> bool:
        return Dispute.objects.filter(order_id=order_id).exclude(status="won").exists()

    @rule(order_id=paid, share=st.integers(1, 100), fee=st.integers(0, 2000))
    def dispute_opened(self, order_id: int, share: int, fee: int) -> None:
        """The bank disputes some of what is left of the charge (one dispute per charge)."""
        order = Order.objects.get(pk=order_id)
        if order.paid_at is None or Dispute.objects.filter(order=order).exists():
            return
        left = order.grand_total - order.refunded_total
        amount = stripe_units(quantize(left * share / 100, order.currency), order.currency)
        if amount <= 0:
            return
        dispute_id = f"dp_{uuid.uuid4().hex}"
        data: dict[str, Any] = {
            "id": dispute_id,
            "object": "dispute",
            "payment_intent": order.stripe_payment_intent_id,
            "charge": f"ch_{order.pk}",
            "amount": amount,
            "currency": order.currency.lower(),
            "status": "needs_response",
            "reason": "fraudulent",
            "created": int(self.now.timestamp()),
            "evidence_details": {"due_by": int((self.now + timedelta(days=7)).timestamp())},
            "balance_transactions": [
                {"amount": -amount, "fee": fee, "currency": order.currency.lower()}
            ],
        }
        dispute_sync(data=data)
        self.disputes[dispute_id] = data

    @rule(pick=st.integers(0, 10**6), won=st.booleans(), fee_back=st.booleans())
    def dispute_closed(self, pick: int, won: bool, fee_back: bool) -> None:
        """The bank decides; Stripe's closed dispute is synced (twice: a duplicate event)."""
        open_ = sorted(k for k, d in self.disputes.items() if d["status"] == "needs_response")
        if not open_:
            return
        data = dict(self.disputes[open_[pick % len(open_)]])
        data["status"] = "won" if won else "lost"
        if won:
            withdrawn = data["balance_transactions"][0]
            back = {
                "amount": data["amount"],
                "fee": -withdrawn["fee"] if fee_back else 0,
                "currency": data["currency"],
            }
            data["balance_transactions"] = [withdrawn, back]
        dispute_sync(data=data)
        dispute_sync(data=data)
        self.disputes[data["id"]] = data

    @rule(reverse=st.booleans(), twice=st.booleans())
    def deliver(self, reverse: bool, twice: bool) -> None:
        """Outbox deliveries, in order or not; a second run of each changes nothing."""
        pending = self.undelivered()
        for delivery_id in reversed(pending) if reverse else pending:
            delivery_run(delivery_id=delivery_id)
            if twice:
                delivery_run(delivery_id=delivery_id)

    @rule(days=st.integers(1, 20))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(days=st.integers(0, 10))
    def approve(self, days: int) -> None:
        """The approval job, after the hold (7 days here) or a little before its end."""
        self.now += timedelta(days=days)
        while commissions_approve_due(now=self.now).more:
            pass

    @rule()
    def pay_out(self) -> None:
        approved = CommissionLine.objects.filter(
            creator=self.creator, status=Status.APPROVED, payout__isnull=True
        )
        held = held_order_lines()
        for currency in sorted(set(approved.values_list("currency", flat=True))):
            payable = approved.filter(currency=currency).exclude(order_line_id__in=held)
            balance = payable.aggregate(s=Sum("amount"))["s"] or Decimal(0)
            try:
                payout = payout_create_for_creator(
                    creator_id=self.creator.pk, currency=currency, now=self.now
                )
            except PayoutBelowMinimum:
                assert balance < conf.payout_minimum(currency)
                continue
            # Exactly the approved balance not held back (a dispute), never more.
            assert payout.amount == balance
            assert not payout.lines.filter(order_line_id__in=held).exists()
            self.payouts.append(payout.pk)

    @rule()
    def settle(self) -> None:
        """The settlement job for this run's brands: their ended periods closed, then paid."""
        at = self.now + timedelta(days=8)
        for brand in self.brands.values():
            for start, end in periods_due(brand_id=brand.pk, now=at):
                settlement_create(brand=brand, period_start=start, period_end=end)
        settlements_pay_due()

    # --- what must always hold -------------------------------------------------------------

    @invariant()
    def ledger_holds_commission_on_what_was_kept(self) -> None:
        if self.undelivered():
            return  # holds once the outbox has delivered what was recorded
        lines = self.lines()
        refunded = order_lines_refunded_succeeded(order_line_ids=[line.pk for line in lines])
        lost = dict(
            DisputeLine.objects.filter(
                order_line_id__in=[line.pk for line in lines], dispute__status="lost"
            )
            .values("order_line_id")
            .annotate(s=Sum("amount"))
            .values_list("order_line_id", "s")
        )
        ledger = dict(
            CommissionLine.objects.filter(order_line_id__in=[line.pk for line in lines])
            .values("order_line_id")
            .annotate(s=Sum("amount"))
            .values_list("order_line_id", "s")
        )
        for line in lines:
            assert line.commission_rate is not None
            on_list = line.currency == LIST_PRICE_CURRENCY and line.list_total is not None
            commission = commission_amount(
                base=line.list_total if on_list else line.line_total,  # type: ignore[arg-type]
                rate=line.commission_rate,
                currency=line.currency,
            )
            due = commission - reversed_target(
                commission=commission,
                base=line.line_total,
                refunded=min(line.line_total, refunded[line.pk] + lost.get(line.pk, 0)),
                currency=line.currency,
            )
            assert ledger.get(line.pk, Decimal(0)) == due, (line.pk, line.currency)

    @invariant()
    def reconciliation_finds_nothing(self) -> None:
        if self.undelivered():
            return
        ids = [line.pk for line in self.lines()]
        assert commission_ledger_differences(order_line_ids=ids) == []

    @invariant()
    def open_disputes_hold_their_lines(self) -> None:
        if self.undelivered():
            return
        disputed = DisputeLine.objects.filter(
            dispute__closed_at__isnull=True, order_line__isnull=False, amount__gt=0
        ).values_list("order_line_id", flat=True)
        for line in CommissionLine.objects.filter(
            order_line_id__in=list(disputed), kind="commission"
        ):
            assert line.holds.filter(reason="dispute", resolved_at__isnull=True).exists()

    @invariant()
    def payouts_pay_exactly_their_lines(self) -> None:
        for payout in Payout.objects.filter(pk__in=self.payouts):
            lines = CommissionLine.objects.filter(payout=payout).aggregate(s=Sum("amount"))
            assert payout.amount == lines["s"]
            assert payout.amount > 0

    @invariant()
    def settlements_add_up(self) -> None:
        for settlement in Settlement.objects.filter(brand_id__in=self.brand_ids):
            assert settlement.amount_due == (
                settlement.gross
                - settlement.discounts
                - settlement.refunds
                - settlement.commissions
                - settlement.platform_fee
                - settlement.disputes
                - settlement.dispute_fees
            )
            by_kind = dict(
                settlement.lines.values("kind").annotate(s=Sum("amount")).values_list("kind", "s")
            )
            assert by_kind.get("sale", 0) + by_kind.get("shipping", 0) == settlement.gross
            assert -by_kind.get("discount", 0) == settlement.discounts
            assert -by_kind.get("refund", 0) == settlement.refunds
            assert -(by_kind.get("commission", 0) + by_kind.get("reversal", 0)) == (
                settlement.commissions
            )
            assert -(by_kind.get("dispute", 0) + by_kind.get("dispute_reinstated", 0)) == (
                settlement.disputes
            )
            assert -(by_kind.get("dispute_fee", 0) + by_kind.get("dispute_fee_returned", 0)) == (
                settlement.dispute_fees
            )
            assert sum(by_kind.values(), Decimal(0)) == settlement.amount_due
            assert settlement.carried_in <= 0
            for attempt in settlement.payouts.all():
                assert attempt.amount == settlement.payable > 0

    @invariant()
    def code_uses_match_the_orders_that_hold_them(self) -> None:
        for discount in Discount.objects.filter(brand_id__in=self.brand_ids):
            held = DiscountUse.objects.filter(discount=discount, status=DiscountUse.Status.HELD)
            holding = Order.objects.filter(pk__in=held.values("order_id")).exclude(
                status__in=[Order.Status.CANCELED, Order.Status.EXPIRED]
            )
            assert discount.uses == held.count() == holding.count() <= CODE_CAP
            discounted = OrderLine.objects.filter(discount_id=discount.pk)
            assert set(discounted.values_list("order_id", flat=True)) == set(
                DiscountUse.objects.filter(discount=discount).values_list("order_id", flat=True)
            )


@pytest.mark.django_db
def test_money_state_machine(settings):
    settings.COMMISSION_PAYOUT_MINIMUM = "0.001"
    settings.COMMISSION_PAYOUT_MINIMUMS = {}
    settings.COMMISSION_HOLD_DAYS = 7
    settings.COMMISSION_PLATFORM_FEE_PERCENT = "5.00"
    run_state_machine_as_test(
        MoneyMachine, settings=state_machine_budget(examples=MAX_EXAMPLES, steps=STEPS)
    )
