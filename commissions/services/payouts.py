"""Payouts: a creator's approved balance per currency, grouped and sent exactly once.

Grouping (`payout_create_for_creator`) is one short transaction: lock the creator, take
every approved, unpaid line in the currency (reversals included, so clawbacks net out;
lines of an order line with an open commission hold left for a later payout),
refuse below the minimum, create the payout and mark the lines paid. Sending
(`payout_send`) happens after commit, outside any transaction: an attempt claims the payout
with a lease, calls the provider, and records the result in another short transaction.
A refusal fails the payout and frees its lines; an unknown outcome leaves it in flight to
be sent again, as the same payout, once the lease ends.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.audit import Action as AuditAction
from accounts.audit import audit_record
from accounts.models import User
from commissions import conf
from commissions.errors import (
    CreatorSuspended,
    PayoutAccountNotReady,
    PayoutBelowMinimum,
)
from commissions.models import CommissionLine, Payout, PayoutAccount
from commissions.selectors.holds import held_order_line
from commissions.services.providers import payout_transfer_order
from commissions.services.sending import (
    transfer_mark_failed,
    transfer_mark_paid_manually,
    transfer_require_manual,
    transfer_send,
    transfers_unsent,
)
from common.errors import NotFound, ValidationFailed
from common.money import MoneyError, normalize_currency
from common.tasks_queue import enqueue_on_commit
from creators.models import Creator

logger = logging.getLogger(__name__)
Line = CommissionLine.Status


def _ready_account(creator: Creator) -> PayoutAccount:
    if creator.status != Creator.Status.ACTIVE:
        raise CreatorSuspended()
    account = PayoutAccount.objects.filter(creator=creator).first()
    if account is None or account.status != PayoutAccount.Status.READY:
        raise PayoutAccountNotReady(
            details={"payout_account_status": account.status if account else None}
        )
    return account


def payout_create_for_creator(
    *, creator_id: int, currency: str, now: datetime | None = None, actor: User | None = None
) -> Payout:
    """Group the creator's approved balance in `currency` into a payout, to be sent on commit.

    Refused, with nothing written: a suspended creator (`creator_suspended`), no ready payout
    account (`payout_account_not_ready`), a balance below the minimum (`payout_below_minimum`).
    """
    try:
        code = normalize_currency(currency)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), code="invalid_currency") from exc
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # One grouping per creator at a time; reversals written meanwhile wait for the next.
        creator = Creator.objects.select_for_update().filter(pk=creator_id).first()
        if creator is None:
            raise NotFound("No such creator.", code="creator_not_found")
        account = _ready_account(creator)
        lines = list(
            CommissionLine.objects.select_for_update()
            .filter(creator=creator, currency=code, status=Line.APPROVED, payout__isnull=True)
            .exclude(held_order_line())
            .values_list("pk", "amount", "brand_id")
        )
        balance = sum((amount for _, amount, _ in lines), Decimal(0))
        minimum = conf.payout_minimum(code)
        if balance < minimum:
            raise PayoutBelowMinimum(
                details={"balance": f"{balance:f}", "minimum": f"{minimum:f}", "currency": code}
            )
        payout = Payout.objects.create(
            creator=creator,
            currency=code,
            amount=balance,
            provider=account.provider,
            destination=account.stripe_account_id or "",
        )
        CommissionLine.objects.filter(pk__in=[pk for pk, _, _ in lines]).update(
            status=Line.PAID, payout=payout
        )
        _audit_payout_by_brand(payout=payout, lines=lines, actor=actor)
        # A lost message is not a lost payout: payouts_create_due sends unsent ones again.
        enqueue_on_commit("creators.tasks.payout_send", payout.pk)
    return payout


def _audit_payout_by_brand(
    *,
    payout: Payout,
    lines: list[tuple[int, Decimal, int]],
    actor: User | None,
    action: str = AuditAction.PAYOUT,
) -> None:
    """One audit row per brand whose commissions the payout pays, with that brand's part."""
    by_brand: dict[int, Decimal] = defaultdict(Decimal)
    counts: dict[int, int] = defaultdict(int)
    for _, amount, brand_id in lines:
        by_brand[brand_id] += amount
        counts[brand_id] += 1
    for brand_id in sorted(by_brand):
        audit_record(
            brand_id=brand_id,
            actor=actor,
            actor_label="scheduled payouts",
            action=action,
            subject=payout,
            amount=by_brand[brand_id],
            currency=payout.currency,
            detail={
                "creator_id": payout.creator_id,
                "payout_total": str(payout.amount),
                "commission_lines": counts[brand_id],
            },
        )


