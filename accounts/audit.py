"""The money audit: one append-only row per money action taken for a brand.

Every app that moves money calls `audit_record` inside the transaction of the action it
records, so the row exists exactly when the action does (a refused or rolled-back action
leaves none). Brand staff read their brand's rows in the admin (`shop/admin/audit.py`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from accounts.models import MoneyAuditEntry, User
from common.money import normalize_currency, quantize

Action = MoneyAuditEntry.Action


def _subject_fields(subject: models.Model | tuple[str, Any]) -> tuple[str, str, str]:
    """(type, id, label) of a model instance, or of a (type, id) pair for what is not loaded."""
    if isinstance(subject, models.Model):
        meta = subject._meta
        return meta.label_lower, str(subject.pk), f"{meta.verbose_name} {subject.pk}"
    kind, pk = subject
    return kind, str(pk), f"{kind.rsplit('.', 1)[-1]} {pk}"


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    """Dates and decimals as the JSON column stores them (strings)."""
    return json.loads(json.dumps(detail, cls=DjangoJSONEncoder))


def audit_record(
    *,
    brand_id: int,
    actor: User | None,
    action: str,
    subject: models.Model | tuple[str, Any],
    amount: Decimal | None = None,
    currency: str = "",
    detail: dict[str, Any] | None = None,
    actor_label: str = "",
) -> MoneyAuditEntry:
    """Record one money action for a brand; joins the caller's transaction (it must be in one).

    `actor` is the signed-in person, or None for the system (a scheduled task, a Stripe
    event), named by `actor_label`. `subject` is the refund, shipment, payout... acted on.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the money action's transaction.")
    if action not in Action.values:
        raise ValueError(f"Unknown money action {action!r}.")
    code = normalize_currency(currency) if currency else ""
    if amount is not None and not code:
        raise ValueError("An audited amount needs its currency.")
    person = actor if actor is not None and actor.is_authenticated else None
    subject_type, subject_id, subject_label = _subject_fields(subject)
    return MoneyAuditEntry.objects.create(
        brand_id=brand_id,
        actor=person,
        actor_label=(person.email if person else "") or actor_label or "system",
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=subject_label[:200],
        amount=quantize(amount, code) if amount is not None else None,
        currency=code,
        detail=_jsonable(detail or {}),
    )
