"""Payouts: approved balances grouped per creator and currency, sent once through a provider.

Stripe is the project's emulator (a separate process): Connect accounts, onboarding links
and transfers with idempotency keys, as the service uses them.
"""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.db import connection
from django.utils import timezone

from commissions import tasks
from commissions.errors import (
    CreatorSuspended,
    PayoutAccountNotReady,
    PayoutBelowMinimum,
)
from commissions.models import CommissionLine, Payout, PayoutAccount
from commissions.services import payouts
from commissions.services.accounts import payout_account_connect
from commissions.services.providers import payouts_csv, transfer_group
from commissions.services.recording import commission_record_for_orders
from creators.models import Creator
from tests.commissions.helpers import onboarded, paid_order, variant_of
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.orders.helpers import stripe_test_client

pytestmark = pytest.mark.django_db
Status = CommissionLine.Status


def approved(creator: Creator, total: str, *, currency: str = "USD", rate: str = "10.00") -> None:
    """An approved commission of total x rate for `creator`."""
    brand = variant_of(currency=currency).product.brand
    order = paid_order(
        (variant_of(brand), total), creator=creator, rate=rate, currency=currency,
        paid_at=timezone.now() - timedelta(days=40),
    )  # fmt: skip
    commission_record_for_orders(order_ids=[order.pk])
    CommissionLine.objects.filter(order_id=order.pk).update(
        status=Status.APPROVED, approved_at=timezone.now()
    )


def clawback(creator: Creator, amount: str) -> None:
    """An approved reversal of `amount` (a refund after the commission was paid out)."""
    line = CommissionLine.objects.filter(creator=creator, kind="commission").first()
    assert line is not None
    CommissionLine.objects.create(
        kind="reversal", status=Status.APPROVED, creator=creator, brand_id=line.brand_id,
        order_id=line.order_id, order_line_id=line.order_line_id, refund_id="re_x",
        currency=line.currency, base=Decimal(0), rate=line.rate, amount=-Decimal(amount),
        earned_at=timezone.now(), payable_at=timezone.now(), approved_at=timezone.now(),
    )  # fmt: skip


def connected(stripe_emulator: str, creator: Creator) -> PayoutAccount:
    """A real emulator Connect account, onboarded, and our copy synced from account.updated."""
    account, link, _ = payout_account_connect(creator=creator)
    onboarded(account, link.url)
    assert account.status == PayoutAccount.Status.READY
    return account


def transfers_to(account: PayoutAccount) -> list:
    assert account.stripe_account_id is not None
    listed = stripe_test_client().v1.transfers.list(
        params={"destination": account.stripe_account_id, "limit": 100}
    )
    return list(listed.data)


# --- grouping and refusals ---------------------------------------------------------------


def test_approved_balance_at_the_minimum_becomes_one_payout_with_its_lines_paid(
    stripe_emulator, on_commit
):
    creator = CreatorFactory.create()
    account = connected(stripe_emulator, creator)
    approved(creator, "150.00")  # 15.00
    approved(creator, "100.00")  # 10.00: 25.00 in all, the default minimum

    created = on_commit(lambda: tasks.payouts_create_due.delay().get())

    payout = Payout.objects.get()
    assert created == [payout.pk]
    assert (payout.amount, payout.currency, payout.status) == (
        Decimal("25.000"),
        "USD",
        Payout.Status.PAID,
    )
    assert set(CommissionLine.objects.values_list("status", "payout_id")) == {
        (Status.PAID, payout.pk)
    }
    [transfer] = transfers_to(account)
    assert (transfer.id, transfer.amount, transfer.currency) == (payout.reference, 2500, "usd")
    assert transfer.transfer_group == transfer_group(payout)


def test_a_balance_below_the_minimum_is_refused_and_nothing_is_written():
    creator = CreatorFactory.create()
    PayoutAccountFactory.create(creator=creator)
    approved(creator, "249.90")  # 24.99

    with pytest.raises(PayoutBelowMinimum) as exc:
        payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")

    assert exc.value.code == "payout_below_minimum"
    assert exc.value.details == {"balance": "24.990", "minimum": "25.00", "currency": "USD"}
    assert not Payout.objects.exists()
    assert payouts.payouts_create_due() == []
    assert set(CommissionLine.objects.values_list("status", flat=True)) == {Status.APPROVED}


