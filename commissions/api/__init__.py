"""The money endpoints: the creator's under /api/v1/creators/ (urls.py), the brand's under
/api/v1/brand/ (brand_urls.py).

- ledger.py: commissions, balances, payouts and the payout account (Connect onboarding);
- stats.py: clicks, sales and commission over a window;
- settlements.py: a brand's settlement statements: list, detail line by line, and CSV.
"""
