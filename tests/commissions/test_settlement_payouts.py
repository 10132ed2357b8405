"""Brand settlements paid through the payout-provider interface, once, whatever the retries.

Stripe is the project's emulator (a separate process): the brand's Connect account, its
onboarding link, `account.updated`, and transfers with idempotency keys and groups.
"""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone

from commissions import tasks
from commissions.errors import BrandPayoutAccountNotReady, SettlementNotPayable
from commissions.models import BrandPayoutAccount, Settlement, SettlementPayout
from commissions.services import settlement_payouts as services
from commissions.services.accounts import brand_payout_account_connect
from shop.models import Brand, BrandMember
from tests.commissions.helpers import onboarded
from tests.commissions.test_admin import superuser
from tests.creators.test_admin_collaborations import changelist_pks, login
from tests.orders.helpers import stripe_test_client
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db
Status = SettlementPayout.Status
START = datetime(2026, 10, 1, tzinfo=UTC)
URL = "/admin/commissions/settlement/"


def settlement(brand: Brand, amount_due: str, *, currency: str = "USD", start=START) -> Settlement:
    """A statement whose amount due is `amount_due` (gross less a 10.00 commission)."""
    due = Decimal(amount_due)
    return Settlement.objects.create(
        brand=brand, period_start=start, period_end=start + timedelta(days=31),
        currency=currency, gross=due + 10, refunds=Decimal(0), commissions=Decimal(10),
        platform_fee_percent=Decimal(0), platform_fee=Decimal(0), amount_due=due,
    )  # fmt: skip


def connected(brand: Brand) -> BrandPayoutAccount:
    """The brand's real emulator Connect account, onboarded, synced from account.updated."""
    account, link = brand_payout_account_connect(brand=brand)
    assert account.status == BrandPayoutAccount.Status.ONBOARDING
    onboarded(account, link.url)
    assert account.status == BrandPayoutAccount.Status.READY
    return account


def manual(brand: Brand) -> BrandPayoutAccount:
    return BrandPayoutAccount.objects.create(
        brand=brand, provider="manual", status="ready", bank_reference="DE89 3704 0044 0532"
    )


def transfers_to(account: BrandPayoutAccount) -> list:
    listed = stripe_test_client().v1.transfers.list(
        params={"destination": account.stripe_account_id or "", "limit": 100}
    )
    return list(listed.data)


# --- paying, once ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "amount_due", "minor_units"),
    [("USD", "85.25", 8525), ("JPY", "15000", 15000), ("KWD", "12.340", 12340)],
)
def test_a_settlement_is_paid_as_one_transfer_to_the_brands_connected_account(
    stripe_emulator, on_commit, currency, amount_due, minor_units
):
    brand = BrandFactory.create()
    account = connected(brand)
    statement = settlement(brand, amount_due, currency=currency)

    payout = on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    payout.refresh_from_db()
    assert (payout.status, payout.amount, payout.currency) == (
        Status.PAID,
        Decimal(amount_due),
        currency,
    )
    [transfer] = transfers_to(account)
    assert (transfer.id, transfer.amount, transfer.currency) == (
        payout.reference,
        minor_units,
        currency.lower(),
    )
    assert transfer.transfer_group == f"tribe-settlement-{statement.pk}"
    assert transfer.metadata["settlement_id"] == str(statement.pk)


def test_paying_a_settlement_again_returns_the_same_payment_and_sends_nothing_more(
    stripe_emulator, on_commit
):
    brand = BrandFactory.create()
    account = connected(brand)
    statement = settlement(brand, "40.00")
    first = on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    again = on_commit(services.settlement_payout_create, settlement_id=statement.pk)
    services.settlement_payout_send(payout_id=first.pk, now=timezone.now() + timedelta(hours=1))

    assert again.pk == first.pk
    assert SettlementPayout.objects.get().attempts == 1
    assert len(transfers_to(account)) == 1
    assert tasks.settlements_pay_due() == []


