"""Every write of the commissions app, one idea per module.

- recording.py: a line per credited order line when an order is paid (fraud rules checked);
- reversals.py: a negative line per refund or reversed hold, cumulative, never twice;
- fraud_holds.py: a recorded sale a fraud rule matches is held for review under its code;
- ledger_load.py: a batch of ledger lines written at once (COPY), skipping lines already
  recorded;
- approval.py: pending lines become approved after the hold, or void if fully refunded;
- payouts.py: approved balances grouped into payouts, sent outside any transaction;
- providers.py: the payout providers (Stripe Connect transfers, manual CSV for the bank);
- sending.py: sending a payout or a settlement payout once (lease, provider, result);
- accounts.py: a creator's or a brand's Stripe Connect Express account and its onboarding
  link, kept in step with Stripe's `account.updated` events;
- settlements.py: brand statements per period and currency (sales - refunds - commissions - fee);
- settlement_payouts.py: paying a settlement's amount due to the brand, never twice;
- settlement_periods.py: closing each brand's ended periods on schedule, debts carried forward;
- reconciliation.py: every order line's ledger against the commission due on it, corrected
  by appending (the daily job and the admin button).
"""
