"""The commissions admin, registered by CommissionsConfig.ready().

- ledger.py: brand commission terms and liabilities (brand-scoped); payout accounts and
  payouts (superusers);
- settlements.py: what Tribe owes each brand, and paying it; brand payout accounts;
- settlement_statements.py: a settlement's printable statement and CSV, for its brand;
- reconciliation.py: the ledger reconciliation run on demand from the commission lines
  (superusers);
- holds.py: held commission lines, released or reversed by the brand's staff (brand-scoped);
- creators.py: "creators working with us", with their sales and refund rate;
- dashboard.py: the admin's home for brand staff (unfold's DASHBOARD_CALLBACK).
"""

from commissions.admin import creators, holds, ledger, settlements  # noqa: F401  (registers them)