@pytest.mark.parametrize("amount_due", ["0", "-12.50"])
def test_a_settlement_with_nothing_owed_to_the_brand_is_refused_and_nothing_written(amount_due):
    brand = BrandFactory.create()
    BrandPayoutAccount.objects.create(brand=brand, stripe_account_id="acct_x", status="ready")
    statement = settlement(brand, amount_due)

    with pytest.raises(SettlementNotPayable) as refused:
        services.settlement_payout_create(settlement_id=statement.pk)

    assert refused.value.code == "settlement_not_payable"
    assert refused.value.status_code == 422
    assert refused.value.details["currency"] == "USD"
    assert not SettlementPayout.objects.exists()
    assert services.settlements_pay_due() == []


@pytest.mark.parametrize(
    "account_kw",
    [
        None,
        {"provider": "stripe", "status": "onboarding"},
        {"provider": "stripe", "status": "onboarding", "stripe_account_id": "acct_y"},
        {"provider": "stripe", "status": "restricted", "stripe_account_id": "acct_z"},
        {"provider": "manual", "status": "onboarding"},
    ],
)
def test_a_brand_without_a_ready_payout_account_is_refused_and_nothing_written(account_kw):
    brand = BrandFactory.create()
    if account_kw is not None:
        BrandPayoutAccount.objects.create(brand=brand, **account_kw)
    statement = settlement(brand, "99.00")

    with pytest.raises(BrandPayoutAccountNotReady) as refused:
        services.settlement_payout_create(settlement_id=statement.pk)

    assert refused.value.code == "brand_payout_account_not_ready"
    assert not SettlementPayout.objects.exists()
    assert services.settlements_pay_due() == []


def test_a_ready_stripe_account_without_an_account_id_cannot_exist():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        BrandPayoutAccount.objects.create(brand=BrandFactory.create(), status="ready")


# --- failures and retries ----------------------------------------------------------------


def test_a_refused_transfer_leaves_the_payment_failed_with_its_reason_and_a_retry_pays_once(
    stripe_emulator, on_commit
):
    brand = BrandFactory.create()
    account = connected(brand)
    statement = settlement(brand, "60.00")
    # Stripe restricted the account and the event has not reached us yet.
    requests.post(
        f"{stripe_emulator}/_config/accounts/{account.stripe_account_id}/restrict", timeout=10
    )

    failed = on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    failed.refresh_from_db()
    assert failed.status == Status.FAILED
    assert failed.failure_code == "insufficient_capabilities_for_transfer"
    assert failed.failure_message
    assert transfers_to(account) == []

    requests.post(
        f"{stripe_emulator}/_config/accounts/{account.stripe_account_id}/onboard", timeout=10
    )
    retry = on_commit(services.settlement_payout_create, settlement_id=statement.pk)
    on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    retry.refresh_from_db()
    assert retry.pk != failed.pk
    assert retry.status == Status.PAID
    assert [t.id for t in transfers_to(account)] == [retry.reference]
    failed.refresh_from_db()
    assert failed.status == Status.FAILED  # the first attempt's record stays as it was


def test_an_unknown_outcome_is_sent_again_as_the_same_payment_and_paid_once(
    stripe_emulator, settings, on_commit
):
    brand = BrandFactory.create()
    account = connected(brand)
    statement = settlement(brand, "70.00")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nobody listens: the outcome is unknown

    payout = on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    payout.refresh_from_db()
    assert (payout.status, payout.attempts, payout.reference) == (Status.PROCESSING, 1, "")
    assert "APIConnectionError" in payout.last_error
    assert services.settlement_payouts_unsent() == []  # its lease has not run out yet

    settings.STRIPE_API_BASE = stripe_emulator
    later = timezone.now() + timedelta(minutes=10)
    assert services.settlement_payouts_unsent(now=later) == [payout.pk]
    services.settlement_payout_send(payout_id=payout.pk, now=later)
    services.settlement_payout_send(payout_id=payout.pk, now=later + timedelta(minutes=10))

    payout.refresh_from_db()
    assert (payout.status, payout.attempts) == (Status.PAID, 2)
    assert [t.id for t in transfers_to(account)] == [payout.reference]


