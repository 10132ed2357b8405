"""PaymentIntent: the parameters real Stripe accepts, stored and echoed, and its actions."""

from __future__ import annotations

import time
from typing import Any

from localstripe import resources
from localstripe.errors import UserError
from localstripe.resources import Charge, PaymentIntent, PaymentMethod

from devtools.stripe_emulator.cards import AUTH_FAILURE_MESSAGE, payment_method_export
from devtools.stripe_emulator.validation import (
    check_metadata,
    error,
    merge_metadata,
    parse_bool,
    parse_shipping,
    unknown_parameter,
)
from devtools.stripe_emulator.webhooks import schedule

PI_DEFAULTS: dict[str, Any] = {
    "description": None,
    "receipt_email": None,
    "shipping": None,
    "statement_descriptor": None,
    "statement_descriptor_suffix": None,
    "transfer_group": None,
    "setup_future_usage": None,
    "automatic_payment_methods": None,
    "payment_method_types": None,
    "payment_method_options": None,
    "confirmation_method": "automatic",
    "on_behalf_of": None,
    "application_fee_amount": None,
    "transfer_data": None,
    "canceled_at": None,
    "cancellation_reason": None,
}
PI_CREATE_EXTRAS = set(PI_DEFAULTS) - {"canceled_at", "cancellation_reason"} | {"radar_options"}
PI_CONFIRM_EXTRAS = {
    "radar_options",
    "receipt_email",
    "shipping",
    "setup_future_usage",
    "payment_method_options",
    "payment_method_types",
    "capture_method",
}
PI_UPDATABLE = PI_CREATE_EXTRAS - {
    "confirmation_method",
    "automatic_payment_methods",
    "radar_options",
} | {
    "amount",
    "currency",
    "customer",
    "metadata",
    "payment_method",
    "capture_method",
}
PI_IGNORED = {  # accepted and dropped: they only steer real Stripe's UI/risk machinery
    "use_stripe_sdk",
    "mandate_data",
    "error_on_requires_action",
    "payment_method_configuration",
    "expected_payment_method_type",
    "return_url",
    "off_session",
}
CANCELLATION_REASONS = {"duplicate", "fraudulent", "requested_by_customer", "abandoned"}
for _name, _default in PI_DEFAULTS.items():
    setattr(PaymentIntent, _name, _default)
PaymentIntent.amount_received = property(
    lambda self: self.amount if self.status == "succeeded" else 0
)
PaymentIntent.amount_capturable = property(
    lambda self: self.amount if self.status == "requires_capture" else 0
)


def _clean_pi_params(params: dict) -> dict:
    for name in PI_IGNORED:
        params.pop(name, None)
    if "amount" in params:
        params["amount"] = resources.try_convert_to_int(params["amount"])
        if not isinstance(params["amount"], int) or params["amount"] <= 0:
            raise error(400, "Invalid positive integer", code="parameter_invalid_integer")
    for name in ("description", "receipt_email", "statement_descriptor_suffix", "transfer_group"):
        if params.get(name) is not None and not isinstance(params[name], str):
            raise error(400, f"Invalid string: {params[name]!r}", param=name)
    if params.get("receipt_email") and "@" not in params["receipt_email"]:
        raise error(400, f"Invalid email address: {params['receipt_email']}", code="email_invalid")
    if len(params.get("statement_descriptor_suffix") or "") > 22:
        raise error(
            400, "statement_descriptor_suffix is too long", param="statement_descriptor_suffix"
        )
    if "shipping" in params:
        params["shipping"] = parse_shipping(params["shipping"])
    if "automatic_payment_methods" in params:
        apm = params["automatic_payment_methods"] or {}
        enabled = parse_bool(apm.get("enabled"), "automatic_payment_methods[enabled]")
        params["automatic_payment_methods"] = {
            "enabled": bool(enabled),
            "allow_redirects": apm.get("allow_redirects", "always"),
        }
    if "payment_method_data" in params:
        params["payment_method"] = _payment_method_from_data(params.pop("payment_method_data")).id
    if "radar_options" in params:
        params["radar_options"] = _parse_radar_options(params["radar_options"])
    check_metadata(params.get("metadata"))
    return params


