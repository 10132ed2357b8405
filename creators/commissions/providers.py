"""Payout providers: how a payout's money leaves. Called outside any transaction.

`send` either returns what was done or raises: `ProviderDeclined` when the provider
refused and nothing was sent (the payout fails and its lines are payable again), or
`ProviderUnavailable` when the outcome is unknown (the payout stays `processing` and the
same payout is sent again later, which the provider recognises, so nothing is paid twice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import stripe

from common.money import MoneyError, from_minor_units, quantize, to_minor_units
from creators.commissions.models import Payout, PayoutAccount
from orders.stripe.client import stripe_client


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
    def send(self, payout: Payout) -> SendResult: ...


def transfer_group(payout: Payout) -> str:
    return f"tribe-payout-{payout.pk}"


class StripeConnectProvider:
    """A Transfer to the creator's Connect account, once per payout whatever the retries.

    The idempotency key is derived from the payout, so a retry within Stripe's 24 hours gets
    the same transfer back; before creating, the payout's transfer group is looked up, so a
    retry days later finds the transfer an earlier attempt made instead of making another.
    """

    def send(self, payout: Payout) -> SendResult:
        if not payout.destination:
            raise ProviderDeclined("payout_account_not_ready", "No Stripe account to pay.")
        try:
            amount = to_minor_units(payout.amount, payout.currency)
        except MoneyError as exc:
            raise ProviderDeclined("amount_not_representable", str(exc)) from exc
        client = stripe_client()
        group = transfer_group(payout)
        try:
            found = client.v1.transfers.list(
                params={"destination": payout.destination, "transfer_group": group, "limit": 1}
            )
            if found.data:
                return self._result(found.data[0], payout)
            transfer = client.v1.transfers.create(
                params={
                    "amount": amount,
                    "currency": payout.currency.lower(),
                    "destination": payout.destination,
                    "transfer_group": group,
                    "description": f"Tribe commissions, payout {payout.pk}",
                    "metadata": {"payout_id": str(payout.pk), "creator_id": str(payout.creator_id)},
                },
                options={"idempotency_key": f"tribe-payout-{payout.pk}-transfer"},
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
        return self._result(transfer, payout)

    @staticmethod
    def _result(transfer: stripe.Transfer, payout: Payout) -> SendResult:
        sent = from_minor_units(transfer.amount, transfer.currency.upper())
        if sent != payout.amount or transfer.currency.upper() != payout.currency:
            # Never expected: the group is ours alone. Keep the payout in flight for a person.
            raise ProviderUnavailable(f"transfer {transfer.id} is {sent} {transfer.currency}")
        return SendResult(reference=transfer.id, settled=True)


class ManualProvider:
    """Bank payments made by a person: the payout waits, exported as CSV, until marked paid."""

    def send(self, payout: Payout) -> SendResult:
        return SendResult(reference=f"manual-{payout.pk}", settled=False)


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
                _cell(creator.display_name),
                creator.user.email,
                _cell(account.bank_reference if account else ""),
                format(quantize(payout.amount, payout.currency), "f"),
                payout.currency,
                payout.created_at.isoformat(),
                payout.status,
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Keep spreadsheets from running a creator's text as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