def test_the_minimum_is_a_setting_per_currency(settings):
    settings.COMMISSION_PAYOUT_MINIMUMS = {"JPY": "3000"}
    creator = CreatorFactory.create()
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    approved(creator, "25000", currency="JPY")  # 2500 yen

    with pytest.raises(PayoutBelowMinimum):
        payouts.payout_create_for_creator(creator_id=creator.pk, currency="jpy")


@pytest.mark.parametrize(
    "account_kw",
    [
        None,
        {"status": PayoutAccount.Status.ONBOARDING},
        {"status": PayoutAccount.Status.RESTRICTED},
    ],
)
def test_a_creator_without_a_ready_payout_account_is_refused(account_kw):
    creator = CreatorFactory.create()
    if account_kw is not None:
        PayoutAccountFactory.create(creator=creator, **account_kw)
    approved(creator, "500.00")

    with pytest.raises(PayoutAccountNotReady) as exc:
        payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")

    assert exc.value.code == "payout_account_not_ready"
    assert not Payout.objects.exists()
    assert payouts.payouts_create_due() == []


def test_a_suspended_creator_is_not_paid():
    creator = CreatorFactory.create(status=Creator.Status.SUSPENDED)
    PayoutAccountFactory.create(creator=creator)
    approved(creator, "500.00")

    with pytest.raises(CreatorSuspended):
        payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")

    assert payouts.payouts_create_due() == []
    assert not Payout.objects.exists()


def test_a_clawback_is_netted_against_later_earnings():
    creator = CreatorFactory.create()
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    approved(creator, "400.00")  # 40.00
    clawback(creator, "20.00")

    assert payouts.payouts_create_due() == []  # 20.00 is below the minimum

    approved(creator, "100.00")  # +10.00
    [payout_id] = payouts.payouts_create_due()
    assert Payout.objects.get(pk=payout_id).amount == Decimal("30.000")
    assert CommissionLine.objects.filter(payout_id=payout_id).count() == 3


