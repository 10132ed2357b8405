"""Disputes (chargebacks) from Stripe's `charge.dispute.*` events, and the brand's evidence.

Every `charge.dispute.created`, `.updated`, `.closed`, `.funds_withdrawn` and
`.funds_reinstated` event is handled the same way: re-fetch the dispute from Stripe (outside
any transaction) and bring our copy to it (`dispute_sync`) under the order's row lock. So
events may come in any order and any number of times: a `.closed` seen first records the
dispute opened and closed at once, and a duplicate changes nothing.

When a dispute is first recorded, its amount is split over what was left unrefunded on each
of the charge's lines and shipping charges (largest remainder: the parts add up exactly), and
its fee over those shares; the shares are kept (`DisputeLine`). Opening and closing are each
recorded once, in the same transaction, as outbox events (`DISPUTE_OPENED`,
`DISPUTE_CLOSED`: the ledger holds, then releases or reverses, the lines' commission; the
brands are emailed) and as outbound webhooks (`order.dispute_opened`, `order.dispute_closed`,
with the evidence due date). While a dispute is open, refunds of the order are refused
(`charge_disputed`, refunds.py).

Evidence (`dispute_evidence_submit`): the files go to Stripe's Files API, then the text and
the file ids to the dispute, all outside any transaction; what was sent is recorded after.
A brand may submit for a dispute whose lines are all its own; a charge covering several
brands is the platform staff's.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import User
from common.db import in_transaction
from common.errors import NotFound, ValidationFailed
from common.money import allocate, from_minor_units
from common.outbox import event_record
from orders.events import DISPUTE_CLOSED, DISPUTE_OPENED
from orders.models import Dispute, DisputeEvidenceFile, DisputeLine, Order, OrderLine, OrderShipping
from orders.services.dispute_errors import DisputeClosed, DisputeSeveralBrands
from orders.services.webhooks import webhooks_emit
from orders.state import order_note
from payments.stripe.client import stripe_client, upstream_error

logger = logging.getLogger(__name__)

CLOSED = {"won", "lost", "warning_closed"}
EVIDENCE_FILE_FIELDS = (
    "receipt",
    "shipping_documentation",
    "customer_communication",
    "uncategorized_file",
)
MAX_EVIDENCE_TEXT = 20000
MAX_EVIDENCE_FILE_BYTES = 4 * 1024 * 1024  # Stripe takes 4.5 MB of evidence files in all


def handle_dispute_event(payload: dict[str, Any]) -> None:
    """The webhook handler for `charge.dispute.*`: re-fetch the dispute, then sync it."""
    if not str(payload.get("type", "")).startswith("charge.dispute."):
        return
    obj = payload["data"]["object"]
    dispute_id = obj.get("id")
    if not isinstance(dispute_id, str) or obj.get("object", "dispute") != "dispute":
        logger.info("Dispute event %s has no dispute; ignored", payload.get("id"))
        return
    if in_transaction():
        raise RuntimeError("Stripe must not be called inside a transaction.")
    fetched = stripe_client().v1.disputes.retrieve(dispute_id)
    dispute_sync(data=fetched.to_dict())


def _moment(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _fees(data: dict[str, Any], currency: str) -> tuple[Decimal, Decimal, Decimal]:
    """The net dispute fee, the fee given back and the amount reinstated, from the dispute's
    balance transactions (a withdrawal's fee is positive, a reinstatement's negative)."""
    fee, returned, reinstated = 0, 0, 0
    for txn in data.get("balance_transactions") or []:
        if str(txn.get("currency", currency)).upper() != currency:
            # Settled in another currency than the charge's: its fee is not ours to split.
            logger.warning(
                "dispute %s: balance transaction in %s", data.get("id"), txn.get("currency")
            )
            continue
        part = int(txn.get("fee") or 0)
        fee += part
        returned += max(0, -part)
        reinstated += max(0, int(txn.get("amount") or 0))
    return (
        from_minor_units(max(fee, 0), currency),
        from_minor_units(returned, currency),
        from_minor_units(reinstated, currency),
    )


def dispute_shares(
    *, amount: Decimal, fee: Decimal, parts: Sequence[tuple[Decimal, Decimal]], currency: str
) -> tuple[list[Decimal], list[Decimal]]:
    """Each part's share of a dispute's amount and of its fee; `parts` are (unrefunded, charged).

    The amount goes by what is unrefunded on each part (by what was charged when nothing is),
    the fee by the amount's shares, both by largest remainder: each adds up exactly.
    """
    weights = [left for left, _ in parts]
    if sum(weights) <= 0:  # refunded in full at our side already: by what was charged
        weights = [charged for _, charged in parts]
    shares = allocate(amount, weights, currency)
    return shares, allocate(fee, shares, currency)


def _split(order: Order, dispute: Dispute) -> None:
    """Share the dispute over lines and shipping by what was left unrefunded on each."""
    lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
    shipping = list(OrderShipping.objects.filter(order=order).order_by("pk"))
    targets: list[tuple[Model, int, tuple[Decimal, Decimal]]] = [
        *((x, x.brand_id, (x.line_total - x.refunded_amount, x.line_total)) for x in lines),
        *((x, x.brand_id, (x.amount - x.refunded_amount, x.amount)) for x in shipping),
    ]
    if not targets:
        return
    shares, fees = dispute_shares(
        amount=dispute.amount,
        fee=dispute.fee,
        parts=[part for _, _, part in targets],
        currency=dispute.currency,
    )
    returned = allocate(dispute.fee_returned, shares, dispute.currency)
    DisputeLine.objects.bulk_create(
        [
            DisputeLine(
                dispute=dispute,
                order_line=target if isinstance(target, OrderLine) else None,
                shipping=target if isinstance(target, OrderShipping) else None,
                brand_id=brand_id,
                amount=share,
                fee=fee,
                fee_returned=back,
            )
            for (target, brand_id, _), share, fee, back in zip(
                targets, shares, fees, returned, strict=True
            )
            if share > 0 or fee > 0 or back > 0
        ]
    )


def _refee(dispute: Dispute) -> None:
    """Share a changed fee (and what of it came back) again over the lines' shares."""
    parts = list(dispute.lines.order_by("pk"))
    if not parts:
        return
    weights = [p.amount for p in parts]
    fees = allocate(dispute.fee, weights, dispute.currency)
    returned = allocate(dispute.fee_returned, weights, dispute.currency)
    for part, fee, back in zip(parts, fees, returned, strict=True):
        if (part.fee, part.fee_returned) != (fee, back):
            DisputeLine.objects.filter(pk=part.pk).update(fee=fee, fee_returned=back)


