"""The commissions admin, registered by CommissionsConfig.ready().

- ledger.py: brand commission terms and liabilities (brand-scoped); payout accounts and
  payouts (superusers);
- settlements.py: what Tribe owes each brand, and paying it; brand payout accounts;
- creators.py: "creators working with us", with their sales and refund rate.
"""

from commissions.admin import creators, ledger, settlements  # noqa: F401  (registers them)