def payouts_create_due(*, now: datetime | None = None) -> list[int]:
    """Create a payout for every creator and currency whose approved balance is due."""
    balances = (
        CommissionLine.objects.filter(
            status=Line.APPROVED,
            payout__isnull=True,
            creator__status=Creator.Status.ACTIVE,
            creator__payout_account__status=PayoutAccount.Status.READY,
        )
        .exclude(held_order_line())
        .values("creator_id", "currency")
        .annotate(balance=Sum("amount"))
        .order_by("creator_id", "currency")
    )
    created: list[int] = []
    for row in balances:
        if row["balance"] < conf.payout_minimum(row["currency"]):
            continue
        try:
            payout = payout_create_for_creator(
                creator_id=row["creator_id"], currency=row["currency"], now=now
            )
        except (PayoutBelowMinimum, PayoutAccountNotReady, CreatorSuspended) as exc:
            logger.info("No payout for creator %s: %s", row["creator_id"], exc.code)
            continue
        created.append(payout.pk)
    return created


def payouts_unsent(*, now: datetime | None = None) -> list[int]:
    """Payouts to send (again): never sent, or in flight with no result and a lapsed lease."""
    return transfers_unsent(Payout, now=now or timezone.now())


def payout_send(*, payout_id: int, now: datetime | None = None) -> Payout:
    """Send one payout through its provider; safe to call any number of times, concurrently."""
    return transfer_send(
        Payout,
        pk=payout_id,
        order=payout_transfer_order,
        fail=lambda pk, code, message, at: _payout_fail(
            payout_id=pk, code=code, message=message, now=at
        ),
        now=now or timezone.now(),
    )


def _payout_fail(
    *,
    payout_id: int,
    code: str,
    message: str,
    now: datetime,
    on_failed: Callable[[Payout], None] | None = None,
) -> Payout:
    with transaction.atomic(durable=True):
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if transfer_mark_failed(payout, code=code, message=message, now=now):
            if on_failed is not None:
                on_failed(payout)
            # The lines are payable again, in a later payout (a new id, so a new transfer).
            CommissionLine.objects.filter(payout=payout).update(status=Line.APPROVED, payout=None)
    return payout


def _audit_marked(action: str, actor: User | None) -> Callable[[Payout], None]:
    """Audit a payout marked by hand, per brand of its commission lines."""

    def record(payout: Payout) -> None:
        lines = list(
            CommissionLine.objects.filter(payout=payout)
            .order_by("pk")
            .values_list("pk", "amount", "brand_id")
        )
        _audit_payout_by_brand(payout=payout, lines=lines, actor=actor, action=action)

    return record


def payout_mark_paid_manually(
    *, payout_id: int, now: datetime | None = None, actor: User | None = None
) -> Payout:
    """Record that the bank paid a manual payout exported earlier."""
    return transfer_mark_paid_manually(
        Payout,
        pk=payout_id,
        now=now or timezone.now(),
        on_paid=_audit_marked(AuditAction.PAYOUT_MANUAL_PAID, actor),
    )


def payout_mark_failed_manually(
    *, payout_id: int, message: str, now: datetime | None = None, actor: User | None = None
) -> Payout:
    """Record that the bank could not pay a manual payout; its lines become payable again."""
    transfer_require_manual(Payout.objects.get(pk=payout_id))
    return _payout_fail(
        payout_id=payout_id,
        code="bank_rejected",
        message=message,
        now=now or timezone.now(),
        on_failed=_audit_marked(AuditAction.PAYOUT_MANUAL_FAILED, actor),
    )