def _brand_ids(dispute: Dispute) -> list[int]:
    return sorted(set(dispute.lines.values_list("brand_id", flat=True)))


def _line_shares(dispute: Dispute) -> dict[str, str]:
    return {
        str(order_line_id): format(amount, "f")
        for order_line_id, amount in dispute.lines.filter(order_line__isnull=False)
        .order_by("order_line_id")
        .values_list("order_line_id", "amount")
    }


def dispute_sync(*, data: dict[str, Any]) -> Dispute | None:
    """Bring our copy of a dispute (as just fetched from Stripe) in line; None if no order."""
    intent_id = data.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    order_id = (
        Order.objects.filter(stripe_payment_intent_id=intent_id)
        .values_list("pk", flat=True)
        .first()
        if isinstance(intent_id, str) and intent_id
        else None
    )
    if order_id is None:
        logger.info("Dispute %s matches no order; ignored", data.get("id"))
        return None
    currency = str(data["currency"]).upper()
    status = str(data.get("status") or "needs_response")
    amount = from_minor_units(int(data["amount"]), currency)
    fee, fee_returned, reinstated = _fees(data, currency)
    details = data.get("evidence_details") or {}
    charge = data.get("charge")
    with transaction.atomic(durable=True):
        order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
        dispute = Dispute.objects.select_for_update().filter(stripe_dispute_id=data["id"]).first()
        opened = dispute is None
        if dispute is None:
            dispute = Dispute.objects.create(
                order=order,
                stripe_dispute_id=data["id"],
                stripe_charge_id=str(
                    charge.get("id") if isinstance(charge, dict) else charge or ""
                ),
                amount=amount,
                currency=currency,
                fee=fee,
                fee_returned=fee_returned,
                reinstated=min(reinstated, amount),
                status=status,
                reason=str(data.get("reason") or ""),
                evidence_due_by=_moment(details.get("due_by")),
                evidence_submission_count=int(details.get("submission_count") or 0),
                opened_at=_moment(data.get("created")) or timezone.now(),
            )
            _split(order, dispute)
            _opened(order, dispute)
        else:
            fee_changed = (dispute.fee, dispute.fee_returned) != (fee, fee_returned)
            Dispute.objects.filter(pk=dispute.pk).update(
                fee=fee,
                fee_returned=fee_returned,
                reinstated=min(reinstated, dispute.amount),
                status=status if dispute.closed_at is None else dispute.status,
                evidence_due_by=_moment(details.get("due_by")) or dispute.evidence_due_by,
                evidence_submission_count=max(
                    dispute.evidence_submission_count, int(details.get("submission_count") or 0)
                ),
                updated_at=timezone.now(),
            )
            dispute.refresh_from_db()
            if fee_changed:
                _refee(dispute)
        if dispute.closed_at is None and status in CLOSED:
            Dispute.objects.filter(pk=dispute.pk).update(status=status, closed_at=timezone.now())
            dispute.refresh_from_db()
            _closed(order, dispute)
        elif not opened and dispute.closed_at is None:
            logger.info("dispute %s now %s", dispute.stripe_dispute_id, status)
    return dispute


