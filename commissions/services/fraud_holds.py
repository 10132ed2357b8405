"""Hold newly recorded commission for review when a fraud rule matches its sale.

Runs inside the recording's transaction (commission_record_joined), so a sale is never
payable for a moment before its hold. The rules are pure (commissions.fraud_rules); the
signals come from commissions.selectors.fraud_signals, a fixed number of queries per call.
A rule holds a line once: a retried recording, or one after staff released the hold, holds
nothing again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commissions import fraud_rules
from commissions.fraud_rules import CreatorOwn, Sale, Shared, Verdict
from commissions.models import CommissionHold
from commissions.selectors import fraud_signals
from commissions.services.holds import commission_lines_hold

logger = logging.getLogger(__name__)


def fraud_rules_apply(*, order_line_ids: Iterable[int]) -> list[CommissionHold]:
    """Evaluate every rule on the sales of these order lines' commission; hold each match.

    Joins the caller's transaction. Returns the holds opened (or already open) for a match.
    Ten reads at most for any number of sales, one more when a rule matches.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("fraud_rules_apply runs inside the caller's transaction.")
    sales = fraud_signals.sales_for_order_lines(order_line_ids=order_line_ids)
    if not sales:
        return []
    since = timezone.now() - timedelta(days=int(settings.COMMISSION_FRAUD_WINDOW_DAYS))
    creator_ids = {sale.creator_id for sale in sales}
    own = fraud_signals.creators_own(creator_ids=creator_ids)
    devices, addresses = fraud_signals.shared_signals(
        device_hashes={s.device_hash for s in sales if s.device_hash},
        shipping_hashes={s.shipping_hash for s in sales if s.shipping_hash},
        since=since,
    )
    clicks = fraud_signals.creators_click_counts(creator_ids=creator_ids, since=since)
    thresholds = fraud_signals.brands_refund_thresholds(brand_ids={s.brand_id for s in sales})
    refunds = fraud_signals.creators_refund_or_dispute_counts(
        brand_ids=list(thresholds), creator_ids=creator_ids
    )
    matches: list[tuple[Sale, Verdict]] = []
    for sale in sales:
        orders, without_click = clicks.get(sale.creator_id, (0, 0))
        sold, refunded = refunds.get((sale.brand_id, sale.creator_id), (0, 0))
        verdicts: list[Verdict | None] = [
            fraud_rules.self_dealing(sale, own.get(sale.creator_id, CreatorOwn())),
            fraud_rules.shared_device(
                device=devices.get(sale.device_hash, Shared()),
                address=addresses.get(sale.shipping_hash, Shared()),
            ),
            fraud_rules.no_click_share(orders=orders, without_click=without_click),
            fraud_rules.refund_rate(
                orders=sold, refunded=refunded, threshold=thresholds[sale.brand_id]
            ),
        ]
        matches += [(sale, verdict) for verdict in verdicts if verdict is not None]
    if not matches:
        return []
    done = fraud_signals.lines_with_holds(
        line_ids={sale.line_id for sale, _ in matches}, reasons=fraud_rules.REASONS
    )
    holds: list[CommissionHold] = []
    for sale, verdict in matches:
        if (sale.line_id, verdict.reason) in done:
            continue
        logger.info("Commission line %s held: %s", sale.line_id, verdict.reason)
        holds += commission_lines_hold(
            line_ids=[sale.line_id],
            reason=verdict.reason,
            detail={**verdict.detail, "order_id": sale.order_id},
        )
    return holds