def _parse_radar_options(value) -> dict:
    """Stripe's `radar_options`: `session`, the Radar session id from Stripe.js or an SDK."""
    if not isinstance(value, dict) or set(value) - {"session"}:
        raise error(400, "Invalid radar_options: only `session`.", param="radar_options")
    session = value.get("session")
    if session is not None and (not isinstance(session, str) or not session):
        raise error(400, "Invalid string: radar_options[session].", param="radar_options[session]")
    return {"session": session} if session else {}


def _record_attempt(obj: PaymentIntent, radar_options: dict | None) -> None:
    """Remember what each confirmation sent (Stripe keeps Radar sessions to itself; the
    emulator shows them at /_config/payment_intents/{id}/confirmations)."""
    if not hasattr(obj, "_confirmations"):
        obj._confirmations = []
    obj._confirmations.append(
        {"payment_method": obj.payment_method, "radar_options": radar_options or {}}
    )


def _payment_method_from_data(data) -> PaymentMethod:
    if not isinstance(data, dict):
        raise error(400, "Invalid payment_method_data.", param="payment_method_data")
    return PaymentMethod._api_create(**data)


def _use_payment_method(obj: PaymentIntent, pm_id: str) -> None:
    obj.payment_method = PaymentMethod._api_retrieve(pm_id).id  # also resolves pm_card_visa
    if obj.latest_charge is not None and obj.latest_charge.status == "failed":
        obj.latest_charge = None  # a new attempt; the failed charge stays in the store
    obj.next_action = None
    obj._authentication_failed = False


def _unexpected_state(obj: PaymentIntent, action: str) -> UserError:
    return error(
        400,
        f"You cannot {action} this PaymentIntent because it has a status of {obj.status}.",
        code="payment_intent_unexpected_state",
        payment_intent=obj._export(),
    )


def check_client_secret(obj: PaymentIntent, client_secret) -> None:
    if client_secret is not None and client_secret != obj.client_secret:
        raise error(
            400,
            "The client_secret provided does not match the client_secret associated with "
            "the PaymentIntent.",
            code="resource_missing",
            param="client_secret",
        )


def _pi_create(cls, confirm=None, off_session=None, **params):
    confirm, off_session = parse_bool(confirm, "confirm"), parse_bool(off_session, "off_session")
    if off_session and not confirm:
        raise error(400, "off_session can only be used with confirm=true.", param="off_session")
    params = _clean_pi_params(params)
    extras = {name: params.pop(name) for name in PI_CREATE_EXTRAS if name in params}
    radar_options = extras.pop("radar_options", None)
    if radar_options is not None and not confirm:
        raise error(400, "radar_options needs confirm=true.", param="radar_options")
    obj = cls(**params)  # localstripe validates amount, currency, customer, payment_method
    for name, value in extras.items():
        setattr(obj, name, value)
    obj.payment_method_types = obj.payment_method_types or ["card"]
    schedule(obj, "payment_intent.created")
    if confirm:
        _record_attempt(obj, radar_options)
        obj._confirm(on_failure_now=obj._report_failure)
    return obj


def _pi_update(cls, id, **params):
    params = _clean_pi_params(params)
    unknown = set(params) - PI_UPDATABLE
    if unknown:
        raise unknown_parameter(unknown)
    obj = cls._api_retrieve(id)
    if obj.status in ("succeeded", "canceled") and set(params) - {"description", "metadata"}:
        raise _unexpected_state(obj, "update")
    merge_metadata(obj, params.pop("metadata", None))
    if params.get("payment_method"):
        _use_payment_method(obj, params.pop("payment_method"))
    for name, value in params.items():
        setattr(obj, name, value)
    return obj


def api_confirm(id, client_secret=None, payment_method=None, **params):
    params = _clean_pi_params(params)
    payment_method = params.pop("payment_method", payment_method)
    extras = {name: params.pop(name) for name in PI_CONFIRM_EXTRAS if name in params}
    if params:
        raise unknown_parameter(params)
    obj = PaymentIntent._api_retrieve(id)
    check_client_secret(obj, client_secret)
    if obj.status not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise _unexpected_state(obj, "confirm")
    if payment_method:
        _use_payment_method(obj, payment_method)
    elif obj.status == "requires_payment_method":
        raise error(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            code="payment_intent_unexpected_state",
        )
    obj.next_action = None
    radar_options = extras.pop("radar_options", None)
    for name, value in extras.items():
        setattr(obj, name, value)
    _record_attempt(obj, radar_options)
    obj._confirm(on_failure_now=obj._report_failure)
    return obj


