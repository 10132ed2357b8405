"""Refund: the reason parameter, over-refund checks, and the refund events."""

from __future__ import annotations

from localstripe import resources
from localstripe.resources import Charge, PaymentIntent, Refund

from devtools.stripe_emulator.validation import check_metadata, error
from devtools.stripe_emulator.webhooks import schedule

REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
REFUND_IGNORED = {"instructions_email", "refund_application_fee", "reverse_transfer", "origin"}
Refund.reason = None
_orig_refund_create = Refund._api_create.__func__


def _refundable_charge(params) -> Charge:
    if params.get("payment_intent"):
        intent = PaymentIntent._api_retrieve(params["payment_intent"])
        charge = intent.latest_charge
    elif params.get("charge"):
        charge = Charge._api_retrieve(params["charge"])
    else:
        raise error(400, "One of the following params should be provided: charge, payment_intent.")
    if charge is None or charge.status != "succeeded" or not charge.captured:
        raise error(
            400,
            "This payment has no successful, captured charge to refund.",
            code="charge_not_refundable",
        )
    return charge


def _refund_create(cls, reason=None, **params):
    for name in REFUND_IGNORED:
        params.pop(name, None)
    if reason is not None and reason not in REFUND_REASONS:
        raise error(400, f"Invalid reason: {reason}", param="reason")
    check_metadata(params.get("metadata"))
    charge = _refundable_charge(params)
    remaining = charge.amount - charge.amount_refunded
    amount = resources.try_convert_to_int(params.get("amount", remaining))
    if remaining <= 0:
        raise error(
            400, f"Charge {charge.id} has already been refunded.", code="charge_already_refunded"
        )
    if isinstance(amount, int) and amount > remaining:
        raise error(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining}).",
            code="amount_too_large",
            param="amount",
        )
    obj = _orig_refund_create(cls, **params)
    obj.reason = reason
    obj.payment_intent = obj.payment_intent or charge.payment_intent
    schedule(obj, "refund.created")
    schedule(charge, "charge.refunded")
    return obj


Refund._api_create = classmethod(_refund_create)
