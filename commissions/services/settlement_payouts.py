"""Paying a brand its settlement through the payout-provider interface, never twice.

`settlement_payout_create` is one short transaction: lock the settlement; if an attempt is
in flight or paid, that is the answer (never a second one); refuse, with nothing written, a
non-positive amount due (`settlement_not_payable`) or a brand without a ready payout account
(`brand_payout_account_not_ready`); otherwise write an attempt, sent after commit.
`settlement_payout_send` sends it outside any transaction (sending.py). A refusal by the
provider leaves the attempt `failed` with its reason and the settlement payable again; a
lost answer leaves it in flight, to be sent again as itself.

Every attempt at one settlement shares the transfer group `tribe-settlement-<id>`, and the
Stripe provider looks the group up before creating a transfer: a retry, hours or days
later, finds the money an earlier attempt sent instead of sending it again. The database
allows one live (not failed) attempt per settlement.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import Action as AuditAction
from accounts.audit import audit_record
from accounts.models import User
from commissions.errors import BrandPayoutAccountNotReady, SettlementNotPayable
from commissions.models import BrandPayoutAccount, Settlement, SettlementPayout
from commissions.services.providers import TransferOrder, csv_cell
from commissions.services.sending import (
    transfer_mark_failed,
    transfer_mark_paid_manually,
    transfer_require_manual,
    transfer_send,
    transfers_unsent,
)
from common.errors import NotFound
from common.money import quantize
from common.tasks_queue import enqueue_on_commit

logger = logging.getLogger(__name__)
Status = SettlementPayout.Status
Provider = BrandPayoutAccount.Provider


def settlement_transfer_group(settlement_id: int) -> str:
    return f"tribe-settlement-{settlement_id}"


def settlement_transfer_order(payout: SettlementPayout) -> TransferOrder:
    """What one attempt sends: the settlement's group, and a key of the attempt's own."""
    settlement = payout.settlement
    return TransferOrder(
        amount=payout.amount,
        currency=payout.currency,
        destination=payout.destination,
        group=settlement_transfer_group(settlement.pk),
        idempotency_key=f"tribe-settlement-{settlement.pk}-payout-{payout.pk}-transfer",
        description=(
            f"Tribe settlement {settlement.pk}, {settlement.period_start:%Y-%m-%d} to "
            f"{settlement.period_end:%Y-%m-%d}"
        ),
        metadata={
            "settlement_id": str(settlement.pk),
            "settlement_payout_id": str(payout.pk),
            "brand_id": str(settlement.brand_id),
        },
        manual_reference=f"manual-settlement-{payout.pk}",
    )


def _ready_account(brand_id: int) -> BrandPayoutAccount:
    account = BrandPayoutAccount.objects.filter(brand_id=brand_id).first()
    if account is None or account.status != BrandPayoutAccount.Status.READY:
        raise BrandPayoutAccountNotReady(
            details={"payout_account_status": account.status if account else None}
        )
    return account


def settlement_payout_create(*, settlement_id: int, actor: User | None = None) -> SettlementPayout:
    """Pay a settlement's amount due to its brand, on commit; the live attempt if one exists.

    Refused, with nothing written: no such settlement (`settlement_not_found`), an amount due
    of zero or less (`settlement_not_payable`: the brand owes Tribe, or nothing), a brand
    without a ready payout account (`brand_payout_account_not_ready`).
    """
    try:
        with transaction.atomic(durable=True):
            settlement = Settlement.objects.select_for_update().filter(pk=settlement_id).first()
            if settlement is None:
                raise NotFound("No such settlement.", code="settlement_not_found")
            live = settlement.payouts.exclude(status=Status.FAILED).first()
            if live is not None:
                return live
            if settlement.payable <= 0:
                raise SettlementNotPayable(
                    details={
                        "amount_due": f"{quantize(settlement.payable, settlement.currency):f}",
                        "currency": settlement.currency,
                    }
                )
            account = _ready_account(settlement.brand_id)
            payout = SettlementPayout.objects.create(
                settlement=settlement,
                currency=settlement.currency,
                amount=settlement.payable,
                provider=account.provider,
                destination=account.stripe_account_id or "",
            )
            audit_record(
                brand_id=settlement.brand_id,
                actor=actor,
                actor_label="scheduled settlement payments",
                action=AuditAction.SETTLEMENT_PAYMENT,
                subject=payout,
                amount=payout.amount,
                currency=payout.currency,
                detail={
                    "settlement_id": settlement.pk,
                    "period_start": settlement.period_start,
                    "period_end": settlement.period_end,
                },
            )
            # A lost message is not a lost payment: settlements_pay_due sends it again.
            enqueue_on_commit("creators.tasks.settlement_payout_send", payout.pk)
    except IntegrityError:
        # Not expected under the lock; the one-live-attempt constraint stands behind it.
        live = (
            SettlementPayout.objects.exclude(status=Status.FAILED)
            .filter(settlement_id=settlement_id)
            .first()
        )
        if live is None:
            raise
        return live
    return payout


def settlements_pay_due() -> list[int]:
    """Pay every settlement never paid whose amount due is positive and whose brand can be
    paid; returns the attempts created. Failed attempts wait for a person to retry them."""
    due = (
        Settlement.objects.annotate(to_pay=F("amount_due") + F("carried_in"))
        .filter(
            to_pay__gt=0,
            payouts__isnull=True,
            brand__payout_account__status=BrandPayoutAccount.Status.READY,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    created: list[int] = []
    for settlement_id in due:
        try:
            payout = settlement_payout_create(settlement_id=settlement_id)
        except (SettlementNotPayable, BrandPayoutAccountNotReady) as exc:
            logger.info("Settlement %s not paid: %s", settlement_id, exc.code)
            continue
        created.append(payout.pk)
    return created


def settlement_payouts_unsent(*, now: datetime | None = None) -> list[int]:
    """Attempts to send (again): never sent, or in flight with no result and a lapsed lease."""
    return transfers_unsent(SettlementPayout, now=now or timezone.now())


def settlement_payout_send(*, payout_id: int, now: datetime | None = None) -> SettlementPayout:
    """Send one attempt through its provider; safe to call any number of times, concurrently."""
    return transfer_send(
        SettlementPayout,
        pk=payout_id,
        order=settlement_transfer_order,
        fail=_fail,
        now=now or timezone.now(),
    )


def _fail(
    payout_id: int,
    code: str,
    message: str,
    now: datetime,
    on_failed: Callable[[SettlementPayout], None] | None = None,
) -> SettlementPayout:
    with transaction.atomic(durable=True):
        payout = SettlementPayout.objects.select_for_update().get(pk=payout_id)
        if transfer_mark_failed(payout, code=code, message=message, now=now) and on_failed:
            on_failed(payout)
    return payout


def _audit_marked(action: str, actor: User | None) -> Callable[[SettlementPayout], None]:
    """Audit a settlement payment marked by hand, for the settlement's brand."""

    def record(payout: SettlementPayout) -> None:
        settlement = Settlement.objects.only("brand_id").get(pk=payout.settlement_id)
        audit_record(
            brand_id=settlement.brand_id,
            actor=actor,
            action=action,
            subject=payout,
            amount=payout.amount,
            currency=payout.currency,
            detail={"settlement_id": payout.settlement_id, "reference": payout.reference},
        )

    return record


