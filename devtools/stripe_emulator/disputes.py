"""Disputes: a test card that is disputed after it is charged, the Disputes and Files APIs.

- Stripe's test card `4000000000000259` (`pm_card_createDispute`) succeeds, then is disputed
  (`DISPUTE_SETTINGS.delay` seconds later): the charge becomes `disputed`, a dispute
  (`dp_...`, reason `fraudulent`, status `needs_response`, evidence due in 7 days) is
  created with a balance transaction taking the amount and the dispute fee, and
  `charge.dispute.created` then `charge.dispute.funds_withdrawn` are sent.
- `GET /v1/disputes/{id}`, `GET /v1/disputes` (charge, payment_intent),
  `POST /v1/disputes/{id}` (`evidence[...]`, `metadata`, `submit`): evidence is kept and,
  submitted, the dispute goes `under_review`; `charge.dispute.updated` is sent.
  `POST /v1/disputes/{id}/close` accepts the dispute (lost).
- `POST /v1/files` (multipart: `purpose`=dispute_evidence|identity_document|..., `file`),
  `GET /v1/files/{id}`: the file is kept in memory; its id goes into an evidence field.
- Test controls: `POST /_config/charges/{id}/dispute` (`amount`, `reason`) disputes a
  succeeded charge now; `POST /_config/disputes/{id}/close` (`outcome`=won|lost,
  `fee_reinstated`=true|false, default `DISPUTE_SETTINGS.fee_reinstated_on_win`) closes one:
  won reinstates the amount (and the fee when configured) in a balance transaction and sends
  `charge.dispute.funds_reinstated`; either way `charge.dispute.closed` follows;
  `POST /_config/disputes/settings` (`fee`, `fee_reinstated_on_win`, `delay`) sets them.
- A refund of a charge with an open dispute is refused (`charge_disputed`), as Stripe does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web
from localstripe import resources, server
from localstripe.resources import Charge, PaymentIntent, PaymentMethod, Refund, StripeObject

# Refunds' patch first: the refusal of a disputed charge's refund wraps it.
from devtools.stripe_emulator import refunds  # noqa: F401
from devtools.stripe_emulator.multipart import multipart_parts
from devtools.stripe_emulator.validation import check_metadata, error, parse_bool
from devtools.stripe_emulator.webhooks import schedule

DISPUTE_CARD = "4000000000000259"
DISPUTE_PM = "pm_card_createDispute"
EVIDENCE_DAYS = 7
OPEN = {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
FILE_PURPOSES = {
    "dispute_evidence",
    "identity_document",
    "additional_verification",
    "business_logo",
    "customer_signature",
}
EVIDENCE_FIELDS = {
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text",
}  # fmt: skip
FILE_EVIDENCE = {
    "cancellation_policy", "customer_communication", "customer_signature",
    "duplicate_charge_documentation", "receipt", "refund_policy", "service_documentation",
    "shipping_documentation", "uncategorized_file",
}  # fmt: skip
REASONS = {
    "fraudulent", "duplicate", "subscription_canceled", "product_unacceptable",
    "product_not_received", "unrecognized", "credit_not_processed", "general",
}  # fmt: skip


@dataclass
class DisputeSettings:
    fee: int = 1500  # minor units taken when a dispute opens
    fee_reinstated_on_win: bool = False  # varies by country at Stripe
    delay: float = 0.3  # seconds between the charge and its dispute (the test card)


DISPUTE_SETTINGS = DisputeSettings()


class DisputeTransaction(StripeObject):
    """A dispute's balance transaction: the amount and fee withdrawn, or reinstated."""

    object = "balance_transaction"
    _id_prefix = "txn_"

    def __init__(self, *, amount: int, fee: int, currency: str, source: str, description: str):
        super().__init__()
        self.amount = amount
        self.fee = fee
        self.net = amount - fee
        self.currency = currency
        self.description = description
        self.fee_details = (
            [
                {
                    "amount": fee,
                    "currency": currency,
                    "description": "Dispute fee",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        )
        self.reporting_category = "dispute" if amount <= 0 else "dispute_reversal"
        self.source = source
        self.status = "available"
        self.type = "adjustment"
        self.available_on = self.created
        self.exchange_rate = None


class Dispute(StripeObject):
    object = "dispute"
    _id_prefix = "dp_"

    def __init__(self, charge: Charge, amount: int | None = None, reason: str = "fraudulent"):
        super().__init__()
        self.charge = charge.id
        self.payment_intent = charge.payment_intent
        self.amount = charge.amount if amount is None else amount
        self.currency = charge.currency
        self.reason = reason
        self.status = "needs_response"
        self.is_charge_refundable = False
        self.metadata: dict = {}
        self.evidence: dict = {name: None for name in sorted(EVIDENCE_FIELDS)}
        self.evidence_details = {
            "due_by": self.created + EVIDENCE_DAYS * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        }
        withdrawn = DisputeTransaction(
            amount=-self.amount,
            fee=DISPUTE_SETTINGS.fee,
            currency=self.currency,
            source=self.id,
            description=f"Chargeback withdrawal for {charge.id}",
        )
        self.balance_transactions = [withdrawn]
        charge.disputed = True
        charge.dispute = self.id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def _open_or_refuse(self) -> None:
        if not self.is_open:
            raise error(
                400, f"This dispute is already closed ({self.status}).", code="dispute_closed"
            )

    def _close(self, outcome: str, fee_reinstated: bool) -> None:
        self._open_or_refuse()
        if outcome == "won":
            fee = DISPUTE_SETTINGS.fee if fee_reinstated else 0
            self.balance_transactions.append(
                DisputeTransaction(
                    amount=self.amount,
                    fee=-fee,
                    currency=self.currency,
                    source=self.id,
                    description=f"Chargeback reversal for {self.charge}",
                )
            )
            self.status = "won"
            schedule(self, "charge.dispute.funds_reinstated")
        else:
            self.status = "lost"
        self.is_charge_refundable = False
        schedule(self, "charge.dispute.closed")

    @classmethod
    def _api_create(cls, **data):
        raise error(405, "Disputes are opened by the card network, not through the API.")

    @classmethod
    def _api_update(cls, id, evidence=None, metadata=None, submit=None, **params):
        if params:
            raise error(400, f"Received unknown parameter: {sorted(params)[0]}")
        dispute = cls._api_retrieve(id)
        dispute._open_or_refuse()
        if evidence is not None:
            if not isinstance(evidence, dict):
                raise error(400, "Invalid evidence: a hash.", param="evidence")
            unknown = set(evidence) - EVIDENCE_FIELDS
            if unknown:
                raise error(400, f"Received unknown parameter: evidence[{sorted(unknown)[0]}]")
            for name, value in evidence.items():
                if name in FILE_EVIDENCE and value:
                    File._api_retrieve(str(value))  # 404 for a file we never received
                if value is not None and not isinstance(value, str):
                    raise error(400, f"Invalid string: evidence[{name}]", param=f"evidence[{name}]")
                dispute.evidence[name] = value or None
            dispute.evidence_details["has_evidence"] = any(dispute.evidence.values())
        if metadata is not None:
            check_metadata(metadata)
            dispute.metadata = {**dispute.metadata, **metadata}
        if parse_bool(submit, "submit"):
            dispute.status = "under_review"
            dispute.evidence_details["submission_count"] += 1
        schedule(dispute, "charge.dispute.updated")
        return dispute

    @classmethod
    def _api_list_all(cls, url, charge=None, payment_intent=None, limit=None, **kwargs):
        li = super()._api_list_all(url, limit=limit, **kwargs)
        li._list = [
            d
            for d in li._list
            if (charge is None or d.charge == charge)
            and (payment_intent is None or d.payment_intent == payment_intent)
        ]
        return li


class File(StripeObject):
    object = "file"
    _id_prefix = "file_"

    def __init__(self, *, purpose: str, filename: str, content: bytes, content_type: str):
        super().__init__()
        self.purpose = purpose
        self.filename = filename
        self.size = len(content)
        self.type = (filename.rsplit(".", 1)[-1] if "." in filename else "") or None
        self.url = None
        self.title = None
        self.expires_at = None
        self._content = content
        self._content_type = content_type


def dispute_open(charge: Charge, amount: int | None = None, reason: str = "fraudulent") -> Dispute:
    """Dispute a succeeded charge: the dispute, its withdrawal, and the two events."""
    if charge.status != "succeeded" or not charge.captured:
        raise error(400, "Only a succeeded, captured charge can be disputed.")
    if getattr(charge, "dispute", None):
        raise error(400, f"Charge {charge.id} is already disputed.", code="charge_disputed")
    if amount is not None and not 0 < amount <= charge.amount:
        raise error(400, "The disputed amount must be between 1 and the charge's.", param="amount")
    if reason not in REASONS:
        raise error(400, f"Invalid reason: {reason}", param="reason")
    dispute = Dispute(charge, amount, reason)
    schedule(dispute, "charge.dispute.created")
    schedule(dispute, "charge.dispute.funds_withdrawn")
    return dispute


# --- the test card ---------------------------------------------------------------------

Charge.disputed = False
Charge.dispute = None
_orig_canonical = PaymentMethod._try_get_canonical_test_article.__func__
_orig_trigger_payment = Charge._trigger_payment


def _canonical(cls, id):
    if id == DISPUTE_PM:
        return PaymentMethod(
            type="card",
            card={"number": DISPUTE_CARD, "exp_month": "12", "exp_year": "2030", "cvc": "123"},
        )
    return _orig_canonical(cls, id)


def _trigger_payment(self, on_success=None):
    _orig_trigger_payment(self, on_success)
    pm = PaymentMethod._api_retrieve(self.payment_method) if self.payment_method else None
    if getattr(pm, "_card_number", None) == DISPUTE_CARD and self.status == "succeeded":
        asyncio.get_running_loop().call_later(DISPUTE_SETTINGS.delay, _dispute_later, self.id)


def _dispute_later(charge_id: str) -> None:
    charge = Charge._api_retrieve(charge_id)
    if not getattr(charge, "dispute", None):
        dispute_open(charge)


PaymentMethod._try_get_canonical_test_article = classmethod(_canonical)
Charge._trigger_payment = _trigger_payment

# --- refunds of a disputed charge --------------------------------------------------------

_orig_refund_create = Refund._api_create.__func__


def _refund_create(cls, **params):
    charge_id = params.get("charge")
    if params.get("payment_intent"):
        charge = PaymentIntent._api_retrieve(params["payment_intent"]).latest_charge
    else:
        charge = Charge._api_retrieve(charge_id) if charge_id else None
    dispute_id = getattr(charge, "dispute", None) if charge is not None else None
    if dispute_id and Dispute._api_retrieve(dispute_id).is_open:
        raise error(
            400,
            f"Charge {charge.id} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    return _orig_refund_create(cls, **params)


Refund._api_create = classmethod(_refund_create)

# --- routes ------------------------------------------------------------------------------


async def file_create(request: web.Request) -> web.Response:
    """POST /v1/files, multipart: purpose and file."""
    if not request.content_type.startswith("multipart/"):
        raise error(400, "Files are uploaded as multipart/form-data.")
    # The body was read already (the idempotency fingerprint): parse it from the bytes.
    purpose: str | None = None
    upload: tuple[str, bytes, str] | None = None
    for part in multipart_parts(request.headers["Content-Type"], await request.read()):
        if part.name == "purpose":
            purpose = part.data.decode().strip()
        elif part.name == "file":
            upload = (part.filename or "upload", part.data, part.content_type)
    if purpose not in FILE_PURPOSES:
        raise error(400, f"Invalid purpose: {purpose}", param="purpose")
    if upload is None or not upload[1]:
        raise error(400, "Missing required param: file.", param="file")
    filename, content, content_type = upload
    obj = File(purpose=purpose, filename=filename, content=content, content_type=content_type)
    return server.json_response(obj._export())


async def dispute_close_accept(request: web.Request) -> web.Response:
    """POST /v1/disputes/{id}/close: accept the dispute (it is lost)."""
    dispute = Dispute._api_retrieve(request.match_info["id"])
    dispute._close("lost", fee_reinstated=False)
    return server.json_response(dispute._export())


async def control_dispute_charge(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    charge = Charge._api_retrieve(request.match_info["id"])
    amount = resources.try_convert_to_int(data["amount"]) if data.get("amount") else None
    if amount is not None and not isinstance(amount, int):
        raise error(400, "Invalid integer: amount.", param="amount")
    dispute = dispute_open(charge, amount, data.get("reason") or "fraudulent")
    return server.json_response(dispute._export())


async def control_dispute_close(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    outcome = data.get("outcome")
    if outcome not in ("won", "lost"):
        raise error(400, "outcome is won or lost.", param="outcome")
    reinstated = parse_bool(data.get("fee_reinstated"), "fee_reinstated")
    dispute = Dispute._api_retrieve(request.match_info["id"])
    dispute._close(
        outcome,
        fee_reinstated=DISPUTE_SETTINGS.fee_reinstated_on_win if reinstated is None else reinstated,
    )
    return server.json_response(dispute._export())


async def control_settings(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    if "fee" in data:
        fee = resources.try_convert_to_int(data["fee"])
        if not isinstance(fee, int) or fee < 0:
            raise error(400, "Invalid fee.", param="fee")
        DISPUTE_SETTINGS.fee = fee
    if "fee_reinstated_on_win" in data:
        DISPUTE_SETTINGS.fee_reinstated_on_win = bool(
            parse_bool(data["fee_reinstated_on_win"], "fee_reinstated_on_win")
        )
    if "delay" in data:
        DISPUTE_SETTINGS.delay = float(data["delay"])
    return server.json_response(
        {
            "fee": DISPUTE_SETTINGS.fee,
            "fee_reinstated_on_win": DISPUTE_SETTINGS.fee_reinstated_on_win,
            "delay": DISPUTE_SETTINGS.delay,
        }
    )


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the dispute and file routes on the emulator's router."""
    router.add_get("/v1/disputes", server.api_list_all(Dispute, "/v1/disputes"))
    router.add_get("/v1/disputes/{id}", server.api_retrieve(Dispute, "/v1/disputes/{id}"))
    router.add_post("/v1/disputes/{id}", server.api_update(Dispute, "/v1/disputes/{id}"))
    router.add_post("/v1/disputes/{id}/close", dispute_close_accept)
    router.add_post("/v1/files", file_create)
    router.add_get("/v1/files/{id}", server.api_retrieve(File, "/v1/files/{id}"))
    router.add_post("/_config/charges/{id}/dispute", control_dispute_charge)
    router.add_post("/_config/disputes/settings", control_settings)
    router.add_post("/_config/disputes/{id}/close", control_dispute_close)
