"""Sending one outbound transfer (a creator's payout, a brand's settlement payout) once.

An attempt claims the row with a lease in one conditional UPDATE (a short transaction),
calls the provider outside any transaction, and records the result in another short
transaction. A refusal (`ProviderDeclined`: nothing was sent) is handed to the caller's
`fail`; an unknown outcome (`ProviderUnavailable`) leaves the row in flight, to be sent again
as itself once the lease ends, which the provider recognises (idempotency key, transfer
group), so nothing is paid twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from commissions import conf
from commissions.models import ConnectedAccount, OutboundTransfer
from commissions.services.providers import (
    ProviderDeclined,
    ProviderUnavailable,
    TransferOrder,
    provider_for,
)
from common.errors import Conflict

logger = logging.getLogger(__name__)
Status = OutboundTransfer.Status
IN_FLIGHT = (Status.PENDING, Status.PROCESSING)

T = TypeVar("T", bound=OutboundTransfer)


def _sendable(now: datetime) -> Q:
    """In flight, with no result yet, and nobody's lease running."""
    return (
        Q(status__in=IN_FLIGHT, reference="")
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    )  # fmt: skip


def transfers_unsent(model: type[T], *, now: datetime) -> list[int]:
    """Ids to send (again): never sent, or in flight with no result and a lapsed lease."""
    return list(
        model._default_manager.filter(_sendable(now)).order_by("pk").values_list("pk", flat=True)
    )


def transfer_send(
    model: type[T],
    *,
    pk: int,
    order: Callable[[T], TransferOrder],
    fail: Callable[[int, str, str, datetime], T],
    now: datetime,
) -> T:
    """Send one transfer through its provider; safe to call any number of times, concurrently.

    `order` says what to send; `fail(pk, code, message, now)` records a refusal.
    """
    manager = model._default_manager
    with transaction.atomic(durable=True):
        claimed = manager.filter(_sendable(now), pk=pk).update(
            status=Status.PROCESSING,
            lease_until=now + conf.payout_send_lease(),
            attempts=F("attempts") + 1,
            sent_at=Coalesce("sent_at", Value(now)),
        )
    sent = manager.get(pk=pk)
    if not claimed:
        return sent
    try:
        result = provider_for(sent.provider).send(order(sent))
    except ProviderDeclined as exc:
        return fail(pk, exc.code, exc.message, now)
    except ProviderUnavailable as exc:
        manager.filter(pk=pk, reference="").update(last_error=str(exc)[:2000])
        logger.warning("%s %s not sent yet: %s", model.__name__, pk, exc)
        return manager.get(pk=pk)
    with transaction.atomic(durable=True):
        sent = manager.select_for_update().get(pk=pk)
        if sent.status == Status.PROCESSING and not sent.reference:
            sent.reference = result.reference
            sent.lease_until = None
            sent.last_error = ""
            if result.settled:
                sent.status = Status.PAID
                sent.paid_at = now
            sent.save()
    return sent


def transfer_mark_failed(sent: OutboundTransfer, *, code: str, message: str, now: datetime) -> bool:
    """Fail a transfer locked by the caller's transaction; False if it was no longer in flight."""
    if sent.status not in IN_FLIGHT:
        return False
    sent.status = Status.FAILED
    sent.failure_code = code[:100]
    sent.failure_message = message
    sent.failed_at = now
    sent.lease_until = None
    sent.save()
    return True


def transfer_require_manual(sent: OutboundTransfer) -> None:
    """Only a manual (bank) transfer's outcome is recorded by hand; Stripe's come from Stripe."""
    if sent.provider != ConnectedAccount.Provider.MANUAL:
        raise Conflict("Stripe payouts fail only from Stripe's answer.", code="not_manual")


def transfer_mark_paid_manually(
    model: type[T], *, pk: int, now: datetime, on_paid: Callable[[T], None] | None = None
) -> T:
    """Record that the bank paid a manual transfer exported earlier; paid stays paid.
    `on_paid` runs in the same transaction when this call is the one that marks it paid."""
    with transaction.atomic(durable=True):
        sent = model._default_manager.select_for_update().get(pk=pk)
        if sent.status == Status.PAID:
            return sent
        if sent.provider != ConnectedAccount.Provider.MANUAL or not sent.reference:
            raise Conflict(
                "Only exported manual payouts are marked paid by hand.", code="not_manual"
            )
        sent.status = Status.PAID
        sent.paid_at = now
        sent.save()
        if on_paid is not None:
            on_paid(sent)
    return sent
