"""The creator's money endpoints, under /api/v1/creators/ (urls.py).

- ledger.py: commissions, balances, payouts and the payout account (Connect onboarding);
- stats.py: clicks, sales and commission over a window.
"""
