"""A creator's earnings, payouts, payout account, stats and codes' figures, under
/api/v1/creators/."""

from django.urls import path

from commissions.api import codes, ledger, stats
from common.replica import replica_view

urlpatterns = [
    path("me/commissions/", ledger.MeCommissionListView.as_view(), name="creator-commission-list"),
    path(
        "me/commissions/balances/",
        ledger.MeCommissionBalanceView.as_view(),
        name="creator-commission-balances",
    ),
    path("me/payouts/", ledger.MePayoutListView.as_view(), name="creator-payout-list"),
    path(
        "me/payout-account/",
        ledger.MePayoutAccountView.as_view(),
        name="creator-payout-account",
    ),
    path("me/codes/stats/", codes.MeCodeStatsView.as_view(), name="creator-code-stats"),
    path("me/stats/", replica_view(stats.MeStatsView.as_view()), name="creator-stats"),
]
