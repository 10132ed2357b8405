"""Every non-trivial read of the commissions app.

- codes.py: creator codes' uses, revenue, discount and commission per day, and a brand's
  leaking codes (uses without a click on the code's creator's links);
- brands.py: a brand's commission owed, settlements awaiting payment, and its top
  creators, videos and links by revenue (the admin's dashboard);
- ledger.py: a creator's ledger, balances and payouts;
- order_lines.py: what the ledger, settlements and the fraud check read about paid order
  lines and refunds (plain rows: the ledger keeps order ids as integers);
- fraud_signals.py: the buyer signals orders kept, by sale and by creator, for the fraud rules;
- settlements.py: a brand's settlement statements as its members read them;
- reconciliation.py: the reconciliation's scan, every order line's ledger against the
  commission due on it, in one SQL statement;
- sales.py: a creator's sales and estimated commission, bucketed by day or product;
- stats.py: a creator's stats (clicks, sales, commission) over a window, for the app.
"""