def _opened(order: Order, dispute: Dispute) -> None:
    order_note(
        order=order,
        kind="dispute_opened",
        data={"dispute_id": dispute.pk, "stripe_dispute_id": dispute.stripe_dispute_id},
    )
    event_record(
        name=DISPUTE_OPENED,
        payload={"dispute_id": dispute.pk, "order_id": order.pk, "lines": _line_shares(dispute)},
        key=f"dispute:{dispute.pk}",
    )
    webhooks_emit(
        order=order,
        event_type="order.dispute_opened",
        brand_ids=_brand_ids(dispute),
        dispute=dispute,
    )


def _closed(order: Order, dispute: Dispute) -> None:
    outcome = "won" if dispute.status in ("won", "warning_closed") else "lost"
    order_note(
        order=order,
        kind="dispute_closed",
        data={"dispute_id": dispute.pk, "outcome": outcome, "status": dispute.status},
    )
    event_record(
        name=DISPUTE_CLOSED,
        payload={"dispute_id": dispute.pk, "order_id": order.pk, "outcome": outcome},
        key=f"dispute:{dispute.pk}",
    )
    webhooks_emit(
        order=order,
        event_type="order.dispute_closed",
        brand_ids=_brand_ids(dispute),
        dispute=dispute,
    )


def order_open_dispute(*, order: Order) -> Dispute | None:
    """The order's open dispute, if any (refunds are refused while there is one)."""
    return Dispute.objects.filter(order=order, closed_at__isnull=True).first()


# --- evidence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceFile:
    field: str  # one of EVIDENCE_FILE_FIELDS
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def evidence_files_oversized(uploads: Mapping[str, Any]) -> list[str]:
    """The evidence fields whose upload is over MAX_EVIDENCE_FILE_BYTES, checked before any
    is read into memory (the form's and the request's)."""
    return [
        name
        for name in EVIDENCE_FILE_FIELDS
        if (upload := uploads.get(name)) is not None and upload.size > MAX_EVIDENCE_FILE_BYTES
    ]


