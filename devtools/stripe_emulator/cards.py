"""Card outcomes: Stripe's test cards that decline when charged, as Stripe-shaped card errors."""

from __future__ import annotations

from localstripe.errors import UserError
from localstripe.resources import Charge, PaymentIntent, PaymentMethod

from devtools.stripe_emulator.validation import error

_DECLINED = "Your card was declined."
DECLINES = {  # number -> (code, decline_code, message)
    "4000000000000002": ("card_declined", "generic_decline", _DECLINED),
    "4000000000009995": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000000000009987": ("card_declined", "lost_card", _DECLINED),
    "4000000000009979": ("card_declined", "stolen_card", _DECLINED),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "4000000000000341": ("card_declined", "generic_decline", _DECLINED),
    "4000008260003178": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000008400001629": ("card_declined", "card_declined", _DECLINED),
}
AUTH_FAILURE_MESSAGE = (
    "We are unable to authenticate your payment method. "
    "Please choose a different payment method and try again."
)

_orig_charging_is_declined = PaymentMethod._charging_is_declined


def _charging_is_declined(self) -> bool:
    return getattr(self, "_card_number", None) in DECLINES or _orig_charging_is_declined(self)


def payment_method_export(pm_id):
    try:
        return PaymentMethod._api_retrieve(pm_id)._export() if pm_id else None
    except UserError:
        return None


def _charge_set_auth_failure(self) -> None:
    pm = PaymentMethod._api_retrieve(self.payment_method)
    default = ("card_declined", "generic_decline", _DECLINED)
    code, decline_code, message = DECLINES.get(getattr(pm, "_card_number", None) or "", default)
    self.status = "failed"
    self.failure_code, self._decline_code, self.failure_message = code, decline_code, message


def _charge_raise_failure(self):
    intent = (
        PaymentIntent._api_retrieve(self.payment_intent)._export() if self.payment_intent else None
    )
    raise error(
        402,
        self.failure_message,
        type_="card_error",
        code=self.failure_code,
        decline_code=getattr(self, "_decline_code", None),
        charge=self.id,
        payment_intent=intent,
        payment_method=payment_method_export(self.payment_method),
    )


_orig_charge_export = Charge._export


def _charge_export(self, expand=None):
    """localstripe's charge, plus `payment_method_details.card` with the card's fingerprint
    (the same card number always has the same one, as on Stripe)."""
    obj = _orig_charge_export(self, expand=expand)
    try:
        method = PaymentMethod._api_retrieve(self.payment_method) if self.payment_method else None
    except UserError:
        method = None
    card = getattr(method, "card", None)
    if isinstance(card, dict):
        obj["payment_method_details"] = {
            "type": "card",
            "card": {
                name: card.get(name)
                for name in ("brand", "country", "exp_month", "exp_year", "fingerprint", "last4")
            },
        }
    return obj


PaymentMethod._charging_is_declined = _charging_is_declined
Charge._export = _charge_export
Charge._set_auth_failure = _charge_set_auth_failure
Charge._raise_failure = _charge_raise_failure
