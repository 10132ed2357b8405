"""Payout providers: how money leaves, for creators' payouts and brands' settlements alike.

Called outside any transaction with a `TransferOrder`. `send` either returns what was done
or raises: `ProviderDeclined` when the provider refused and nothing was sent (the payout
fails: a creator's lines are payable again, a settlement may be paid again), or
`ProviderUnavailable` when the outcome is unknown (the payout stays `processing` and the
same payout is sent again later, which the provider recognises, so nothing is paid twice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import stripe

from commissions.models import Payout, PayoutAccount
from common.money import MoneyError, from_minor_units, quantize, to_minor_units
from payments.stripe.client import stripe_client


@dataclass(frozen=True)
class TransferOrder:
    """What a provider is asked to send: a creator's payout, or a brand's settlement."""

    amount: Decimal
    currency: str
    destination: str
    group: str  # unique to what is paid: an earlier transfer is found by it, whatever its key
    idempotency_key: str
    description: str
    metadata: dict[str, str]
    manual_reference: str  # what the manual provider calls it on the bank's list


@dataclass(frozen=True)
class SendResult:
    reference: str
    settled: bool  # True: the money has left; False: someone still has to pay it (the bank)


class ProviderDeclined(Exception):
    """The provider refused the payout; nothing was sent."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ProviderUnavailable(Exception):
    """The outcome is unknown (network, rate limit, provider error): send the same again."""


class PayoutProvider(Protocol):
    def send(self, order: TransferOrder) -> SendResult: ...


def transfer_group(payout: Payout) -> str:
    return f"tribe-payout-{payout.pk}"


def payout_transfer_order(payout: Payout) -> TransferOrder:
    """A creator's payout: a transfer of its own, keyed and grouped by the payout."""
    return TransferOrder(
        amount=payout.amount,
        currency=payout.currency,
        destination=payout.destination,
        group=transfer_group(payout),
        idempotency_key=f"tribe-payout-{payout.pk}-transfer",
        description=f"Tribe commissions, payout {payout.pk}",
        metadata={"payout_id": str(payout.pk), "creator_id": str(payout.creator_id)},
        manual_reference=f"manual-{payout.pk}",
    )


class StripeConnectProvider:
    """A Transfer to a Connect account, once per thing paid whatever the retries.

    The idempotency key is the order's, so a retry within Stripe's 24 hours gets the same
    transfer back; before creating, the order's transfer group is looked up, so a retry days
    later (or a later attempt at the same settlement) finds the transfer an earlier attempt
    made instead of making another.
    """

    def send(self, order: TransferOrder) -> SendResult:
        if not order.destination:
            raise ProviderDeclined("payout_account_not_ready", "No Stripe account to pay.")
        try:
            amount = to_minor_units(order.amount, order.currency)
        except MoneyError as exc:
            raise ProviderDeclined("amount_not_representable", str(exc)) from exc
        client = stripe_client()
        try:
            found = client.v1.transfers.list(params={"transfer_group": order.group, "limit": 1})
            if found.data:
                return self._result(found.data[0], order)
            transfer = client.v1.transfers.create(
                params={
                    "amount": amount,
                    "currency": order.currency.lower(),
                    "destination": order.destination,
                    "transfer_group": order.group,
                    "description": order.description,
                    "metadata": order.metadata,
                },
                options={"idempotency_key": order.idempotency_key},
            )
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(repr(exc)) from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            if status >= 500 or status in (409, 429) or status == 0:
                raise ProviderUnavailable(repr(exc)) from exc
            raise ProviderDeclined(
                exc.code or "stripe_error", exc.user_message or str(exc)
            ) from exc
        return self._result(transfer, order)

    @staticmethod
    def _result(transfer: stripe.Transfer, order: TransferOrder) -> SendResult:
        sent = from_minor_units(transfer.amount, transfer.currency.upper())
        if sent != order.amount or transfer.currency.upper() != order.currency:
            # Never expected: the group is ours alone. Keep the payout in flight for a person.
            raise ProviderUnavailable(f"transfer {transfer.id} is {sent} {transfer.currency}")
        return SendResult(reference=transfer.id, settled=True)


class ManualProvider:
    """Bank payments made by a person: the payout waits, exported as CSV, until marked paid."""

    def send(self, order: TransferOrder) -> SendResult:
        return SendResult(reference=order.manual_reference, settled=False)


PROVIDERS: dict[str, PayoutProvider] = {
    PayoutAccount.Provider.STRIPE: StripeConnectProvider(),
    PayoutAccount.Provider.MANUAL: ManualProvider(),
}


def provider_for(name: str) -> PayoutProvider:
    return PROVIDERS[name]


CSV_HEADER = [
    "payout_id",
    "creator_id",
    "handle",
    "display_name",
    "email",
    "bank_reference",
    "amount",
    "currency",
    "created_at",
    "status",
]


def payouts_csv(payouts: Iterable[Payout]) -> str:
    """The bank's payment list; `payouts` with creator__user and creator__payout_account."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for payout in payouts:
        creator = payout.creator
        account = getattr(creator, "payout_account", None)
        writer.writerow(
            [
                payout.pk,
                creator.pk,
                creator.handle,
                csv_cell(creator.display_name),
                creator.user.email,
                csv_cell(account.bank_reference if account else ""),
                format(quantize(payout.amount, payout.currency), "f"),
                payout.currency,
                payout.created_at.isoformat(),
                payout.status,
            ]
        )
    return out.getvalue()


def csv_cell(text: str) -> str:
    """Keep spreadsheets from running a creator's text as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
