"""The commissions app's tables, one idea per module.

They belonged to the creators app until commissions became an app of its own: each keeps its
table name (`db_table`), its rows, its content type and its permissions.

- ledger.py: brand commission terms (hold period) and the append-only ledger (`CommissionLine`);
- accounts.py: where money goes, a creator's (`PayoutAccount`) or a brand's
  (`BrandPayoutAccount`) Stripe Connect account or bank;
- payouts.py: money sent once through a provider (`OutboundTransfer`) and creators' payouts;
- settlements.py: brand statements per period and currency, their lines and payments;
- holds.py: commission lines kept back from payout for review (`CommissionHold`).
"""

from commissions.models.accounts import BrandPayoutAccount, ConnectedAccount, PayoutAccount
from commissions.models.holds import CommissionHold
from commissions.models.ledger import CommissionLine, CommissionTerms
from commissions.models.payouts import OutboundTransfer, Payout
from commissions.models.settlements import Settlement, SettlementLine, SettlementPayout

__all__ = [
    "BrandPayoutAccount",
    "CommissionHold",
    "CommissionLine",
    "CommissionTerms",
    "ConnectedAccount",
    "OutboundTransfer",
    "Payout",
    "PayoutAccount",
    "Settlement",
    "SettlementLine",
    "SettlementPayout",
]