def test_a_later_attempt_finds_the_transfer_an_earlier_one_made_instead_of_paying_again(
    stripe_emulator,
):
    brand = BrandFactory.create()
    account = connected(brand)
    statement = settlement(brand, "30.00")
    payout = services.settlement_payout_create(settlement_id=statement.pk)
    # An earlier attempt made the transfer, days ago (past its key's 24 hours), and its
    # answer was lost.
    made = stripe_test_client().v1.transfers.create(
        params={
            "amount": 3000,
            "currency": "usd",
            "destination": account.stripe_account_id or "",
            "transfer_group": services.settlement_transfer_group(statement.pk),
        },
        options={"idempotency_key": f"lost-{uuid.uuid4()}"},
    )

    services.settlement_payout_send(payout_id=payout.pk)

    payout.refresh_from_db()
    assert (payout.status, payout.reference) == (Status.PAID, made.id)
    assert len(transfers_to(account)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_to_pay_one_settlement_make_one_payment_and_one_transfer(
    stripe_emulator,
):
    brand = BrandFactory.create()
    account = connected(brand)
    statement = settlement(brand, "55.00")
    barrier = threading.Barrier(4)
    got: list[int] = []
    errors: list[BaseException] = []

    def pay() -> None:
        try:
            barrier.wait()
            payout = services.settlement_payout_create(settlement_id=statement.pk)
            services.settlement_payout_send(payout_id=payout.pk)
            got.append(payout.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(got)) == 1
    assert SettlementPayout.objects.get().status == Status.PAID
    assert len(transfers_to(account)) == 1


# --- the periodic task -------------------------------------------------------------------


def test_the_periodic_task_pays_settlements_owed_to_brands_that_can_be_paid(
    stripe_emulator, on_commit
):
    ready = BrandFactory.create()
    account = connected(ready)
    owed = settlement(ready, "25.00")
    later_period = settlement(ready, "5.00", start=START + timedelta(days=31))
    settlement(ready, "-3.00", start=START + timedelta(days=62))
    settlement(BrandFactory.create(), "80.00")  # no payout account
    failed = settlement(ready, "9.00", start=START + timedelta(days=93))
    SettlementPayout.objects.create(
        settlement=failed, amount=Decimal(9), currency="USD", provider="stripe",
        destination="acct_old", status=Status.FAILED, failure_code="account_closed",
    )  # fmt: skip

    created = on_commit(lambda: tasks.settlements_pay_due.delay().get())

    paid = SettlementPayout.objects.filter(status=Status.PAID)
    assert sorted(created) == sorted(paid.values_list("pk", flat=True))
    assert set(paid.values_list("settlement_id", flat=True)) == {owed.pk, later_period.pk}
    assert sorted(t.amount for t in transfers_to(account)) == [500, 2500]
    assert on_commit(lambda: tasks.settlements_pay_due.delay().get()) == []  # nothing twice


# --- the manual provider: the bank pays from a CSV --------------------------------------


def test_a_manual_payment_waits_for_the_bank_exports_as_csv_and_is_marked_paid(
    client: Client, on_commit
):
    brand = BrandFactory.create(name="=Acme")
    manual(brand)
    statement = settlement(brand, "120.50")

    payout = on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    payout.refresh_from_db()
    assert (payout.status, payout.reference) == (
        Status.PROCESSING,
        f"manual-settlement-{payout.pk}",
    )
    superuser(client)
    response = client.post(
        "/admin/commissions/settlementpayout/",
        {"action": "export_csv", "_selected_action": [payout.pk]},
    )
    [header, row] = list(csv.reader(io.StringIO(response.content.decode())))
    line = dict(zip(header, row, strict=True))
    assert (line["brand"], line["bank_reference"]) == ("'=Acme", "DE89 3704 0044 0532")
    assert (line["amount"], line["currency"], line["settlement_id"]) == (
        "120.50",
        "USD",
        str(statement.pk),
    )

    client.post(
        "/admin/commissions/settlementpayout/",
        {"action": "mark_paid", "_selected_action": [payout.pk]},
    )
    payout.refresh_from_db()
    assert payout.status == Status.PAID


def test_a_manual_payment_the_bank_rejected_is_failed_and_the_settlement_payable_again(
    on_commit,
):
    brand = BrandFactory.create()
    manual(brand)
    statement = settlement(brand, "20.00")
    first = on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    services.settlement_payout_mark_failed_manually(payout_id=first.pk, message="IBAN closed")
    again = on_commit(services.settlement_payout_create, settlement_id=statement.pk)

    first.refresh_from_db()
    assert (first.status, first.failure_code, first.failure_message) == (
        Status.FAILED,
        "bank_rejected",
        "IBAN closed",
    )
    assert again.pk != first.pk
    assert SettlementPayout.objects.exclude(status=Status.FAILED).get().pk == again.pk


# --- the brand's admin -------------------------------------------------------------------


def test_a_brand_writer_pays_its_settlements_from_the_admin_and_sees_the_outcome(
    client: Client, stripe_emulator, on_commit
):
    alpha, bravo = BrandFactory.create(slug="alpha"), BrandFactory.create(slug="bravo")
    account = connected(alpha)
    connected(bravo)
    mine, theirs = settlement(alpha, "45.00"), settlement(bravo, "45.00")
    login(client, alpha, role=BrandMember.Role.MANAGER)

    on_commit(
        client.post, URL, {"action": "pay", "_selected_action": [mine.pk, theirs.pk]}, follow=True
    )

    assert SettlementPayout.objects.get().settlement_id == mine.pk  # theirs is not theirs to pay
    assert len(transfers_to(account)) == 1
    page = client.get(URL)
    assert changelist_pks(client, URL) == {mine.pk}
    assert b"Paid" in page.content
    detail = client.get(f"{URL}{mine.pk}/change/")
    assert SettlementPayout.objects.get().reference.encode() in detail.content


def test_a_brand_viewer_cannot_pay_and_a_refusal_is_shown_not_raised(client: Client, on_commit):
    brand = BrandFactory.create()
    statement = settlement(brand, "45.00")
    viewer = login(Client(), brand, role=BrandMember.Role.VIEWER)

    actions = viewer.get(URL).context["action_form"].fields["action"].choices
    on_commit(viewer.post, URL, {"action": "pay", "_selected_action": [statement.pk]})

    assert "pay" not in {name for name, _ in actions}
    assert not SettlementPayout.objects.exists()
    login(client, brand, role=BrandMember.Role.MANAGER)  # a writer, but no payout account
    response = on_commit(
        client.post, URL, {"action": "pay", "_selected_action": [statement.pk]}, follow=True
    )
    assert response.status_code == 200
    # Told in words, with no internal code shown.
    assert b"needs a payout account that finished onboarding" in response.content
    assert b"brand_payout_account_not_ready" not in response.content
    assert not SettlementPayout.objects.exists()


def test_the_platform_connects_a_brand_at_stripe_from_the_admin(client: Client, stripe_emulator):
    brand = BrandFactory.create(contact_email="finance@brand.example")
    account = BrandPayoutAccount.objects.create(brand=brand)
    superuser(client)

    response = client.post(
        "/admin/commissions/brandpayoutaccount/",
        {"action": "connect_at_stripe", "_selected_action": [account.pk]},
        follow=True,
    )

    account.refresh_from_db()
    assert account.stripe_account_id
    assert f"/_config/accounts/{account.stripe_account_id}/onboard" in response.content.decode()
    remote = stripe_test_client().v1.accounts.retrieve(account.stripe_account_id)
    assert remote.email == brand.contact_email
    assert remote.to_dict()["metadata"] == {"brand_id": str(brand.pk), "slug": brand.slug}
    again, _ = brand_payout_account_connect(brand=brand)
    assert again.stripe_account_id == account.stripe_account_id  # one account per brand


def test_brand_members_never_see_brand_payout_accounts_or_settlement_payouts(client: Client):
    brand = BrandFactory.create()
    manual(brand)
    login(client, brand, role=BrandMember.Role.MANAGER)

    for url in ("/admin/commissions/brandpayoutaccount/", "/admin/commissions/settlementpayout/"):
        assert client.get(url).status_code == 403