def api_cancel(id, cancellation_reason=None, **params):
    if params:
        raise unknown_parameter(params)
    if cancellation_reason is not None and cancellation_reason not in CANCELLATION_REASONS:
        raise error(400, "Invalid cancellation_reason.", param="cancellation_reason")
    obj = PaymentIntent._api_retrieve(id)
    if obj.status in ("succeeded", "canceled", "processing"):
        raise _unexpected_state(obj, "cancel")
    obj._canceled = True
    obj.next_action = None
    obj.canceled_at = int(time.time())
    obj.cancellation_reason = cancellation_reason
    schedule(obj, "payment_intent.canceled")
    return obj


_orig_authenticate = PaymentIntent._api_authenticate


def api_authenticate(id, **params):
    """The 3-D Secure step the Stripe.js stand-in drives (success=true|false)."""
    obj = PaymentIntent._api_retrieve(id)
    payment_method = obj.payment_method
    result = _orig_authenticate(id=id, **params)
    if obj._authentication_failed:
        obj._failed_payment_method = payment_method
        schedule(obj, "payment_intent.payment_failed")
    return result


def _pi_create_charge(self, on_failure_now) -> None:
    """localstripe's, plus what Stripe copies from the PaymentIntent onto the charge."""
    if self.status != "requires_confirmation":
        raise _unexpected_state(self, "confirm")
    charge = Charge(
        amount=self.amount,
        currency=self.currency,
        customer=self.customer,
        source=self.payment_method,
        capture=(self.capture_method != "manual"),
        description=self.description,
        metadata=dict(self.metadata or {}),
    )
    charge.payment_intent = self.id
    charge.receipt_email = self.receipt_email
    self.latest_charge = charge
    charge._initialize_charge(self._on_success, on_failure_now, self._report_async_failure)
    if self.status == "requires_capture":
        schedule(self, "payment_intent.amount_capturable_updated")


_orig_confirm = PaymentIntent._confirm
_orig_report_failure = PaymentIntent._report_failure
_orig_pi_export = PaymentIntent._export


def _pi_confirm(self, on_failure_now) -> None:
    _orig_confirm(self, on_failure_now)
    if self.next_action:
        schedule(self, "payment_intent.requires_action")


def _pi_report_failure(self) -> None:
    self._failed_payment_method = self.payment_method
    self.payment_method = None  # as Stripe: the declined method moves to last_payment_error
    _orig_report_failure(self)


def _pi_last_payment_error(self):
    pm = payment_method_export(getattr(self, "_failed_payment_method", None))
    if self._authentication_failed:
        return {
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "message": AUTH_FAILURE_MESSAGE,
            "payment_method": pm,
        }
    charge = self.latest_charge
    if charge is not None and charge.status == "failed":
        return {
            "type": "card_error",
            "code": charge.failure_code,
            "decline_code": getattr(charge, "_decline_code", None),
            "message": charge.failure_message,
            "charge": charge.id,
            "payment_method": pm,
        }
    return None


def _pi_export(self, expand=None):
    """As the current API: latest_charge is an id unless expanded; no `charges` list."""
    obj = _orig_pi_export(self, expand=expand)
    obj.pop("charges", None)
    expanded = any(p.split(".")[0] == "latest_charge" for p in expand or [])
    if not expanded and isinstance(obj.get("latest_charge"), dict):
        obj["latest_charge"] = obj["latest_charge"]["id"]
    return obj


PaymentIntent._api_create = classmethod(_pi_create)
PaymentIntent._api_update = classmethod(_pi_update)
PaymentIntent._create_charge = _pi_create_charge
PaymentIntent._confirm = _pi_confirm
PaymentIntent._report_failure = _pi_report_failure
PaymentIntent.last_payment_error = property(_pi_last_payment_error)
PaymentIntent._export = _pi_export
