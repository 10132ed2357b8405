"""Commissions and payouts: an append-only ledger that is right to the cent and never pays twice.

The top app of the chain (common <- accounts <- payments <- shop <- creators <- orders <-
commissions): it reads orders and creators, and nothing below imports it. Orders tells it
that an order was paid or refunded through outbox events (handlers.py).

- models/: brand terms, the ledger (`CommissionLine`), payout accounts (creators' and
  brands' Stripe Connect accounts), payouts, settlements and their payouts;
- services/: every write (recording the ledger, approval, payouts, settlements and their
  periods, the ledger reconciliation, Connect onboarding), see its map;
- selectors/: every read (the creator's ledger and balances, the paid lines and refunds the
  ledger is written from, the reconciliation's scan, brands' settlements, creators' sales
  stats), see its map;
- api/: the creator's commissions, balances, payouts, payout account and stats; the brand's
  settlement statements;
- admin/: the brand-scoped ledger, terms, settlements and their statements, "creators
  working with us", and the platform's payout admin and ledger reconciliation;
- tasks.py: the Celery tasks (those moved from creators keep their `creators.tasks.*` names,
  new ones are `commissions.tasks.*`), among them the daily ledger reconciliation and the
  settlement periods closed on schedule;
- handlers.py: the outbox handlers of `orders.order_paid` and `orders.refund_succeeded`
  (registered in CommissionsConfig.ready());
- amounts.py: the commission formula, the pure arithmetic (commission of a line, cumulative
  reversal of refunds) and its SQL twin;
- fraud.py: creators whose sales for a brand are refunded too often are flagged for it;
- fraud_rules.py: the pure fraud rules a recorded sale is checked against, each with a
  stable reason code (self-dealing, shared device, no-click share, refund rate);
- conf.py: the settings, read at call time; errors.py: the refusals, each with a stable code.

The viral rate lock's rule is creators' (creators/rates.py); orders counts a link's pace
(orders.selectors.link_pace) when a sale's rate is decided at checkout.
"""