def settlement_payout_mark_paid_manually(
    *, payout_id: int, now: datetime | None = None, actor: User | None = None
) -> SettlementPayout:
    """Record that the bank paid a manual settlement payout exported earlier."""
    return transfer_mark_paid_manually(
        SettlementPayout,
        pk=payout_id,
        now=now or timezone.now(),
        on_paid=_audit_marked(AuditAction.SETTLEMENT_MANUAL_PAID, actor),
    )


def settlement_payout_mark_failed_manually(
    *, payout_id: int, message: str, now: datetime | None = None, actor: User | None = None
) -> SettlementPayout:
    """Record that the bank could not pay a manual settlement payout; it may be paid again."""
    transfer_require_manual(SettlementPayout.objects.get(pk=payout_id))
    return _fail(
        payout_id,
        "bank_rejected",
        message,
        now or timezone.now(),
        on_failed=_audit_marked(AuditAction.SETTLEMENT_MANUAL_FAILED, actor),
    )


CSV_HEADER = [
    "settlement_payout_id",
    "settlement_id",
    "brand_id",
    "brand",
    "bank_reference",
    "amount",
    "currency",
    "period_start",
    "period_end",
    "created_at",
    "status",
]


def settlement_payouts_csv(payouts: Iterable[SettlementPayout]) -> str:
    """The bank's payment list; `payouts` with settlement__brand__payout_account."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for payout in payouts:
        settlement = payout.settlement
        brand = settlement.brand
        account = getattr(brand, "payout_account", None)
        writer.writerow(
            [
                payout.pk,
                settlement.pk,
                brand.pk,
                csv_cell(brand.name),
                csv_cell(account.bank_reference if account else ""),
                format(quantize(payout.amount, payout.currency), "f"),
                payout.currency,
                settlement.period_start.isoformat(),
                settlement.period_end.isoformat(),
                payout.created_at.isoformat(),
                payout.status,
            ]
        )
    return out.getvalue()