def evidence_files_from(uploads: Mapping[str, Any]) -> list[EvidenceFile]:
    """The uploaded files (Django's `UploadedFile`s, by evidence field) of a form or a
    request, in EVIDENCE_FILE_FIELDS order; fields without one are left out."""
    return [
        EvidenceFile(
            field=name,
            filename=upload.name or name,
            content=upload.read(),
            content_type=upload.content_type or "application/octet-stream",
        )
        for name in EVIDENCE_FILE_FIELDS
        if (upload := uploads.get(name)) is not None
    ]


def dispute_may_answer(*, dispute: Dispute, user: User, writable_brand_ids: Sequence[int]) -> bool:
    """Platform staff answer any dispute; a brand's writers only one whose lines are all theirs."""
    if user.is_superuser:
        return True
    brands = _brand_ids(dispute)
    return len(brands) == 1 and brands[0] in set(writable_brand_ids)


def dispute_evidence_submit(
    *,
    dispute_id: int,
    user: User,
    writable_brand_ids: Sequence[int],
    text: str = "",
    files: Sequence[EvidenceFile] = (),
    submit: bool = True,
) -> Dispute:
    """Send evidence (text and files) for a dispute to Stripe, and submit it when asked."""
    if in_transaction():
        raise RuntimeError("Stripe must not be called inside a transaction.")
    dispute = Dispute.objects.filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound("No such dispute.", code="dispute_not_found")
    if not dispute_may_answer(dispute=dispute, user=user, writable_brand_ids=writable_brand_ids):
        if len(_brand_ids(dispute)) > 1:
            raise DisputeSeveralBrands()
        raise NotFound("No such dispute.", code="dispute_not_found")
    if not dispute.is_open:
        raise DisputeClosed()
    text = text.strip()
    if len(text) > MAX_EVIDENCE_TEXT:
        raise ValidationFailed("The evidence text is too long.", code="evidence_too_long")
    fields = [f.field for f in files]
    if any(f not in EVIDENCE_FILE_FIELDS for f in fields) or len(set(fields)) != len(fields):
        raise ValidationFailed("One file per evidence field.", code="invalid_evidence_file")
    if not text and not files:
        raise ValidationFailed("Give some evidence: text or a file.", code="evidence_empty")
    client = stripe_client()
    evidence: dict[str, str] = {}
    uploaded: list[tuple[EvidenceFile, Any]] = []
    try:
        for item in files:
            upload = io.BytesIO(item.content)
            upload.name = item.filename  # the SDK's multipart encoder names the part by it
            # The same file sent again (a retry, a second try) is the same Stripe file.
            same = hashlib.sha256(f"{item.field}|{item.filename}|".encode() + item.content)
            stored = client.v1.files.create(
                params={"purpose": "dispute_evidence", "file": upload},
                options={"idempotency_key": f"tribe-dispute-{dispute.pk}-{same.hexdigest()[:40]}"},
            )
            uploaded.append((item, stored))
            evidence[item.field] = stored.id
        if text:
            evidence["uncategorized_text"] = text
        params: Any = {"evidence": evidence, "submit": submit}
        answer = client.v1.disputes.update(dispute.stripe_dispute_id, params=params)
    except stripe.StripeError as exc:
        logger.warning("dispute %s evidence refused: %s", dispute.pk, exc)
        raise upstream_error(exc) from exc
    with transaction.atomic(durable=True):
        for item, stored in uploaded:
            DisputeEvidenceFile.objects.get_or_create(
                stripe_file_id=stored.id,
                defaults={
                    "dispute": dispute,
                    "evidence_field": item.field,
                    "filename": item.filename[:255],
                    "size": len(item.content),
                    "uploaded_by": user,
                },
            )
        Dispute.objects.filter(pk=dispute.pk, closed_at__isnull=True).update(
            status=answer.status or dispute.status,
            evidence_submitted_at=timezone.now() if submit else dispute.evidence_submitted_at,
            evidence_submission_count=int(answer.evidence_details.submission_count or 0),
        )
    dispute.refresh_from_db()
    return dispute