def test_each_currency_is_paid_on_its_own():
    creator = CreatorFactory.create()
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    approved(creator, "300.00", currency="USD")
    approved(creator, "300.00", currency="EUR")
    approved(creator, "10.00", currency="GBP")  # 1.00: below

    created = payouts.payouts_create_due()

    assert sorted(Payout.objects.filter(pk__in=created).values_list("currency", "amount")) == [
        ("EUR", Decimal("30.000")),
        ("USD", Decimal("30.000")),
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_payout_runs_group_a_balance_once():
    creator = CreatorFactory.create()
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    for _ in range(5):
        approved(creator, "100.00")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def run() -> None:
        try:
            barrier.wait()
            payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")
            outcomes.append("created")
        except PayoutBelowMinimum:
            outcomes.append("below")
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["below", "below", "below", "created"]
    assert Payout.objects.get().amount == Decimal("50.000")


# --- sending ------------------------------------------------------------------------------


def test_a_refused_transfer_fails_the_payout_and_frees_its_lines(stripe_emulator, on_commit):
    creator = CreatorFactory.create()
    account = connected(stripe_emulator, creator)
    approved(creator, "300.00")
    requests.post(
        f"{stripe_emulator}/_config/accounts/{account.stripe_account_id}/restrict",
        data={"disabled_reason": "rejected.fraud"},
        timeout=10,
    )

    [payout_id] = on_commit(lambda: tasks.payouts_create_due.delay().get())

    payout = Payout.objects.get(pk=payout_id)
    assert payout.status == Payout.Status.FAILED
    assert payout.failure_code == "insufficient_capabilities_for_transfer"
    assert payout.failure_message
    assert list(CommissionLine.objects.values_list("status", "payout_id")) == [
        (Status.APPROVED, None)
    ]
    assert transfers_to(account) == []


def test_an_unknown_outcome_is_sent_again_as_the_same_payout_and_paid_once(
    stripe_emulator, settings, on_commit
):
    creator = CreatorFactory.create()
    account = connected(stripe_emulator, creator)
    approved(creator, "300.00")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nobody listens: the outcome is unknown

    [payout_id] = on_commit(payouts.payouts_create_due)

    payout = Payout.objects.get(pk=payout_id)
    assert (payout.status, payout.attempts, payout.reference) == ("processing", 1, "")
    assert "APIConnectionError" in payout.last_error
    assert payouts.payouts_unsent() == []  # its lease has not run out yet

    settings.STRIPE_API_BASE = stripe_emulator
    later = timezone.now() + timedelta(minutes=10)
    assert payouts.payouts_unsent(now=later) == [payout_id]
    payouts.payout_send(payout_id=payout_id, now=later)
    payouts.payout_send(payout_id=payout_id, now=later + timedelta(minutes=10))

    payout.refresh_from_db()
    assert (payout.status, payout.attempts) == (Payout.Status.PAID, 2)
    assert [t.id for t in transfers_to(account)] == [payout.reference]


def test_a_transfer_made_by_an_attempt_whose_answer_was_lost_is_found_not_made_again(
    stripe_emulator,
):
    creator = CreatorFactory.create()
    account = connected(stripe_emulator, creator)
    approved(creator, "300.00")
    payout = payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")
    # An earlier attempt made the transfer (days ago: past the idempotency key's 24 hours).
    made = stripe_test_client().v1.transfers.create(
        params={
            "amount": 3000,
            "currency": "usd",
            "destination": account.stripe_account_id or "",
            "transfer_group": transfer_group(payout),
        },
        options={"idempotency_key": f"lost-attempt-{payout.pk}-{uuid.uuid4()}"},
    )

    payouts.payout_send(payout_id=payout.pk)

    payout.refresh_from_db()
    assert (payout.status, payout.reference) == (Payout.Status.PAID, made.id)
    assert len(transfers_to(account)) == 1


def test_sending_a_paid_payout_again_does_nothing(stripe_emulator, on_commit):
    creator = CreatorFactory.create()
    account = connected(stripe_emulator, creator)
    approved(creator, "300.00")
    [payout_id] = on_commit(payouts.payouts_create_due)

    for _ in range(3):
        payouts.payout_send(payout_id=payout_id, now=timezone.now() + timedelta(hours=1))

    assert Payout.objects.get(pk=payout_id).attempts == 1
    assert len(transfers_to(account)) == 1


def test_manual_payouts_wait_for_the_bank_and_export_as_csv(on_commit):
    creator = CreatorFactory.create(display_name="=HYPERLINK(1)")
    PayoutAccountFactory.create(
        creator=creator, provider="manual", stripe_account_id=None, bank_reference="GB00 1234"
    )
    approved(creator, "300.00")

    [payout_id] = on_commit(payouts.payouts_create_due)

    payout = Payout.objects.select_related("creator__user", "creator__payout_account").get()
    assert (payout.status, payout.reference) == ("processing", f"manual-{payout_id}")
    [row] = list(csv.DictReader(io.StringIO(payouts_csv([payout]))))
    assert (row["handle"], row["amount"], row["currency"], row["bank_reference"]) == (
        creator.handle,
        "30.00",
        "USD",
        "GB00 1234",
    )
    assert row["display_name"] == "'=HYPERLINK(1)"  # never a formula in the bank's sheet
    payouts.payout_mark_paid_manually(payout_id=payout_id)
    assert Payout.objects.get().status == Payout.Status.PAID


def test_a_manual_payout_the_bank_rejected_frees_its_lines(on_commit):
    creator = CreatorFactory.create()
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    approved(creator, "300.00")
    [payout_id] = on_commit(payouts.payouts_create_due)

    payouts.payout_mark_failed_manually(payout_id=payout_id, message="closed account")

    assert Payout.objects.get().status == Payout.Status.FAILED
    assert list(CommissionLine.objects.values_list("status", "payout_id")) == [
        (Status.APPROVED, None)
    ]
    [again] = payouts.payouts_create_due()
    assert again != payout_id
