"""Commissions and payouts: an append-only ledger that is right to the cent and never pays twice.

The modules, one idea each:

- models.py: brand terms (hold period), the ledger (`CommissionLine`), payout accounts (creators'
  and brands'), payouts, settlements and their payouts;
- amounts.py: the pure arithmetic (commission of a line, cumulative reversal of refunds);
- conf.py: the settings, read at call time;
- errors.py: the refusals, each with a stable code;
- recording.py: a line per credited order line when an order is paid, reversals on refunds;
- ledger_load.py: a batch of ledger lines written at once (COPY on PostgreSQL, bulk_create
  elsewhere), skipping lines already recorded;
- approval.py: pending lines become approved after the hold, or void if fully refunded;
- payouts.py: approved balances grouped into payouts, sent outside any transaction;
- providers.py: the payout providers (Stripe Connect transfers, manual CSV for the bank);
- sending.py: sending a payout or a settlement payout once (lease, provider, result);
- accounts.py: a creator's or a brand's Stripe Connect Express account and its onboarding link;
- selectors.py: the creator's ledger, balances and payouts;
- settlements.py: brand statements per period and currency (sales - refunds - commissions - fee);
- settlement_payouts.py: paying a settlement's amount due to the brand, never twice;
- fraud.py: creators whose sales for a brand are refunded too often are flagged for it;
- handlers.py: the outbox handlers of `orders.order_paid` and `orders.refund_succeeded`
  (registered in CreatorsConfig.ready()).
"""
